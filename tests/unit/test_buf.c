/* test_buf.c: the capped growable buffer (lib/buf.c) behind HTTP bodies,
 * relay pages and relay connection input. */
#include <stdlib.h>

#include "buf.h"
#include "err.h"
#include "tap.h"

int main(void)
{
	struct buf b;
	char *out = NULL, big[300];
	size_t len = 99;

	T_CASE("buf: empty, then appends stay NUL-terminated; grows by doubling from init");
	buf_init(&b, 4, 64);
	T_OK(b.p == NULL && b.len == 0 && b.cap == 0);
	T_EQ(buf_add(&b, "abc", 3), ERR_OK);
	T_EQ(b.cap, 4);
	T_STREQ(b.p, "abc");
	T_EQ(buf_add(&b, "defg", 4), ERR_OK);
	T_EQ(b.cap, 8);
	T_STREQ(b.p, "abcdefg");
	T_EQ(buf_add(&b, "", 0), ERR_OK);
	T_EQ(buf_add(&b, "0123456789", 10), ERR_OK);
	T_EQ(b.cap, 32);
	T_EQ(b.len, 17);
	T_STREQ(b.p, "abcdefg0123456789");

	T_CASE("buf: the cap holds content + NUL; one byte more is ERR_TOO_LARGE, sticky");
	memset(big, 'x', sizeof(big));
	T_EQ(buf_add(&b, big, 63 - 17), ERR_OK);
	T_EQ(b.len, 63);
	T_EQ(b.cap, 64);
	T_EQ(buf_add(&b, "y", 1), ERR_TOO_LARGE);
	T_EQ(b.len, 63);
	T_EQ(buf_add(&b, "", 0), ERR_TOO_LARGE); /* sticky */
	T_EQ(buf_reserve(&b, 1), ERR_TOO_LARGE);
	T_EQ(buf_take(&b, &out, &len), ERR_TOO_LARGE);
	T_OK(out == NULL && len == 99 && b.p == NULL && b.len == 0 && b.err == 0);

	T_CASE("buf: take hands out the block and empties the buffer");
	T_EQ(buf_add(&b, "hello", 5), ERR_OK);
	T_EQ(buf_take(&b, &out, &len), ERR_OK);
	T_STREQ(out, "hello");
	T_EQ(len, 5);
	T_OK(b.p == NULL && b.len == 0 && b.cap == 0);
	free(out);
	T_EQ(buf_take(&b, &out, &len), ERR_OK); /* empty: "" */
	T_OK(out && out[0] == '\0' && len == 0);
	free(out);

	T_CASE("buf: one add larger than the cap, and a huge n, refused");
	T_EQ(buf_add(&b, big, sizeof(big)), ERR_TOO_LARGE);
	buf_cleanup(&b);
	T_EQ(buf_add(&b, big, (size_t)-1), ERR_TOO_LARGE);
	buf_cleanup(&b);

	T_CASE("buf: reserve without NUL (relay input): up to max exactly, cap clamped");
	buf_init(&b, 2048, 5000);
	T_EQ(buf_reserve(&b, 10), ERR_OK);
	T_EQ(b.cap, 2048);
	T_EQ(buf_reserve(&b, 2049), ERR_OK);
	T_EQ(b.cap, 4096);
	T_EQ(buf_reserve(&b, 4097), ERR_OK);
	T_EQ(b.cap, 5000);
	T_EQ(buf_reserve(&b, 5000), ERR_OK);
	T_EQ(buf_reserve(&b, 5001), ERR_TOO_LARGE);
	buf_cleanup(&b);
	buf_cleanup(NULL);

	T_CASE("buf: init larger than max is clamped to max");
	buf_init(&b, 4096, 100);
	T_EQ(buf_add(&b, "a", 1), ERR_OK);
	T_EQ(b.cap, 100);
	buf_cleanup(&b);
	return t_done();
}
