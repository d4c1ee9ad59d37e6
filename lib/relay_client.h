/* relay_client.h: the helper's side of the relay protocol
 * (relay/PROTOCOL.md): register a login, long-poll for its outcome. */
#ifndef OP_RELAY_CLIENT_H
#define OP_RELAY_CLIENT_H

#include <stddef.h>

#include "http.h"

#define RELAY_MAX_BODY (16 * 1024)

struct relay_registration {
	const char *relay_url;	 /* base_url, e.g. https://relay.example.org */
	const char *state;	 /* 43 base64url */
	const char *poll_secret; /* 43 base64url; only its SHA-256 is sent */
	long ttl;		 /* seconds */
	const char *authorization_url;
	const char *host, *service, *user, *rhost; /* the context page */
	const char *confirm_code;		   /* NULL unless wait = code */
	const char *registration_secret;	   /* NULL unless the relay requires one */
};

struct relay_session {
	char id[17];	/* 16 base64url */
	char link[512]; /* relay_url + "/l/" + id, checked */
	long expires_in;
};

enum relay_status {
	RELAY_PENDING = 1,
	RELAY_CODE,
	RELAY_ERROR,
	RELAY_DENIED,
	RELAY_CONFLICT,
	RELAY_EXPIRED,
};

struct relay_result {
	enum relay_status status;
	char *code;		 /* RELAY_CODE */
	char *iss;		 /* RELAY_CODE, when the callback had one */
	char *error;		 /* RELAY_ERROR, printable ASCII */
	char *error_description; /* RELAY_ERROR, sanitized, may be NULL */
};

/* POST /v1/sessions. The link in the answer must be relay_url + "/l/" + a
 * 16-character base64url id (a relay cannot point the QR code elsewhere). */
int relay_register(const struct http_opts *h, const struct relay_registration *reg,
		   struct relay_session *out);

/* GET /v1/sessions/<state>?wait=N with the poll secret as bearer. 404 ->
 * ERR_RELAY_NOT_FOUND (expired, unknown or bad secret: the login fails). */
int relay_poll(const struct http_opts *h, const char *relay_url, const char *state,
	       const char *poll_secret, int wait, struct relay_result *out);

/* Parses a poll answer body (strict JSON; extra members such as id_token
 * are ignored: AZ-12). Exposed for tests and the fuzzer. */
int relay_parse_poll(const char *json, size_t len, struct relay_result *out);

/* Wipes and frees the members. */
void relay_result_cleanup(struct relay_result *r);

#endif
