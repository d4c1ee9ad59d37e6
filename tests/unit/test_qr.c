/* test_qr.c: the terminal QR code decodes back to the link (zbarimg, when
 * installed), fits version 4 for the relay's short link, and includes the
 * quiet zone. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "qr.h"
#include "tap.h"

/* Turns the rendered text back into modules (1 = dark) and writes a PBM
 * scaled 4x with a white border; returns the module side. */
static int to_pbm(const char *txt, enum qr_style style, const char *path)
{
	static unsigned char m[200][200];
	int rows = 0, cols = 0, x = 0;

	memset(m, 0, sizeof(m));
	for (const unsigned char *p = (const unsigned char *)txt; *p;) {
		int top, bot;
		if (*p == '\n') {
			cols = x > cols ? x : cols;
			x = 0;
			rows += style == QR_STYLE_UTF8 ? 2 : 1;
			p++;
			continue;
		}
		if (style == QR_STYLE_ASCII) {
			top = p[0] == '#';
			bot = top;
			p += 2;
		} else if (*p == ' ') {
			top = bot = 0;
			p++;
		} else {
			top = p[2] == 0x88 || p[2] == 0x80;
			bot = p[2] == 0x88 || p[2] == 0x84;
			p += 3;
		}
		m[rows][x] = !top;
		if (style == QR_STYLE_UTF8)
			m[rows + 1][x] = !bot;
		x++;
	}
	FILE *f = fopen(path, "w");
	int side = cols, S = 4, pad = 8;
	fprintf(f, "P1\n%d %d\n", side * S + 2 * pad, rows * S + 2 * pad);
	for (int y = 0; y < rows * S + 2 * pad; y++) {
		for (int xx = 0; xx < side * S + 2 * pad; xx++) {
			int my = (y - pad) / S, mx = (xx - pad) / S;
			int in = y >= pad && xx >= pad && my < rows && mx < side;
			fputs(in && m[my][mx] ? "1 " : "0 ", f);
		}
		fputc('\n', f);
	}
	fclose(f);
	return side;
}

static void decode_check(const char *txt, enum qr_style style, const char *want)
{
	char path[] = "/tmp/qr-test-XXXXXX", cmd[256], got[512] = "";
	int fd = mkstemp(path);
	close(fd);
	to_pbm(txt, style, path);
	if (system("command -v zbarimg >/dev/null 2>&1") != 0) {
		printf("# zbarimg not installed: decode check skipped\n");
		unlink(path);
		return;
	}
	snprintf(cmd, sizeof(cmd), "zbarimg --raw -q %s 2>/dev/null", path);
	FILE *p = popen(cmd, "r");
	if (p) {
		if (!fgets(got, sizeof(got), p))
			got[0] = 0;
		pclose(p);
	}
	got[strcspn(got, "\n")] = 0;
	T_STREQ(got, want);
	unlink(path);
}

int main(void)
{
	const char *link = "https://relay.example.org/l/Zx3_kPq9aB7cD1eF";
	char *q = NULL;

	T_CASE("utf8: decodes to the link; version <= 4 with quiet zone");
	T_EQ(qr_render(link, QR_STYLE_UTF8, 4, &q), 0);
	if (q) {
		size_t w = strcspn(q, "\n");
		T_OK(strncmp(q, "\xe2\x96\x88\xe2\x96\x88", 6) == 0); /* quiet zone drawn */
		T_OK(w / 3 <= 33 + 2 * QR_QUIET);
		decode_check(q, QR_STYLE_UTF8, link);
		free(q);
	}
	T_CASE("ascii: decodes to the link");
	T_EQ(qr_render(link, QR_STYLE_ASCII, 4, &q), 0);
	if (q) {
		T_OK(strncmp(q, "####", 4) == 0);
		T_OK(strspn(q, "# \n") == strlen(q));
		decode_check(q, QR_STYLE_ASCII, link);
		free(q);
	}
	T_CASE("too long for the version cap");
	char big[400];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	q = NULL;
	T_EQ(qr_render(big, QR_STYLE_UTF8, 4, &q), ERR_TOO_LARGE);
	T_OK(q == NULL);
	T_EQ(qr_render(link, 3, 4, &q), ERR_INVAL);
	T_EQ(qr_render(link, QR_STYLE_UTF8, 0, &q), ERR_INVAL);
	return t_done();
}
