/* test_pkce.c: RFC 7636 S256, randomness (AZ-05). */
#include <stdlib.h>

#include "err.h"
#include "pkce.h"
#include "rand.h"
#include "tap.h"

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	char ch[PKCE_STR_LEN + 1];
	struct pkce p;

	T_CASE("AZ-05 RFC 7636 appendix B vector");
	T_EQ(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", ch), 0);
	T_STREQ(ch, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");

	T_CASE("AZ-05 verifier charset and length limits");
	T_EQ(pkce_challenge("short", ch), ERR_INVAL);
	T_EQ(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX+", ch), ERR_INVAL);
	char longv[130];
	memset(longv, 'a', 129);
	longv[129] = 0;
	T_EQ(pkce_challenge(longv, ch), ERR_INVAL);
	longv[128] = 0;
	T_EQ(pkce_challenge(longv, ch), 0);

	T_CASE("AZ-05 init: 43-char values, challenge matches verifier");
	T_EQ(pkce_init(&p), 0);
	T_EQ(strlen(p.verifier), 43);
	T_EQ(strlen(p.state), 43);
	T_EQ(strlen(p.nonce), 43);
	T_EQ(pkce_challenge(p.verifier, ch), 0);
	T_STREQ(p.challenge, ch);
	T_OK(strcmp(p.state, p.nonce) != 0 && strcmp(p.state, p.verifier) != 0);
	pkce_cleanup(&p);
	T_OK(p.verifier[0] == 0 && p.state[0] == 0);

	T_CASE("AZ-05 100,000 flows: state, nonce, verifier all unique");
	enum { N = 100000 };
	char **all = malloc(sizeof(char *) * N * 3);
	T_OK(all != NULL);
	for (int i = 0; all && i < N; i++) {
		if (pkce_init(&p) != 0)
			break;
		all[3 * i] = strdup(p.verifier);
		all[3 * i + 1] = strdup(p.state);
		all[3 * i + 2] = strdup(p.nonce);
		pkce_cleanup(&p);
	}
	if (all) {
		int dups = 0;
		qsort(all, N * 3, sizeof(char *), cmp);
		for (int i = 1; i < N * 3; i++)
			dups += strcmp(all[i - 1], all[i]) == 0;
		T_EQ(dups, 0);
		for (int i = 0; i < N * 3; i++)
			free(all[i]);
		free(all);
	}

	T_CASE("rand_token limits");
	char tok[100];
	T_EQ(rand_token(tok, sizeof(tok), 0), ERR_INVAL);
	T_EQ(rand_token(tok, sizeof(tok), 65), ERR_INVAL);
	T_EQ(rand_token(tok, 10, 32), ERR_INVAL);
	T_EQ(rand_token(tok, sizeof(tok), 12), 0);
	T_EQ(strlen(tok), 16);
	return t_done();
}
