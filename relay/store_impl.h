/* store_impl.h: what a store backend other than memory plugs in (private to
 * relay/store*.c). A backend fills a struct store_backend; store_wrap puts
 * it behind the public store_* calls, which then forward to it with the
 * same contract as in store.h. The memory store's heap and hash helpers
 * are shared so a backend's local waiter table works the same way. */
#ifndef RELAY_STORE_IMPL_H
#define RELAY_STORE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct store_backend {
	void (*free)(void *impl);
	int (*reg)(void *impl, const struct store_new *n, uint64_t now);
	int (*link_view)(void *impl, const char *id, uint64_t now, struct store_link *out);
	int (*link_continue)(void *impl, const char *id, const char *csrf, uint64_t now, char **url,
			     char sid[STORE_SID_LEN + 1]);
	int (*link_deny)(void *impl, const char *id, const char *csrf, uint64_t now,
			 char sid[STORE_SID_LEN + 1]);
	int (*callback)(void *impl, const char *state, const struct store_callback *cb,
			uint64_t now, char confirm[STORE_CONFIRM_MAX + 1],
			char sid[STORE_SID_LEN + 1]);
	int (*poll)(void *impl, const char *state, const unsigned char *hash, uint64_t now,
		    struct store_waiter *w, struct store_result *out);
	int (*cancel)(void *impl, struct store_waiter *w);
	size_t (*tick)(void *impl, uint64_t now, uint64_t *next);
	uint64_t (*next_due)(void *impl);
	void (*shutdown)(void *impl);
	size_t (*count)(void *impl);
	int (*health)(void *impl);
	void (*stats)(void *impl, struct store_stats *out);
};

/* A store whose calls go to be/impl; store_free calls be->free(impl). */
int store_wrap(const struct store_backend *be, void *impl, struct store **out);

/* Binary min-heap of pointers with back-pointers (store.c). */
struct store_heap_ops {
	uint64_t (*key)(const void *e);
	void (*setidx)(void *e, size_t i);
};
void store_heap_fix(void **h, size_t n, size_t i, const struct store_heap_ops *o);
void store_heap_push(void **h, size_t *n, void *e, const struct store_heap_ops *o);
void store_heap_remove(void **h, size_t *n, size_t i, const struct store_heap_ops *o);
int store_heap_room(void ***h, size_t n, size_t *cap);

/* A held poll joins (link) or leaves (unlink) its login's list of held
 * polls, head (oldest first), and the backend's deadline heap dl/dl_n
 * (ordered by o); link sets w->session = owner and w->linked. The caller
 * made room in the heap (store_heap_room) and keeps its own count. */
void store_waiter_link(struct store_waiter **head, void *owner, struct store_waiter *w, void **dl,
		       size_t *dl_n, const struct store_heap_ops *o);
void store_waiter_unlink(struct store_waiter **head, struct store_waiter *w, void **dl,
			 size_t *dl_n, const struct store_heap_ops *o);

/* Wakes each waiter of list (chained by w_next), once, with no lock held:
 * after its wake() a waiter is not the store's any more. */
void store_deliver(struct store_waiter *list);

/* SipHash-2-4 of in under a 16-byte key. */
uint64_t store_siphash(const unsigned char key[16], const void *in, size_t len);

#endif
