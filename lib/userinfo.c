/* userinfo.c: claims from the UserInfo endpoint, bound by sub (IDT-29). */
#include "userinfo.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "json.h"

/* Never taken from UserInfo, whatever the policy names (they decide
 * issuer, audience, freshness and assurance, not who the person is). */
static const char *const protocol_claims[] = { "iss",	    "sub",    "aud",   "exp",
					       "iat",	    "nbf",    "nonce", "azp",
					       "at_hash",   "c_hash", "acr",   "amr",
					       "auth_time", "sid",    "jti",   "events" };

static int is_protocol_claim(const char *name)
{
	for (size_t i = 0; i < sizeof(protocol_claims) / sizeof(protocol_claims[0]); i++)
		if (strcmp(name, protocol_claims[i]) == 0)
			return 1;
	return 0;
}

static const char *username_claim(const struct claims_policy *p)
{
	return p && p->username_claim ? p->username_claim : "preferred_username";
}

static const char *groups_claim(const struct claims_policy *p)
{
	return p && p->groups_claim ? p->groups_claim : "groups";
}

static int uses_groups(const struct claims_policy *p)
{
	return p && p->allowed_groups && p->allowed_groups[0];
}

static int uses_email(const struct claims_policy *p)
{
	return strcmp(username_claim(p), "email") == 0;
}

int userinfo_needed(const cJSON *id_payload, const struct claims_policy *p)
{
	if (!id_payload)
		return 0;
	/* with email: an ID token's email without email_verified is refused by
	 * the mapping, never paired with UserInfo's email_verified */
	if (!json_get(id_payload, username_claim(p)))
		return 1;
	if (uses_groups(p) && !json_get(id_payload, groups_claim(p)))
		return 1;
	return 0;
}

int userinfo_parse(const char *json, size_t len, const char *id_sub, const struct log *log,
		   cJSON **out)
{
	cJSON *root = NULL;
	const char *sub = NULL;
	char c1[80], c2[80];
	int r;

	if (!json || !id_sub || !*id_sub || !out)
		return ERR_INVAL;
	if ((r = json_parse(json, len, USERINFO_MAX_BYTES, USERINFO_MAX_DEPTH, &root)) != 0) {
		log_msg(log, LOG_WARNING, "userinfo: answer refused: %s", err_str(r));
		return r;
	}
	r = ERR_USERINFO_RESPONSE;
	if (!cJSON_IsObject(root)) {
		log_msg(log, LOG_WARNING, "userinfo: answer refused: not a JSON object");
		goto out;
	}
	if (json_get_string(root, "sub", &sub) != 0 || !sub) {
		log_msg(log, LOG_WARNING, "userinfo: answer refused: sub missing or not a string");
		goto out;
	}
	/* OIDC Core 5.3.2: exactly the ID token's sub, else the answer is
	 * about someone else and must not be used */
	if (strcmp(sub, id_sub) != 0) {
		log_msg(log, LOG_WARNING,
			"userinfo: answer refused: sub %s is not the ID token's sub %s",
			log_sanitize(c1, sizeof(c1), sub), log_sanitize(c2, sizeof(c2), id_sub));
		r = ERR_USERINFO_SUB;
		goto out;
	}
	*out = root;
	root = NULL;
	r = ERR_OK;
out:
	json_delete_wiped(root);
	return r;
}

int userinfo_err_unavailable(int err)
{
	return err == ERR_HTTP_CONNECT || err == ERR_HTTP_TIMEOUT || err == ERR_HTTP_TLS ||
	       err == ERR_HTTP || err == ERR_USERINFO_SERVER;
}

int userinfo_fetch(const struct http_opts *o, const char *endpoint, const char *access_token,
		   const char *id_sub, const struct log *log, cJSON **out)
{
	struct http_opts opts;
	struct http_response res = { 0 };
	int r;

	if (!o || !access_token || !*access_token || !id_sub || !out)
		return ERR_INVAL;
	if (!endpoint) {
		log_msg(log, LOG_ERR,
			"userinfo: the identity provider publishes no userinfo_endpoint");
		return ERR_USERINFO_NO_ENDPOINT;
	}
	opts = *o;
	opts.max_bytes = USERINFO_MAX_BYTES;
	if ((r = http_get(&opts, endpoint, access_token, &res)) != 0) {
		log_msg(log, LOG_ERR, "userinfo: request failed: %s", err_str(r));
		return r;
	}
	if (res.status != 200) {
		if (res.status >= 500)
			r = ERR_USERINFO_SERVER;
		else if (res.status == 401 || res.status == 403)
			r = ERR_USERINFO_TOKEN;
		else
			r = ERR_USERINFO_STATUS;
		log_msg(log, r == ERR_USERINFO_SERVER ? LOG_ERR : LOG_WARNING,
			"userinfo: HTTP status %ld", res.status);
		goto out;
	}
	if (strcmp(res.content_type, "application/jwt") == 0) {
		log_msg(log, LOG_WARNING,
			"userinfo: a signed or encrypted answer (application/jwt) "
			"is not accepted: register the client for plain JSON UserInfo");
		r = ERR_USERINFO_JWT;
		goto out;
	}
	if (strcmp(res.content_type, "application/json") != 0) {
		log_msg(log, LOG_WARNING, "userinfo: Content-Type \"%s\" is not application/json",
			res.content_type);
		r = ERR_USERINFO_CTYPE;
		goto out;
	}
	r = userinfo_parse(res.body, res.len, id_sub, log, out);
out:
	http_response_cleanup(&res);
	return r;
}

/* Copies ui's member name into m unless m has it, or it is a protocol
 * claim; appends the name to names when copied. */
static int fill(cJSON *m, const cJSON *ui, const char *name, char *names, size_t nameslen)
{
	const cJSON *v;
	cJSON *copy;
	size_t used = strlen(names);

	if (json_get(m, name) || is_protocol_claim(name) || !(v = json_get(ui, name)))
		return ERR_OK;
	if (!(copy = cJSON_Duplicate(v, 1)))
		return ERR_NOMEM;
	if (!cJSON_AddItemToObject(m, name, copy)) {
		cJSON_Delete(copy);
		return ERR_NOMEM;
	}
	snprintf(names + used, nameslen - used, " %.64s", name);
	return ERR_OK;
}

int userinfo_merge(const cJSON *id_payload, const cJSON *ui, const struct claims_policy *p,
		   const struct log *log, cJSON **out, int *filled)
{
	const char *uclaim = username_claim(p);
	char names[200] = "";
	cJSON *m = NULL;
	int r = ERR_OK;

	if (!id_payload || !ui || !out || !filled)
		return ERR_INVAL;
	if (!(m = cJSON_Duplicate(id_payload, 1)))
		return ERR_NOMEM;
	if (is_protocol_claim(uclaim))
		log_msg(log, LOG_WARNING, "userinfo: %s is never taken from UserInfo", uclaim);
	if (uses_email(p)) {
		/* the pair from one source: the ID token's email is never paired
		 * with UserInfo's email_verified (it may be about another address) */
		if (!json_get(m, "email") && json_get(ui, "email") &&
		    (r = fill(m, ui, "email", names, sizeof(names))) == 0)
			r = fill(m, ui, "email_verified", names, sizeof(names));
	} else {
		r = fill(m, ui, uclaim, names, sizeof(names));
	}
	if (r == 0 && uses_groups(p))
		r = fill(m, ui, groups_claim(p), names, sizeof(names));
	if (r != 0) {
		json_delete_wiped(m);
		return r;
	}
	if (names[0])
		log_msg(log, LOG_INFO,
			"userinfo: taken from UserInfo (absent from the ID token):%s", names);
	else
		log_msg(log, LOG_INFO,
			"userinfo: nothing taken (the ID token has every claim "
			"needed, or UserInfo lacks them too)");
	*out = m;
	*filled = names[0] != '\0';
	return ERR_OK;
}
