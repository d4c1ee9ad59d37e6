/* cmd_login.c: `oauth2-pkce-helper login --fd 3`, run by pam_oauth2_pkce.so
 * for one login. Reads the CONTEXT frame on the socket, then: config and
 * the [service] policy, discovery + JWKS, PKCE/state/nonce/poll secret,
 * registration at the relay, link + QR to the person, wait (poll | enter |
 * code), the code from the relay, RFC 9207 iss, redemption with the
 * verifier, ID-token validation, mapping to a local account, and exactly one
 * RESULT frame. Every failure is a refusal; secrets are wiped on every path.
 * Exit 0 only after RESULT status=success. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "assurance.h"
#include "authz.h"
#include "claims.h"
#include "config.h"
#include "err.h"
#include "hash.h"
#include "helper.h"
#include "ipc.h"
#include "json.h"
#include "oidc.h"
#include "pkce.h"
#include "priv.h"
#include "qr.h"
#include "rand.h"
#include "ratelimit.h"
#include "relay_client.h"
#include "secret.h"
#include "text.h"
#include "userinfo.h"

#define CTX_FIELD      256
#define MARGIN_MS      3000 /* RESULT must reach the module before its deadline */
#define MAX_CODE_TRIES 3
#define CONFIRM_DIGITS 6

#define REG_CTX_MAX 128 /* the relay takes 1..128 bytes per context value */

/* What the module told us (CONTEXT). */
struct login_ctx {
	char user[CTX_FIELD], service[CTX_FIELD], rhost[CTX_FIELD], tty[CTX_FIELD];
	char config[CTX_FIELD * 4], section[CTX_FIELD];
	int debug, user_from_token;
	long timeout;
	long ruid; /* the real uid of the PAM application (-1 unknown) */
};

/* One login's state; everything secret in here is wiped by login_cleanup. */
struct login {
	int fd;
	pid_t parent; /* the PAM host: PR_SET_PDEATHSIG is checked against it */
	long long deadline_ms, start_ms;
	struct login_ctx ctx;
	struct config *cfg;
	struct config_login pol;
	enum config_wait mode;
	struct oidc oidc;
	struct pkce pkce;
	char poll_secret[PKCE_STR_LEN + 1];
	char confirm[CONFIRM_DIGITS + 1];
	char redirect_uri[600];
	char *auth_url;
	char *relay_secret, *client_secret; /* PAM-23: read as root, wiped after use */
	char *map_text;			    /* map_file's contents, read as root */
	struct relay_session session;
	struct relay_result result;
	struct token_response *tokens;
	struct jwt *idt;
	cJSON *claims;	   /* the ID token's claims + what UserInfo filled (IDT-29) */
	int from_userinfo; /* a claim the mapping used came from UserInfo */
	char mapped[CLAIMS_USER_MAX + 1];
	char sid[HASH_SID_LEN + 1]; /* hash_sid(relay id), as the relay logs */
	const char *why;	    /* the one-line reason for the audit log */
	struct log log;
};

static void syslog_sink(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	syslog(prio, "%s", msg);
}

/* ---- talking to the module ------------------------------------------------ */

static void say(struct login *l, enum ipc_type t, const char *text)
{
	ipc_write_frame(l->fd, t, text, strlen(text));
}

/* Sends a prompt and waits for its ANSWER (copied into ans, trimmed).
 * -1 on CANCEL, deadline or a broken channel. */
static int ask(struct login *l, const char *text, int echo, char *ans, size_t anslen)
{
	struct ipc_frame f = { 0 };
	int r;

	if (ipc_write_frame(l->fd, echo ? IPC_PROMPT_ON : IPC_PROMPT_OFF, text, strlen(text)) != 0)
		return -1;
	r = ipc_read_frame(l->fd, l->deadline_ms, &f);
	if (r != 0 || f.type != IPC_ANSWER) {
		ipc_frame_cleanup(&f);
		return -1;
	}
	snprintf(ans, anslen, "%s", f.data);
	ans[strcspn(ans, "\r\n")] = '\0';
	while (*ans == ' ' || *ans == '\t')
		memmove(ans, ans + 1, strlen(ans));
	for (size_t n = strlen(ans); n > 0 && (ans[n - 1] == ' ' || ans[n - 1] == '\t'); n--)
		ans[n - 1] = '\0';
	ipc_frame_cleanup(&f);
	return 0;
}

/* The one RESULT (the status words are lib/ipc.c's table). */
static int result(struct login *l, enum ipc_status status, const char *user)
{
	return ipc_result_write(l->fd, status, user);
}

/* A refusal: one line for the person (ERROR), one for the audit log. */
static int refuse(struct login *l, enum ipc_status status, const char *line)
{
	char clean[400];

	log_sanitize(clean, sizeof(clean), line);
	say(l, IPC_ERROR, clean);
	l->why = l->why ? l->why : "refused";
	log_msg(&l->log, LOG_WARNING,
		"login refused: user=%.64s service=%.64s rhost=%.64s sid=%s: %s (%s)",
		l->ctx.user[0] ? l->ctx.user : "-", l->ctx.service,
		l->ctx.rhost[0] ? l->ctx.rhost : "-", l->sid[0] ? l->sid : "-", clean, l->why);
	result(l, status, NULL);
	return EXIT_REFUSED;
}

static long remaining_s(const struct login *l)
{
	return (l->deadline_ms - ipc_now_ms()) / 1000;
}

/* The IdP requests' timeout: the configured one, but never past the
 * deadline (the module would kill us mid-request). */
static void clamp_http(struct login *l)
{
	long long left = l->deadline_ms - ipc_now_ms();
	long conf = (l->cfg->http_timeout > 0 ? l->cfg->http_timeout : 10) * 1000L;

	l->oidc.http.total_timeout_ms = left < conf ? (left > 1000 ? (long)left : 1000) : conf;
	if (l->oidc.http.connect_timeout_ms > l->oidc.http.total_timeout_ms)
		l->oidc.http.connect_timeout_ms = l->oidc.http.total_timeout_ms;
}

/* Issue 8: the first requests of a login, before any link is shown (IdP
 * discovery/JWKS or, from a warm cache, the probe; the relay registration)
 * get first_contact_timeout, at most http_timeout: an IdP or relay that does
 * not answer within it makes the login unavailable at once, so a fallback
 * stack asks for the password instead of showing a link that cannot work. */
static void first_contact(const struct login *l, struct http_opts *h)
{
	long fc = (l->cfg->first_contact_timeout > 0 ? l->cfg->first_contact_timeout : 2) * 1000L;

	if (h->total_timeout_ms > fc)
		h->total_timeout_ms = fc;
	if (h->connect_timeout_ms > fc)
		h->connect_timeout_ms = fc;
}

/* A network failure (connect, TLS, timeout, a status that is no OAuth
 * answer, such as 500) is "unavailable"; anything the IdP said about this
 * login, or an answer we refused, is a refusal (fail closed). */
static int network_failure(int r)
{
	return r == ERR_HTTP_CONNECT || r == ERR_HTTP_TLS || r == ERR_HTTP_TIMEOUT ||
	       r == ERR_HTTP || r == ERR_HTTP_STATUS;
}

/* auto: code when the login comes over the network (PAM_RHOST), and when
 * the program asking runs for someone else than the account (su: a local
 * user could send the link to its owner and get the account once they sign
 * in); poll for the account's own local sudo and for the console (root). */
static enum config_wait auto_mode(const struct login *l)
{
	struct passwd *pw;

	if (l->ctx.rhost[0])
		return CONFIG_WAIT_CODE;
	if (l->ctx.ruid == 0)
		return CONFIG_WAIT_POLL;
	pw = l->ctx.user[0] ? getpwnam(l->ctx.user) : NULL;
	if (l->ctx.ruid < 0 || !pw || (long)pw->pw_uid != l->ctx.ruid)
		return CONFIG_WAIT_CODE;
	return CONFIG_WAIT_POLL;
}

/* ---- CONTEXT ---------------------------------------------------------------- */

static int read_context(struct login *l)
{
	struct ipc_frame f = { 0 };
	struct login_ctx *c = &l->ctx;
	char num[32];
	int r = -1;

	if (ipc_read_frame(l->fd, ipc_now_ms() + 5000, &f) != 0 || f.type != IPC_CONTEXT)
		goto out;
	if (ipc_kv_get(f.data, f.len, "user", c->user, sizeof(c->user)) < 0 ||
	    ipc_kv_get(f.data, f.len, "service", c->service, sizeof(c->service)) != 0 ||
	    ipc_kv_get(f.data, f.len, "rhost", c->rhost, sizeof(c->rhost)) < 0 ||
	    ipc_kv_get(f.data, f.len, "tty", c->tty, sizeof(c->tty)) < 0 ||
	    ipc_kv_get(f.data, f.len, "config", c->config, sizeof(c->config)) != 0 ||
	    ipc_kv_get(f.data, f.len, "section", c->section, sizeof(c->section)) < 0)
		goto out;
	c->debug = ipc_kv_get(f.data, f.len, "debug", num, sizeof(num)) == 0 && !strcmp(num, "1");
	c->user_from_token = ipc_kv_get(f.data, f.len, "user_from_token", num, sizeof(num)) == 0 &&
			     !strcmp(num, "1");
	c->timeout = 110;
	if (ipc_kv_get(f.data, f.len, "timeout", num, sizeof(num)) == 0)
		c->timeout = strtol(num, NULL, 10);
	c->ruid = -1;
	if (ipc_kv_get(f.data, f.len, "ruid", num, sizeof(num)) == 0)
		c->ruid = strtol(num, NULL, 10);
	if (c->timeout < 5 || c->timeout > 3600 || c->config[0] != '/')
		goto out;
	r = 0;
out:
	ipc_frame_cleanup(&f);
	return r;
}

/* ---- pieces of the flow ------------------------------------------------------- */

/* Six uniform digits from getrandom (rejection sampling). */
static int make_confirm_code(char out[CONFIRM_DIGITS + 1])
{
	unsigned int v;

	do {
		if (rand_bytes(&v, sizeof(v)) != 0)
			return ERR_RANDOM;
	} while (v >= 4294000000u); /* 4294 * 10^6: no modulo bias */
	snprintf(out, CONFIRM_DIGITS + 1, "%06u", v % 1000000u);
	OPENSSL_cleanse(&v, sizeof(v));
	return ERR_OK;
}

/* "Sign in at LINK" + QR + validity; in the prompt itself for sshd. */
static char *login_message(struct login *l, const char *tail)
{
	char *qr = NULL, *msg, who[CTX_FIELD];
	size_t n;

	/* PAM_USER is the client's choice (ssh user name): printable ASCII only */
	log_sanitize(who, sizeof(who), l->ctx.user[0] ? l->ctx.user : "yourself");
	if (l->pol.qr != CONFIG_QR_OFF &&
	    qr_render(l->session.link,
		      l->pol.qr == CONFIG_QR_ASCII ? QR_STYLE_ASCII : QR_STYLE_UTF8, 4, &qr) != 0)
		qr = NULL; /* too long for a small code: the link alone */
	n = strlen(l->session.link) + (qr ? strlen(qr) : 0) + strlen(tail) + 256;
	if (!(msg = malloc(n))) {
		free(qr);
		return NULL;
	}
	snprintf(
		msg, n,
		"To log in as %s, sign in with your organisation's account:\n%s%s\n(link valid for %ld s)\n%s",
		who, qr ? qr : "", l->session.link, l->session.expires_in, tail);
	free(qr);
	return msg;
}

/* Long-polls until a final answer or the deadline. With max_wait < 25 it
 * returns after one poll even when pending (enter mode asks again). */
static int poll_relay(struct login *l, struct http_opts *h, int max_wait)
{
	for (;;) {
		long left = remaining_s(l);
		int wait = (int)(left - 1 < max_wait ? left - 1 : max_wait), r;

		if (left <= 1)
			return ERR_FLOW_DEADLINE;
		if (wait < 0)
			wait = 0;
		h->total_timeout_ms =
			(wait + (l->cfg->http_timeout > 0 ? l->cfg->http_timeout : 10)) * 1000L;
		if (h->total_timeout_ms > (left - 1) * 1000L + 500)
			h->total_timeout_ms =
				(left - 1) * 1000L + 500; /* never past the deadline */
		relay_result_cleanup(&l->result);
		r = relay_poll(h, l->cfg->relay_url, l->pkce.state, l->poll_secret, wait,
			       &l->result);
		if (r != 0)
			return r;
		if (l->result.status != RELAY_PENDING || max_wait < 25)
			return ERR_OK;
	}
}

/* Wipes the access token: after the UserInfo call, or once it is known that
 * none is made (it was needed only for at_hash and UserInfo). */
static void wipe_access_token(struct login *l)
{
	if (l->tokens) {
		secret_str_free(l->tokens->access_token);
		l->tokens->access_token = NULL;
	}
}

/* IDT-29: the claims the policy needs from UserInfo when the ID token lacks
 * them (userinfo = auto), at every login (always) or never. Sets l->claims
 * when UserInfo was asked. EXIT_ACCEPTED to go on, else the refusal's exit. */
static int userinfo_claims(struct login *l, const struct claims_policy *cp)
{
	const char *sub = NULL;
	cJSON *ui = NULL;
	char line[300];
	int r, needed = userinfo_needed(l->idt->payload, cp);

	if (l->pol.userinfo == CONFIG_USERINFO_NEVER ||
	    (l->pol.userinfo == CONFIG_USERINFO_AUTO && !needed)) {
		if (needed)
			log_msg(&l->log, LOG_NOTICE,
				"userinfo: a claim the policy needs is absent from the ID token; "
				"userinfo = never, so UserInfo is not asked");
		wipe_access_token(l);
		return EXIT_ACCEPTED;
	}
	if (!l->oidc.disc->userinfo_endpoint && l->pol.userinfo == CONFIG_USERINFO_AUTO) {
		log_msg(&l->log, LOG_NOTICE,
			"userinfo: a claim the policy needs is absent from the "
			"ID token and the identity provider publishes no "
			"userinfo_endpoint");
		wipe_access_token(l);
		return EXIT_ACCEPTED; /* the mapping refuses with the missing claim */
	}
	json_get_string(l->idt->payload, "sub", &sub); /* verified: a non-empty string */
	clamp_http(l);
	r = userinfo_fetch(&l->oidc.http, l->oidc.disc->userinfo_endpoint,
			   l->tokens ? l->tokens->access_token : NULL, sub, &l->log, &ui);
	wipe_access_token(l);
	if (r == 0)
		r = userinfo_merge(l->idt->payload, ui, cp, &l->log, &l->claims, &l->from_userinfo);
	json_delete_wiped(ui);
	if (r == 0)
		return EXIT_ACCEPTED;
	l->why = err_str(r);
	if (r == ERR_USERINFO_NO_ENDPOINT)
		return refuse(l, IPC_STATUS_AUTHINFO_UNAVAIL,
			      "Login through the identity provider is not "
			      "available (configuration error: userinfo = always, "
			      "but the identity provider has no UserInfo endpoint)");
	if (userinfo_err_unavailable(r)) {
		snprintf(line, sizeof(line), "Identity provider unreachable (user information: %s)",
			 err_str(r));
		return refuse(l, IPC_STATUS_AUTHINFO_UNAVAIL, line);
	}
	snprintf(line, sizeof(line), "The identity provider's user information was refused: %s",
		 err_str(r));
	return refuse(l, IPC_STATUS_AUTH_ERR, line);
}

/* The person's line for an assurance refusal r (IDT-25, IDT-26). */
static void assurance_line(const struct login *l, int r, char *line, size_t len)
{
	const char *svc = l->ctx.section[0] ? l->ctx.section : "this service";

	switch (r) {
	case ERR_CLAIM_AUTH_OLD:
		if (l->pol.max_age >= 0)
			snprintf(
				line, len,
				"This sign-in is older than %.64s allows (max %ld s): sign in again",
				svc, l->pol.max_age);
		else
			snprintf(
				line, len,
				"This sign-in is older than this login (%.64s asks for a new one): "
				"sign in again",
				svc);
		break;
	case ERR_CLAIM_AUTH_TIME:
		snprintf(line, len,
			 "%.64s needs a recent sign-in, and the identity provider did not say when "
			 "you signed in",
			 svc);
		break;
	case ERR_CLAIM_AUTH_FUTURE:
		snprintf(line, len,
			 "The identity provider's sign-in time is in the future: check the clocks");
		break;
	case ERR_CLAIM_AMR:
		if (text_has_word(l->pol.required_amr, "mfa"))
			snprintf(line, len, "%.64s needs multi-factor sign-in", svc);
		else
			snprintf(line, len, "%.64s needs sign-in with %.120s", svc,
				 l->pol.required_amr);
		break;
	case ERR_CLAIM_ACR:
		snprintf(line, len, "%.64s needs a stronger sign-in (%.160s)", svc,
			 l->pol.required_acr);
		break;
	case ERR_CLAIM_TYPE:
		snprintf(line, len,
			 "The identity provider described the sign-in in a form %.64s cannot check "
			 "(acr, amr or auth_time): login refused",
			 svc);
		break;
	default:
		snprintf(line, len, "The identity provider's answer was refused: %s", err_str(r));
		break;
	}
}

/* IDT-25, IDT-26, XD-12: the [service] assurance rules on the verified ID
 * token (never on UserInfo claims), each refusal with its own line. */
static int check_assurance(struct login *l)
{
	struct assurance_policy ap = { 0 };
	char line[300];
	int r;

	assurance_policy_for(l->cfg, &l->pol, l->oidc.now, &ap);
	/* IDT-25: prompt=login asks for a sign-in during this login; an IdP
	 * that answers from an older session is refused */
	if (text_has_word(l->pol.prompt, "login"))
		ap.not_before = l->oidc.now - (time_t)((ipc_now_ms() - l->start_ms + 999) / 1000);
	if ((r = assurance_check(l->idt->payload, &ap, &l->log)) == 0)
		return EXIT_ACCEPTED;
	l->why = err_str(r);
	assurance_line(l, r, line, sizeof(line));
	return refuse(l, IPC_STATUS_AUTH_ERR, line);
}

/* The code from the relay -> tokens -> a verified ID token that passes the
 * assurance rules. EXIT_ACCEPTED to go on, else the refusal's exit. */
static int redeem_and_verify(struct login *l)
{
	struct authz_response ar = { 0 };
	char line[300];
	int r;

	/* RFC 9207 and our own state (the relay answered for our state, but the
	 * same check as for any callback keeps one code path: AZ-08, AZ-10) */
	ar.code = l->result.code;
	ar.iss = l->result.iss;
	ar.state = l->pkce.state;
	r = authz_check_response(&ar, l->pkce.state, l->cfg->issuer,
				 l->oidc.disc->iss_parameter_supported);
	if (r != 0) {
		l->why = err_str(r);
		return refuse(
			l, IPC_STATUS_AUTH_ERR,
			"The sign-in came back from another identity provider: login refused");
	}
	clamp_http(l);
	r = oidc_redeem_code(&l->oidc, l->result.code, l->pkce.verifier, l->redirect_uri,
			     &l->tokens);
	if (r != 0) {
		l->why = err_str(r);
		snprintf(line, sizeof(line), "The identity provider refused the sign-in (%s)",
			 l->tokens && l->tokens->error[0] ? l->tokens->error : err_str(r));
		return refuse(
			l, network_failure(r) ? IPC_STATUS_AUTHINFO_UNAVAIL : IPC_STATUS_AUTH_ERR,
			line);
	}
	l->oidc.now = time(NULL);
	r = oidc_verify_id_token(&l->oidc, l->tokens->id_token, strlen(l->tokens->id_token),
				 l->pkce.nonce, l->tokens->access_token, &l->idt);
	if (r != 0) {
		l->why = err_str(r);
		snprintf(line, sizeof(line), "The identity provider's answer was refused: %s",
			 err_str(r));
		return refuse(l, IPC_STATUS_AUTH_ERR, line);
	}
	return check_assurance(l);
}

/* The verified claims -> the local account, which must be PAM_USER; then
 * the one success RESULT. */
static int map_account(struct login *l)
{
	struct claims_policy cp = { 0 };
	const char *sub = NULL;
	char line[300];
	int r;

	cp.username_claim = l->pol.username_claim;
	cp.map_file = l->pol.map_file;
	cp.map_text = l->map_text; /* PAM-23: read before the privilege drop */
	cp.strip_domain = l->pol.strip_domain;
	cp.lowercase = l->pol.lowercase;
	cp.allow_root = l->pol.allow_root;
	cp.groups_claim = l->pol.groups_claim;
	cp.allowed_groups = l->pol.allowed_groups;
	if ((r = userinfo_claims(l, &cp)) != EXIT_ACCEPTED)
		return r;
	r = claims_map_user(l->claims ? l->claims : l->idt->payload, &cp, &l->log, l->mapped,
			    sizeof(l->mapped));
	if (r != 0) {
		l->why = err_str(r);
		snprintf(line, sizeof(line), "This account cannot log in here: %s", err_str(r));
		/* auth_err even for an IdP account without a local one: the user
		 * logging in exists; user_unknown would make sudo give up with
		 * "User not known to the underlying authentication module" */
		return refuse(l, IPC_STATUS_AUTH_ERR, line);
	}
	/* PAM-16: byte for byte, case-sensitive */
	if (!l->ctx.user_from_token && strcmp(l->mapped, l->ctx.user) != 0) {
		l->why = "mapped user is not PAM_USER";
		snprintf(line, sizeof(line),
			 "This account (%s) is not the one you logged in as (%.64s)", l->mapped,
			 l->ctx.user);
		return refuse(l, IPC_STATUS_AUTH_ERR, line);
	}
	json_get_string(l->idt->payload, "sub", &sub);
	log_msg(&l->log, LOG_INFO,
		"login granted: user=%s service=%.64s rhost=%.64s iss=%s sub=%.64s sid=%s%s",
		l->mapped, l->ctx.service, l->ctx.rhost[0] ? l->ctx.rhost : "-", l->cfg->issuer,
		sub ? sub : "-", l->sid, l->from_userinfo ? " claims=id_token+userinfo" : "");
	if (result(l, IPC_STATUS_SUCCESS, l->mapped) != 0)
		return EXIT_REFUSED;
	return EXIT_ACCEPTED;
}

/* The relay's final answer -> the person's one line. */
static int outcome(struct login *l)
{
	char line[300];
	int r;

	switch (l->result.status) {
	case RELAY_CODE:
		r = redeem_and_verify(l);
		return r != EXIT_ACCEPTED ? r : map_account(l);
	case RELAY_ERROR:
		l->why = "identity provider error";
		if (!strcmp(l->result.error, "access_denied"))
			return refuse(l, IPC_STATUS_AUTH_ERR,
				      "Sign-in was cancelled at the identity provider");
		snprintf(line, sizeof(line), "The identity provider returned an error: %s%s%s",
			 l->result.error, l->result.error_description ? ": " : "",
			 l->result.error_description ? l->result.error_description : "");
		return refuse(l, IPC_STATUS_AUTH_ERR, line);
	case RELAY_DENIED:
		l->why = "denied on the context page";
		return refuse(l, IPC_STATUS_AUTH_ERR, "You said this wasn't me: login refused");
	case RELAY_CONFLICT:
		l->why = "second callback for this login";
		return refuse(l, IPC_STATUS_AUTH_ERR,
			      "A second sign-in arrived for this login: refused");
	default:
		l->why = "expired";
		return refuse(l, IPC_STATUS_AUTH_ERR, "The login link expired");
	}
}

/* Waits in the configured mode until the relay has a final answer. */
static int wait_for_signin(struct login *l, struct http_opts *h)
{
	char ans[64], line[128];
	char *msg = NULL;
	int r = ERR_FLOW, tries = 0;

	switch (l->mode) {
	case CONFIG_WAIT_POLL:
		if (!(msg = login_message(l, "Waiting for you to sign in...")))
			return ERR_NOMEM;
		say(l, IPC_INFO, msg);
		r = poll_relay(l, h, 25);
		break;
	case CONFIG_WAIT_ENTER:
		if (!(msg = login_message(l, "Press Enter once you have signed in: ")))
			return ERR_NOMEM;
		for (const char *p = msg;;
		     p = "Not signed in yet. Press Enter once you have signed in: ") {
			if (ask(l, p, 1, ans, sizeof(ans)) != 0) {
				free(msg);
				return ERR_IPC_CLOSED;
			}
			if ((r = poll_relay(l, h, 3)) != 0 || l->result.status != RELAY_PENDING)
				break;
		}
		break;
	case CONFIG_WAIT_CODE:
	default:
		if (!(msg = login_message(l, "Then type the code the browser shows: ")))
			return ERR_NOMEM;
		for (const char *p = msg;;) {
			if (ask(l, p, 1, ans, sizeof(ans)) != 0) {
				free(msg);
				return ERR_IPC_CLOSED;
			}
			if (strlen(ans) == CONFIRM_DIGITS &&
			    CRYPTO_memcmp(ans, l->confirm, CONFIRM_DIGITS) == 0)
				break;
			OPENSSL_cleanse(ans, sizeof(ans));
			if (++tries >= MAX_CODE_TRIES) {
				free(msg);
				return ERR_FLOW_CODE_TRIES; /* maxtries */
			}
			snprintf(
				line, sizeof(line),
				"Wrong code (%d of %d tries left). Type the code the browser shows: ",
				MAX_CODE_TRIES - tries, MAX_CODE_TRIES);
			p = line;
		}
		OPENSSL_cleanse(ans, sizeof(ans));
		/* the code is only shown after the callback: the answer is there */
		r = poll_relay(l, h, 25);
		break;
	}
	free(msg);
	return r;
}

static void login_cleanup(struct login *l)
{
	json_delete_wiped(l->claims);
	jwt_free(l->idt);
	token_response_free(l->tokens);
	relay_result_cleanup(&l->result);
	secret_str_free(l->auth_url);
	secret_str_free(l->relay_secret);
	secret_str_free(l->client_secret);
	free(l->map_text);
	oidc_cleanup(&l->oidc);
	config_free(l->cfg);
	pkce_cleanup(&l->pkce);
	OPENSSL_cleanse(l->poll_secret, sizeof(l->poll_secret));
	OPENSSL_cleanse(l->confirm, sizeof(l->confirm));
}

/* ---- the steps of a login ------------------------------------------------------
 * Each returns EXIT_ACCEPTED to go on, else the exit of its refusal (one
 * RESULT sent). */

static int config_error(struct login *l, const char *why)
{
	l->why = why;
	return refuse(l, IPC_STATUS_AUTHINFO_UNAVAIL,
		      "Login through the identity provider is not available (configuration error)");
}

/* CONTEXT, then the configuration and this service's policy. */
static int read_policy(struct login *l)
{
	char err[512];
	int found = 0;

	if (read_context(l) != 0) {
		syslog(LOG_ERR, "login refused: no valid CONTEXT from the module");
		result(l, IPC_STATUS_AUTH_ERR, NULL);
		return EXIT_REFUSED;
	}
	l->log.debug = l->ctx.debug;
	l->deadline_ms = l->start_ms + l->ctx.timeout * 1000 - MARGIN_MS;
	if (config_load(l->ctx.config, &l->cfg, err, sizeof(err)) != 0)
		return config_error(l, err);
	config_login_for(l->cfg, l->ctx.section, &l->pol);
	for (size_t i = 0; i < l->cfg->nsections; i++)
		found |= !strcmp(l->cfg->sections[i].name, l->ctx.section);
	if (l->cfg->nsections && !found)
		log_msg(&l->log, LOG_NOTICE,
			"no [service %.64s] section: the global login policy applies",
			l->ctx.section);
	l->mode = l->pol.wait != CONFIG_WAIT_AUTO ? l->pol.wait : auto_mode(l);
	if (!l->cfg->relay_url)
		return config_error(l, "relay_url is not set");
	if (l->ctx.user_from_token && l->mode != CONFIG_WAIT_CODE &&
	    !l->pol.kiosk_accept_login_csrf)
		return config_error(
			l, "user_from_token needs wait = code (or kiosk_accept_login_csrf = yes)");
	/* PAM-19: a user name that cannot exist (sshd passes made-up ones for
	 * unknown accounts) is not refused here: it goes through the same steps
	 * as a real one and fails only at the end, when no token maps to it */
	if (l->pol.login_timeout * 1000 + ipc_now_ms() < l->deadline_ms) /* the person's time */
		l->deadline_ms = ipc_now_ms() + l->pol.login_timeout * 1000;
	return EXIT_ACCEPTED;
}

/* PAM-23: the other root-only files a login needs, read while it can. */
static int read_secrets(struct login *l)
{
	char err[512];

	if (l->cfg->relay_secret_file &&
	    config_read_secret(l->cfg->relay_secret_file, &l->relay_secret, err, sizeof(err)) != 0)
		return config_error(l, err);
	if (l->cfg->client_secret_file &&
	    config_read_secret(l->cfg->client_secret_file, &l->client_secret, err, sizeof(err)) !=
		    0)
		return config_error(l, err);
	if (l->pol.map_file && claims_read_map(l->pol.map_file, &l->log, &l->map_text) != 0)
		return config_error(l, "map_file unreadable or unsafe");
	return EXIT_ACCEPTED;
}

/* CA bundles are read by libcurl at each request, as helper_user. */
static int check_ca_files(struct login *l)
{
	const char *f[2] = { l->cfg->ca_file, l->cfg->relay_ca_file };
	char why[400];

	for (int i = 0; i < 2; i++)
		if (f[i] && access(f[i], R_OK) != 0) {
			snprintf(
				why, sizeof(why),
				"%s %.200s is not readable by helper_user %.64s (a CA bundle is public: "
				"mode 0644)",
				i ? "relay_ca_file" : "ca_file", f[i], l->cfg->helper_user);
			return config_error(l, why);
		}
	return EXIT_ACCEPTED;
}

/* PAM-23: from here on no root: network, TLS, JSON and JWT parsing run as
 * helper_user, without groups or a way back (lib/priv.c). A helper started
 * without root (tests) keeps its uid. */
static int drop_privileges(struct login *l)
{
	struct priv_target t;
	char why[400];
	int r;

	if (geteuid() != 0)
		return EXIT_ACCEPTED;
	if (helper_user_target(l->cfg, l->ctx.config, &t, why, sizeof(why)) != 0)
		return config_error(l, why);
	helper_cache_prepare(l->cfg, &t, &l->log); /* the only moment a login can */
	if ((r = priv_drop(&t, l->parent, &l->log)) != 0) {
		l->why = err_str(r);
		return refuse(l, IPC_STATUS_AUTHINFO_UNAVAIL, "Internal error");
	}
	log_msg(&l->log, LOG_DEBUG, "login: running as %s (uid %lu)", l->cfg->helper_user,
		(unsigned long)t.uid);
	return check_ca_files(l);
}

/* XD-11, PAM-19: per user and per remote host, before anything starts. */
static int limit_rate(struct login *l)
{
	char key[CTX_FIELD + 8];
	int r;

	snprintf(key, sizeof(key), "user:%s", l->ctx.user);
	r = ratelimit_hit(l->cfg->cache_dir, key, (int)l->cfg->max_logins_per_minute, 60,
			  time(NULL), &l->log);
	if (r == 0 && l->ctx.rhost[0]) {
		snprintf(key, sizeof(key), "rhost:%s", l->ctx.rhost);
		r = ratelimit_hit(l->cfg->cache_dir, key, (int)l->cfg->max_logins_per_minute, 60,
				  time(NULL), &l->log);
	}
	if (r != 0) {
		l->why = err_str(r);
		return refuse(l, IPC_STATUS_MAXTRIES,
			      "Too many logins started: try again in a minute");
	}
	return EXIT_ACCEPTED;
}

/* The identity provider (AZ-01: before anything is shown). */
static int start_idp(struct login *l)
{
	struct http_opts normal;
	int r;

	oidc_init(&l->oidc, l->cfg, &l->log, time(NULL));
	l->oidc.client_secret = l->client_secret;
	clamp_http(l);
	normal = l->oidc.http;
	first_contact(l, &l->oidc.http);
	r = oidc_load(&l->oidc);
	if (r == 0 && l->oidc.disc_from_cache && l->oidc.jwks_from_cache)
		r = oidc_probe(&l->oidc); /* no network yet: is the IdP there? */
	l->oidc.http = normal;
	if (r != 0) {
		l->why = err_str(r);
		return refuse(l, IPC_STATUS_AUTHINFO_UNAVAIL, "Identity provider unreachable");
	}
	return EXIT_ACCEPTED;
}

/* This login's secrets and the authorization request. */
static int start_authz(struct login *l)
{
	struct authz_request q = { 0 };
	int r;

	if (pkce_init(&l->pkce) != 0 ||
	    rand_token(l->poll_secret, sizeof(l->poll_secret), 32) != 0 ||
	    (l->mode == CONFIG_WAIT_CODE && make_confirm_code(l->confirm) != 0)) {
		l->why = "no randomness";
		return refuse(l, IPC_STATUS_AUTHINFO_UNAVAIL, "Internal error");
	}
	snprintf(l->redirect_uri, sizeof(l->redirect_uri), "%s/callback", l->cfg->relay_url);
	q.authorization_endpoint = l->oidc.disc->authorization_endpoint;
	q.client_id = l->cfg->client_id;
	q.redirect_uri = l->redirect_uri;
	q.scope = l->cfg->scopes;
	q.state = l->pkce.state;
	q.nonce = l->pkce.nonce;
	q.code_challenge = l->pkce.challenge;
	q.prompt = l->pol.prompt;
	q.max_age = l->pol.max_age; /* AZ-07: -1 = not sent */
	q.acr_values = l->pol.acr_values;
	if ((r = authz_build_url(&q, &l->auth_url)) != 0) {
		l->why = err_str(r);
		return refuse(l, IPC_STATUS_AUTHINFO_UNAVAIL, "Internal error");
	}
	return EXIT_ACCEPTED;
}

/* XD-03: user (the client's choice) and rhost (reverse DNS the client may
 * control) go through the relay's own display rule; text it would refuse
 * is sent escaped ("\u{202E}", "\xFF"), not failing the login. */
static void display_context(struct login *l, char *who, char *rhost, size_t len)
{
	text_display_copy(who, len,
			  l->ctx.user[0] ? l->ctx.user : "(the account you sign in with)");
	text_display_copy(rhost, len, l->ctx.rhost);
	if ((l->ctx.user[0] && strcmp(who, l->ctx.user) != 0) || strcmp(rhost, l->ctx.rhost) != 0)
		log_msg(&l->log, LOG_WARNING,
			"login: user or rhost not shown as is on the relay (invisible, control or "
			"bidi characters, or too long): user=%s rhost=%s",
			who, rhost);
}

/* The registration at the relay; *relay_http is then the polls' options. */
static int register_login(struct login *l, struct http_opts *relay_http)
{
	struct relay_registration reg = { 0 };
	char host[256] = "", who[REG_CTX_MAX + 1], rhost[REG_CTX_MAX + 1];
	int r;

	*relay_http = l->oidc.http;
	relay_http->max_bytes = RELAY_MAX_BODY;
	relay_http->ca_file =
		l->cfg->relay_ca_file; /* NULL: the system store (ca_file is the IdP's) */
	gethostname(host, sizeof(host) - 1);
	display_context(l, who, rhost, sizeof(who));
	reg.relay_url = l->cfg->relay_url;
	reg.state = l->pkce.state;
	reg.poll_secret = l->poll_secret;
	reg.ttl = remaining_s(l) > 1 ? remaining_s(l) : 1;
	reg.authorization_url = l->auth_url;
	reg.host = host[0] ? host : "localhost";
	reg.service = l->ctx.service[0] ? l->ctx.service : "login";
	reg.user = who;
	reg.rhost = rhost;
	reg.confirm_code = l->mode == CONFIG_WAIT_CODE ? l->confirm : NULL;
	reg.registration_secret = l->relay_secret;
	first_contact(l, relay_http);
	r = relay_register(relay_http, &reg, &l->session);
	relay_http->connect_timeout_ms =
		l->oidc.http.connect_timeout_ms; /* polls set their total */
	secret_str_free(l->relay_secret);
	l->relay_secret = NULL;
	if (r != 0) {
		l->why = err_str(r);
		return refuse(l, IPC_STATUS_AUTHINFO_UNAVAIL, "Login relay unreachable");
	}
	hash_sid(l->session.id, l->sid); /* the relay's sid= too (XD-13) */
	log_msg(&l->log, LOG_DEBUG, "login: registered sid=%s, wait mode %d, %ld s", l->sid,
		l->mode, l->session.expires_in);
	return EXIT_ACCEPTED;
}

/* The person: until the relay has a final answer (outcome() reads it). */
static int wait_for_code(struct login *l, struct http_opts *relay_http)
{
	char line[64];
	int r = wait_for_signin(l, relay_http);

	switch (r) {
	case ERR_OK:
		return EXIT_ACCEPTED;
	case ERR_FLOW_CODE_TRIES:
		l->why = "wrong confirmation code 3 times";
		return refuse(l, IPC_STATUS_MAXTRIES, "Wrong code 3 times: login refused");
	case ERR_FLOW_DEADLINE:
		l->why = "timeout";
		snprintf(line, sizeof(line), "Timed out after %lld s",
			 (ipc_now_ms() - l->start_ms + 500) / 1000);
		return refuse(l, IPC_STATUS_AUTH_ERR, line);
	case ERR_IPC_CLOSED:
		l->why = "conversation ended";
		return refuse(l, IPC_STATUS_AUTH_ERR, "Login cancelled");
	case ERR_RELAY_NOT_FOUND:
		l->why = "relay forgot the login (expired)";
		return refuse(l, IPC_STATUS_AUTH_ERR, "The login link expired");
	default:
		l->why = err_str(r);
		return refuse(l, IPC_STATUS_AUTHINFO_UNAVAIL, "Login relay unreachable");
	}
}

static int run(struct login *l)
{
	struct http_opts relay_http;
	int rc;

	if ((rc = read_policy(l)) != EXIT_ACCEPTED || (rc = read_secrets(l)) != EXIT_ACCEPTED ||
	    (rc = drop_privileges(l)) != EXIT_ACCEPTED || (rc = limit_rate(l)) != EXIT_ACCEPTED ||
	    (rc = start_idp(l)) != EXIT_ACCEPTED || (rc = start_authz(l)) != EXIT_ACCEPTED ||
	    (rc = register_login(l, &relay_http)) != EXIT_ACCEPTED ||
	    (rc = wait_for_code(l, &relay_http)) != EXIT_ACCEPTED)
		return rc;
	return outcome(l);
}

/* login --fd N (default 3). EXIT_USAGE with a line on stderr otherwise. */
static int parse_args(int argc, char **argv, struct login *l)
{
	const char *fdarg = "3";

	for (int i = 1; i < argc; i++) {
		if (helper_opt(argv, argc, &i, "--fd", &fdarg) != 1) {
			fprintf(stderr,
				"%s: login is run by pam_oauth2_pkce.so (usage: login --fd N)\n",
				HELPER_NAME);
			return EXIT_USAGE;
		}
	}
	l->fd = atoi(fdarg);
	if (l->fd < 3) {
		fprintf(stderr, "%s: login --fd must be 3 or more\n", HELPER_NAME);
		return EXIT_USAGE;
	}
	return EXIT_ACCEPTED;
}

/* PAM-12/13: no core dumps with secrets in them; the invoking user (sudo
 * keeps it as the real uid) cannot signal us; die with the PAM host. Until
 * drop_privileges, which makes the same promises for helper_user. */
static int harden_process(struct login *l)
{
	struct rlimit nocore = { 0, 0 };

	l->parent = getppid();
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &nocore);
	if (geteuid() == 0 && (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0))
		return EXIT_REFUSED;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != l->parent)
		return EXIT_REFUSED;
	return EXIT_ACCEPTED;
}

int cmd_login(int argc, char **argv)
{
	struct login l;
	int rc;

	memset(&l, 0, sizeof(l));
	l.start_ms = ipc_now_ms();
	if ((rc = parse_args(argc, argv, &l)) != EXIT_ACCEPTED ||
	    (rc = harden_process(&l)) != EXIT_ACCEPTED)
		return rc;
	openlog(HELPER_NAME, LOG_PID, LOG_AUTHPRIV);
	l.log.sink = syslog_sink;
	rc = run(&l);
	login_cleanup(&l);
	closelog();
	return rc;
}
