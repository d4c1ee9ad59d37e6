/* assurance.c: required_acr, max_age (auth_time) and required_amr. */
#include "assurance.h"

#include <string.h>
#include <syslog.h>

#include "config.h"
#include "err.h"
#include "json.h"
#include "text.h"

#define SHOW_MAX 64 /* bytes of a word shown in a log line (%.64s) */

static int check_acr(const cJSON *pl, const char *required, const struct log *log)
{
	const cJSON *acr = json_get(pl, "acr");

	if (!acr) {
		log_msg(log, LOG_WARNING, "ID token refused: no acr (required_acr %.200s)",
			required);
		return ERR_CLAIM_ACR;
	}
	if (!cJSON_IsString(acr)) {
		log_msg(log, LOG_WARNING, "ID token refused: acr is not a string");
		return ERR_CLAIM_TYPE;
	}
	if (!text_has_word(required, acr->valuestring)) {
		log_msg(log, LOG_WARNING, "ID token refused: acr %.64s is not one of %.200s",
			acr->valuestring, required);
		return ERR_CLAIM_ACR;
	}
	return ERR_OK;
}

static int check_auth_time(const cJSON *pl, long max_age, time_t not_before, long skew, time_t now,
			   const struct log *log)
{
	long long at = 0;
	int present = 0;

	if (json_get_date(pl, "auth_time", &at, &present) != 0) {
		log_msg(log, LOG_WARNING, "ID token refused: auth_time is not a NumericDate");
		return ERR_CLAIM_TYPE;
	}
	if (!present) {
		if (max_age >= 0)
			log_msg(log, LOG_WARNING,
				"ID token refused: no auth_time although max_age=%ld was sent",
				max_age);
		else
			log_msg(log, LOG_WARNING,
				"ID token refused: no auth_time although prompt=login was sent");
		return ERR_CLAIM_AUTH_TIME;
	}
	if (at > (long long)now + skew) {
		log_msg(log, LOG_WARNING, "ID token refused: auth_time is %lld s in the future",
			at - (long long)now);
		return ERR_CLAIM_AUTH_FUTURE;
	}
	if (not_before > 0 && at < (long long)not_before - skew) {
		log_msg(log, LOG_WARNING,
			"ID token refused: sign-in %lld s before this login started (prompt=login)",
			(long long)not_before - at);
		return ERR_CLAIM_AUTH_OLD;
	}
	if (max_age >= 0 && (long long)now - at > (long long)max_age + skew) {
		log_msg(log, LOG_WARNING, "ID token refused: sign-in is %lld s old, max_age is %ld",
			(long long)now - at, max_age);
		return ERR_CLAIM_AUTH_OLD;
	}
	return ERR_OK;
}

static int check_amr(const cJSON *pl, const char *required, const struct log *log)
{
	const cJSON *amr = json_get(pl, "amr"), *e;

	if (!amr) {
		log_msg(log, LOG_WARNING, "ID token refused: no amr (required_amr %.200s)",
			required);
		return ERR_CLAIM_AMR;
	}
	if (!cJSON_IsArray(amr)) {
		log_msg(log, LOG_WARNING, "ID token refused: amr is not an array");
		return ERR_CLAIM_TYPE;
	}
	cJSON_ArrayForEach(e, amr)
	{
		if (!cJSON_IsString(e)) {
			log_msg(log, LOG_WARNING,
				"ID token refused: amr has a member that is not a string");
			return ERR_CLAIM_TYPE;
		}
	}
	for (const char *w = required; *w;) {
		size_t n;
		int found = 0;

		w += strspn(w, " \t");
		n = strcspn(w, " \t");
		if (n == 0)
			break;
		cJSON_ArrayForEach(e, amr)
		{
			if (strlen(e->valuestring) == n && memcmp(e->valuestring, w, n) == 0)
				found = 1;
		}
		if (!found) {
			log_msg(log, LOG_WARNING,
				"ID token refused: amr lacks %.*s (required_amr %.200s)",
				(int)(n > SHOW_MAX ? SHOW_MAX : n), w, required);
			return ERR_CLAIM_AMR;
		}
		w += strcspn(w, " \t");
	}
	return ERR_OK;
}

int assurance_check(const cJSON *payload, const struct assurance_policy *p, const struct log *log)
{
	int r;

	if (!payload || !p || p->clock_skew < 0 || p->clock_skew > 86400 || p->max_age < -1 ||
	    p->now <= 0 || p->not_before < 0 || p->not_before > p->now)
		return ERR_INVAL;
	if (p->required_acr && *p->required_acr &&
	    (r = check_acr(payload, p->required_acr, log)) != 0)
		return r;
	if ((p->max_age >= 0 || p->not_before > 0) &&
	    (r = check_auth_time(payload, p->max_age, p->not_before, p->clock_skew, p->now, log)) !=
		    0)
		return r;
	if (p->required_amr && *p->required_amr &&
	    (r = check_amr(payload, p->required_amr, log)) != 0)
		return r;
	return ERR_OK;
}

void assurance_policy_for(const struct config *cfg, const struct config_login *pol, time_t now,
			  struct assurance_policy *ap)
{
	memset(ap, 0, sizeof(*ap));
	ap->required_acr = pol->required_acr;
	ap->max_age = pol->max_age;
	ap->required_amr = pol->required_amr;
	ap->clock_skew = cfg->clock_skew;
	ap->now = now;
}
