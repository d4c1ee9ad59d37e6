/* tap.h: the unit-test harness. Each test file includes it once, calls the
 * T_* macros, and returns t_done() from main(), which prints the suite's
 * last line "N passed, N failed" and exits non-zero on any failure. */
#ifndef OP_TAP_H
#define OP_TAP_H

#include <stdio.h>
#include <string.h>

static int t_pass, t_fail;
static const char *t_case = "";

static inline void t_result(int ok, const char *file, int line, const char *what)
{
	if (ok) {
		t_pass++;
	} else {
		t_fail++;
		fprintf(stderr, "FAIL %s:%d [%s] %s\n", file, line, t_case, what);
	}
}

/* Names the current case (use the SECURITY.md ID in it, e.g. "IDT-01 none"). */
#define T_CASE(name) (t_case = (name))
#define T_OK(cond)   t_result(!!(cond), __FILE__, __LINE__, #cond)
#define T_EQ(a, b)                                                                                 \
	do {                                                                                       \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);                            \
		char t_m_[256];                                                                    \
		snprintf(t_m_, sizeof(t_m_), "%s == %s (got %lld, want %lld)", #a, #b, t_a_,       \
			 t_b_);                                                                    \
		t_result(t_a_ == t_b_, __FILE__, __LINE__, t_m_);                                  \
	} while (0)
#define T_STREQ(a, b)                                                                              \
	do {                                                                                       \
		const char *t_a_ = (a), *t_b_ = (b);                                               \
		char t_m_[512];                                                                    \
		snprintf(t_m_, sizeof(t_m_), "%s == \"%.200s\" (got \"%.200s\")", #a,              \
			 t_b_ ? t_b_ : "(null)", t_a_ ? t_a_ : "(null)");                          \
		t_result(t_a_ &&t_b_ &&strcmp(t_a_, t_b_) == 0, __FILE__, __LINE__, t_m_);         \
	} while (0)

static inline int t_done(void)
{
	printf("%d passed, %d failed\n", t_pass, t_fail);
	return t_fail ? 1 : 0;
}

#endif
