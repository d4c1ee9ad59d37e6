/* cmd_doctor.c: `doctor`: the preflight an administrator runs as root before
 * and after enabling the module. Where `check` prints what the config and
 * the IdP say, doctor looks at the whole set-up a login goes through and
 * prints one line per finding, with the fix:
 *
 *   config    syntax, owner and mode of the config, secrets and map files
 *   idp       discovery and JWKS fetched now, usable with allowed_algs
 *   clock     local clock against the IdP's Date header
 *   relay     /healthz, then a registration the relay validates whole
 *             (client_id, redirect_uri, IdP endpoint, S256)
 *   sshd      `sshd -T`: UsePAM, KbdInteractiveAuthentication,
 *             AuthenticationMethods, LoginGraceTime against timeout=
 *   pam       each pam.d stack that loads pam_oauth2_pkce.so: lines before
 *             it that bypass it or make it unreachable
 *   helper    the helper binary the stacks start: owner, mode, directories
 *
 * The test registration uses a fresh random state, nonce, PKCE pair and poll
 * secret and the shortest ttl (1 s); its link is never shown and the
 * verifier is wiped at once, so no code obtained through it can be redeemed.
 *
 * Exit 0: no problem (warnings allowed), 1: at least one problem, 2: usage. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authz.h"
#include "cache.h"
#include "claims.h"
#include "config.h"
#include "err.h"
#include "file.h"
#include "helper.h"
#include "http.h"
#include "jwks.h"
#include "jwt.h"
#include "oidc.h"
#include "pkce.h"
#include "rand.h"
#include "relay_client.h"
#include "secret.h"

#define MODULE_NAME	       "pam_oauth2_pkce.so"
#define MODULE_DEFAULT_TIMEOUT 110 /* pam_module/pam_oauth2_pkce.c */
#define SSHD_DEFAULT_PATH      "/usr/sbin/sshd"
#define SSHD_DEFAULT_CONFIG    "/etc/ssh/sshd_config"
#define PAM_DEFAULT_DIR	       "/etc/pam.d"
#define PAM_MAX_LINES	       256 /* flattened auth lines of one stack */
#define PAM_MAX_DEPTH	       8   /* include/substack nesting */
#define SSHD_T_MAX	       65536

enum level { OK = 0, WARN, PROBLEM, SKIP };
static const char *const level_names[] = { "ok", "warning", "problem", "skipped" };

struct doctor {
	const char *config_path, *pam_dir, *sshd_path, *sshd_config, *helper_override;
	int json, debug;
	int problems, warnings;
	cJSON *findings; /* --json */
	struct helper_log hl;
	struct config *cfg;
	struct oidc o;
	int oidc_ok;
	char *relay_secret; /* read as root before the drop (PAM-23), wiped at the end */
	/* from the sshd stack, for the sshd check */
	long sshd_module_timeout;  /* 0: no stack loads the module for sshd */
	char sshd_service[128];	   /* the module's service= there, or "sshd" */
	char helpers[8][PATH_MAX]; /* helper paths the stacks start */
	size_t nhelpers;
};

/* One finding: "problem check: message" and, indented, "fix: ...". */
static void finding(struct doctor *d, enum level lv, const char *check, const char *fix,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void finding(struct doctor *d, enum level lv, const char *check, const char *fix,
		    const char *fmt, ...)
{
	char msg[1024], fx[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(fx, sizeof(fx), "%s", fix ? fix : "");
	helper_sanitize(msg);
	helper_sanitize(fx);
	d->problems += lv == PROBLEM;
	d->warnings += lv == WARN;
	if (d->json) {
		cJSON *f = cJSON_CreateObject();
		if (!f)
			return;
		cJSON_AddStringToObject(f, "check", check);
		cJSON_AddStringToObject(f, "level", level_names[lv]);
		cJSON_AddStringToObject(f, "message", msg);
		if (fx[0])
			cJSON_AddStringToObject(f, "fix", fx);
		cJSON_AddItemToArray(d->findings, f);
		return;
	}
	printf("%-7s %-6s %s%s%s\n", level_names[lv], check, msg, fx[0] ? " -- fix: " : "", fx);
}

/* ---- config and its files ------------------------------------------------ */

static void check_secret(struct doctor *d, const char *key, const char *path)
{
	char err[1024], *secret = NULL;

	if (config_read_secret(path, &secret, err, sizeof(err)) != 0) {
		finding(d, PROBLEM, "config",
			"chown root:root and chmod 0600 the file, or fix the path", "%s: %s", key,
			err);
		return;
	}
	secret_str_free(secret);
	finding(d, OK, "config", NULL, "%s %s: root-only, readable", key, path);
}

static void check_config(struct doctor *d)
{
	char err[1024];
	struct stat st;
	int r;

	if ((r = config_load(d->config_path, &d->cfg, err, sizeof(err))) != 0) {
		finding(d, PROBLEM, "config",
			r == ERR_CONFIG_PERM ? "chown root:root and chmod 0600 the config file"
			: r == ERR_IO	     ? "create the file or pass --config FILE"
				      : "correct the line named (see pam_oauth2_pkce.conf(5))",
			"%s", err);
		return;
	}
	if (lstat(d->config_path, &st) == 0 && (st.st_mode & S_IROTH))
		finding(d, PROBLEM, "config", "chmod 0600 the config file",
			"%s is world-readable (mode %04o): it names the IdP, client and relay "
			"set-up; only root needs it",
			d->config_path, (unsigned)(st.st_mode & 07777));
	else
		finding(d, OK, "config", NULL, "%s: syntax, owner and mode", d->config_path);
	if (d->cfg->client_secret_file)
		check_secret(d, "client_secret_file", d->cfg->client_secret_file);
	if (d->cfg->relay_secret_file)
		check_secret(d, "relay_secret_file", d->cfg->relay_secret_file);
	for (size_t i = 0; i <= d->cfg->nsections; i++) {
		const char *m =
			i == 0 ? d->cfg->login.map_file : d->cfg->sections[i - 1].login.map_file;
		char *buf = NULL;
		size_t len = 0;
		int seen = 0;

		for (size_t j = 0; m && j < i && !seen; j++) {
			const char *o = j == 0 ? d->cfg->login.map_file
					       : d->cfg->sections[j - 1].login.map_file;
			seen = o && strcmp(o, m) == 0;
		}
		if (!m || seen)
			continue;
		if (config_read_file(m, CLAIMS_MAP_MAX_BYTES, &buf, &len, err, sizeof(err)) != 0)
			finding(d, PROBLEM, "config",
				"chown root:root and chmod 0644 (or 0600) the map file",
				"map_file %s", err);
		else
			finding(d, OK, "config", NULL, "map_file %s: root-owned, readable", m);
		free(buf);
	}
	helper_log_reset(&d->hl);
	if (helper_cache_check(d->cfg, &d->hl.log) != 0)
		finding(d, PROBLEM, "config",
			"create helper_user's account and give it the cache_dir, mode 0700 (make install does)",
			"cache_dir: %s", helper_log_detail(&d->hl));
}

/* ---- the identity provider ----------------------------------------------- */

static void check_idp(struct doctor *d)
{
	unsigned algs;
	size_t usable = 0;
	int r;

	oidc_init(&d->o, d->cfg, &d->hl.log, time(NULL));
	d->o.no_cache_read = 1;
	helper_log_reset(&d->hl);
	r = oidc_load(&d->o);
	if (!d->o.disc) {
		finding(d, PROBLEM, "idp", "check issuer, the network path to the IdP and ca_file",
			"discovery %s/.well-known/openid-configuration: %s: %s", d->cfg->issuer,
			err_str(r), helper_log_detail(&d->hl));
		return;
	}
	finding(d, OK, "idp", NULL, "discovery of %s", d->cfg->issuer);
	algs = d->o.disc->id_token_algs & d->cfg->allowed_algs;
	if (!algs) {
		finding(d, PROBLEM, "idp",
			"set allowed_algs to one the IdP lists in id_token_signing_alg_values_supported",
			"allowed_algs and the IdP's ID token algorithms have nothing in common");
		return;
	}
	if (!d->o.jwks) {
		finding(d, PROBLEM, "idp", "check the IdP's jwks_uri and keys", "jwks: %s: %s",
			err_str(r), helper_log_detail(&d->hl));
		return;
	}
	for (size_t i = 0; i < d->o.jwks->n; i++)
		usable += (helper_key_algs(&d->o.jwks->keys[i]) & algs) != 0;
	if (!usable) {
		finding(d, PROBLEM, "idp",
			"allow the algorithm of the IdP's signing keys in allowed_algs",
			"none of the %zu keys at jwks_uri can verify an allowed algorithm",
			d->o.jwks->n);
		return;
	}
	finding(d, OK, "idp", NULL, "jwks: %zu of %zu keys usable with the allowed algorithms",
		usable, d->o.jwks->n);
	d->oidc_ok = 1;
}

/* The IdP's Date header against our clock: one GET of the discovery
 * document (the same request oidc_probe makes). */
static void check_clock(struct doctor *d)
{
	struct http_response resp = { 0 };
	char url[4200];
	time_t t0, t1;
	long long skew;
	int r;

	if (!d->o.disc) {
		finding(d, SKIP, "clock", NULL, "not checked: the IdP did not answer");
		return;
	}
	snprintf(url, sizeof(url), "%s/.well-known/openid-configuration", d->cfg->issuer);
	helper_log_reset(&d->hl);
	t0 = time(NULL);
	r = http_get(&d->o.http, url, NULL, &resp);
	t1 = time(NULL);
	if (r != 0 || !resp.date) {
		finding(d, WARN, "clock", "check the clock with NTP (chrony, systemd-timesyncd)",
			"not checked: %s", r ? err_str(r) : "the IdP sent no usable Date header");
		http_response_cleanup(&resp);
		return;
	}
	/* the Date is taken somewhere between t0 and t1 (1 s resolution) */
	skew = resp.date < (long long)t0   ? (long long)t0 - resp.date
	       : resp.date > (long long)t1 ? (long long)t1 - resp.date
					   : 0;
	http_response_cleanup(&resp);
	if (skew > d->cfg->clock_skew || -skew > d->cfg->clock_skew)
		finding(d, PROBLEM, "clock",
			"synchronise the clock with NTP (chrony, systemd-timesyncd)",
			"this host's clock is %lld s %s the IdP's (clock_skew allows %ld s): ID "
			"tokens will be refused",
			skew < 0 ? -skew : skew, skew > 0 ? "ahead of" : "behind",
			d->cfg->clock_skew);
	else if (skew > 5 || skew < -5)
		finding(d, WARN, "clock", "synchronise the clock with NTP",
			"this host's clock is %lld s off the IdP's (clock_skew allows %ld s)",
			skew < 0 ? -skew : skew, d->cfg->clock_skew);
	else
		finding(d, OK, "clock", NULL, "within 5 s of the IdP's Date header");
}

/* ---- the relay ------------------------------------------------------------ */

static void relay_http(const struct doctor *d, struct http_opts *o)
{
	long total = (d->cfg->http_timeout > 0 ? d->cfg->http_timeout : 10) * 1000L;

	memset(o, 0, sizeof(*o));
	o->total_timeout_ms = total;
	o->connect_timeout_ms = total < OIDC_CONNECT_TIMEOUT_MS ? total : OIDC_CONNECT_TIMEOUT_MS;
	o->max_bytes = RELAY_MAX_BODY;
	o->ca_file = d->cfg->relay_ca_file; /* as the login: NULL, the system store */
	o->allow_insecure_loopback = d->cfg->allow_insecure_loopback;
	o->log = &d->hl.log;
}

/* A registration exactly like a login's (lib/relay_client), for a login
 * that cannot be completed: random secrets, wiped at once, ttl 1 s. */
static void check_registration(struct doctor *d, const struct http_opts *h)
{
	struct relay_registration reg = { 0 };
	struct relay_session sess;
	struct authz_request q = { 0 };
	struct pkce p;
	char redirect[600], poll[64], host[256] = "";
	char *url = NULL;
	int r;

	if (!d->oidc_ok) {
		finding(d, SKIP, "relay", NULL,
			"registration not tried: it needs the IdP's discovery");
		return;
	}
	if (pkce_init(&p) != 0 || rand_token(poll, sizeof(poll), 32) != 0) {
		finding(d, PROBLEM, "relay", NULL, "registration not tried: no randomness");
		return;
	}
	snprintf(redirect, sizeof(redirect), "%s/callback", d->cfg->relay_url);
	q.authorization_endpoint = d->o.disc->authorization_endpoint;
	q.client_id = d->cfg->client_id;
	q.redirect_uri = redirect;
	q.scope = d->cfg->scopes;
	q.state = p.state;
	q.nonce = p.nonce;
	q.code_challenge = p.challenge;
	q.max_age = -1;
	if ((r = authz_build_url(&q, &url)) != 0) {
		finding(d, PROBLEM, "relay", NULL, "registration not tried: %s", err_str(r));
		goto out;
	}
	if (d->cfg->relay_secret_file && !d->relay_secret) {
		finding(d, SKIP, "relay", NULL,
			"registration not tried: relay_secret_file unusable");
		goto out;
	}
	gethostname(host, sizeof(host) - 1);
	reg.relay_url = d->cfg->relay_url;
	reg.state = p.state;
	reg.poll_secret = poll;
	reg.ttl = 1;
	reg.authorization_url = url;
	reg.host = host[0] ? host : "localhost";
	reg.service = "doctor";
	reg.user = "(oauth2-pkce-helper doctor test: not a login)";
	reg.rhost = "";
	reg.registration_secret = d->relay_secret;
	helper_log_reset(&d->hl);
	r = relay_register(h, &reg, &sess);
	if (r != 0)
		finding(d, PROBLEM, "relay",
			"make the relay's allowed_client_id, allowed_authorization_endpoint and base_url "
			"match client_id, the IdP and relay_url (redirect_uri = relay_url/callback), and "
			"its registration secret match relay_secret_file",
			"registration refused: %s: %s", err_str(r), helper_log_detail(&d->hl));
	else
		finding(d, OK, "relay", NULL,
			"registration accepted for client_id %s, redirect_uri %s (test login, 1 s, "
			"never shown)",
			d->cfg->client_id, redirect);
	OPENSSL_cleanse(&sess, sizeof(sess));
out:
	secret_str_free(url);
	pkce_cleanup(&p);
	OPENSSL_cleanse(poll, sizeof(poll));
}

static void check_relay(struct doctor *d)
{
	struct http_opts h;
	struct http_response resp = { 0 };
	char url[4200];
	int r;

	if (!d->cfg->relay_url) {
		finding(d, PROBLEM, "relay", "set relay_url to the relay's base_url",
			"relay_url is not set: logins cannot work");
		return;
	}
	relay_http(d, &h);
	snprintf(url, sizeof(url), "%s/healthz", d->cfg->relay_url);
	helper_log_reset(&d->hl);
	r = http_get(&h, url, NULL, &resp);
	if (r != 0 || resp.status != 200) {
		finding(d, PROBLEM, "relay", "start the relay or correct relay_url", "%s: %s", url,
			r ? helper_log_detail(&d->hl)[0] ? helper_log_detail(&d->hl) : err_str(r)
			  : "answered a status other than 200");
		http_response_cleanup(&resp);
		return;
	}
	http_response_cleanup(&resp);
	finding(d, OK, "relay", NULL, "%s answers", url);
	check_registration(d, &h);
}

/* ---- pam.d stacks --------------------------------------------------------- */

struct pam_line {
	char file[64];
	int lineno;
	char control[128];
	char module[256];
	char args[512];
};

struct pam_stack {
	struct pam_line lines[PAM_MAX_LINES];
	size_t n;
};

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Appends the auth lines of pam.d file `name`, includes expanded. */
static void pam_read(struct doctor *d, const char *name, struct pam_stack *st, int depth)
{
	char path[PATH_MAX], *buf = NULL, *save = NULL;
	size_t len = 0;
	int lineno = 0;

	if (depth > PAM_MAX_DEPTH || strchr(name, '/') ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", d->pam_dir, name) >= sizeof(path) ||
	    file_read(path, 0, 65536, &buf, &len, NULL, 0) != 0)
		return;
	for (char *ln = strtok_r(buf, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		char type[32] = "", control[128] = "", module[256] = "", *p = ln, *c;
		struct pam_line *pl;
		int n = 0;

		lineno++;
		if ((c = strchr(ln, '#')))
			*c = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		if (strncmp(p, "@include", 8) == 0) {
			char inc[128] = "";
			if (sscanf(p + 8, " %127s", inc) == 1)
				pam_read(d, inc, st, depth + 1);
			continue;
		}
		if (sscanf(p, "%31s%n", type, &n) != 1)
			continue;
		p += n;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '[') { /* [value=action ...] */
			char *e = strchr(p, ']');
			if (!e)
				continue;
			snprintf(control, sizeof(control), "%.*s", (int)(e - p + 1), p);
			p = e + 1;
		} else if (sscanf(p, "%127s%n", control, &n) == 1) {
			p += n;
		}
		if (sscanf(p, " %255s%n", module, &n) != 1)
			continue;
		p += n;
		if (strcmp(type[0] == '-' ? type + 1 : type, "auth") != 0)
			continue;
		if (strcmp(control, "include") == 0 || strcmp(control, "substack") == 0) {
			pam_read(d, module, st, depth + 1);
			continue;
		}
		if (st->n >= PAM_MAX_LINES)
			break;
		pl = &st->lines[st->n++];
		snprintf(pl->file, sizeof(pl->file), "%s", name);
		pl->lineno = lineno;
		snprintf(pl->control, sizeof(pl->control), "%s", control);
		snprintf(pl->module, sizeof(pl->module), "%s", module);
		while (*p == ' ' || *p == '\t')
			p++;
		snprintf(pl->args, sizeof(pl->args), "%s", p);
	}
	free(buf);
}

/* The value of "key=" among a module line's arguments, or NULL. */
static const char *pam_arg(const struct pam_line *pl, const char *key, char *out, size_t outlen)
{
	size_t k = strlen(key);

	for (const char *p = pl->args; *p;) {
		size_t n;
		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, " \t");
		if (n > k && strncmp(p, key, k) == 0 && p[k] == '=') {
			snprintf(out, outlen, "%.*s", (int)(n - k - 1), p + k + 1);
			return out;
		}
		p += n;
	}
	return NULL;
}

/* How a line before the module can end the stack early on success: 1 for
 * sufficient, binding, [success=done] and [success=N] jumping past it. */
static int skips_on_success(const struct pam_line *pl, size_t idx, size_t mod_idx)
{
	const char *s;

	if (!strcmp(pl->control, "sufficient") || !strcmp(pl->control, "binding"))
		return 1;
	if (pl->control[0] != '[' || !(s = strstr(pl->control, "success=")))
		return 0;
	s += 8;
	if (!strncmp(s, "done", 4))
		return 1;
	if (*s >= '0' && *s <= '9')
		return idx + (size_t)strtoul(s, NULL, 10) >= mod_idx;
	return 0;
}

/* 1 when a line always ends or fails the stack before the module. */
static int blocks(const struct pam_line *pl)
{
	const char *m = base_name(pl->module);

	if (strcmp(m, "pam_deny.so") != 0)
		return 0;
	return !strcmp(pl->control, "requisite") || !strcmp(pl->control, "required") ||
	       strstr(pl->control, "die") != NULL;
}

static void note_helper(struct doctor *d, const char *path)
{
	for (size_t i = 0; i < d->nhelpers; i++)
		if (!strcmp(d->helpers[i], path))
			return;
	if (d->nhelpers < sizeof(d->helpers) / sizeof(d->helpers[0]))
		snprintf(d->helpers[d->nhelpers++], sizeof(d->helpers[0]), "%s", path);
}

static void check_stack(struct doctor *d, const char *service, const struct pam_stack *st,
			size_t mi)
{
	const struct pam_line *m = &st->lines[mi];
	char v[PATH_MAX];
	int bad = 0;

	for (size_t i = 0; i < mi; i++) {
		const struct pam_line *pl = &st->lines[i];
		const char *b = base_name(pl->module);
		if (blocks(pl)) {
			finding(d, PROBLEM, "pam",
				"move the pam_deny.so line after pam_oauth2_pkce.so",
				"%s: %s line %d \"%s %s\" fails every login before %s (line %d) runs",
				service, pl->file, pl->lineno, pl->control, b, MODULE_NAME,
				m->lineno);
			bad = 1;
		} else if (skips_on_success(pl, i, mi) && !strcmp(b, "pam_permit.so")) {
			finding(d, PROBLEM, "pam",
				"remove that line or move pam_oauth2_pkce.so above it",
				"%s: %s line %d \"%s %s\" lets every login in before %s (line %d) is "
				"asked: the module is bypassed",
				service, pl->file, pl->lineno, pl->control, b, MODULE_NAME,
				m->lineno);
			bad = 1;
		} else if (skips_on_success(pl, i, mi)) {
			finding(d, WARN, "pam",
				"intended only if that module is meant as an alternative to the IdP",
				"%s: %s line %d \"%s %s\": a success there skips %s (line %d)",
				service, pl->file, pl->lineno, pl->control, b, MODULE_NAME,
				m->lineno);
		}
	}
	if (!strcmp(m->control, "optional"))
		finding(d, WARN, "pam", "use sufficient, required or [success=done ...]",
			"%s: %s line %d: %s is optional: its result decides nothing", service,
			m->file, m->lineno, MODULE_NAME);
	if (!bad)
		finding(d, OK, "pam", NULL, "%s: %s line %d (auth %zu of %zu), control %s", service,
			m->file, m->lineno, mi + 1, st->n, m->control);
	note_helper(d, pam_arg(m, "helper", v, sizeof(v)) ? v : HELPER_PATH);
	if (!strcmp(service, "sshd") || !strncmp(service, "sshd-", 5) || !strcmp(service, "ssh")) {
		d->sshd_module_timeout = pam_arg(m, "timeout", v, sizeof(v))
						 ? strtol(v, NULL, 10)
						 : MODULE_DEFAULT_TIMEOUT;
		snprintf(d->sshd_service, sizeof(d->sshd_service), "%.127s",
			 pam_arg(m, "service", v, sizeof(v)) ? v : "sshd");
	}
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_pam(struct doctor *d)
{
	struct pam_stack *st = malloc(sizeof(*st));
	char *names[512];
	size_t nn = 0, found = 0;
	DIR *dir = st ? opendir(d->pam_dir) : NULL;
	struct dirent *e;

	if (!dir) {
		finding(d, WARN, "pam", "pass --pam-dir DIR", "%s: %s", d->pam_dir,
			st ? strerror(errno) : "out of memory");
		free(st);
		return;
	}
	while ((e = readdir(dir)) && nn < sizeof(names) / sizeof(names[0]))
		if (e->d_name[0] != '.' && !strchr(e->d_name, '~') &&
		    (names[nn] = strdup(e->d_name)) != NULL)
			nn++;
	closedir(dir);
	qsort(names, nn, sizeof(names[0]), name_cmp);
	for (size_t k = 0; k < nn; k++) {
		st->n = 0;
		pam_read(d, names[k], st, 0);
		for (size_t i = 0; i < st->n; i++) {
			if (strcmp(base_name(st->lines[i].module), MODULE_NAME) != 0)
				continue;
			found++;
			check_stack(d, names[k], st, i);
			break;
		}
	}
	if (!found)
		finding(d, WARN, "pam", "add an auth line for it (see pam_oauth2_pkce(8))",
			"no stack in %s loads %s", d->pam_dir, MODULE_NAME);
	for (size_t k = 0; k < nn; k++)
		free(names[k]);
	free(st);
}

/* ---- sshd ----------------------------------------------------------------- */

/* Runs `sshd -T -f FILE` with an empty environment; its stdout and stderr in
 * *out. Returns the exit status, or -1 when it could not run. */
static int run_sshd_t(const struct doctor *d, char **out)
{
	char *const argv[] = { (char *)d->sshd_path, "-T", "-f", (char *)d->sshd_config, NULL };
	char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	char *buf = malloc(SSHD_T_MAX + 1);
	size_t len = 0;
	int pfd[2], status;
	pid_t pid;

	*out = NULL;
	if (!buf || pipe2(pfd, O_CLOEXEC) != 0) {
		free(buf);
		return -1;
	}
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		free(buf);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0)
			_exit(127);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t n = read(pfd[0], buf + len, SSHD_T_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == SSHD_T_MAX) {
			char sink[4096];
			while (read(pfd[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	close(pfd[0]);
	buf[len] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*out = buf;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The value of a `sshd -T` line ("key value"), copied; "" when absent. */
static void sshd_value(const char *out, const char *key, char *v, size_t vlen)
{
	size_t k = strlen(key);

	v[0] = '\0';
	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, k) == 0 && p[k] == ' ') {
			size_t n = strcspn(p + k + 1, "\n");
			snprintf(v, vlen, "%.*s", (int)n, p + k + 1);
			return;
		}
	}
}

static void check_sshd(struct doctor *d)
{
	char *out = NULL, usepam[16], kbd[16], methods[512], grace[32];
	struct config_login pol;
	long lgt, timeout = d->sshd_module_timeout;
	int rc;

	if (access(d->sshd_path, X_OK) != 0) {
		finding(d, SKIP, "sshd", NULL, "%s not installed: not checked", d->sshd_path);
		return;
	}
	rc = run_sshd_t(d, &out);
	if (rc != 0) {
		char first[256] = "";
		if (out)
			snprintf(first, sizeof(first), "%.*s", (int)strcspn(out, "\n"), out);
		finding(d, PROBLEM, "sshd", "correct the sshd configuration (sshd -t -f FILE)",
			"%s -T -f %s failed (exit %d): %s", d->sshd_path, d->sshd_config, rc,
			first[0] ? first : "no output");
		free(out);
		return;
	}
	sshd_value(out, "usepam", usepam, sizeof(usepam));
	sshd_value(out, "kbdinteractiveauthentication", kbd, sizeof(kbd));
	sshd_value(out, "authenticationmethods", methods, sizeof(methods));
	sshd_value(out, "logingracetime", grace, sizeof(grace));
	free(out);
	if (strcmp(usepam, "yes") != 0)
		finding(d, PROBLEM, "sshd", "set UsePAM yes",
			"UsePAM is %s: sshd never runs the PAM stack",
			usepam[0] ? usepam : "unset");
	if (strcmp(kbd, "yes") != 0)
		finding(d, PROBLEM, "sshd", "set KbdInteractiveAuthentication yes",
			"KbdInteractiveAuthentication is %s: the link and the prompt cannot reach "
			"the person",
			kbd[0] ? kbd : "unset");
	if (methods[0] && strcmp(methods, "any") != 0 && !strstr(methods, "keyboard-interactive"))
		finding(d, PROBLEM, "sshd",
			"add keyboard-interactive to AuthenticationMethods (or remove the line)",
			"AuthenticationMethods \"%s\" never asks keyboard-interactive: the module is "
			"not used",
			methods);
	if (!timeout) {
		finding(d, WARN, "sshd", "add the module to the sshd stack in the pam.d directory",
			"the sshd stack does not load %s: timeouts not compared", MODULE_NAME);
		return;
	}
	lgt = strtol(grace, NULL, 10);
	config_login_for(d->cfg, d->sshd_service, &pol);
	if (lgt > 0 && timeout >= lgt)
		finding(d, PROBLEM, "sshd",
			"raise LoginGraceTime above timeout= or lower the module's timeout= below it",
			"LoginGraceTime %ld s is not above the module's timeout=%ld s: sshd cuts "
			"the connection before the login can finish",
			lgt, timeout);
	else
		finding(d, OK, "sshd", NULL,
			"UsePAM %s, KbdInteractiveAuthentication %s, LoginGraceTime %ld s > "
			"timeout=%ld s",
			usepam, kbd, lgt, timeout);
	if (pol.login_timeout >= timeout)
		finding(d, WARN, "sshd", "lower login_timeout below the module's timeout=",
			"login_timeout %ld s (service %s) is cut to the module's timeout=%ld s",
			pol.login_timeout, d->sshd_service, timeout);
}

/* ---- the helper binary ----------------------------------------------------- */

static void check_helper_path(struct doctor *d, const char *path)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	if (path[0] != '/') {
		finding(d, PROBLEM, "helper", "give helper= an absolute path", "%s: not absolute",
			path);
		return;
	}
	if (stat(path, &st) != 0) {
		finding(d, PROBLEM, "helper",
			"install the helper (make install) or fix helper=", "%s: %s", path,
			strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR)) {
		finding(d, PROBLEM, "helper", "install it with mode 0755",
			"%s: not an executable file", path);
		return;
	}
	if (st.st_uid != 0 || (st.st_mode & 022)) {
		finding(d, PROBLEM, "helper", "chown root:root and chmod 0755 the helper",
			"%s: owner uid %lu, mode %04o: anyone who can change it logs in as anyone",
			path, (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777));
		return;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	while ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if (stat(dir[0] ? dir : "/", &st) != 0)
			break;
		if (st.st_uid != 0 || ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))) {
			finding(d, PROBLEM, "helper",
				"chown root and chmod go-w that directory, or install the helper elsewhere",
				"%s: directory %s is owned by uid %lu, mode %04o: the helper can be "
				"replaced",
				path, dir[0] ? dir : "/", (unsigned long)st.st_uid,
				(unsigned)(st.st_mode & 07777));
			return;
		}
	}
	finding(d, OK, "helper", NULL, "%s: root-owned, not writable by others", path);
}

/* ---- the command ------------------------------------------------------------ */

/* PAM-23: the relay's registration secret is read as root, then the network
 * checks run as helper_user, as a login's would; cache_dir is looked at,
 * never made (check_config reported it). 0 to go on with them. */
static int drop_root(struct doctor *d)
{
	char why[512], err[512];
	int r;

	if (d->cfg->relay_secret_file)
		config_read_secret(d->cfg->relay_secret_file, &d->relay_secret, err, sizeof(err));
	if ((r = helper_drop_root(d->cfg, d->config_path, 0, &d->hl.log, why, sizeof(why))) == 0)
		return 0;
	if (r == ERR_PRIV_DROP)
		finding(d, PROBLEM, "idp", NULL, "not checked: %s", why);
	else /* the config finding names the account */
		finding(d, SKIP, "idp", NULL, "idp, clock and relay not checked: %s", why);
	return -1;
}

static int usage_error(const char *what)
{
	fprintf(stderr, "%s: doctor: %s (try --help)\n", HELPER_NAME, what);
	return EXIT_USAGE;
}

/* The command line into d (defaults first); EXIT_USAGE after the message. */
static int parse_doctor_args(int argc, char **argv, struct doctor *d)
{
	static const struct {
		const char *name;
		size_t off;
	} opts[] = {
		{ "--config", offsetof(struct doctor, config_path) },
		{ "--pam-dir", offsetof(struct doctor, pam_dir) },
		{ "--sshd", offsetof(struct doctor, sshd_path) },
		{ "--sshd-config", offsetof(struct doctor, sshd_config) },
		{ "--helper", offsetof(struct doctor, helper_override) },
	};
	const char *v;
	int k;

	d->config_path = DEFAULT_CONFIG;
	d->pam_dir = PAM_DEFAULT_DIR;
	d->sshd_path = SSHD_DEFAULT_PATH;
	d->sshd_config = SSHD_DEFAULT_CONFIG;
	for (int i = 1; i < argc; i++) {
		size_t j;

		if (strcmp(argv[i], "--json") == 0) {
			d->json = 1;
			continue;
		}
		if (strcmp(argv[i], "--debug") == 0) {
			d->debug = 1;
			continue;
		}
		for (j = 0; j < sizeof(opts) / sizeof(opts[0]); j++) {
			if ((k = helper_opt(argv, argc, &i, opts[j].name, &v)) == 0)
				continue;
			if (k < 0 || !v[0])
				return usage_error("an option needs a value");
			*(const char **)((char *)d + opts[j].off) = v;
			break;
		}
		if (j == sizeof(opts) / sizeof(opts[0]))
			return usage_error("unknown option");
	}
	return 0;
}

/* The local checks first, as root (sshd -T reads the host keys), then the
 * network ones as helper_user (PAM-23). */
static void run_checks(struct doctor *d)
{
	check_config(d);
	check_pam(d);
	if (d->cfg)
		check_sshd(d);
	if (d->helper_override)
		note_helper(d, d->helper_override);
	if (!d->nhelpers)
		note_helper(d, HELPER_PATH);
	for (size_t i = 0; i < d->nhelpers; i++)
		check_helper_path(d, d->helpers[i]);
	if (d->cfg && drop_root(d) == 0) {
		check_idp(d);
		check_clock(d);
		check_relay(d);
	} else if (!d->cfg) {
		finding(d, SKIP, "idp", NULL, "not checked: the config is unusable");
	}
}

/* The last line, or the one JSON document (the findings move into it). */
static void print_summary(struct doctor *d, long ms)
{
	if (d->json) {
		cJSON *root = cJSON_CreateObject();
		char *s = NULL;
		if (root) {
			cJSON_AddItemToObject(root, "findings", d->findings);
			d->findings = NULL;
			cJSON_AddNumberToObject(root, "problems", d->problems);
			cJSON_AddNumberToObject(root, "warnings", d->warnings);
			cJSON_AddNumberToObject(root, "milliseconds", (double)ms);
			s = cJSON_PrintUnformatted(root);
		}
		if (s)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(root);
	} else {
		printf("result: %d problem%s, %d warning%s (%ld ms)\n", d->problems,
		       d->problems == 1 ? "" : "s", d->warnings, d->warnings == 1 ? "" : "s", ms);
	}
}

int cmd_doctor(int argc, char **argv)
{
	struct doctor d = { 0 };
	struct timespec t0, t1;
	int rc;

	if ((rc = parse_doctor_args(argc, argv, &d)) != 0)
		return rc;
	if (d.json && !(d.findings = cJSON_CreateArray()))
		return usage_error("out of memory");
	helper_log_init(&d.hl, d.debug, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_checks(&d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_summary(&d, (t1.tv_sec - t0.tv_sec) * 1000L + (t1.tv_nsec - t0.tv_nsec) / 1000000L);
	cJSON_Delete(d.findings);
	if (d.cfg)
		oidc_cleanup(&d.o);
	secret_str_free(d.relay_secret);
	config_free(d.cfg);
	if (fflush(stdout) != 0)
		return EXIT_REFUSED;
	return d.problems ? EXIT_REFUSED : EXIT_ACCEPTED;
}
