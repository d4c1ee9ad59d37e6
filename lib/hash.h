/* hash.h: short hex names made from a SHA-256: cache and rate-limit file
 * names, and the session hash ("sid=") that the helper's and the relay's
 * log lines share for audit correlation (XD-13). */
#ifndef OP_HASH_H
#define OP_HASH_H

#include <stddef.h>

#define HASH_SID_LEN 12 /* hex characters of a sid */

/* The first nbytes (1..32) of SHA-256(in[0..len)) as lowercase hex into
 * out (2 * nbytes + 1 bytes, NUL-terminated). ERR_INVAL, ERR_INTERNAL (out
 * is "" then). */
int hash_hex(const void *in, size_t len, size_t nbytes, char *out);

/* sid = the first HASH_SID_LEN hex characters of SHA-256(id): in logs
 * instead of the session id, the same in the helper and the relay. "" when
 * the digest fails. */
void hash_sid(const char *id, char sid[HASH_SID_LEN + 1]);

#endif
