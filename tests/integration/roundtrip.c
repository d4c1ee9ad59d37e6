/* roundtrip.c: one authorization-code + PKCE round trip through lib/, for
 * the integration tests and `make demo` (the PAM login flow replaces it).
 *   roundtrip --config FILE --redirect-uri URI [--wrong-verifier] [--replay]
 * Prints "URL <authorization URL>" and reads the redirect (callback) URL the
 * browser ended at on stdin; checks state and iss, redeems the code with
 * the code_verifier, validates the ID token and prints its claims.
 * Exit 0 accepted, 1 refused (one line "refused: ..." on stderr), 2 usage.
 * Started as root it does what a login does once its config is read: it
 * becomes helper_user (lib/priv.c, PAM-23) and uses that account's cache;
 * ROUNDTRIP_SAVE_TOKEN is opened before. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authz.h"
#include "config.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "oidc.h"
#include "pkce.h"
#include "priv.h"
#include "qs.h"
#include "rand.h"

static int refuse(const char *what, int r, const char *detail)
{
	fprintf(stderr, "refused: %s: %s%s%s\n", what, err_str(r), detail && *detail ? ": " : "",
		detail ? detail : "");
	return 1;
}

static void print_claim(const struct jwt *t, const char *name)
{
	const cJSON *v = json_get(t->payload, name);
	char buf[256];

	if (cJSON_IsString(v))
		printf("%s=%s\n", name, log_sanitize(buf, sizeof(buf), v->valuestring));
}

static int redeem(struct oidc *o, const char *code, const char *verifier, const char *redirect,
		  struct token_response **tr)
{
	int r = oidc_redeem_code(o, code, verifier, redirect, tr);
	if (r != 0)
		refuse("token endpoint", r, *tr ? (*tr)->error : NULL);
	return r;
}

int main(int argc, char **argv)
{
	const char *cfgpath = NULL, *redirect = NULL;
	int wrong_verifier = 0, replay = 0, r, rc = 1;
	struct log log = { log_stderr_sink, "roundtrip", 0 };
	struct config *cfg = NULL;
	struct oidc o;
	struct pkce p;
	struct authz_request q = { 0 };
	struct authz_response resp = { 0 };
	struct qs cq = { 0 };
	struct token_response *tr = NULL, *tr2 = NULL;
	struct jwt *t = NULL;
	char err[512], line[8192 + 1024], *url = NULL, *query;
	char other[PKCE_STR_LEN + 1];
	const char *save = getenv("ROUNDTRIP_SAVE_TOKEN");
	FILE *savef = NULL;
	struct priv_target pt;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			cfgpath = argv[++i];
		else if (!strcmp(argv[i], "--redirect-uri") && i + 1 < argc)
			redirect = argv[++i];
		else if (!strcmp(argv[i], "--wrong-verifier"))
			wrong_verifier = 1;
		else if (!strcmp(argv[i], "--replay"))
			replay = 1;
		else if (!strcmp(argv[i], "--debug"))
			log.debug = 1;
		else
			return fprintf(stderr,
				       "usage: roundtrip --config FILE --redirect-uri URI [--wrong-verifier] [--replay]\n"),
			       2;
	}
	if (!cfgpath || !redirect)
		return fprintf(stderr, "usage: roundtrip --config FILE --redirect-uri URI\n"), 2;
	if ((r = config_load(cfgpath, &cfg, err, sizeof(err))) != 0)
		return fprintf(stderr, "%s\n", err), 2;
	if (save && !(savef = fopen(save, "w")))
		return fprintf(stderr, "%s: cannot write\n", save), config_free(cfg), 2;
	if (geteuid() == 0 &&
	    ((r = priv_lookup(cfg->helper_user, &pt)) != 0 || (r = priv_drop(&pt, 0, &log)) != 0)) {
		fprintf(stderr, "helper_user %s: %s\n", cfg->helper_user, err_str(r));
		if (savef)
			fclose(savef);
		return config_free(cfg), 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	oidc_init(&o, cfg, &log, time(NULL));
	if ((r = pkce_init(&p)) != 0) {
		refuse("pkce", r, NULL);
		goto out;
	}
	if ((r = oidc_load(&o)) != 0) {
		refuse("discovery/JWKS", r, NULL);
		goto out;
	}
	q.authorization_endpoint = o.disc->authorization_endpoint;
	q.client_id = cfg->client_id;
	q.redirect_uri = redirect;
	q.scope = cfg->scopes;
	q.state = p.state;
	q.nonce = p.nonce;
	q.code_challenge = p.challenge;
	q.max_age = -1;
	if ((r = authz_build_url(&q, &url)) != 0) {
		refuse("authorization URL", r, NULL);
		goto out;
	}
	printf("URL %s\n", url);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin)) {
		refuse("callback", ERR_AUTHZ_RESPONSE, "no redirect URL on stdin");
		goto out;
	}
	line[strcspn(line, "\r\n")] = '\0';
	query = strchr(line, '?');
	if (!query || (r = qs_parse(query + 1, strlen(query + 1), &cq)) != 0) {
		refuse("callback", query ? r : ERR_AUTHZ_RESPONSE, NULL);
		goto out;
	}
	resp.code = qs_value(&cq, "code");
	resp.state = qs_value(&cq, "state");
	resp.iss = qs_value(&cq, "iss");
	resp.error = qs_value(&cq, "error");
	if ((r = authz_check_response(&resp, p.state, cfg->issuer,
				      o.disc->iss_parameter_supported)) != 0) {
		refuse("callback", r, resp.error);
		goto out;
	}
	if (wrong_verifier && (r = rand_token(other, sizeof(other), 32)) != 0)
		goto out;
	if (redeem(&o, resp.code, wrong_verifier ? other : p.verifier, redirect, &tr) != 0)
		goto out;
	if (replay) {
		if (redeem(&o, resp.code, p.verifier, redirect, &tr2) != 0)
			goto out;
		fprintf(stderr, "replay: the second redemption was accepted\n");
	}
	if ((r = oidc_verify_id_token(&o, tr->id_token, strlen(tr->id_token), p.nonce,
				      tr->access_token, &t)) != 0) {
		refuse("ID token", r, NULL);
		goto out;
	}
	printf("accepted alg=%s kid=%s\n", jwt_alg_name(t->alg), t->kid ? t->kid : "-");
	print_claim(t, "iss");
	print_claim(t, "sub");
	print_claim(t, "preferred_username");
	print_claim(t, "email");
	if (savef)
		fprintf(savef, "%s\n%s\n", tr->id_token, p.nonce);
	rc = 0;
out:
	if (savef)
		fclose(savef);
	jwt_free(t);
	token_response_free(tr);
	token_response_free(tr2);
	qs_cleanup(&cq);
	free(url);
	pkce_cleanup(&p);
	oidc_cleanup(&o);
	config_free(cfg);
	curl_global_cleanup();
	return rc;
}
