/* ipc.h: module <-> helper frames over a socketpair (DESIGN.md).
 * A frame is "TYPE LENGTH\n" followed by LENGTH bytes, LENGTH <= 64 KiB.
 * Payloads are "key=value\n" lines. This is the one lib file the PAM module
 * links (with err.c): libc only, no OpenSSL; secrets wiped with
 * explicit_bzero. */
#ifndef OP_IPC_H
#define OP_IPC_H

#include <stddef.h>

#define IPC_MAX_FRAME  (64 * 1024)
#define IPC_MAX_HEADER 32

enum ipc_type {
	IPC_CONTEXT = 1, /* module -> helper, first frame */
	IPC_INFO,	 /* helper -> module: text to show */
	IPC_ERROR,	 /* helper -> module: text to show as an error */
	IPC_PROMPT_ON,	 /* helper -> module: ask, echo on */
	IPC_PROMPT_OFF,	 /* helper -> module: ask, echo off */
	IPC_RESULT,	 /* helper -> module: status= and user= lines */
	IPC_ANSWER,	 /* module -> helper: the reply to a prompt */
	IPC_CANCEL,	 /* module -> helper: the conversation failed */
};

/* The RESULT frame's status= word. The one table of names is in ipc.c; the
 * PAM code for each is the module's to choose (the library knows no PAM). */
enum ipc_status {
	IPC_STATUS_SUCCESS = 1,	     /* "success": the only grant */
	IPC_STATUS_AUTH_ERR,	     /* "auth_err" */
	IPC_STATUS_AUTHINFO_UNAVAIL, /* "authinfo_unavail": IdP, relay or config unusable */
	IPC_STATUS_MAXTRIES,	     /* "maxtries" */
	IPC_STATUS_USER_UNKNOWN,     /* "user_unknown" */
};

#define IPC_USER_MAX 256 /* user= value, NUL included */

/* A parsed RESULT payload: "status=WORD\nuser=NAME\n" (user= optional). */
struct ipc_result {
	enum ipc_status status;
	char user[IPC_USER_MAX]; /* "" when absent */
};

struct ipc_frame {
	enum ipc_type type;
	char *data; /* NUL-terminated, len bytes */
	size_t len;
};

/* Monotonic clock in milliseconds, for deadlines. */
long long ipc_now_ms(void);

/* "INFO" -> IPC_INFO, exact and case-sensitive; 0 when unknown. */
enum ipc_type ipc_type_from_name(const char *name, size_t len);
const char *ipc_type_name(enum ipc_type t);

/* Parses a header line without its '\n': a known TYPE, one space, a decimal
 * LENGTH without sign or leading zeros, <= IPC_MAX_FRAME. ERR_IPC else. */
int ipc_parse_header(const char *hdr, size_t len, enum ipc_type *type, size_t *n);

/* Writes one frame (retries short writes and EINTR; MSG_NOSIGNAL). */
int ipc_write_frame(int fd, enum ipc_type type, const void *data, size_t len);

/* Reads one frame, waiting at most until deadline_ms (ipc_now_ms clock).
 * ERR_IPC_TIMEOUT, ERR_IPC_CLOSED, ERR_IPC. out->data malloc'd. */
int ipc_read_frame(int fd, long long deadline_ms, struct ipc_frame *out);

/* Wipes and frees out->data. */
void ipc_frame_cleanup(struct ipc_frame *f);

/* Finds "key=value" as a whole line in data; copies value into out. ERR_IPC
 * when the key appears twice, the value does not fit, or holds a NUL;
 * Returns 0 when found, 1 when absent. */
int ipc_kv_get(const char *data, size_t len, const char *key, char *out, size_t outlen);

/* "auth_err" -> IPC_STATUS_AUTH_ERR, exact and case-sensitive. ERR_IPC for
 * an unknown, empty or overlong word (a refusal; out untouched). */
int ipc_status_parse(const char *word, size_t len, enum ipc_status *out);
/* The wire word, or NULL for a value outside the table. */
const char *ipc_status_name(enum ipc_status st);

/* Parses a RESULT payload: status= exactly once and known, user= at most
 * once, shorter than IPC_USER_MAX. ERR_IPC else; out set only on success. */
int ipc_result_parse(const char *data, size_t len, struct ipc_result *out);

/* Writes the one RESULT frame. ERR_INVAL for a status outside the table or a
 * user that is too long or holds a CR or LF (nothing is written then). */
int ipc_result_write(int fd, enum ipc_status st, const char *user);

#endif
