/* html.h: the relay's pages. Self-contained documents (inline style, no
 * scripts, images, fonts or links to anywhere, RLY-10); every value that
 * came from a registration is HTML-escaped; nothing from a callback is
 * ever rendered (RLY-11). All outputs are malloc'd; free them. */
#ifndef RELAY_HTML_H
#define RELAY_HTML_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum html_kind {
	HTML_NOT_FOUND, /* unknown or expired link/state: one page for all (RLY-13) */
	HTML_GONE,	/* link used up or login finished */
	HTML_DENIED,	/* after "This wasn't me" */
	HTML_CB_DONE,	/* first callback with a code, no confirmation code */
	HTML_CB_ERROR,	/* first callback with error= */
	HTML_CB_USED,	/* a later callback for the same state (RLY-12) */
	HTML_BAD_REQUEST,
	HTML_FORBIDDEN,
	HTML_METHOD,
	HTML_TOO_LARGE,
	HTML_MEDIA,
	HTML_INTERNAL,
	HTML_UNAVAILABLE,
};

int html_static(enum html_kind k, char **out, size_t *len);

/* The context page (XD-01): host, account, service, origin, time left, one
 * form posting to action_url with the csrf token and two equal buttons. */
int html_context_page(const struct store_link *l, const char *action_url, uint64_t now, char **out,
		      size_t *len);

/* The first callback's page in confirm-code mode (XD-06). */
int html_confirm_page(const char *confirm, char **out, size_t *len);

#endif
