/* qr.h: a QR code for the terminal (libqrencode). The code is drawn for a
 * dark terminal, as `qrencode -t UTF8` does: light modules and the quiet
 * zone are printed, dark modules are blank. */
#ifndef OP_QR_H
#define OP_QR_H

#include <stddef.h>

#define QR_QUIET 2 /* modules of quiet zone on each side */

enum qr_style {
	QR_STYLE_UTF8 = 1, /* half blocks: two module rows per text line */
	QR_STYLE_ASCII,	   /* "##" per light module, one text line per row */
};

/* Renders text (byte mode, EC level L, smallest version) into a malloc'd
 * string of lines ending in '\n'. ERR_TOO_LARGE when it would need a
 * version above max_version (1..40). */
int qr_render(const char *text, enum qr_style style, int max_version, char **out);

#endif
