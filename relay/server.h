/* server.h: the relay's HTTP side: an epoll HTTP/1.1 server (http1.c
 * framing), one worker thread per core, long-polls parked in the store. */
#ifndef RELAY_SERVER_H
#define RELAY_SERVER_H

#include "log.h"
#include "rconf.h"

struct server;

/* Binds cf->listen_addr (one SO_REUSEPORT socket per worker), opens the
 * store, starts the workers. cf and lg must outlive the server. ERR_IO
 * (bind/listen failed), ERR_NOMEM, ERR_INTERNAL; the reason is logged. */
int server_start(const struct rconf *cf, const struct log *lg, struct server **out);

/* The bound port (useful with port 0). */
unsigned short server_port(const struct server *s);

/* The bound /metrics port (0: metrics_listen = off). */
unsigned short server_metrics_port(const struct server *s);

/* Worker threads started. */
unsigned server_threads(const struct server *s);

/* Stops accepting, answers every held long-poll, stops, frees. */
void server_stop(struct server *s);

#endif
