/* test_err.c: every code has its own text; unknown codes are named so. */
#include "err.h"
#include "tap.h"

int main(void)
{
	int distinct = 1;

	T_CASE("every code from -1 to -300 that has a text has a distinct one");
	for (int a = -300; a <= 0; a++) {
		if (!strcmp(err_str(a), "unknown error"))
			continue;
		for (int b = a + 1; b <= 0; b++)
			if (strcmp(err_str(b), "unknown error") && !strcmp(err_str(a), err_str(b)))
				distinct = 0;
	}
	T_OK(distinct);
	T_STREQ(err_str(ERR_OK), "success");
	T_STREQ(err_str(ERR_JWT_ALG_NONE), "unsigned token (alg none) refused");
	T_STREQ(err_str(12345), "unknown error");
	T_OK(strcmp(err_str(ERR_MAP_GROUP), "unknown error") != 0);
	T_OK(strcmp(err_str(ERR_RELAY_NOT_FOUND), "unknown error") != 0);
	T_CASE("the login flow's own outcomes are not lib codes with another meaning");
	T_OK(ERR_FLOW_CODE_TRIES != ERR_AUTHZ_STATE && ERR_FLOW_DEADLINE != ERR_IPC_TIMEOUT);
	T_STREQ(err_str(ERR_FLOW_CODE_TRIES), "confirmation code wrong too many times");
	T_STREQ(err_str(ERR_FLOW_DEADLINE), "the login's time ran out");
	for (int e = ERR_PRIV_SHARED; e <= ERR_PRIV_NO_USER; e++)
		T_OK(strcmp(err_str(e), "unknown error") != 0);
	for (int e = ERR_USERINFO_NO_ENDPOINT; e <= ERR_USERINFO_SERVER; e++)
		T_OK(strcmp(err_str(e), "unknown error") != 0);
	return t_done();
}
