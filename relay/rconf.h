/* rconf.h: the relay's configuration file (oauth2-pkce-relay.conf(5) in
 * oauth2-pkce-relay(8)). "key = value" lines, whole-line '#' comments,
 * strict: an unknown key, a duplicate single-valued key, a bad number or a
 * URL outside the rules is an error naming FILE:LINE. */
#ifndef RELAY_RCONF_H
#define RELAY_RCONF_H

#include <stddef.h>
#include <sys/socket.h>

#define RCONF_DEFAULT_LISTEN	     "127.0.0.1:8080"
#define RCONF_DEFAULT_METRICS_LISTEN "127.0.0.1:9464" /* Prometheus exporter convention */
#define RCONF_MAX_TTL_LIMIT	     600 /* XD-04: a login link lives 10 minutes at most */
#define RCONF_MAX_REG_SECRETS	     16
#define RCONF_MAX_PROXIES	     64
#define RCONF_MAX_THREADS	     64
#define RCONF_REDIS_DEFAULT_PORT     6379

/* A trusted_proxies network; IPv4 in addr[0..3] (family AF_INET),
 * IPv4-mapped IPv6 entries are stored as IPv4. Host bits are zero. */
struct rconf_net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix; /* 1..32 or 1..128 */
};

struct rconf {
	char listen[128]; /* as given, for logs */
	struct sockaddr_storage listen_addr;
	socklen_t listen_len;
	char *base_url;	    /* scheme://host[:port], no path */
	char *callback_url; /* base_url + "/callback": the only redirect_uri */
	int https;	    /* base_url is https */
	char **endpoints;   /* allowed_authorization_endpoint, exact */
	size_t n_endpoints;
	char **client_ids; /* allowed_client_id */
	size_t n_client_ids;
	char *csp; /* Content-Security-Policy for HTML pages */
	/* Registration credentials: SHA-256 of each registration_secret_file
	 * (1..RCONF_MAX_REG_SECRETS of them), or open_registration = yes (then
	 * n_reg_hashes is 0); rconf_load refuses a file with neither. Check a
	 * bearer token with rconf_reg_authorized(). */
	unsigned char (*reg_hashes)[32];
	size_t n_reg_hashes;
	int open_registration; /* anyone may register: log it loudly at start */
	unsigned max_sessions;
	unsigned max_ttl;
	unsigned max_connections;
	unsigned max_connections_per_ip; /* 0: no per-IP limit */
	int allow_insecure_loopback;
	unsigned threads; /* 0..RCONF_MAX_THREADS; 0: one per online CPU */
	/* GET /metrics listener; metrics_on 0 ("off"): none. metrics_listen is
	 * the text as given (or "off"), for logs. */
	char metrics_listen[128];
	struct sockaddr_storage metrics_addr;
	socklen_t metrics_len;
	int metrics_on;
	/* trusted_proxies: whose X-Forwarded-For / Forwarded is believed; see
	 * rconf_is_trusted_proxy(). */
	struct rconf_net *proxies;
	size_t n_proxies;
	/* store = redis: exactly one of redis_host (TCP, an IP literal without
	 * brackets or a DNS name; redis_port) and redis_unix (socket path) is
	 * set; redis_db 0..255; redis_password from redis_password_file or
	 * NULL (wiped by rconf_cleanup). All NULL/0 with store = memory. */
	int store_redis;
	char *redis_host;
	unsigned redis_port;
	char *redis_unix;
	unsigned redis_db;
	char *redis_password;
};

/* Loads path; listen (may be NULL) overrides the listen key. On error
 * writes one line (no newline) into err and returns ERR_CONFIG,
 * ERR_CONFIG_PERM, ERR_CONFIG_MISSING, ERR_IO or ERR_NOMEM; *out is then
 * cleaned up. */
int rconf_load(const char *path, const char *listen, struct rconf *out, char *err, size_t errlen);

/* Frees and wipes (hashes, Redis password); NULL-safe. */
void rconf_cleanup(struct rconf *c);

/* "HOST:PORT": an IPv4 literal, "localhost" or "[IPv6 literal]", port
 * 0..65535 (0: any free port). ERR_CONFIG if malformed. */
int rconf_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* 1 if a registration presenting bearer token tok (toklen bytes; NULL/0 when
 * the request had none) may proceed: open_registration is on, or
 * SHA-256(tok) equals one of reg_hashes. Every hash is compared, in
 * constant time, whatever matches. 0 otherwise. */
int rconf_reg_authorized(const struct rconf *cf, const char *tok, size_t toklen);

/* 1 if sa (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts as
 * IPv4) lies in one of the trusted_proxies networks, else 0. */
int rconf_is_trusted_proxy(const struct rconf *cf, const struct sockaddr *sa);

#endif
