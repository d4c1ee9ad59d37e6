/* text.h: which text may be shown to a person as it is (XD-03). The relay's
 * context page shows host, service, user and rhost from a registration; a
 * value must not hide, reorder or fake what is around it. One rule, used by
 * the relay to refuse a registration and by the helper to render what it
 * sends. Code point classes from Unicode 15.0. */
#ifndef OP_TEXT_H
#define OP_TEXT_H

#include <stddef.h>

/* 1 when code point cp may be shown; 0 for: C0 controls, DEL, C1 controls;
 * every format character (general category Cf: soft hyphen, Arabic number
 * signs, zero-width and bidirectional marks, embeddings, overrides and
 * isolates, word joiner, invisible operators, BOM, interlinear annotation,
 * Egyptian hieroglyph, shorthand and musical format controls, tags); line
 * and paragraph separators; every space separator (Zs) but U+0020; variation
 * selectors (U+FE00..FE0F, U+E0100..E01EF) and Mongolian free variation
 * selectors; the combining grapheme joiner; the rest of
 * Default_Ignorable_Code_Point (Hangul fillers, Khmer inherent vowels,
 * U+FFF0..FFF8, U+E0000..E0FFF); the braille blank U+2800; noncharacters;
 * private use (U+E000..F8FF, planes 15 and 16); surrogates and anything past
 * U+10FFFF. */
int text_cp_display_safe(unsigned long cp);

/* Decodes the shortest-form UTF-8 sequence at s[0..len), len >= 1: its
 * length with *cp set, or 0 when it is not valid UTF-8 (overlong,
 * surrogate, past U+10FFFF, truncated, stray continuation byte). The one
 * UTF-8 decoder of lib/ (json_utf8_valid uses it too). */
size_t text_utf8_decode(const unsigned char *s, size_t len, unsigned long *cp);

/* 1 when s[0..len) is valid UTF-8 (shortest form, no surrogates, nothing
 * past U+10FFFF, no NUL) and every code point is display-safe; else 0. */
int text_display_safe(const char *s, size_t len);

/* Copies the C string src into dst (dstlen >= 1, always NUL-terminated) so
 * that dst is display-safe. src that is display-safe is copied as it is.
 * Otherwise it is rendered in ASCII escapes: each refused code point as
 * "\u{XXXX}" (hex, at least 4 digits), each byte that is not valid UTF-8 as
 * "\xHH", and a backslash as "\\"; the rest unchanged. When the result does
 * not fit, its start and end are kept around "..." (cut only between code
 * points or escapes; for a host name the end says the most). Returns dst. */
char *text_display_copy(char *dst, size_t dstlen, const char *src);

/* 1 when w (non-empty) is one of the words of list, separated by spaces or
 * tabs ("openid" in a scope, "mfa" in required_amr); 0 otherwise, and for
 * a NULL list or word. */
int text_has_word(const char *list, const char *w);

#endif
