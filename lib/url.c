/* url.c: URL facts. */
#include "url.h"

#include <string.h>
#include <strings.h>

int url_is_loopback_host(const char *h, size_t n)
{
	if (!h)
		return 0;
	return (n == 9 &&
		(strncasecmp(h, "127.0.0.1", 9) == 0 || strncasecmp(h, "localhost", 9) == 0)) ||
	       (n == 5 && memcmp(h, "[::1]", 5) == 0);
}
