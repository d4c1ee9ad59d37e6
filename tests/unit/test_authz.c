/* test_authz.c: authorization URL contract and callback parsing
 * (AZ-04, AZ-06, AZ-08, AZ-09, AZ-10, AZ-12). */
#include <stdlib.h>

#include "authz.h"
#include "err.h"
#include "qs.h"
#include "tap.h"

/* Counts occurrences of "&name=" or "?name=" in url. */
static int count_param(const char *url, const char *name)
{
	char pat[64];
	int n = 0;
	const char *q = strchr(url, '?');

	for (const char *p = q; p && (p = strstr(p, name)); p++) {
		snprintf(pat, sizeof(pat), "%s=", name);
		if ((p[-1] == '&' || p[-1] == '?') && strncmp(p, pat, strlen(pat)) == 0)
			n++;
	}
	return n;
}

/* A callback query through the one query parser (lib/qs.c), as a view. */
static struct qs cq;

static int parse(const char *q, struct authz_response *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	qs_cleanup(&cq);
	if ((rc = qs_parse(q, strlen(q), &cq)) != 0)
		return rc;
	r->code = qs_value(&cq, "code");
	r->state = qs_value(&cq, "state");
	r->iss = qs_value(&cq, "iss");
	r->error = qs_value(&cq, "error");
	return 0;
}

int main(void)
{
	struct authz_request q = {
		.authorization_endpoint = "https://idp.example/auth",
		.client_id = "pkce client",
		.redirect_uri = "https://relay.example/callback",
		.scope = "openid profile",
		.state = "s1",
		.nonce = "n&redirect_uri=https://evil",
		.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		.prompt = NULL,
		.max_age = -1,
	};
	struct authz_response r;
	char *url = NULL;

	T_CASE("AZ-04 URL contract: each parameter exactly once, S256");
	T_EQ(authz_build_url(&q, &url), 0);
	const char *once[] = { "response_type",	 "client_id",
			       "redirect_uri",	 "scope",
			       "state",		 "nonce",
			       "code_challenge", "code_challenge_method" };
	for (unsigned i = 0; url && i < sizeof(once) / sizeof(once[0]); i++)
		T_EQ(count_param(url, once[i]), 1);
	T_OK(url && strstr(url, "response_type=code&"));
	T_OK(url && strstr(url, "code_challenge_method=S256"));
	T_OK(url && strstr(url, "redirect_uri=https%3A%2F%2Frelay.example%2Fcallback"));
	T_OK(url &&
	     (strstr(url, "client_id=pkce%20client") || strstr(url, "client_id=pkce+client")));
	T_OK(url && !strstr(url, "token") && !strchr(url, '#') && !strstr(url, "plain"));
	T_OK(url && strncmp(url, "https://idp.example/auth?", 25) == 0);

	T_CASE("AZ-06 injected value stays one parameter");
	T_OK(url && strstr(url, "nonce=n%26redirect_uri%3Dhttps%3A%2F%2Fevil"));
	free(url);

	T_CASE("AZ-04 refuse scope without openid, bad challenge");
	q.scope = "openidx profile";
	T_EQ(authz_build_url(&q, &url), ERR_INVAL);
	q.scope = "profile openid";
	q.code_challenge = "plain-challenge";
	T_EQ(authz_build_url(&q, &url), ERR_INVAL);
	q.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
	q.prompt = "login";
	q.max_age = 0;
	q.authorization_endpoint = "https://idp.example/auth?tenant=x";
	T_EQ(authz_build_url(&q, &url), 0);
	T_OK(url && strstr(url, "/auth?tenant=x&response_type=code&"));
	T_OK(url && strstr(url, "&prompt=login") && strstr(url, "&max_age=0"));
	free(url);

	T_CASE("AZ-07 acr_values is sent, percent-encoded; absent when unset");
	q.acr_values = "urn:x:loa:2 phr";
	q.max_age = 300;
	T_EQ(authz_build_url(&q, &url), 0);
	T_OK(url && strstr(url, "&acr_values=urn%3Ax%3Aloa%3A2%20phr") &&
	     strstr(url, "&max_age=300"));
	free(url);
	q.acr_values = NULL;
	q.max_age = -1;
	T_EQ(authz_build_url(&q, &url), 0);
	T_OK(url && !strstr(url, "acr_values") && !strstr(url, "max_age"));
	free(url);

	T_CASE("parse a callback");
	T_EQ(parse("code=abc%2Fdef&state=s1&iss=https%3A%2F%2Fidp.example&extra=1", &r), 0);
	T_STREQ(r.code, "abc/def");
	T_STREQ(r.iss, "https://idp.example");
	T_EQ(authz_check_response(&r, "s1", "https://idp.example", 1), 0);

	T_CASE("AZ-08 state mismatch refused");
	T_EQ(authz_check_response(&r, "s2", "https://idp.example", 1), ERR_AUTHZ_STATE);
	T_EQ(authz_check_response(&r, "s", "https://idp.example", 1), ERR_AUTHZ_STATE);
	T_EQ(authz_check_response(&r, "s1x", "https://idp.example", 1), ERR_AUTHZ_STATE);

	T_CASE("AZ-10 iss mismatch refused, missing refused when advertised");
	T_EQ(authz_check_response(&r, "s1", "https://idp.example/", 0), ERR_AUTHZ_ISS);
	T_EQ(parse("code=abc&state=s1", &r), 0);
	T_EQ(authz_check_response(&r, "s1", "https://idp.example", 1), ERR_AUTHZ_ISS);
	T_EQ(authz_check_response(&r, "s1", "https://idp.example", 0), 0);
	T_EQ(parse("code=abc", &r), 0);
	T_EQ(authz_check_response(&r, "s1", "https://idp.example", 0), ERR_AUTHZ_STATE);

	T_CASE("AZ-09 error response");
	T_EQ(parse("error=access_denied&error_description=no%1B%5B31m&state=s1", &r), 0);
	T_EQ(authz_check_response(&r, "s1", "https://idp.example", 0), ERR_AUTHZ_ERROR);
	T_EQ(parse("error=access_denied&code=abc&state=s1", &r), 0);
	T_EQ(authz_check_response(&r, "s1", "https://idp.example", 0), ERR_AUTHZ_ERROR);

	T_CASE("AZ-12 repeated params, bad escapes, NUL refused by the parser");
	T_EQ(parse("code=a&code=b&state=s1", &r), ERR_QUERY);
	T_EQ(parse("code=a&state=s1&state=s2", &r), ERR_QUERY);
	T_EQ(parse("code=a&state=s1&%73tate=s2", &r), ERR_QUERY);
	T_EQ(parse("code=a%00b&state=s1", &r), ERR_QUERY);
	T_EQ(parse("code=a%zzb&state=s1", &r), ERR_QUERY);
	T_EQ(parse("code=ab%4", &r), ERR_QUERY);
	T_EQ(parse("code=ab%", &r), ERR_QUERY);
	T_EQ(parse("code=%FF&state=s1", &r), ERR_QUERY);

	T_CASE("AZ-12 no code, empty code, tokens in the query: refused by the check");
	T_EQ(parse("state=s1&code=", &r), 0);
	T_EQ(authz_check_response(&r, "s1", "i", 0), ERR_AUTHZ_RESPONSE);
	T_EQ(parse("state=s1&id_token=xyz&access_token=abc", &r), 0);
	T_EQ(authz_check_response(&r, "s1", "i", 0), ERR_AUTHZ_RESPONSE);
	qs_cleanup(&cq);
	return t_done();
}
