/* test_rand.c: getrandom output (AZ-05): tokens have the right length and
 * alphabet, differ, and bytes are spread over all values. */
#include "b64url.h"
#include "err.h"
#include "rand.h"
#include "tap.h"

int main(void)
{
	unsigned char buf[65536];
	unsigned counts[256] = { 0 };
	char a[64], b[64];
	int lo = 1 << 30, hi = 0;

	T_CASE("AZ-05 rand_bytes fills, bytes roughly uniform");
	T_EQ(rand_bytes(buf, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		counts[buf[i]]++;
	for (int i = 0; i < 256; i++) {
		lo = (int)counts[i] < lo ? (int)counts[i] : lo;
		hi = (int)counts[i] > hi ? (int)counts[i] : hi;
	}
	T_OK(lo > 150 && hi < 370); /* mean 256; 7 sigma is ~112 */
	T_CASE("AZ-05 rand_token: 32 bytes -> 43 base64url chars, distinct");
	T_EQ(rand_token(a, sizeof(a), 32), 0);
	T_EQ(rand_token(b, sizeof(b), 32), 0);
	T_EQ(strlen(a), 43);
	T_EQ(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	T_OK(strcmp(a, b) != 0);
	T_EQ(rand_bytes(buf, 0), 0);
	return t_done();
}
