/* test_discovery.c: OIDC discovery document checks (AZ-01, AZ-02, AZ-03). */
#include <stdlib.h>

#include "discovery.h"
#include "err.h"
#include "jwt.h"
#include "log_capture.h"
#include "tap.h"

#define ISS "https://idp.example.com/realms/x"

static const struct log test_log = { logcap_sink, NULL, 1 };

/* A valid document with one member's raw JSON text replaced (or dropped
 * when value is NULL, or added when it is not in the template). */
static char *doc(const char *member, const char *value)
{
	static const char *names[] = { "issuer",
				       "authorization_endpoint",
				       "token_endpoint",
				       "jwks_uri",
				       "code_challenge_methods_supported",
				       "id_token_signing_alg_values_supported",
				       "response_types_supported" };
	static const char *vals[] = { "\"" ISS "\"",
				      "\"" ISS "/auth\"",
				      "\"" ISS "/token\"",
				      "\"" ISS "/certs\"",
				      "[\"plain\",\"S256\"]",
				      "[\"RS256\",\"ES256\",\"HS256\",\"none\",\"XX999\"]",
				      "[\"code\"]" };
	char *out = malloc(8192);
	size_t n = 0;
	int found = 0;

	n += (size_t)snprintf(out + n, 8192 - n, "{");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = vals[i];
		if (member && strcmp(member, names[i]) == 0) {
			found = 1;
			v = value;
		}
		if (v)
			n += (size_t)snprintf(out + n, 8192 - n, "%s\"%s\":%s", n > 1 ? "," : "",
					      names[i], v);
	}
	if (member && !found && value)
		n += (size_t)snprintf(out + n, 8192 - n, ",\"%s\":%s", member, value);
	snprintf(out + n, 8192 - n, "}");
	return out;
}

static int parse(const char *member, const char *value, int loopback, struct discovery **d)
{
	char *s = doc(member, value);
	int r;

	logcap_reset();
	*d = NULL;
	r = discovery_parse(s, strlen(s), ISS, loopback, &test_log, d);
	free(s);
	return r;
}

static int parse_r(const char *member, const char *value, int loopback)
{
	struct discovery *d = NULL;
	int r = parse(member, value, loopback, &d);

	discovery_free(d);
	return r;
}

int main(void)
{
	struct discovery *d = NULL;
	char *s;

	T_CASE("valid document");
	T_EQ(parse(NULL, NULL, 0, &d), 0);
	T_OK(d != NULL);
	if (d) {
		T_STREQ(d->issuer, ISS);
		T_STREQ(d->authorization_endpoint, ISS "/auth");
		T_STREQ(d->token_endpoint, ISS "/token");
		T_STREQ(d->jwks_uri, ISS "/certs");
		T_EQ(d->id_token_algs, JWT_RS256 | JWT_ES256); /* HS256, none, unknown ignored */
		T_EQ(d->iss_parameter_supported, 0);
	}
	discovery_free(d);

	T_CASE("IDT-29 userinfo_endpoint: optional, https like the others");
	T_EQ(parse(NULL, NULL, 0, &d), 0);
	T_OK(d && d->userinfo_endpoint == NULL);
	discovery_free(d);
	T_EQ(parse("userinfo_endpoint", "\"" ISS "/me\"", 0, &d), 0);
	T_STREQ(d ? d->userinfo_endpoint : NULL, ISS "/me");
	discovery_free(d);
	T_EQ(parse_r("userinfo_endpoint", "\"http://idp.example.com/me\"", 0), ERR_HTTP_URL);
	T_EQ(parse_r("userinfo_endpoint", "\"http://idp.example.com/me\"", 1), ERR_HTTP_URL);
	T_EQ(parse("userinfo_endpoint", "\"http://127.0.0.1:9/me\"", 1, &d), 0);
	discovery_free(d);
	T_EQ(parse_r("userinfo_endpoint", "\"https://u:p@idp.example.com/me\"", 0), ERR_HTTP_URL);
	T_EQ(parse_r("userinfo_endpoint", "42", 0), ERR_DISCOVERY);
	T_EQ(parse_r("userinfo_endpoint", "null", 0), ERR_DISCOVERY);

	T_CASE("iss parameter supported flag");
	T_EQ(parse("authorization_response_iss_parameter_supported", "true", 0, &d), 0);
	T_EQ(d ? d->iss_parameter_supported : -1, 1);
	discovery_free(d);
	T_EQ(parse_r("authorization_response_iss_parameter_supported", "\"true\"", 0),
	     ERR_DISCOVERY);

	T_CASE("AZ-01 issuer mismatch: other, trailing slash, case, http");
	T_EQ(parse_r("issuer", "\"https://evil.example.com/realms/x\"", 0), ERR_DISCOVERY_ISSUER);
	T_EQ(parse_r("issuer", "\"" ISS "/\"", 0), ERR_DISCOVERY_ISSUER);
	T_OK(strstr(logcap.all, "does not match") != NULL);
	T_EQ(parse_r("issuer", "\"https://IDP.example.com/realms/x\"", 0), ERR_DISCOVERY_ISSUER);
	T_EQ(parse_r("issuer", "\"http://idp.example.com/realms/x\"", 1), ERR_DISCOVERY_ISSUER);
	T_EQ(parse_r("issuer", "\"https://idp.example.com/realms/X\"", 0), ERR_DISCOVERY_ISSUER);
	s = doc(NULL, NULL);
	T_EQ(discovery_parse(s, strlen(s), ISS "/", 0, NULL, &d), ERR_DISCOVERY_ISSUER);
	free(s);

	T_CASE("AZ-01 configured issuer with a trailing slash matches only itself");
	s = doc("issuer", "\"" ISS "/\"");
	T_EQ(discovery_parse(s, strlen(s), ISS "/", 0, NULL, &d), 0);
	discovery_free(d);
	free(s);

	T_CASE("AZ-02 non-https endpoints refused");
	T_EQ(parse_r("token_endpoint", "\"http://idp.example.com/token\"", 0), ERR_HTTP_URL);
	T_OK(strstr(logcap.all, "token_endpoint") != NULL);
	T_EQ(parse_r("jwks_uri", "\"http://idp.example.com/certs\"", 1), ERR_HTTP_URL);
	T_EQ(parse_r("authorization_endpoint", "\"ftp://idp.example.com/a\"", 0), ERR_HTTP_URL);
	T_EQ(parse_r("jwks_uri", "\"https://u:p@idp.example.com/certs\"", 0), ERR_HTTP_URL);
	T_EQ(parse_r("token_endpoint", "\"http://127.0.0.1:3000/token\"", 0), ERR_HTTP_URL);

	T_CASE("AZ-02 loopback http endpoints only with allow_insecure_loopback");
	s = strdup("{\"issuer\":\"http://127.0.0.1:3000\","
		   "\"authorization_endpoint\":\"http://127.0.0.1:3000/auth\","
		   "\"token_endpoint\":\"http://127.0.0.1:3000/token\","
		   "\"jwks_uri\":\"http://127.0.0.1:3000/jwks\"}");
	T_EQ(discovery_parse(s, strlen(s), "http://127.0.0.1:3000", 1, NULL, &d), 0);
	T_EQ(d ? d->id_token_algs : 0, JWT_RS256);
	discovery_free(d);
	T_EQ(discovery_parse(s, strlen(s), "http://127.0.0.1:3000", 0, NULL, &d), ERR_HTTP_URL);
	free(s);

	T_CASE("AZ-02 document over 64 KiB refused, exactly 64 KiB accepted");
	{
		char *base = doc(NULL, NULL), *b = malloc(DISCOVERY_MAX_BYTES + 2);
		size_t bl = strlen(base);
		for (size_t total = DISCOVERY_MAX_BYTES; total <= DISCOVERY_MAX_BYTES + 1;
		     total++) {
			memcpy(b, base, bl - 1); /* without the closing brace */
			memset(b + bl - 1, ' ', total - bl);
			b[total - 1] = '}';
			b[total] = 0;
			T_EQ(discovery_parse(b, total, ISS, 0, NULL, &d),
			     total > DISCOVERY_MAX_BYTES ? ERR_TOO_LARGE : 0);
			discovery_free(d);
			d = NULL;
		}
		free(base);
		free(b);
	}

	T_CASE("AZ-02 duplicate keys refused (also case variants)");
	T_EQ(parse_r("issuer", "\"" ISS "\",\"issuer\":\"https://evil.example.com\"", 0),
	     ERR_JSON_DUP);
	T_EQ(parse_r("jwks_uri", "\"" ISS "/certs\",\"JWKS_URI\":\"https://evil/\"", 0),
	     ERR_JSON_DUP);

	T_CASE("AZ-02 required members present and strings");
	T_EQ(parse_r("issuer", NULL, 0), ERR_DISCOVERY);
	T_EQ(parse_r("authorization_endpoint", NULL, 0), ERR_DISCOVERY);
	T_EQ(parse_r("token_endpoint", NULL, 0), ERR_DISCOVERY);
	T_EQ(parse_r("jwks_uri", NULL, 0), ERR_DISCOVERY);
	T_OK(strstr(logcap.all, "jwks_uri missing") != NULL);
	T_EQ(parse_r("jwks_uri", "[\"" ISS "/certs\"]", 0), ERR_DISCOVERY);
	T_EQ(parse_r("token_endpoint", "42", 0), ERR_DISCOVERY);
	T_EQ(parse_r("issuer", "null", 0), ERR_DISCOVERY);

	T_CASE("not an object, invalid JSON");
	T_EQ(discovery_parse("[]", 2, ISS, 0, NULL, &d), ERR_DISCOVERY);
	T_EQ(discovery_parse("{", 1, ISS, 0, NULL, &d), ERR_JSON);
	T_EQ(discovery_parse("{}x", 3, ISS, 0, NULL, &d), ERR_JSON);

	T_CASE("AZ-03 code_challenge_methods_supported [plain] -> no PKCE S256");
	T_EQ(parse_r("code_challenge_methods_supported", "[\"plain\"]", 0), ERR_DISCOVERY_PKCE);
	T_EQ(parse_r("code_challenge_methods_supported", "[]", 0), ERR_DISCOVERY_PKCE);
	T_EQ(parse_r("code_challenge_methods_supported", "[\"s256\"]", 0), ERR_DISCOVERY_PKCE);
	T_EQ(parse_r("code_challenge_methods_supported", "\"S256\"", 0), ERR_DISCOVERY);
	T_EQ(parse_r("code_challenge_methods_supported", "[\"S256\",1]", 0), ERR_DISCOVERY);
	T_EQ(parse_r("code_challenge_methods_supported", "[\"S256\"]", 0), 0);

	T_CASE("AZ-03 code_challenge_methods_supported absent: allowed, logged");
	T_EQ(parse_r("code_challenge_methods_supported", NULL, 0), 0);
	T_OK(strstr(logcap.all, "code_challenge_methods_supported absent") != NULL);

	T_CASE("IDT-03 id_token_signing_alg_values_supported");
	T_EQ(parse("id_token_signing_alg_values_supported", NULL, 0, &d), 0);
	T_EQ(d ? d->id_token_algs : 0, JWT_RS256);
	discovery_free(d);
	T_EQ(parse("id_token_signing_alg_values_supported", "[\"PS256\",\"EdDSA\",\"rs256\"]", 0,
		   &d),
	     0);
	T_EQ(d ? d->id_token_algs : 0, JWT_PS256 | JWT_EDDSA);
	discovery_free(d);
	T_EQ(parse_r("id_token_signing_alg_values_supported", "[\"HS256\",\"none\"]", 0),
	     ERR_DISCOVERY);
	T_EQ(parse_r("id_token_signing_alg_values_supported", "\"RS256\"", 0), ERR_DISCOVERY);
	T_EQ(parse_r("id_token_signing_alg_values_supported", "[\"RS256\",null]", 0),
	     ERR_DISCOVERY);

	T_CASE("unknown members ignored; NULL arguments refused");
	T_EQ(parse_r("x_vendor", "{\"a\":[1,2,3]}", 0), 0);
	T_EQ(discovery_parse(NULL, 0, ISS, 0, NULL, &d), ERR_INVAL);
	discovery_free(NULL);
	return t_done();
}
