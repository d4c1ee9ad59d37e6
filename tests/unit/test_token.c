/* test_token.c: token endpoint response parsing (TOK-06, TOK-02). */
#include <stdlib.h>

#include "err.h"
#include "tap.h"
#include "token.h"

static int parse(const char *s, struct token_response **t)
{
	*t = NULL;
	return token_parse_response(s, strlen(s), t);
}

static int parse_r(const char *s)
{
	struct token_response *t = NULL;
	int r = parse(s, &t);

	token_response_free(t);
	return r;
}

#define OKBODY "\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"Bearer\""

int main(void)
{
	struct token_response *t = NULL;

	T_CASE("TOK-06 valid response; unknown members ignored");
	T_EQ(parse("{" OKBODY ",\"expires_in\":3600,\"refresh_token\":\"rt\",\"scope\":\"openid\","
		   "\"x\":{\"y\":[1]}}",
		   &t),
	     0);
	T_OK(t != NULL);
	if (t) {
		T_STREQ(t->id_token, "a.b.c");
		T_STREQ(t->access_token, "at");
		T_EQ(t->expires_in, 3600);
		T_STREQ(t->error, "");
	}
	token_response_free(t);
	T_EQ(parse("{" OKBODY "}", &t), 0);
	T_EQ(t ? t->expires_in : 0, -1);
	token_response_free(t);

	T_CASE("TOK-06 token_type Bearer in any case, nothing else");
	T_EQ(parse_r("{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"bearer\"}"),
	     0);
	T_EQ(parse_r("{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"BEARER\"}"),
	     0);
	T_EQ(parse_r("{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"DPoP\"}"),
	     ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":\"Bearer \"}"),
	     ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("{\"id_token\":\"a.b.c\",\"access_token\":\"at\"}"), ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("{\"id_token\":\"a.b.c\",\"access_token\":\"at\",\"token_type\":true}"),
	     ERR_TOKEN_RESPONSE);

	T_CASE("TOK-06 id_token required, a non-empty string");
	T_EQ(parse_r("{\"access_token\":\"at\",\"token_type\":\"Bearer\"}"), ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("{\"id_token\":\"\",\"access_token\":\"at\",\"token_type\":\"Bearer\"}"),
	     ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("{\"id_token\":[\"a.b.c\"],\"access_token\":\"at\",\"token_type\":\"Bearer\"}"),
	     ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("{\"id_token\":null,\"access_token\":\"at\",\"token_type\":\"Bearer\"}"),
	     ERR_TOKEN_RESPONSE);

	T_CASE("TOK-06 access_token required; expires_in a number");
	T_EQ(parse_r("{\"id_token\":\"a.b.c\",\"token_type\":\"Bearer\"}"), ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("{" OKBODY ",\"expires_in\":\"3600\"}"), ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("{" OKBODY ",\"expires_in\":-1}"), ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("{" OKBODY ",\"expires_in\":1e400}"), ERR_TOKEN_RESPONSE);

	T_CASE("TOK-06 strict JSON: duplicates, case shadowing, garbage, not an object");
	T_EQ(parse_r("{" OKBODY ",\"id_token\":\"x.y.z\"}"), ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("{" OKBODY ",\"ID_TOKEN\":\"x.y.z\"}"), ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("{" OKBODY "} x"), ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("[]"), ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("\"id_token\""), ERR_TOKEN_RESPONSE);
	T_EQ(parse_r(""), ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("<html>error</html>"), ERR_TOKEN_RESPONSE);

	T_CASE("TOK-06 body over 64 KiB refused");
	{
		size_t n = TOKEN_MAX_BYTES + 1;
		char *big = malloc(n + 1);
		memset(big, ' ', n);
		memcpy(big, "{" OKBODY "}", sizeof("{" OKBODY "}") - 1);
		big[n] = 0;
		T_EQ(token_parse_response(big, n, &t), ERR_TOO_LARGE);
		T_EQ(token_parse_response(big, n - 1, &t), 0);
		token_response_free(t);
		free(big);
	}

	T_CASE("TOK-02 error response -> ERR_TOKEN_ERROR with the code for the log");
	T_EQ(parse("{\"error\":\"invalid_grant\",\"error_description\":\"code expired\"}", &t),
	     ERR_TOKEN_ERROR);
	T_OK(t != NULL);
	if (t) {
		T_STREQ(t->error, "invalid_grant");
		T_STREQ(t->error_description, "code expired");
		T_OK(t->id_token == NULL && t->access_token == NULL);
	}
	token_response_free(t);

	T_CASE("TOK-02 an error wins over tokens in the same answer");
	T_EQ(parse("{" OKBODY ",\"error\":\"server_error\"}", &t), ERR_TOKEN_ERROR);
	T_OK(t && t->id_token == NULL);
	token_response_free(t);

	T_CASE("AZ-09 error text sanitized: no ESC/CR/BEL, truncated");
	T_EQ(parse("{\"error\":\"bad\\u001b[31m\\r\\nX\",\"error_description\":\"\\u0007ding "
		   "caf\\u00e9\"}",
		   &t),
	     ERR_TOKEN_ERROR);
	if (t) {
		T_STREQ(t->error, "bad?[31m??X");
		T_STREQ(t->error_description, "?ding caf??");
	}
	token_response_free(t);
	{
		char s[1400];
		snprintf(s, sizeof(s), "{\"error\":\"%0300d\",\"error_description\":\"%0900d\"}", 0,
			 0);
		T_EQ(parse(s, &t), ERR_TOKEN_ERROR);
		T_EQ(t ? strlen(t->error) : 0, TOKEN_ERROR_MAX);
		T_EQ(t ? strlen(t->error_description) : 0, TOKEN_ERROR_DESCRIPTION_MAX);
		token_response_free(t);
	}

	T_CASE("error member of the wrong type or empty -> malformed");
	T_EQ(parse_r("{\"error\":42}"), ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("{\"error\":\"\"}"), ERR_TOKEN_RESPONSE);
	T_EQ(parse_r("{\"error\":\"invalid_grant\",\"error_description\":5}"), ERR_TOKEN_ERROR);

	T_CASE("NULL arguments");
	T_EQ(token_parse_response(NULL, 0, &t), ERR_INVAL);
	token_response_free(NULL);
	return t_done();
}
