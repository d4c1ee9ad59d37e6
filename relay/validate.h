/* validate.h: everything the relay accepts from the network is parsed here,
 * strictly, before it touches the store: the registration body and its
 * authorization URL (RLY-01/02/03/05), callback queries (RLY-13), the
 * context page's form, the poll query and the bearer header. Errors carry
 * a fixed text naming the problem; input is never echoed back (RLY-11). */
#ifndef RELAY_VALIDATE_H
#define RELAY_VALIDATE_H

#include <stddef.h>

#include "qs.h"
#include "rconf.h"
#include "store.h"

#define REG_BODY_MAX	  (16 * 1024)
#define AUTH_URL_MAX	  2048
#define CB_CODE_MAX	  2048
#define CB_ISS_MAX	  1024
#define CB_ERROR_MAX	  256
#define CB_ERROR_DESC_MAX 1024
#define POLL_WAIT_MAX	  30

/* A validated registration (POST /v1/sessions). */
struct reg {
	char state[STORE_STATE_LEN + 1];
	unsigned char poll_hash[STORE_HASH_LEN];
	unsigned ttl; /* clamped to max_ttl */
	char *auth_url;
	struct store_context ctx;
	char confirm[STORE_CONFIRM_MAX + 1];
};

/* ERR_RELAY_REQUEST (or ERR_RELAY_AUTH_URL for the URL) with *why set to a
 * fixed text; ERR_NOMEM. *out set only on success; reg_cleanup it. */
int reg_parse(const char *body, size_t len, const struct rconf *cf, struct reg *out,
	      const char **why);
void reg_cleanup(struct reg *r);

/* The authorization URL, whole (RLY-01/02/03). ERR_RELAY_AUTH_URL + *why. */
int authurl_check(const char *url, size_t len, const struct rconf *cf, const char *state,
		  const char **why);

/* A callback query: state plus either code (+ iss) or error (+ description). */
struct cbq {
	char state[STORE_STATE_LEN + 1];
	char *code, *iss, *error, *error_description;
};
int cbq_parse(const char *q, size_t len, struct cbq *out);
void cbq_cleanup(struct cbq *c);

/* The context page form: csrf plus exactly one of continue / deny. */
enum link_action { LINK_CONTINUE = 1, LINK_DENY };
int linkform_parse(const char *body, size_t len, enum link_action *act,
		   char csrf[STORE_CSRF_LEN + 1]);

/* The poll query: empty or "wait=N" (digits; capped at POLL_WAIT_MAX). */
int pollq_parse(const char *q, size_t len, unsigned *wait);

/* "Bearer <token>": tok and toklen point into hdr. ERR_RELAY_REQUEST when
 * absent or malformed. */
int bearer_parse(const char *hdr, const char **tok, size_t *toklen);

/* Context-type check of a request header value ("application/json",
 * optionally followed by ";" parameters; type compared ignoring case). */
int ctype_is(const char *hdr, const char *type);

#endif
