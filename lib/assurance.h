/* assurance.h: the per-service assurance rules on a verified ID token
 * (IDT-25, IDT-26, AZ-07, XD-12; OIDC Core 3.1.2.1, 3.1.3.7 steps 12-13).
 * Run after jwt_verify (signature and the standard claims), before the
 * account mapping, by `login` and by `verify-id-token --service`.
 *
 * Rules, each only when its key is set (the first failing one wins, in this
 * order):
 *   required_acr  acr absent                                  ERR_CLAIM_ACR
 *                 acr not a string                            ERR_CLAIM_TYPE
 *                 acr not one of the words (exact)            ERR_CLAIM_ACR
 *   max_age       auth_time absent                            ERR_CLAIM_AUTH_TIME
 *                 auth_time not a NumericDate (string, bool,
 *                 null, negative, >= 2^53)                    ERR_CLAIM_TYPE
 *                 auth_time > now + skew                      ERR_CLAIM_AUTH_FUTURE
 *                 now - auth_time > max_age + skew            ERR_CLAIM_AUTH_OLD
 *   not_before    (prompt=login: a sign-in during this login)
 *                 auth_time absent                            ERR_CLAIM_AUTH_TIME
 *                 auth_time not a NumericDate                 ERR_CLAIM_TYPE
 *                 auth_time < not_before - skew               ERR_CLAIM_AUTH_OLD
 *   required_amr  amr absent                                  ERR_CLAIM_AMR
 *                 amr not an array, or a member not a string
 *                 (a lone string "mfa" is refused too)        ERR_CLAIM_TYPE
 *                 a listed word not in the array (exact)      ERR_CLAIM_AMR
 *   policy        skew outside [0, 86400], max_age < -1,
 *                 now <= 0                                    ERR_INVAL
 * A claim no rule needs is not looked at. Each refusal logs one LOG_WARNING
 * line with the rule and the (sanitized, capped) values the token carried. */
#ifndef OP_ASSURANCE_H
#define OP_ASSURANCE_H

#include <cJSON.h>
#include <time.h>

#include "log.h"

struct assurance_policy {
	const char *required_acr; /* words joined by spaces; NULL or "": no rule */
	long max_age;		  /* seconds; < 0: no rule */
	const char *required_amr; /* words joined by spaces; NULL or "": no rule */
	long clock_skew;	  /* seconds */
	time_t now;		  /* injected clock */
	time_t not_before;	  /* > 0: the sign-in must be no earlier than this
				     (minus skew): prompt=login sent at this
				     time (IDT-25, a stale IdP session) */
};

struct config;
struct config_login;

/* The rules of one login policy (its acr, max_age and amr keys, the
 * config's clock_skew) at time now; not_before left 0. */
void assurance_policy_for(const struct config *cfg, const struct config_login *pol, time_t now,
			  struct assurance_policy *ap);

/* ERR_OK when every rule that is set holds. */
int assurance_check(const cJSON *payload, const struct assurance_policy *p, const struct log *log);

#endif
