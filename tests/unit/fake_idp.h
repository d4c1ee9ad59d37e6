/* fake_idp.h: a small fake HTTP server for unit tests, forked on 127.0.0.1.
 * Each path answers with the raw HTTP response stored in a file under
 * `routes` (the test rewrites them between requests: route, route_raw,
 * unroute); every request received is passed back to the test (drain).
 * Two special route files, for what a real server will not do:
 *   "@HANG"                 accept, read the request, never answer (the
 *                           connection is held open until the server ends);
 *   "@BIG <bytes> <ctype>"  a 200 with Content-Length <bytes> (or "@BIGNOLEN":
 *                           no length, streamed until the client hangs up)
 *                           of a JSON-looking body.
 * The including file defines `base` (a mkdtemp template), creates `routes`
 * under it and calls srv_start() once. */
#ifndef OP_FAKE_IDP_H
#define OP_FAKE_IDP_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jwt_mint.h"

static char routes[600];
static pid_t srv_pid;
static int srv_port, srv_log;

static inline void route_file(const char *path, char *out, size_t outlen)
{
	char name[256];
	size_t i;

	for (i = 0; path[i] && path[i] != '?' && i + 1 < sizeof(name); i++)
		name[i] = path[i] == '/' ? '_' : path[i];
	name[i] = '\0';
	snprintf(out, outlen, "%s/%s", routes, name);
}

/* "@BIG n ctype" / "@BIGNOLEN n ctype": headers, then n bytes (or until the
 * peer hangs up) of '{"x":"aaaa...'. */
static inline void serve_big(int fd, const char *spec)
{
	char hdr[512], ctype[128] = "application/json", chunk[65536];
	unsigned long long n = 0, sent = 0;
	int nolen = strncmp(spec, "@BIGNOLEN", 9) == 0;
	int hl;

	if (sscanf(spec + (nolen ? 9 : 4), "%llu %127s", &n, ctype) < 1)
		return;
	hl = nolen ? snprintf(hdr, sizeof(hdr),
			      "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\n\r\n",
			      ctype)
		   : snprintf(hdr, sizeof(hdr),
			      "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %llu\r\n"
			      "Connection: close\r\n\r\n",
			      ctype, n);
	if (write(fd, hdr, (size_t)hl) != hl)
		return;
	memset(chunk, 'a', sizeof(chunk));
	memcpy(chunk, "{\"x\":\"", 6);
	while (sent < n) {
		size_t k = n - sent < sizeof(chunk) ? (size_t)(n - sent) : sizeof(chunk);
		ssize_t w = write(fd, chunk, k);
		if (w <= 0)
			return;
		sent += (size_t)w;
		chunk[0] = chunk[1] = chunk[2] = chunk[3] = chunk[4] = chunk[5] = 'a';
	}
}

/* 1: keep fd open (a hanging answer), 0: close it. */
static inline int serve_one(int fd)
{
	char req[65536], path[256] = "", file[900], resp[300000];
	size_t len = 0, need = 0;
	char *hend = NULL;
	uint32_t flen;
	ssize_t n;
	int rf;

	while (len < sizeof(req) - 1) {
		n = read(fd, req + len, sizeof(req) - 1 - len);
		if (n <= 0)
			return 0;
		len += (size_t)n;
		req[len] = '\0';
		if (!hend && (hend = strstr(req, "\r\n\r\n"))) {
			const char *cl = strcasestr(req, "\r\nContent-Length:");
			need = (size_t)(hend + 4 - req) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (hend && len >= need)
			break;
	}
	flen = (uint32_t)len;
	if (write(srv_log, &flen, 4) != 4 || write(srv_log, req, len) != (ssize_t)len)
		return 0;
	sscanf(req, "%*s %255s", path);
	route_file(path, file, sizeof(file));
	rf = open(file, O_RDONLY);
	if (rf < 0) {
		static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
					 "Connection: close\r\n\r\n";
		n = write(fd, nf, sizeof(nf) - 1);
		return 0;
	}
	n = read(rf, resp, sizeof(resp) - 1);
	close(rf);
	if (n <= 0)
		return 0;
	resp[n] = '\0';
	if (strncmp(resp, "@HANG", 5) == 0)
		return 1;
	if (strncmp(resp, "@BIG", 4) == 0) {
		serve_big(fd, resp);
		return 0;
	}
	if (write(fd, resp, (size_t)n) != n)
		return 0;
	return 0;
}

static inline int srv_start(void)
{
	struct sockaddr_in a = {0};
	socklen_t alen = sizeof(a);
	int lfd, pfd[2];

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 16) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) != 0 || pipe(pfd) != 0)
		return -1;
	srv_port = ntohs(a.sin_port);
	fflush(NULL);
	if ((srv_pid = fork()) < 0)
		return -1;
	if (srv_pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		close(pfd[0]);
		srv_log = pfd[1];
		for (;;) {
			struct timeval tv = {5, 0};
			int fd = accept(lfd, NULL, NULL);
			if (fd < 0)
				continue;
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			if (!serve_one(fd))
				close(fd); /* a hanging answer keeps its fd until exit */
		}
	}
	close(lfd);
	close(pfd[1]);
	srv_log = pfd[0];
	fcntl(srv_log, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Requests received since the last call, concatenated into buf. */
static inline int drain(char *buf, size_t buflen)
{
	size_t used = 0;
	int n = 0;

	buf[0] = '\0';
	for (;;) {
		uint32_t flen;
		char tmp[65536];
		size_t got = 0;
		struct pollfd p = {srv_log, POLLIN, 0};

		if (poll(&p, 1, 50) <= 0 || read(srv_log, &flen, 4) != 4 || flen > sizeof(tmp))
			break;
		while (got < flen) {
			ssize_t k = read(srv_log, tmp + got, flen - got);
			if (k < 0 && errno == EAGAIN) {
				poll(&p, 1, 100);
				continue;
			}
			if (k <= 0)
				break;
			got += (size_t)k;
		}
		if (used + got + 1 < buflen) {
			memcpy(buf + used, tmp, got);
			used += got;
			buf[used] = '\0';
		}
		n++;
	}
	return n;
}

static inline void route_raw(const char *path, const char *raw)
{
	char file[900], tmp[920];
	int fd;

	route_file(path, file, sizeof(file));
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, raw, strlen(raw)) != (ssize_t)strlen(raw))
		abort();
	close(fd);
	if (rename(tmp, file) != 0)
		abort();
}

static inline void route(const char *path, int status, const char *ctype, const char *body)
{
	char *raw = mint_printf("HTTP/1.1 %d X\r\n%s%s%sContent-Length: %zu\r\n"
				"Connection: close\r\n\r\n%s",
				status, ctype ? "Content-Type: " : "", ctype ? ctype : "",
				ctype ? "\r\n" : "", strlen(body), body);
	route_raw(path, raw);
	free(raw);
}

static inline void unroute(const char *path)
{
	char file[900];

	route_file(path, file, sizeof(file));
	unlink(file);
}

#endif
