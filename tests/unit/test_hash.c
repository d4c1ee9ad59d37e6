/* test_hash.c: SHA-256 prefixes in hex; the sid the helper logs (XD-13). */
#include <string.h>

#include "err.h"
#include "hash.h"
#include "tap.h"

int main(void)
{
	char out[65], sid[HASH_SID_LEN + 1];

	T_CASE("hash_hex: SHA-256(\"abc\") (FIPS 180-2), any prefix");
	T_EQ(hash_hex("abc", 3, 32, out), 0);
	T_STREQ(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	T_EQ(hash_hex("abc", 3, 16, out), 0);
	T_STREQ(out, "ba7816bf8f01cfea414140de5dae2223");
	T_EQ(hash_hex("abc", 3, 1, out), 0);
	T_STREQ(out, "ba");
	T_EQ(hash_hex("", 0, 2, out), 0);
	T_STREQ(out, "e3b0");
	T_EQ(hash_hex("a\0b", 3, 2, out), 0); /* len bytes, NUL included */
	T_OK(strcmp(out, "ca97") != 0 && strlen(out) == 4);

	T_CASE("hash_hex: refuses 0 or more than 32 bytes, NULL");
	T_EQ(hash_hex("abc", 3, 0, out), ERR_INVAL);
	T_STREQ(out, "");
	T_EQ(hash_hex("abc", 3, 33, out), ERR_INVAL);
	T_EQ(hash_hex(NULL, 0, 4, out), ERR_INVAL);
	T_EQ(hash_hex("abc", 3, 4, NULL), ERR_INVAL);

	T_CASE("XD-13 hash_sid: 12 hex of SHA-256(id)");
	hash_sid("abc", sid);
	T_STREQ(sid, "ba7816bf8f01");
	hash_sid(NULL, sid);
	T_STREQ(sid, "");
	return t_done();
}
