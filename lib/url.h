/* url.h: URL facts shared by the helper's HTTP policy (lib/http.c) and the
 * relay's configuration checks (relay/rconf.c). */
#ifndef OP_URL_H
#define OP_URL_H

#include <stddef.h>

/* 1 when h[0..n) is 127.0.0.1, localhost (any case) or [::1]: the only
 * hosts plain http is ever allowed for, and only where a setting says so. */
int url_is_loopback_host(const char *h, size_t n);

#endif
