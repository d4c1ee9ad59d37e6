/* qr.c: libqrencode -> terminal text. */
#include "qr.h"

#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* 1 when module (x, y) is dark; the quiet zone is light. */
static int dark(const QRcode *q, int x, int y)
{
	x -= QR_QUIET;
	y -= QR_QUIET;
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 0;
	return q->data[y * q->width + x] & 1;
}

int qr_render(const char *text, enum qr_style style, int max_version, char **out)
{
	QRcode *q;
	size_t cap, o = 0;
	char *buf;
	int side;

	if (!text || !out || max_version < 1 || max_version > 40 ||
	    (style != QR_STYLE_UTF8 && style != QR_STYLE_ASCII))
		return ERR_INVAL;
	q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_L);
	if (!q)
		return ERR_TOO_LARGE;
	if (q->version > max_version) {
		QRcode_free(q);
		return ERR_TOO_LARGE;
	}
	side = q->width + 2 * QR_QUIET;
	/* worst case: 3 bytes per UTF-8 cell, 2 per ASCII cell, plus newlines */
	cap = (size_t)side * (size_t)(side + 1) * 3 + 1;
	if (!(buf = malloc(cap))) {
		QRcode_free(q);
		return ERR_NOMEM;
	}
	for (int y = 0; y < side; y += style == QR_STYLE_UTF8 ? 2 : 1) {
		for (int x = 0; x < side; x++) {
			int top = !dark(q, x, y);
			if (style == QR_STYLE_ASCII) {
				memcpy(buf + o, top ? "##" : "  ", 2);
				o += 2;
				continue;
			}
			int bottom = y + 1 < side ? !dark(q, x, y + 1) : 0;
			const char *cell = top && bottom ? "\xe2\x96\x88" /* █ */
					   : top	 ? "\xe2\x96\x80" /* ▀ */
					   : bottom	 ? "\xe2\x96\x84" /* ▄ */
							 : " ";
			size_t n = strlen(cell);
			memcpy(buf + o, cell, n);
			o += n;
		}
		buf[o++] = '\n';
	}
	buf[o] = '\0';
	QRcode_free(q);
	*out = buf;
	return ERR_OK;
}
