/* test_secret.c: wipe, then free (run under ASan for the frees). */
#include <stdlib.h>

#include "secret.h"
#include "tap.h"

int main(void)
{
	char *s = strdup("code-verifier"), *e = strdup("");
	unsigned char *b = malloc(32);

	T_CASE("secret_free and secret_str_free: NULL-safe, free what they get");
	T_OK(s && e && b);
	if (b)
		memset(b, 0xa5, 32);
	secret_free(NULL, 10);
	secret_str_free(NULL);
	secret_free(b, 32);
	secret_str_free(s);
	secret_str_free(e);
	secret_free(malloc(1), 0);
	T_OK(1); /* a double free or leak fails the ASan build */
	return t_done();
}
