/* test_assurance.c: required_acr, max_age/auth_time, required_amr
 * (IDT-25, IDT-26, AZ-07, XD-12), every type rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assurance.h"
#include "err.h"
#include "json.h"
#include "log_capture.h"
#include "tap.h"

#define NOW 1800000000L

static const struct log lg = { logcap_sink, NULL, 0 };

/* A fresh policy: no rule, skew 60, NOW. */
static struct assurance_policy pol(void)
{
	struct assurance_policy p = { NULL, -1, NULL, 60, NOW };
	return p;
}

static int check(const char *json, const struct assurance_policy *p)
{
	cJSON *j = NULL;
	int r;

	if (json_parse(json, strlen(json), 65536, 16, &j) != 0)
		return 12345;
	logcap_reset();
	r = assurance_check(j, p, &lg);
	cJSON_Delete(j);
	return r;
}

int main(void)
{
	struct assurance_policy p;
	char json[256];

	T_CASE("no rule: nothing is looked at, whatever the types");
	p = pol();
	T_EQ(check("{\"sub\":\"a\"}", &p), 0);
	T_EQ(check("{\"acr\":7,\"amr\":\"mfa\",\"auth_time\":\"x\"}", &p), 0);
	p.required_acr = "";
	p.required_amr = "";
	T_EQ(check("{\"acr\":7,\"amr\":\"mfa\"}", &p), 0);

	T_CASE("IDT-26 required_acr");
	p = pol();
	p.required_acr = "urn:x:loa:2 phr";
	T_EQ(check("{\"acr\":\"phr\"}", &p), 0);
	T_EQ(check("{\"acr\":\"urn:x:loa:2\"}", &p), 0);
	T_EQ(check("{\"acr\":\"urn:x:loa:1\"}", &p), ERR_CLAIM_ACR);
	T_OK(strstr(logcap.last, "acr urn:x:loa:1 is not one of urn:x:loa:2 phr") != NULL);
	T_EQ(check("{\"acr\":\"PHR\"}", &p), ERR_CLAIM_ACR);		 /* exact */
	T_EQ(check("{\"acr\":\"ph\"}", &p), ERR_CLAIM_ACR);		 /* no prefix match */
	T_EQ(check("{\"acr\":\"phr urn:x:loa:2\"}", &p), ERR_CLAIM_ACR); /* not a list */
	T_EQ(check("{\"acr\":\"\"}", &p), ERR_CLAIM_ACR);
	T_EQ(check("{\"sub\":\"a\"}", &p), ERR_CLAIM_ACR); /* absent: refused when required */
	T_OK(strstr(logcap.last, "no acr") != NULL);
	T_EQ(check("{\"acr\":null}", &p), ERR_CLAIM_TYPE);
	T_EQ(check("{\"acr\":2}", &p), ERR_CLAIM_TYPE);
	T_EQ(check("{\"acr\":[\"phr\"]}", &p), ERR_CLAIM_TYPE);
	T_EQ(check("{\"acr\":true}", &p), ERR_CLAIM_TYPE);
	T_EQ(check("{\"acr\":{\"v\":\"phr\"}}", &p), ERR_CLAIM_TYPE);

	T_CASE("IDT-25 max_age: auth_time required, age <= max_age + skew");
	p = pol();
	p.max_age = 300;
	snprintf(json, sizeof(json), "{\"auth_time\":%ld}", NOW - 10);
	T_EQ(check(json, &p), 0);
	snprintf(json, sizeof(json), "{\"auth_time\":%ld}", NOW - 360); /* 300 + 60: edge */
	T_EQ(check(json, &p), 0);
	snprintf(json, sizeof(json), "{\"auth_time\":%ld}", NOW - 361);
	T_EQ(check(json, &p), ERR_CLAIM_AUTH_OLD);
	T_OK(strstr(logcap.last, "sign-in is 361 s old, max_age is 300") != NULL);
	snprintf(json, sizeof(json), "{\"auth_time\":%ld.9}", NOW - 100); /* fraction truncated */
	T_EQ(check(json, &p), 0);
	T_EQ(check("{\"auth_time\":0}", &p), ERR_CLAIM_AUTH_OLD);
	snprintf(json, sizeof(json), "{\"auth_time\":%ld}", NOW + 60);
	T_EQ(check(json, &p), 0); /* within the skew */
	snprintf(json, sizeof(json), "{\"auth_time\":%ld}", NOW + 61);
	T_EQ(check(json, &p), ERR_CLAIM_AUTH_FUTURE);
	T_EQ(check("{\"sub\":\"a\"}", &p), ERR_CLAIM_AUTH_TIME);
	T_OK(strstr(logcap.last, "no auth_time although max_age=300") != NULL);
	p.max_age = 0; /* max_age=0: a sign-in just now, within the skew */
	snprintf(json, sizeof(json), "{\"auth_time\":%ld}", NOW - 60);
	T_EQ(check(json, &p), 0);
	snprintf(json, sizeof(json), "{\"auth_time\":%ld}", NOW - 61);
	T_EQ(check(json, &p), ERR_CLAIM_AUTH_OLD);
	T_EQ(check("{\"sub\":\"a\"}", &p), ERR_CLAIM_AUTH_TIME);
	p.clock_skew = 0;
	p.max_age = 300;
	snprintf(json, sizeof(json), "{\"auth_time\":%ld}", NOW - 301);
	T_EQ(check(json, &p), ERR_CLAIM_AUTH_OLD);

	T_CASE("IDT-25 auth_time must be a NumericDate");
	p = pol();
	p.max_age = 300;
	snprintf(json, sizeof(json), "{\"auth_time\":\"%ld\"}", NOW);
	T_EQ(check(json, &p), ERR_CLAIM_TYPE);
	T_OK(strstr(logcap.last, "auth_time is not a NumericDate") != NULL);
	T_EQ(check("{\"auth_time\":null}", &p), ERR_CLAIM_TYPE);
	T_EQ(check("{\"auth_time\":true}", &p), ERR_CLAIM_TYPE);
	T_EQ(check("{\"auth_time\":-1}", &p), ERR_CLAIM_TYPE);
	T_EQ(check("{\"auth_time\":9007199254740992}", &p), ERR_CLAIM_TYPE);
	T_EQ(check("{\"auth_time\":[1800000000]}", &p), ERR_CLAIM_TYPE);
	T_EQ(check("{\"auth_time\":{}}", &p), ERR_CLAIM_TYPE);

	T_CASE("IDT-25 prompt=login: auth_time no earlier than the login start - skew");
	p = pol();
	p.not_before = NOW - 30; /* the login started 30 s ago */
	snprintf(json, sizeof(json), "{\"auth_time\":%ld}", NOW - 5);
	T_EQ(check(json, &p), 0);
	snprintf(json, sizeof(json), "{\"auth_time\":%ld}", NOW - 90); /* start - skew: edge */
	T_EQ(check(json, &p), 0);
	snprintf(json, sizeof(json), "{\"auth_time\":%ld}", NOW - 91); /* a stale IdP session */
	T_EQ(check(json, &p), ERR_CLAIM_AUTH_OLD);
	T_OK(strstr(logcap.last, "61 s before this login started (prompt=login)") != NULL);
	T_EQ(check("{\"sub\":\"a\"}", &p), ERR_CLAIM_AUTH_TIME);
	T_OK(strstr(logcap.last, "no auth_time although prompt=login was sent") != NULL);
	T_EQ(check("{\"auth_time\":\"now\"}", &p), ERR_CLAIM_TYPE);
	p.max_age = 300; /* both: the stricter wins */
	snprintf(json, sizeof(json), "{\"auth_time\":%ld}", NOW - 200);
	T_EQ(check(json, &p), ERR_CLAIM_AUTH_OLD);
	p.not_before = NOW + 1;
	T_EQ(check(json, &p), ERR_INVAL);

	T_CASE("IDT-26 required_amr: every word in the array");
	p = pol();
	p.required_amr = "mfa";
	T_EQ(check("{\"amr\":[\"pwd\",\"mfa\"]}", &p), 0);
	T_EQ(check("{\"amr\":[\"pwd\"]}", &p), ERR_CLAIM_AMR);
	T_OK(strstr(logcap.last, "amr lacks mfa (required_amr mfa)") != NULL);
	T_EQ(check("{\"amr\":[]}", &p), ERR_CLAIM_AMR);
	T_EQ(check("{\"amr\":[\"MFA\"]}", &p), ERR_CLAIM_AMR);
	T_EQ(check("{\"amr\":[\"mfa2\",\"mf\"]}", &p), ERR_CLAIM_AMR);
	T_EQ(check("{\"sub\":\"a\"}", &p), ERR_CLAIM_AMR);
	T_OK(strstr(logcap.last, "no amr") != NULL);
	p.required_amr = "mfa hwk";
	T_EQ(check("{\"amr\":[\"hwk\",\"pin\",\"mfa\"]}", &p), 0);
	T_EQ(check("{\"amr\":[\"mfa\",\"otp\"]}", &p), ERR_CLAIM_AMR);
	T_OK(strstr(logcap.last, "amr lacks hwk") != NULL);
	T_EQ(check("{\"amr\":[\"hwk\"]}", &p), ERR_CLAIM_AMR);

	T_CASE("IDT-26 amr must be an array of strings");
	p = pol();
	p.required_amr = "mfa";
	T_EQ(check("{\"amr\":\"mfa\"}", &p), ERR_CLAIM_TYPE); /* a lone string */
	T_OK(strstr(logcap.last, "amr is not an array") != NULL);
	T_EQ(check("{\"amr\":\"pwd mfa\"}", &p), ERR_CLAIM_TYPE);
	T_EQ(check("{\"amr\":null}", &p), ERR_CLAIM_TYPE);
	T_EQ(check("{\"amr\":1}", &p), ERR_CLAIM_TYPE);
	T_EQ(check("{\"amr\":{\"0\":\"mfa\"}}", &p), ERR_CLAIM_TYPE);
	T_EQ(check("{\"amr\":[\"mfa\",1]}", &p), ERR_CLAIM_TYPE); /* even with mfa present */
	T_OK(strstr(logcap.last, "member that is not a string") != NULL);
	T_EQ(check("{\"amr\":[\"mfa\",null]}", &p), ERR_CLAIM_TYPE);
	T_EQ(check("{\"amr\":[[\"mfa\"]]}", &p), ERR_CLAIM_TYPE);
	T_EQ(check("{\"amr\":[\"mfa\",{}]}", &p), ERR_CLAIM_TYPE);

	T_CASE("XD-12 all three: order acr, auth_time, amr; first failure wins");
	p = pol();
	p.required_acr = "phr";
	p.max_age = 300;
	p.required_amr = "hwk";
	snprintf(json, sizeof(json), "{\"acr\":\"phr\",\"amr\":[\"hwk\"],\"auth_time\":%ld}", NOW);
	T_EQ(check(json, &p), 0);
	snprintf(json, sizeof(json), "{\"acr\":\"pwd\",\"amr\":[],\"auth_time\":%ld}", NOW - 999);
	T_EQ(check(json, &p), ERR_CLAIM_ACR);
	snprintf(json, sizeof(json), "{\"acr\":\"phr\",\"amr\":[],\"auth_time\":%ld}", NOW - 999);
	T_EQ(check(json, &p), ERR_CLAIM_AUTH_OLD);
	snprintf(json, sizeof(json), "{\"acr\":\"phr\",\"amr\":[],\"auth_time\":%ld}", NOW);
	T_EQ(check(json, &p), ERR_CLAIM_AMR);

	T_CASE("policy: bad arguments");
	p = pol();
	T_EQ(assurance_check(NULL, &p, NULL), ERR_INVAL);
	p.max_age = -2;
	T_EQ(check("{}", &p), ERR_INVAL);
	p = pol();
	p.clock_skew = -1;
	T_EQ(check("{}", &p), ERR_INVAL);
	p = pol();
	p.now = 0;
	T_EQ(check("{}", &p), ERR_INVAL);
	p = pol();
	T_EQ(check("{}", &p), 0); /* log NULL-safe path checked below */
	{
		cJSON *j = NULL;
		p.required_amr = "mfa";
		T_EQ(json_parse("{}", 2, 100, 4, &j), 0);
		T_EQ(assurance_check(j, &p, NULL), ERR_CLAIM_AMR);
		cJSON_Delete(j);
	}
	return t_done();
}
