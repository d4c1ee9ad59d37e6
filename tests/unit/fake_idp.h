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
 *   "@SLOW <bytes> <ctype>" a 200 with Content-Length <bytes>, the body one
 *                           byte per second (a response that never ends in
 *                           time).
 * The including file sets `routes` to a directory it created and calls
 * srv_start() (plain HTTP) or srv_start_tls(ctx) (HTTPS with that server
 * context: a failed handshake logs no request); srv_stop() ends the server,
 * and the next srv_start() serves the same routes on a new port. */
#ifndef OP_FAKE_IDP_H
#define OP_FAKE_IDP_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jwt_mint.h"

static char routes[600];
static pid_t srv_pid;
static int srv_port, srv_log;

/* one accepted connection, plain or TLS */
struct fake_conn {
	int fd;
	SSL *ssl;
};

static inline ssize_t c_read(struct fake_conn *c, void *buf, size_t n)
{
	if (c->ssl) {
		int r = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
		return r > 0 ? r : -1;
	}
	return read(c->fd, buf, n);
}

static inline ssize_t c_write(struct fake_conn *c, const void *buf, size_t n)
{
	if (c->ssl) {
		int r = SSL_write(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
		return r > 0 ? r : -1;
	}
	return write(c->fd, buf, n);
}

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
static inline void serve_big(struct fake_conn *c, const char *spec)
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
	if (c_write(c, hdr, (size_t)hl) != hl)
		return;
	memset(chunk, 'a', sizeof(chunk));
	memcpy(chunk, "{\"x\":\"", 6);
	while (sent < n) {
		size_t k = n - sent < sizeof(chunk) ? (size_t)(n - sent) : sizeof(chunk);
		ssize_t w = c_write(c, chunk, k);
		if (w <= 0)
			return;
		sent += (size_t)w;
		chunk[0] = chunk[1] = chunk[2] = chunk[3] = chunk[4] = chunk[5] = 'a';
	}
}

/* "@SLOW n ctype": headers, then n bytes, one per second */
static inline void serve_slow(struct fake_conn *c, const char *spec)
{
	char hdr[512], ctype[128] = "application/json";
	unsigned long long n = 0;
	int hl;

	if (sscanf(spec + 5, "%llu %127s", &n, ctype) < 1)
		return;
	hl = snprintf(hdr, sizeof(hdr),
		      "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %llu\r\n"
		      "Connection: close\r\n\r\n",
		      ctype, n);
	if (c_write(c, hdr, (size_t)hl) != hl)
		return;
	for (unsigned long long i = 0; i < n; i++) {
		if (c_write(c, "a", 1) != 1)
			return;
		sleep(1);
	}
}

/* 1: keep the connection open (a hanging answer), 0: close it. */
static inline int serve_one(struct fake_conn *c)
{
	char req[65536], path[256] = "", file[900], resp[300000];
	size_t len = 0, need = 0;
	char *hend = NULL;
	uint32_t flen;
	ssize_t n;
	int rf;

	while (len < sizeof(req) - 1) {
		n = c_read(c, req + len, sizeof(req) - 1 - len);
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
		n = c_write(c, nf, sizeof(nf) - 1);
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
		serve_big(c, resp);
		return 0;
	}
	if (strncmp(resp, "@SLOW", 5) == 0) {
		serve_slow(c, resp);
		return 0;
	}
	if (c_write(c, resp, (size_t)n) != n)
		return 0;
	return 0;
}

static inline int srv_start_tls(SSL_CTX *ctx)
{
	struct sockaddr_in a = { 0 };
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
			struct timeval tv = { 5, 0 };
			struct fake_conn c = { accept(lfd, NULL, NULL), NULL };
			int keep = 0;

			if (c.fd < 0)
				continue;
			setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			if (ctx && (!(c.ssl = SSL_new(ctx)) || SSL_set_fd(c.ssl, c.fd) != 1 ||
				    SSL_accept(c.ssl) != 1)) {
				SSL_free(c.ssl);
				close(c.fd);
				continue;
			}
			keep = serve_one(&c);
			if (keep)
				continue; /* a hanging answer keeps its connection until exit */
			if (c.ssl) {
				SSL_shutdown(c.ssl);
				SSL_free(c.ssl);
			}
			close(c.fd);
		}
	}
	close(lfd);
	close(pfd[1]);
	srv_log = pfd[0];
	fcntl(srv_log, F_SETFL, O_NONBLOCK);
	return 0;
}

static inline int srv_start(void)
{
	return srv_start_tls(NULL);
}

static inline void srv_stop(void)
{
	if (srv_pid > 0) {
		kill(srv_pid, SIGKILL);
		waitpid(srv_pid, NULL, 0);
		close(srv_log);
	}
	srv_pid = 0;
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
		struct pollfd p = { srv_log, POLLIN, 0 };

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
