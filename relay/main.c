/* main.c: oauth2-pkce-relay, the callback relay daemon (oauth2-pkce-relay(8)).
 * Exit: 0 after SIGTERM/SIGINT, 1 runtime failure, 2 usage or configuration
 * error (one line on stderr). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "logline.h"
#include "rconf.h"
#include "server.h"

#define PROG LOGLINE_PROG

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " --config FILE [--listen HOST:PORT]\n");
}

/* "2025-01-31T12:00:00Z oauth2-pkce-relay: msg" on stderr, one write. */
static void sink(void *ctx, int prio, const char *msg)
{
	char line[LOGLINE_BATCH];

	(void)ctx;
	(void)prio;
	logline_write(2, line, logline_format(line, sizeof(line), msg, NULL, NULL));
}

int main(int argc, char **argv)
{
	const char *config = NULL, *listen = NULL;
	struct log lg = { .sink = sink };
	struct server *srv = NULL;
	struct rconf cf;
	char err[512];
	sigset_t set;
	int sig = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			listen = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!config) {
		usage(stderr);
		return 2;
	}
	if (rconf_load(config, listen, &cf, err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}

	/* Every thread inherits this mask; only sigwait below sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (server_start(&cf, &lg, &srv) != 0) {
		rconf_cleanup(&cf);
		return 1;
	}
	log_msg(&lg, LOG_INFO,
		"listening on %s port %u, base_url %s, %zu endpoint(s), %zu client(s), %u "
		"thread(s)%s",
		cf.listen, (unsigned)server_port(srv), cf.base_url, cf.n_endpoints, cf.n_client_ids,
		server_threads(srv), cf.n_reg_hashes ? ", registration credential required" : "");
	if (cf.metrics_on)
		log_msg(&lg, LOG_INFO, "metrics on %s port %u", cf.metrics_listen,
			(unsigned)server_metrics_port(srv));
	if (cf.open_registration)
		log_msg(&lg, LOG_WARNING,
			"WARNING: open_registration = yes: anyone who can reach this relay can "
			"register logins and put text on its pages; for tests and demos only");
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		log_msg(&lg, LOG_INFO, "SIGHUP ignored (restart to reload the configuration)");
	log_msg(&lg, LOG_INFO, "signal %d: stopping", sig);
	server_stop(srv);
	rconf_cleanup(&cf);
	return 0;
}
