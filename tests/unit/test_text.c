/* test_text.c: display-safe text for the context page (XD-03). */
#include <stdlib.h>

#include "tap.h"
#include "text.h"

/* UTF-8 of cp into b (>= 5 bytes), NUL-terminated; returns the length. */
static size_t enc(unsigned long cp, char *b)
{
	size_t n = 0;

	if (cp < 0x80) {
		b[n++] = (char)cp;
	} else if (cp < 0x800) {
		b[n++] = (char)(0xc0 | (cp >> 6));
		b[n++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		b[n++] = (char)(0xe0 | (cp >> 12));
		b[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[n++] = (char)(0x80 | (cp & 0x3f));
	} else {
		b[n++] = (char)(0xf0 | (cp >> 18));
		b[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[n++] = (char)(0x80 | (cp & 0x3f));
	}
	b[n] = '\0';
	return n;
}

/* "host" with cp in the middle: the way it would arrive in a context. */
static int safe_in_text(unsigned long cp)
{
	char b[32] = "evil";
	size_t n = 4 + enc(cp, b + 4);

	memcpy(b + n, "example", 8);
	return text_display_safe(b, n + 7);
}

static int safe_str(const char *s)
{
	return text_display_safe(s, strlen(s));
}

struct range {
	unsigned long lo, hi;
};

/* The rule written out again from the classes (not copied from text.c):
 * every refused code point, by class. */
static const struct range cc[] = { { 0x00, 0x1f }, { 0x7f, 0x9f } };
static const struct range cf[] = {
	{ 0x00ad, 0x00ad },   { 0x0600, 0x0605 },   { 0x061c, 0x061c },	  { 0x06dd, 0x06dd },
	{ 0x070f, 0x070f },   { 0x0890, 0x0891 },   { 0x08e2, 0x08e2 },	  { 0x180e, 0x180e },
	{ 0x200b, 0x200f },   { 0x202a, 0x202e },   { 0x2060, 0x2064 },	  { 0x2066, 0x206f },
	{ 0xfeff, 0xfeff },   { 0xfff9, 0xfffb },   { 0x110bd, 0x110bd }, { 0x110cd, 0x110cd },
	{ 0x13430, 0x1343f }, { 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a }, { 0xe0001, 0xe0001 },
	{ 0xe0020, 0xe007f },
};
static const struct range zs_zl_zp[] = { { 0x00a0, 0x00a0 }, { 0x1680, 0x1680 }, { 0x2000, 0x200a },
					 { 0x2028, 0x2029 }, { 0x202f, 0x202f }, { 0x205f, 0x205f },
					 { 0x3000, 0x3000 } };
static const struct range vs[] = { { 0xfe00, 0xfe0f }, { 0xe0100, 0xe01ef } };
static const struct range mongolian_fvs[] = { { 0x180b, 0x180f } };
static const struct range fillers[] = {
	{ 0x115f, 0x1160 }, { 0x3164, 0x3164 }, { 0xffa0, 0xffa0 }, { 0x2800, 0x2800 }
};
static const struct range cgj[] = { { 0x034f, 0x034f } };
static const struct range other_ignorable[] = {
	{ 0x17b4, 0x17b5 }, { 0x2065, 0x2065 }, { 0xfff0, 0xfff8 }, { 0xe0000, 0xe0fff }
};
static const struct range private_use[] = { { 0xe000, 0xf8ff },
					    { 0xf0000, 0xffffd },
					    { 0x100000, 0x10fffd } };
static const struct range surrogates[] = { { 0xd800, 0xdfff } };

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *name;
	const struct range *r;
	size_t n;
} classes[] = {
	{ "XD-03 refuses C0/DEL/C1 controls", cc, N(cc) },
	{ "XD-03 refuses every Cf format character", cf, N(cf) },
	{ "XD-03 refuses Zs spaces but U+0020, Zl, Zp", zs_zl_zp, N(zs_zl_zp) },
	{ "XD-03 refuses variation selectors", vs, N(vs) },
	{ "XD-03 refuses Mongolian free variation selectors", mongolian_fvs, N(mongolian_fvs) },
	{ "XD-03 refuses Hangul fillers and the braille blank", fillers, N(fillers) },
	{ "XD-03 refuses the combining grapheme joiner", cgj, N(cgj) },
	{ "XD-03 refuses other default-ignorable code points", other_ignorable,
	  N(other_ignorable) },
	{ "XD-03 refuses private use", private_use, N(private_use) },
};

static int is_nonchar(unsigned long cp)
{
	return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe;
}

static int spec_refused(unsigned long cp)
{
	if (is_nonchar(cp) || (cp >= surrogates[0].lo && cp <= surrogates[0].hi) || cp > 0x10ffff)
		return 1;
	for (size_t c = 0; c < N(classes); c++)
		for (size_t i = 0; i < classes[c].n; i++)
			if (cp >= classes[c].r[i].lo && cp <= classes[c].r[i].hi)
				return 1;
	return 0;
}

/* Each end of each range refused inside a string; its neighbours outside
 * the rule accepted. */
static void check_class(size_t c)
{
	T_CASE(classes[c].name);
	for (size_t i = 0; i < classes[c].n; i++) {
		const struct range *r = &classes[c].r[i];
		unsigned long probe[] = { r->lo, r->hi, r->lo + (r->hi - r->lo) / 2 };
		for (size_t k = 0; k < N(probe); k++) {
			char m[64];
			snprintf(m, sizeof(m), "U+%04lX refused", probe[k]);
			t_result(!safe_in_text(probe[k]) && !text_cp_display_safe(probe[k]),
				 __FILE__, __LINE__, m);
		}
		if (r->lo > 0 && !spec_refused(r->lo - 1))
			T_OK(safe_in_text(r->lo - 1));
		if (!spec_refused(r->hi + 1))
			T_OK(safe_in_text(r->hi + 1));
	}
}

static void check_copy(const char *src, size_t dstlen, const char *want)
{
	char out[512];

	T_STREQ(text_display_copy(out, dstlen, src), want);
	T_OK(safe_str(out));
}

int main(void)
{
	char b[600], out[512];

	for (size_t c = 0; c < N(classes); c++)
		check_class(c);

	T_CASE("XD-03 refuses noncharacters");
	T_OK(!safe_in_text(0xfdd0) && !safe_in_text(0xfdef) && !safe_in_text(0xfffe));
	T_OK(!safe_in_text(0xffff) && !safe_in_text(0x1fffe) && !safe_in_text(0x1ffff));
	T_OK(!safe_in_text(0xefffe) && !safe_in_text(0x10ffff));
	T_OK(safe_in_text(0xfdcf) && safe_in_text(0xfdf0) && safe_in_text(0x1fffd));

	T_CASE("XD-03 the characters of the report");
	const unsigned long reported[] = { 0x2060, 0x00ad, 0x180e, 0xfe0f, 0xe0041,
					   0x3164, 0x115f, 0x202e, 0x200b, 0xfeff };
	for (size_t i = 0; i < N(reported); i++)
		T_OK(!safe_in_text(reported[i]));

	T_CASE("XD-03 every code point: table == rule written from the classes");
	{
		unsigned long bad = 0, first = 0;
		for (unsigned long cp = 0; cp <= 0x110000; cp++)
			if (text_cp_display_safe(cp) != !spec_refused(cp) && bad++ == 0)
				first = cp;
		if (bad)
			fprintf(stderr, "first mismatch at U+%04lX\n", first);
		T_EQ(bad, 0);
	}

	T_CASE("XD-03 ordinary text accepted");
	const char *good[] = {
		"alice",
		"host-1.example.com",
		"192.0.2.1",
		"2001:db8::1",
		"sshd",
		"a b c", /* U+0020 */
		"DOMAIN\\alice",
		"Jos\xc3\xa9",					    /* José */
		"\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd",		    /* Иван */
		"\xe5\xb1\xb1\xe7\x94\xb0\xe5\xa4\xaa\xe9\x83\x8e", /* 山田太郎 */
		"\xf0\x9f\x98\x80",				    /* U+1F600 */
		"e\xcc\x81",					    /* e + U+0301 */
		"\xc2\xa1\xc3\xbf",				    /* U+00A1 U+00FF */
		"\xe2\x80\x90\xe2\x80\x94",			    /* U+2010 U+2014 */
		"\xef\xbf\xbd",					    /* U+FFFD */
		"\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd",		    /* thumbs up + skin tone */
		"",
	};
	for (size_t i = 0; i < N(good); i++) {
		char m[96];
		snprintf(m, sizeof(m), "accepted: \"%s\"", good[i]);
		t_result(safe_str(good[i]), __FILE__, __LINE__, m);
	}

	T_CASE("XD-03 invalid UTF-8 refused (overlong, surrogate, > U+10FFFF, truncated)");
	const char *invalid[] = {
		"\xc0\xaf",
		"\xc1\xbf",
		"\xe0\x80\xaf",
		"\xf0\x80\x80\xaf",
		"\xed\xa0\x80",
		"\xed\xbf\xbf",
		"\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80",
		"\xff",
		"\xfe",
		"\x80",
		"a\xe2\x80",
		"a\xf0\x9f\x98",
		"\xc3",
		"\xe2\x28\xa1",
		"\xf0\x9f\x98\x28",
	};
	for (size_t i = 0; i < N(invalid); i++) {
		char m[64];
		snprintf(m, sizeof(m), "invalid #%zu refused", i);
		t_result(!safe_str(invalid[i]), __FILE__, __LINE__, m);
	}
	T_OK(!text_display_safe("ab\0c", 4));		 /* NUL inside */
	T_OK(!text_display_safe("\xf0\x9f\x98\x80", 3)); /* cut by len */
	T_OK(text_display_safe("\xf0\x9f\x98\x80", 4));
	T_OK(text_display_safe(NULL, 0));

	T_CASE("XD-03 text_display_copy: safe text unchanged, the rest escaped");
	check_copy("alice", 129, "alice");
	check_copy("DOMAIN\\alice", 129, "DOMAIN\\alice");
	check_copy("Jos\xc3\xa9", 129, "Jos\xc3\xa9");
	check_copy("evil\xe2\x80\xae"
		   "elpmaxe",
		   129, "evil\\u{202E}elpmaxe");
	check_copy("a\xe2\x81\xa0"
		   "b\xc2\xad"
		   "c\xe3\x85\xa4"
		   "d\xf3\xa0\x81\x81"
		   "e\xef\xb8\x8f",
		   129, "a\\u{2060}b\\u{00AD}c\\u{3164}d\\u{E0041}e\\u{FE0F}");
	check_copy("x\x1b[31m\\y", 129, "x\\u{001B}[31m\\\\y"); /* backslash doubled */
	check_copy("h\xffst", 129, "h\\xFFst");
	check_copy("\xed\xa0\x80", 129, "\\xED\\xA0\\x80");
	check_copy("caf\xc3\xa9\n", 129, "caf\xc3\xa9\\u{000A}");
	check_copy("", 129, "");
	check_copy(NULL, 129, "");
	check_copy("alice", 1, "");

	T_CASE("XD-03 text_display_copy: too long keeps start and end");
	memset(b, 'a', 150);
	memcpy(b + 150, ".attacker.example", 18);
	text_display_copy(out, 129, b);
	T_EQ(strlen(out), 128);
	T_OK(strncmp(out, "aaaa", 4) == 0 && strstr(out, "...") == out + 62);
	T_OK(strcmp(out + strlen(out) - 17, ".attacker.example") == 0);
	check_copy("abcdefghij", 8, "ab...ij");
	check_copy("abcdefghij", 4, "...");
	check_copy("abcdefghij", 3, "");
	check_copy("abcdefghij", 11, "abcdefghij");
	/* cut between code points, and never inside an escape */
	check_copy("\xe5\xb1\xb1\xe5\xb1\xb1\xe5\xb1\xb1\xe5\xb1\xb1", 11,
		   "\xe5\xb1\xb1..."
		   "\xe5\xb1\xb1");
	check_copy("\xe2\x80\xae\xe2\x80\xae\xe2\x80\xae", 24, "\\u{202E}...\\u{202E}");
	check_copy("\xe2\x80\xae\xe2\x80\xae", 10, "...");

	T_CASE("XD-03 text_display_copy: any input gives safe text that fits");
	{
		static const unsigned char pool[] = { 'a',  '.',  '\\', 0x01, 0x7f, 0xc2,
						      0xa0, 0xad, 0xe2, 0x80, 0xae, 0x81,
						      0xa0, 0xf0, 0x9f, 0x98, 0xf3, 0xa0,
						      0xed, 0xe3, 0x85, 0xa4, 0xff, 0xc0 };
		unsigned long bad = 0;
		srand(4242);
		for (int it = 0; it < 20000; it++) {
			size_t n = (size_t)(rand() % 200), dl = 1 + (size_t)(rand() % 140);
			for (size_t i = 0; i < n; i++)
				b[i] = (char)pool[(size_t)rand() % sizeof(pool)];
			b[n] = '\0';
			text_display_copy(out, dl, b);
			if (strlen(out) > dl - 1 || !safe_str(out) ||
			    (safe_str(b) && n <= dl - 1 && strcmp(out, b) != 0))
				bad++;
		}
		T_EQ(bad, 0);
	}
	T_CASE("text_has_word: whole words separated by spaces or tabs");
	T_OK(text_has_word("a bb ccc", "bb"));
	T_OK(!text_has_word("a bb ccc", "b"));
	T_OK(!text_has_word("a bb ccc", ""));
	T_OK(!text_has_word(NULL, "a"));
	T_OK(!text_has_word("a", NULL));
	T_OK(text_has_word("ccc", "ccc"));
	T_OK(text_has_word("profile openid", "openid") &&
	     text_has_word("openid profile", "openid"));
	T_OK(text_has_word("  openid  ", "openid") && text_has_word("x\topenid", "openid"));
	T_OK(!text_has_word("openidx profile", "openid") && !text_has_word("xopenid", "openid"));
	T_OK(!text_has_word("openid2 openi", "openid") && !text_has_word("", "openid"));
	return t_done();
}
