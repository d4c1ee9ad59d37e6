/* text.c: display-safe text (XD-03). */
#include "text.h"

#include <stdio.h>
#include <string.h>

/* Refused code points, sorted, not overlapping. Unicode 15.0:
 * DerivedGeneralCategory.txt (Cc, Cf, Zs, Zl, Zp, Co), PropList.txt
 * (Noncharacter_Code_Point, Variation_Selector) and DerivedCoreProperties.txt
 * (Default_Ignorable_Code_Point). Noncharacters U+nFFFE/U+nFFFF of planes
 * 1..14 are tested arithmetically in text_cp_display_safe. */
static const struct {
	unsigned long lo, hi;
} refused[] = {
	{ 0x0000, 0x001f },    /* Cc: C0 controls */
	{ 0x007f, 0x009f },    /* Cc: DEL, C1 controls */
	{ 0x00a0, 0x00a0 },    /* Zs: no-break space */
	{ 0x00ad, 0x00ad },    /* Cf: soft hyphen */
	{ 0x034f, 0x034f },    /* Mn, DI: combining grapheme joiner */
	{ 0x0600, 0x0605 },    /* Cf: Arabic number signs */
	{ 0x061c, 0x061c },    /* Cf: Arabic letter mark */
	{ 0x06dd, 0x06dd },    /* Cf: Arabic end of ayah */
	{ 0x070f, 0x070f },    /* Cf: Syriac abbreviation mark */
	{ 0x0890, 0x0891 },    /* Cf: Arabic pound/piastre mark above */
	{ 0x08e2, 0x08e2 },    /* Cf: Arabic disputed end of ayah */
	{ 0x115f, 0x1160 },    /* Lo, DI: Hangul choseong/jungseong fillers */
	{ 0x1680, 0x1680 },    /* Zs: Ogham space mark */
	{ 0x17b4, 0x17b5 },    /* Mn, DI: Khmer inherent vowels */
	{ 0x180b, 0x180d },    /* Mn, DI: Mongolian free variation selectors 1-3 */
	{ 0x180e, 0x180e },    /* Cf: Mongolian vowel separator */
	{ 0x180f, 0x180f },    /* Mn, DI: Mongolian free variation selector 4 */
	{ 0x2000, 0x200a },    /* Zs: en quad .. hair space */
	{ 0x200b, 0x200f },    /* Cf: zero width space/non-joiner/joiner, LRM, RLM */
	{ 0x2028, 0x2028 },    /* Zl: line separator */
	{ 0x2029, 0x2029 },    /* Zp: paragraph separator */
	{ 0x202a, 0x202e },    /* Cf: bidi embeddings and overrides */
	{ 0x202f, 0x202f },    /* Zs: narrow no-break space */
	{ 0x205f, 0x205f },    /* Zs: medium mathematical space */
	{ 0x2060, 0x2064 },    /* Cf: word joiner, invisible operators */
	{ 0x2065, 0x2065 },    /* unassigned, DI */
	{ 0x2066, 0x206f },    /* Cf: bidi isolates, deprecated format controls */
	{ 0x2800, 0x2800 },    /* So: braille pattern blank (renders as nothing) */
	{ 0x3000, 0x3000 },    /* Zs: ideographic space */
	{ 0x3164, 0x3164 },    /* Lo, DI: Hangul filler */
	{ 0xe000, 0xf8ff },    /* Co: private use area */
	{ 0xfdd0, 0xfdef },    /* noncharacters */
	{ 0xfe00, 0xfe0f },    /* Mn, DI: variation selectors 1-16 */
	{ 0xfeff, 0xfeff },    /* Cf: zero width no-break space (BOM) */
	{ 0xffa0, 0xffa0 },    /* Lo, DI: halfwidth Hangul filler */
	{ 0xfff0, 0xfff8 },    /* unassigned, DI */
	{ 0xfff9, 0xfffb },    /* Cf: interlinear annotation */
	{ 0xfffe, 0xffff },    /* noncharacters */
	{ 0x110bd, 0x110bd },  /* Cf: Kaithi number sign */
	{ 0x110cd, 0x110cd },  /* Cf: Kaithi number sign above */
	{ 0x13430, 0x1343f },  /* Cf: Egyptian hieroglyph format controls */
	{ 0x1bca0, 0x1bca3 },  /* Cf: shorthand format controls */
	{ 0x1d173, 0x1d17a },  /* Cf: musical symbol format controls */
	{ 0xe0000, 0xe0fff },  /* DI: tags (Cf), variation selectors 17-256 */
	{ 0xf0000, 0x10ffff }, /* Co: supplementary private use planes 15, 16 */
};

int text_cp_display_safe(unsigned long cp)
{
	size_t lo = 0, hi = sizeof(refused) / sizeof(refused[0]);

	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp & 0xfffe) == 0xfffe)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cp < refused[mid].lo)
			hi = mid;
		else if (cp > refused[mid].hi)
			lo = mid + 1;
		else
			return 0;
	}
	return 1;
}

size_t text_utf8_decode(const unsigned char *s, size_t len, unsigned long *cp)
{
	unsigned char c = s[0];
	size_t n;
	unsigned long v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		v = c & 0x07;
	} else {
		return 0;
	}
	if (len <= n)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[k] & 0x3f);
	}
	if ((n == 2 && v < 0x800) || (n == 3 && v < 0x10000) || v > 0x10ffff ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n + 1;
}

int text_display_safe(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;
	unsigned long cp;

	if (!s && len)
		return 0;
	while (i < len) {
		if (s[i] >= 0x20 && s[i] < 0x7f) { /* printable ASCII: always safe */
			i++;
			continue;
		}
		if ((n = text_utf8_decode(s + i, len - i, &cp)) == 0 || !text_cp_display_safe(cp))
			return 0;
		i += n;
	}
	return 1;
}

/* The next unit of src at s[0..len): its rendering in out (at most 13
 * bytes: "\u{10FFFF}" is 10) and its length in *outn. Returns the bytes of
 * src it covers. With esc == 0 (src known safe), units are code points as
 * they are. */
static size_t render_unit(const unsigned char *s, size_t len, int esc, char out[16], size_t *outn)
{
	unsigned long cp;
	size_t n = text_utf8_decode(s, len, &cp);

	if (n == 0) { /* not valid UTF-8 here (esc is then set): one byte */
		*outn = (size_t)snprintf(out, 16, "\\x%02X", s[0]);
		return 1;
	}
	if (esc && cp == '\\') {
		memcpy(out, "\\\\", 2);
		*outn = 2;
	} else if (esc && !text_cp_display_safe(cp)) {
		*outn = (size_t)snprintf(out, 16, "\\u{%04lX}", cp);
	} else {
		memcpy(out, s, n);
		*outn = n;
	}
	return n;
}

char *text_display_copy(char *dst, size_t dstlen, const char *src)
{
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	size_t len = strlen((const char *)s), cap, total = 0, head, tail = 0, i, n, un, p, o = 0;
	int esc = !text_display_safe((const char *)s, len), elide, dots = 0;
	char u[16];

	if (dstlen == 0)
		return dst;
	cap = dstlen - 1;
	for (i = 0; i < len; i += n) {
		n = render_unit(s + i, len - i, esc, u, &un);
		total += un;
	}
	elide = total > cap;
	head = total;
	if (elide) {
		if (cap < 3) {
			dst[0] = '\0';
			return dst;
		}
		head = (cap - 3) / 2;
		tail = cap - 3 - head;
	}
	/* the units that end within the first `head` bytes of the rendering,
	 * "...", the units that start within its last `tail` bytes */
	for (i = 0, p = 0; i < len; i += n, p += un) {
		n = render_unit(s + i, len - i, esc, u, &un);
		if (p + un <= head) {
			memcpy(dst + o, u, un);
			o += un;
		} else if (elide && p >= total - tail) {
			if (!dots) {
				memcpy(dst + o, "...", 3);
				o += 3;
				dots = 1;
			}
			memcpy(dst + o, u, un);
			o += un;
		}
	}
	if (elide && !dots) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}

int text_has_word(const char *list, const char *w)
{
	size_t n = w ? strlen(w) : 0;

	if (!list || n == 0)
		return 0;
	while (*list) {
		size_t wn;

		list += strspn(list, " \t");
		wn = strcspn(list, " \t");
		if (wn == n && memcmp(list, w, n) == 0)
			return 1;
		list += wn;
	}
	return 0;
}
