/* config.h: /etc/security/pam_oauth2_pkce.conf. "key = value" lines, '#'
 * comments, strict: an unknown key, a repeated key, a bad number or a
 * non-https issuer is an error naming file:line. The file must be a regular
 * file (no symlink), owned by root (or the effective uid, for tests), not
 * group/world-writable, at most CONFIG_MAX_BYTES. Secret files
 * (client_secret_file, relay_secret_file) must also not be group/world-
 * readable. "[service NAME]" starts a section of login-policy keys that
 * override the globals for that PAM service. */
#ifndef OP_CONFIG_H
#define OP_CONFIG_H

#include <stddef.h>

#define CONFIG_MAX_BYTES (64 * 1024)

enum config_wait {
	CONFIG_WAIT_AUTO = 0, /* code when PAM_RHOST is set, else poll */
	CONFIG_WAIT_POLL,     /* no prompt: poll until the code arrives */
	CONFIG_WAIT_ENTER,    /* one prompt "Press Enter once you have signed in" */
	CONFIG_WAIT_CODE,     /* type the confirmation code the relay shows */
};

/* userinfo = auto|always|never: when the UserInfo endpoint is asked for the
 * claims the login policy needs (OIDC Core 5.3-5.4, IDT-29). */
enum config_userinfo {
	CONFIG_USERINFO_AUTO = 0, /* only when a needed claim is absent from the ID token */
	CONFIG_USERINFO_ALWAYS,	  /* at every login (the ID token's claims still win) */
	CONFIG_USERINFO_NEVER,	  /* never: the ID token alone */
};

enum config_qr {
	CONFIG_QR_UTF8 = 0,
	CONFIG_QR_ASCII,
	CONFIG_QR_OFF,
};

/* The login policy: global values, overridable per [service NAME]. */
struct config_login {
	enum config_wait wait;	       /* wait = auto|poll|enter|code; default auto */
	enum config_qr qr;	       /* qr = utf8|ascii|off; default utf8 */
	long login_timeout;	       /* seconds the person has (30..600), default 100;
					  the module's timeout= caps it further */
	char *username_claim;	       /* default "preferred_username" */
	char *map_file;		       /* optional: "claim_value local_user" lines */
	char *strip_domain;	       /* optional: strip "@domain", refuse others */
	int lowercase;		       /* yes|no, default no */
	int allow_root;		       /* yes|no, default no */
	char *groups_claim;	       /* default "groups" */
	char *allowed_groups;	       /* optional: space/comma separated */
	int kiosk_accept_login_csrf;   /* yes|no, default no */
	char *prompt;		       /* optional: sent as prompt= (e.g. "login") */
	enum config_userinfo userinfo; /* default auto */
	/* assurance (IDT-25, IDT-26, AZ-07, XD-12): words stored joined by
	 * single spaces */
	char *acr_values;   /* optional: sent as acr_values= */
	char *required_acr; /* optional: the ID token's acr must be one of these */
	long max_age;	    /* -1 (default): not sent; else sent as max_age= and
			       auth_time must be at most max_age + clock_skew old */
	char *required_amr; /* optional: each must be in the ID token's amr array */
};

struct config_section {
	char *name; /* [service NAME] */
	struct config_login login;
	unsigned long long set; /* one bit per login key set in this section */
};

struct config {
	char *issuer;			 /* required */
	char *client_id;		 /* required */
	char *client_secret_file;	 /* optional: confidential client */
	char *scopes;			 /* default "openid profile email" */
	unsigned allowed_algs;		 /* mask of enum jwt_alg; default JWT_ALG_ALL */
	long clock_skew;		 /* default 60 s */
	long max_token_age;		 /* default 300 s */
	char *ca_file;			 /* optional */
	char *relay_ca_file;		 /* optional: the relay's CA (ca_file is the IdP's) */
	long http_timeout;		 /* seconds, default 10 */
	long first_contact_timeout;	 /* seconds (1..60, used at most http_timeout),
					    default 2: the IdP and the relay must
					    answer the first requests of a login within
					    it, else the login is unavailable */
	char *cache_dir;		 /* default /var/cache/pam-oauth2-pkce */
	char *helper_user;		 /* default _oauth2-pkce: the account the login
					    helper runs as once its root-only files are
					    read (PAM-23); it owns cache_dir */
	int allow_insecure_loopback;	 /* default no */
	char *relay_url;		 /* the relay's base_url; required by `login` */
	char *relay_secret_file;	 /* optional: the relay's registration secret */
	long max_logins_per_minute;	 /* per user and per remote host (XD-11);
					    0..1000, default 10, 0 = no limit */
	struct config_login login;	 /* the global policy */
	struct config_section *sections; /* [service NAME] overrides */
	size_t nsections;
};

/* The login policy for a PAM service (or the module's service= argument):
 * the globals, overridden by the keys set in its [service NAME] section
 * (exact, case-sensitive name); a name without a section gets the globals.
 * Strings in *out point into c. */
void config_login_for(const struct config *c, const char *service, struct config_login *out);

/* Parses text (len bytes) named `name` in errors. On error, err (may be
 * NULL) holds one line "NAME:LINE: key: what is wrong" (ERR_CONFIG), or
 * "NAME: missing required key "issuer"" (ERR_CONFIG_MISSING). Keys may come
 * in any order; the issuer is checked (https, or loopback http with
 * allow_insecure_loopback) once the whole file is read, and so is
 * relay_url. No inline comments. Sections are "[service NAME]" blocks of
 * login-policy keys only. *out is set only on success. */
int config_parse(const char *text, size_t len, const char *name, struct config **out, char *err,
		 size_t errlen);

/* Opens path defensively (O_NOFOLLOW, fstat: regular, owner, mode, size),
 * then config_parse. Errors name the path: ERR_IO (cannot open/read),
 * ERR_CONFIG_PERM (symlink, not a regular file, owner, mode), ERR_CONFIG
 * (too large, or from config_parse). */
int config_load(const char *path, struct config **out, char *err, size_t errlen);

/* Checks a secret file: regular, no symlink, owned by root/euid, mode
 * without group/other bits (ERR_CONFIG_PERM), at most 4 KiB. Reads it
 * (first line, "\n" or "\r\n" stripped; empty or with control characters:
 * ERR_CONFIG) into *out (caller wipes + frees). */
int config_read_secret(const char *path, char **out, char *err, size_t errlen);

/* Reads a whole root-owned file the configuration points at (map_file):
 * the same checks as config_load (no symlink, regular, owner root or euid,
 * not group/world-writable) and at most max bytes. *out malloc'd, NUL-
 * terminated. ERR_IO, ERR_CONFIG_PERM or ERR_CONFIG, with err naming it. */
int config_read_file(const char *path, size_t max, char **out, size_t *outlen, char *err,
		     size_t errlen);

void config_free(struct config *c);

#endif
