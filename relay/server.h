/* server.h: the relay's HTTP side (libmicrohttpd, one internal polling
 * thread, suspend/resume for long-polls) and its housekeeping timer. */
#ifndef RELAY_SERVER_H
#define RELAY_SERVER_H

#include "log.h"
#include "rconf.h"

struct server;

/* Binds cf->listen_addr, starts the daemon and the timer thread. cf and
 * lg must outlive the server. ERR_IO (bind/listen failed), ERR_NOMEM,
 * ERR_INTERNAL; the reason is logged. */
int server_start(const struct rconf *cf, const struct log *lg, struct server **out);

/* The bound port (useful with port 0). */
unsigned short server_port(const struct server *s);

/* Stops accepting, answers every held long-poll, stops, frees. */
void server_stop(struct server *s);

#endif
