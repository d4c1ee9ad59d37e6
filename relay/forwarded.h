/* forwarded.h: who the client is behind a trusted reverse proxy (RLY-25,
 * XD-10). Only when the TCP peer is in trusted_proxies are its
 * X-Forwarded-For / Forwarded (RFC 7239) fields believed; from anyone else
 * they are ignored. The list is walked from the right (the entry the
 * nearest proxy appended) past every trusted proxy; the first address that
 * is not one is the client, whatever the client wrote to its left. An
 * entry that does not parse before that point: not believed, the peer
 * stays the client. Both fields present: believed only when they name the
 * same client (a proxy that sets one passes the other through untouched
 * from the client). */
#ifndef RELAY_FORWARDED_H
#define RELAY_FORWARDED_H

#include <stddef.h>
#include <sys/socket.h>

#include "rconf.h"

/* peer: the TCP peer. fwd/xff: the field values (NULL when absent). On 1,
 * *out holds the client's address (AF_INET or AF_INET6; port 0); 0: use
 * the peer. */
int fwd_client(const struct rconf *cf, const struct sockaddr *peer, const char *fwd, size_t fwd_len,
	       const char *xff, size_t xff_len, struct sockaddr_storage *out);

#endif
