# pam-oauth2-pkce: one entry point for build, tests, demo, bench, fuzz, install.
# Out-of-tree build into $(B) (default build/; `make check-asan` uses build-asan/).
# Quiet by default (`  CC      lib/jwt.c`); V=1 prints every command. -j safe;
# header dependencies come from the compiler (-MMD -MP, $(B)/**/*.d).

B        ?= build
CC       ?= cc
PKG      ?= pkg-config
PREFIX   ?= /usr
LIBEXECDIR ?= $(PREFIX)/libexec/pam-oauth2-pkce
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
PAMDIR   ?= $(shell $(PKG) --variable=libdir pam 2>/dev/null || echo /lib/x86_64-linux-gnu)/security
DOCDIR   ?= $(PREFIX)/share/doc/pam-oauth2-pkce
CACHEDIR ?= /var/cache/pam-oauth2-pkce
HELPER_USER ?= _oauth2-pkce

# pkg-config runs once per make (:=), and not at all for the goals that need no flags
NOFLAGS_GOALS := deps clean format format-check
ifneq ($(MAKECMDGOALS),)
ifeq ($(filter-out $(NOFLAGS_GOALS),$(MAKECMDGOALS)),)
PKG_SKIP := 1
endif
endif
pkg = $(if $(PKG_SKIP),,$(shell $(PKG) $(1)))

LIB_PKGS := libcurl openssl libcjson libqrencode
WARN     := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-missing-field-initializers -Werror
HARDEN   := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIC -fvisibility=hidden
OPT      ?= -O2 -g
SAN      ?=
CPPFLAGS += -D_GNU_SOURCE -Ilib \
            -DHELPER_PATH='"$(LIBEXECDIR)/oauth2-pkce-helper"' \
            -DDEFAULT_CONFIG='"$(SYSCONFDIR)/security/pam_oauth2_pkce.conf"'
CFLAGS   += -std=c11 $(OPT) $(WARN) $(HARDEN) $(SAN)
DEP_CFLAGS := $(call pkg,--cflags $(LIB_PKGS))
DEP_LIBS   := $(call pkg,--libs $(LIB_PKGS))
LDFLAGS  += -Wl,-z,relro,-z,now $(SAN)
# every compile writes $@.d next to its output; a touched header rebuilds its users only
DEPFLAGS  = -MMD -MP -MF $@.d

# `  CC      lib/jwt.c` lines; V=1 prints the commands instead
V ?= 0
ifeq ($(V),1)
say =
else
say = @printf '  %-7s %s\n' '$(1)' '$(2)';
endif

LIB_SRCS  := $(sort $(wildcard lib/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(B)/%.o)
LIBA      := $(B)/liboauth2pkce.a
HELPER_SRCS := $(sort $(wildcard helper/*.c))
HELPER    := $(B)/oauth2-pkce-helper
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
ITEST_BINS := $(patsubst tests/integration/%.c,$(B)/tests/integration/%,$(wildcard tests/integration/*.c))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(B)/bench/%)

.PHONY: all check check-relay check-unit check-integration check-asan fuzz fuzz-smoke bench bench-relay \
        demo deps install clean format format-check
.DEFAULT_GOAL := all

MODULE    := $(B)/pam_oauth2_pkce.so
MODULE_OBJS := $(B)/pam_module/pam_oauth2_pkce.o $(B)/lib/ipc.o $(B)/lib/err.o
RELAY     := $(B)/oauth2-pkce-relay

all: $(LIBA) $(HELPER) $(MODULE) $(RELAY)

# ---- callback relay (epoll HTTP/1.1 core); links only the lib objects it uses ----
RELAY_PKGS := libcjson openssl hiredis
RELAY_SRCS := $(sort $(wildcard relay/*.c))
RELAY_OBJS := $(RELAY_SRCS:%.c=$(B)/%.o)
RELAY_LIB_OBJS := $(addprefix $(B)/lib/,json.o text.o b64url.o rand.o log.o err.o hash.o secret.o url.o qs.o buf.o file.o)
RELAY_CFLAGS := $(call pkg,--cflags $(RELAY_PKGS))
RELAY_LIBS := $(call pkg,--libs $(RELAY_PKGS)) -lpthread

$(B)/relay/%.o: relay/%.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) $(RELAY_CFLAGS) -c -o $@ $<

# librelay.a: every relay object but the HTTP front (main.c, server.c); the
# relay, tests/unit/test_relay_{validate,http1} and the relay fuzz targets link it
RELAY_A_SRCS := $(filter-out relay/main.c relay/server.c,$(RELAY_SRCS))
RELAY_A   := $(B)/librelay.a

$(RELAY_A): $(RELAY_A_SRCS:%.c=$(B)/%.o)
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^

$(RELAY): $(B)/relay/main.o $(B)/relay/server.o $(RELAY_A) $(RELAY_LIB_OBJS)
	$(call say,LD,$@)$(CC) $(CFLAGS) -pie $(LDFLAGS) -o $@ $^ $(RELAY_LIBS)

$(B)/tests/test_relay_validate $(B)/tests/test_relay_http1: $(B)/tests/%: tests/unit/%.c \
		$(RELAY_A) $(LIBA)
	@mkdir -p $(@D)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) -Itests/unit -Irelay $(CFLAGS) $(DEPFLAGS) $(DEP_CFLAGS) \
	    -o $@ $< $(RELAY_A) $(LIBA) $(DEP_LIBS)

# test_relay_store.c #includes relay/store.c: the generic test rule builds it
# (the .d file lists relay/store.c)

# the Redis store against a real redis-server the test starts (skips without)
$(B)/tests/test_relay_store_redis: tests/unit/test_relay_store_redis.c $(B)/relay/store.o \
		$(B)/relay/store_redis.o $(LIBA)
	@mkdir -p $(@D)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) -Itests/unit -Irelay $(CFLAGS) $(DEPFLAGS) $(DEP_CFLAGS) \
	    -o $@ $< $(B)/relay/store.o $(B)/relay/store_redis.o $(LIBA) $(DEP_LIBS) $(RELAY_LIBS)

check-relay: $(RELAY)
	@B=$(B) tests/relay/run.sh

$(B)/pam_module/%.o: pam_module/%.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

# libpam and libc only; exports only pam_sm_* (version script)
$(MODULE): $(MODULE_OBJS) pam_module/pam_oauth2_pkce.map
	$(call say,LD,$@)$(CC) $(CFLAGS) -shared $(LDFLAGS) -Wl,-z,defs \
	    -Wl,--version-script=pam_module/pam_oauth2_pkce.map -o $@ $(MODULE_OBJS) -lpam

$(B)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) $(DEP_CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^

$(B)/helper/%.o: helper/%.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) $(DEP_CFLAGS) -c -o $@ $<

$(HELPER): $(HELPER_SRCS:%.c=$(B)/%.o) $(LIBA)
	$(call say,LD,$@)$(CC) $(CFLAGS) -pie $(LDFLAGS) -o $@ $^ $(DEP_LIBS)

# test fixtures compiled once (tests/unit/jwt_mint.c); unit tests and benches link the
# archive, so each takes only what it calls
TESTFIX_SRCS := tests/unit/jwt_mint.c
TESTFIX_A := $(B)/tests/libtestfix.a

$(B)/tests/obj/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(DEPFLAGS) $(DEP_CFLAGS) -c -o $@ $<

$(TESTFIX_A): $(TESTFIX_SRCS:tests/unit/%.c=$(B)/tests/obj/%.o)
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^

$(B)/tests/%: tests/unit/%.c $(TESTFIX_A) $(LIBA)
	@mkdir -p $(@D)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(DEPFLAGS) $(DEP_CFLAGS) -o $@ $< \
	    $(TESTFIX_A) $(LIBA) $(DEP_LIBS)

# failure injection: lib/'s malloc, calloc, realloc, strdup, strndup and read go
# through the test's wrappers (tests/unit/test_failinj.c)
$(B)/tests/test_failinj: DEP_LIBS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc \
	-Wl,--wrap=strdup,--wrap=strndup,--wrap=read

# test-only programs that drive lib/ against the real IdP
$(B)/tests/integration/%: tests/integration/%.c $(LIBA)
	@mkdir -p $(@D)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) $(DEP_CFLAGS) -o $@ $< $(LIBA) \
	    $(DEP_LIBS)

$(B)/bench/%: bench/%.c $(TESTFIX_A) $(LIBA)
	@mkdir -p $(@D)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(DEPFLAGS) $(DEP_CFLAGS) -o $@ $< \
	    $(TESTFIX_A) $(LIBA) $(DEP_LIBS)

# the relay bench's load driver needs only libcrypto (SHA-256), not lib/
CRYPTO_CFLAGS := $(call pkg,--cflags libcrypto)
CRYPTO_LIBS   := $(call pkg,--libs libcrypto)
$(B)/bench/relay_cycle: bench/relay_cycle.c
	@mkdir -p $(@D)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) $(CRYPTO_CFLAGS) -o $@ $< \
	    $(LDFLAGS) $(CRYPTO_LIBS)

# ---- set-up: installs what is missing (root) or says what to run --------
deps:
	@tests/deps.sh

# ---- tests ---------------------------------------------------------------
# tests/check.sh runs every suite, even after a failure, and ends with
# "total: N passed, N failed". One suite a word: [VAR=value...] SCRIPT [ARG...]
# (quoted when it has arguments). deps and the build run first, one after the
# other, so `make -j check` never compiles while apt-get runs.
HAVE_FUZZ_CC = $(shell command -v $(FUZZ_CC) 2>/dev/null)
CHECK_SUITES = 'tests/run-unit.sh $(UNIT_BINS)' \
	tests/ids.sh tests/man.sh 'tests/format.sh $(FORMAT_SRCS)' \
	tests/module/run.sh \
	tests/relay/run.sh tests/relay/redis.sh tests/relay/abuse.sh tests/relay/ops.sh \
	tests/idp/selftest.sh \
	tests/integration/run.sh tests/integration/doctor.sh tests/integration/login.sh \
	tests/integration/assurance.sh tests/integration/rotation.sh tests/integration/chromium.sh \
	tests/integration/llng.sh \
	tests/e2e/sshd.sh tests/e2e/sudo.sh tests/e2e/console.sh tests/e2e/fallback.sh \
	'FUZZ_SECONDS=5 tests/fuzz/run.sh $(if $(HAVE_FUZZ_CC),$(FUZZ_BINS))'

check:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS) $(ITEST_BINS) $(if $(HAVE_FUZZ_CC),$(FUZZ_BINS))
	@B=$(B) tests/check.sh $(CHECK_SUITES)

check-unit: all $(UNIT_BINS)
	@B=$(B) tests/check.sh 'tests/run-unit.sh $(UNIT_BINS)'

check-integration: all $(ITEST_BINS)
	@B=$(B) tests/check.sh tests/integration/run.sh tests/integration/login.sh

ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build-asan/tests/%)
CHECK_ASAN_SUITES = 'ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run-unit.sh $(ASAN_UNIT_BINS)' \
	tests/module/run.sh \
	'ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 tests/relay/run.sh' \
	'ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 tests/integration/run.sh' \
	tests/integration/login.sh

check-asan:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory B=build-asan OPT="-O1 -g" SAN="$(ASAN_FLAGS)" \
	    HARDEN="-fstack-protector-strong -fPIC -fvisibility=hidden" all \
	    $(ASAN_UNIT_BINS) $(ITEST_BINS:$(B)/%=build-asan/%)
	@B=build-asan tests/check.sh $(CHECK_ASAN_SUITES)

# ---- fuzzing (clang libFuzzer); `make fuzz` runs each target 60 s --------
FUZZ_CC    ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(B)/fuzz/obj/%.o)
FUZZ_SECONDS ?= 60

$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(call say,FUZZCC,$<)$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Ilib $(FUZZ_FLAGS) $(DEPFLAGS) \
	    $(DEP_CFLAGS) -c -o $@ $<

$(B)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	$(call say,FUZZLD,$@)$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Ilib $(FUZZ_FLAGS) $(DEPFLAGS) \
	    $(DEP_CFLAGS) -o $@ $^ $(DEP_LIBS)

# relay parsers (relay/validate.c ...): the fuzz build of librelay.a
FUZZ_RELAY_OBJS := $(RELAY_A_SRCS:%.c=$(B)/fuzz/obj/%.o)
FUZZ_RELAY_A  := $(B)/fuzz/librelay.a
FUZZ_RELAY_BINS := $(filter $(B)/fuzz/fuzz_relay_%,$(FUZZ_BINS))
$(FUZZ_RELAY_OBJS): DEP_CFLAGS += $(RELAY_CFLAGS)

$(FUZZ_RELAY_A): $(FUZZ_RELAY_OBJS)
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^

$(FUZZ_RELAY_BINS): $(B)/fuzz/%: tests/fuzz/%.c $(FUZZ_RELAY_A) $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	$(call say,FUZZLD,$@)$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -Ilib -Irelay $(FUZZ_FLAGS) $(DEPFLAGS) \
	    $(DEP_CFLAGS) -o $@ $< $(FUZZ_RELAY_A) $(FUZZ_LIB_OBJS) $(DEP_LIBS)

fuzz: $(FUZZ_BINS)
	@B=$(B) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_BINS)

fuzz-smoke:
	@if command -v $(FUZZ_CC) >/dev/null 2>&1; then \
	    $(MAKE) --no-print-directory $(FUZZ_BINS) && \
	    B=$(B) FUZZ_SECONDS=5 tests/fuzz/run.sh $(FUZZ_BINS); \
	else echo "fuzz-smoke: $(FUZZ_CC) not found, skipped"; fi

# ---- benchmarks: ratios against a baseline measured in the same run -------
# bench/run.sh ends with bench/relay.sh (the relay vs nginx, issue 6)
bench:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@B=$(B) bench/run.sh

# the relay vs nginx alone; RELAYBIN=path measures another relay binary
bench-relay: $(RELAY) $(B)/bench/relay_cycle
	@B=$(B) bench/relay.sh

# ---- the README's first command ------------------------------------------
demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@B=$(B) tests/demo.sh

# ---- install (never touches /etc/pam.d) -----------------------------------
install: all
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DOCDIR)/examples/pam.d $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(HELPER) $(DESTDIR)$(LIBEXECDIR)/oauth2-pkce-helper
	install -d $(DESTDIR)$(PAMDIR)
	# PAM-21: replaced by rename, so a running sshd never loads half a file
	install -m 0644 $(MODULE) $(DESTDIR)$(PAMDIR)/.pam_oauth2_pkce.so.new
	mv -f $(DESTDIR)$(PAMDIR)/.pam_oauth2_pkce.so.new $(DESTDIR)$(PAMDIR)/pam_oauth2_pkce.so
	install -m 0644 config/pam_oauth2_pkce.conf $(DESTDIR)$(DOCDIR)/examples/
	install -d $(DESTDIR)$(SBINDIR)
	install -m 0755 $(RELAY) $(DESTDIR)$(SBINDIR)/oauth2-pkce-relay
	install -m 0644 config/oauth2-pkce-relay.conf $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 config/pam.d/* $(DESTDIR)$(DOCDIR)/examples/pam.d/
	install -m 0644 config/sshd_config.d/pam-oauth2-pkce.conf $(DESTDIR)$(DOCDIR)/examples/
	# PAM-23: the account a login runs as once its root-only files are read
	# (helper_user), owning the cache (debian/postinst does the same)
	@if [ -z "$(DESTDIR)" ] && ! getent passwd $(HELPER_USER) >/dev/null; then \
	    echo "useradd --system $(HELPER_USER)"; \
	    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
	        $(HELPER_USER) || adduser --system --no-create-home --home /nonexistent \
	        --shell /usr/sbin/nologin --group $(HELPER_USER) || exit 1; \
	fi
	if [ -z "$(DESTDIR)" ]; then \
	    install -d -m 0700 -o $(HELPER_USER) -g $$(id -gn $(HELPER_USER)) $(CACHEDIR); \
	    find $(CACHEDIR) -mindepth 1 -maxdepth 1 -type f -user root -delete; \
	else install -d -m 0700 $(DESTDIR)$(CACHEDIR); fi

# ---- Debian packages (debian/) ---------------------------------------------
# deb: dpkg-buildpackage -us -uc -b on a copy of the tree in $(B)/deb/src (the
# working tree stays clean); the packages land in $(B)/deb. check-deb (root;
# it changes the machine's package set, so it is not part of `make check`):
# lintian, install, one login through the installed parts, upgrade, purge.
.PHONY: deb check-deb
deb:
	rm -rf $(B)/deb && mkdir -p $(B)/deb/src
	tar -cf - --exclude-vcs --exclude='./build*' --exclude='./$(B)' \
	    --exclude=./tests/idp/node_modules . | tar -xf - -C $(B)/deb/src
	cd $(B)/deb/src && dpkg-buildpackage -us -uc -b
	rm -rf $(B)/deb/src
	@ls -l $(B)/deb/*.deb

check-deb:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory B=$(B) deb
	@tests/deb/check.sh $(B)/deb

clean:
	rm -rf $(B) build-asan

# every C file in the tree; format-check is the step `make check` will run
FORMAT_SRCS = $(sort $(wildcard lib/*.[ch] helper/*.[ch] relay/*.[ch] pam_module/*.[ch] \
	tests/unit/*.[ch] tests/fuzz/*.c tests/integration/*.c tests/relay/*.c bench/*.c))

format:
	clang-format -i $(FORMAT_SRCS)

# one check per file, last line "format: N passed, N failed"; make check runs it
format-check:
	@tests/format.sh $(FORMAT_SRCS)

# the compiler's header lists (-MMD); missing on a clean tree, then everything builds anyway
-include $(shell find $(B) -name '*.d' -type f 2>/dev/null)
