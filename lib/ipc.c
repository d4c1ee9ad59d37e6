/* ipc.c: framing for the module <-> helper socketpair. libc only. */
#include "ipc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

static const char *const names[] = {
	[IPC_CONTEXT] = "CONTEXT",	 [IPC_INFO] = "INFO",
	[IPC_ERROR] = "ERROR",		 [IPC_PROMPT_ON] = "PROMPT_ON",
	[IPC_PROMPT_OFF] = "PROMPT_OFF", [IPC_RESULT] = "RESULT",
	[IPC_ANSWER] = "ANSWER",	 [IPC_CANCEL] = "CANCEL",
};
#define NTYPES (sizeof(names) / sizeof(names[0]))

long long ipc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum ipc_type ipc_type_from_name(const char *name, size_t len)
{
	for (size_t i = 1; i < NTYPES; i++)
		if (names[i] && strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return (enum ipc_type)i;
	return 0;
}

const char *ipc_type_name(enum ipc_type t)
{
	return ((size_t)t > 0 && (size_t)t < NTYPES) ? names[t] : "?";
}

int ipc_parse_header(const char *hdr, size_t len, enum ipc_type *type, size_t *n)
{
	const char *sp = memchr(hdr, ' ', len);
	size_t v = 0, digits;
	enum ipc_type t;

	if (!sp)
		return ERR_IPC;
	if (!(t = ipc_type_from_name(hdr, (size_t)(sp - hdr))))
		return ERR_IPC;
	digits = len - (size_t)(sp - hdr) - 1;
	if (digits == 0 || digits > 6 || (digits > 1 && sp[1] == '0'))
		return ERR_IPC;
	for (size_t i = 1; i <= digits; i++) {
		if (sp[i] < '0' || sp[i] > '9')
			return ERR_IPC;
		v = v * 10 + (size_t)(sp[i] - '0');
	}
	if (v > IPC_MAX_FRAME)
		return ERR_IPC;
	*type = t;
	*n = v;
	return ERR_OK;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == ENOTSOCK)
			w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EPIPE ? ERR_IPC_CLOSED : ERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return ERR_OK;
}

int ipc_write_frame(int fd, enum ipc_type type, const void *data, size_t len)
{
	char hdr[IPC_MAX_HEADER];
	int r;

	if (!ipc_type_from_name(ipc_type_name(type), strlen(ipc_type_name(type))) ||
	    len > IPC_MAX_FRAME || (len && !data))
		return ERR_INVAL;
	snprintf(hdr, sizeof(hdr), "%s %zu\n", ipc_type_name(type), len);
	if ((r = write_all(fd, hdr, strlen(hdr))) != 0)
		return r;
	return write_all(fd, data, len);
}

/* Reads exactly n bytes before the deadline. */
static int read_exact(int fd, char *p, size_t n, long long deadline_ms)
{
	while (n > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline_ms - ipc_now_ms();
		ssize_t got;
		int pr;

		if (left <= 0)
			return ERR_IPC_TIMEOUT;
		pr = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return ERR_IO;
		}
		if (pr == 0)
			return ERR_IPC_TIMEOUT;
		got = read(fd, p, n);
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return ERR_IO;
		}
		if (got == 0)
			return ERR_IPC_CLOSED;
		p += got;
		n -= (size_t)got;
	}
	return ERR_OK;
}

int ipc_read_frame(int fd, long long deadline_ms, struct ipc_frame *out)
{
	char hdr[IPC_MAX_HEADER];
	size_t hl = 0, n = 0;
	enum ipc_type t;
	char *buf;
	int r;

	/* the header is read byte by byte: it is short, and nothing past the
	 * frame may be consumed */
	for (;;) {
		if (hl == sizeof(hdr))
			return ERR_IPC;
		if ((r = read_exact(fd, hdr + hl, 1, deadline_ms)) != 0)
			return r;
		if (hdr[hl] == '\n')
			break;
		hl++;
	}
	if ((r = ipc_parse_header(hdr, hl, &t, &n)) != 0)
		return r;
	if (!(buf = malloc(n + 1)))
		return ERR_NOMEM;
	if ((r = read_exact(fd, buf, n, deadline_ms)) != 0) {
		explicit_bzero(buf, n + 1);
		free(buf);
		return r;
	}
	buf[n] = '\0';
	out->type = t;
	out->data = buf;
	out->len = n;
	return ERR_OK;
}

void ipc_frame_cleanup(struct ipc_frame *f)
{
	if (!f || !f->data)
		return;
	explicit_bzero(f->data, f->len);
	free(f->data);
	f->data = NULL;
	f->len = 0;
}

int ipc_kv_get(const char *data, size_t len, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);
	const char *p = data, *end = data + len;
	int found = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		if ((size_t)(le - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == '=') {
			size_t vl = (size_t)(le - p) - kl - 1;
			if (found || vl + 1 > outlen || memchr(p + kl + 1, '\0', vl))
				return ERR_IPC;
			memcpy(out, p + kl + 1, vl);
			out[vl] = '\0';
			found = 1;
		}
		p = nl ? nl + 1 : end;
	}
	return found ? 0 : 1;
}

static const char *const status_names[] = {
	[IPC_STATUS_SUCCESS] = "success",
	[IPC_STATUS_AUTH_ERR] = "auth_err",
	[IPC_STATUS_AUTHINFO_UNAVAIL] = "authinfo_unavail",
	[IPC_STATUS_MAXTRIES] = "maxtries",
	[IPC_STATUS_USER_UNKNOWN] = "user_unknown",
};
#define NSTATUS (sizeof(status_names) / sizeof(status_names[0]))

int ipc_status_parse(const char *word, size_t len, enum ipc_status *out)
{
	if (!word || len == 0)
		return ERR_IPC;
	for (size_t i = 1; i < NSTATUS; i++)
		if (status_names[i] && strlen(status_names[i]) == len &&
		    memcmp(status_names[i], word, len) == 0) {
			*out = (enum ipc_status)i;
			return ERR_OK;
		}
	return ERR_IPC;
}

const char *ipc_status_name(enum ipc_status st)
{
	return ((size_t)st > 0 && (size_t)st < NSTATUS) ? status_names[st] : NULL;
}

int ipc_result_parse(const char *data, size_t len, struct ipc_result *out)
{
	char word[32];
	struct ipc_result res = { 0 };
	int r;

	if (ipc_kv_get(data, len, "status", word, sizeof(word)) != 0 ||
	    ipc_status_parse(word, strlen(word), &res.status) != 0)
		return ERR_IPC;
	if ((r = ipc_kv_get(data, len, "user", res.user, sizeof(res.user))) < 0)
		return ERR_IPC;
	if (r == 1)
		res.user[0] = '\0';
	*out = res;
	return ERR_OK;
}

int ipc_result_write(int fd, enum ipc_status st, const char *user)
{
	char buf[64 + IPC_USER_MAX];
	const char *name = ipc_status_name(st);
	int n;

	if (!user)
		user = "";
	if (!name || strlen(user) >= IPC_USER_MAX || strpbrk(user, "\r\n"))
		return ERR_INVAL;
	n = snprintf(buf, sizeof(buf), "status=%s\nuser=%s\n", name, user);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return ERR_INVAL;
	return ipc_write_frame(fd, IPC_RESULT, buf, (size_t)n);
}
