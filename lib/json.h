/* json.h: strict JSON on top of cJSON. Every document from the network or a
 * token goes through json_parse, which refuses what cJSON would let through:
 * invalid UTF-8, NUL bytes or \u0000 escapes (they would truncate C strings),
 * trailing garbage, nesting deeper than max_depth, more than
 * JSON_MAX_MEMBERS members in one object, and duplicate member names,
 * compared ignoring ASCII case so "ISS" cannot shadow "iss" (IDT-11); that
 * check sorts each object's member names, O(n log n) for any input.
 * Lookups are case-sensitive (cJSON_GetObjectItem is not). */
#ifndef OP_JSON_H
#define OP_JSON_H

#include <cJSON.h>
#include <stddef.h>

#define JSON_MAX_DEPTH	 16
#define JSON_MAX_MEMBERS 1024

/* Parses len bytes. ERR_TOO_LARGE when len > max_len, ERR_JSON_UTF8,
 * ERR_JSON, ERR_JSON_DEPTH, ERR_JSON_DUP, ERR_NOMEM. *out (cJSON_Delete it) is set only
 * on success. */
int json_parse(const char *in, size_t len, size_t max_len, int max_depth, cJSON **out);

/* Case-sensitive member lookup; NULL if absent or obj is not an object. */
const cJSON *json_get(const cJSON *obj, const char *name);

/* *out = the string value, or NULL when the member is absent.
 * ERR_JSON_TYPE when present but not a string. */
int json_get_string(const cJSON *obj, const char *name, const char **out);

/* *out = the boolean; *present = 0 when absent (then *out untouched).
 * ERR_JSON_TYPE when present but not true/false (no "true" strings). */
int json_get_bool(const cJSON *obj, const char *name, int *out, int *present);

/* A NumericDate (RFC 7519 §2): a JSON number, finite, 0 <= v < 2^53;
 * fractions are truncated. *present = 0 when absent. ERR_JSON_TYPE for a
 * string, boolean, negative, huge or non-finite value. */
int json_get_date(const cJSON *obj, const char *name, long long *out, int *present);

/* Wipes every string value in the tree (they may hold codes or tokens),
 * then cJSON_Delete. NULL-safe. */
void json_delete_wiped(cJSON *root);

/* Validates UTF-8 (no overlongs, surrogates, > U+10FFFF, or NUL bytes). */
int json_utf8_valid(const char *s, size_t len);

#endif
