# pamlogin.sh: one PAM login driven from a script, for the suites that sign
# in with a real browser (tests/integration/chromium.sh, llng.sh). Needs T
# (scratch dir) with $T/pam.d, RELAY (the relay's base URL), and optionally
# PRELOAD (pamtester's LD_PRELOAD, default libpam_wrapper.so) and PT_ASAN
# (pamtester's ASAN_OPTIONS). Sets OUT, LINK, PAM_PID, RC, OUTS, BR_PID,
# BOUT, BRC, BR_MS; the suite's cleanup kills PAM_PID and BR_PID.
N=0

# start_login SERVICE USER: pamtester in the background, stdin a FIFO kept
# open on fd 9, unbuffered output in $OUT.
start_login() {
	exec 9>&- 2>/dev/null
	N=$((N + 1))
	OUT=$T/out$N
	mkfifo "$T/in$N"
	LD_PRELOAD=${PRELOAD:-libpam_wrapper.so} PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
		ASAN_OPTIONS=${PT_ASAN:-detect_leaks=0} \
		stdbuf -o0 -e0 pamtester "$1" "$2" authenticate <"$T/in$N" >"$OUT" 2>&1 9>&- &
	PAM_PID=$!
	exec 9>"$T/in$N"
	LINK=
}

# wait_for EXTENDED-REGEX SECONDS: until pamtester's output shows it (or it ended).
wait_for() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		grep -Eq -- "$1" "$OUT" 2>/dev/null && return 0
		kill -0 "$PAM_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -Eq -- "$1" "$OUT" 2>/dev/null
}

# wait_link: the relay's link in pamtester's output, in LINK.
wait_link() {
	wait_for "$RELAY/l/[A-Za-z0-9_-]{16}" 15 || return 1
	LINK=$(grep -Eo "$RELAY/l/[A-Za-z0-9_-]{16}" "$OUT" | head -n 1)
}

# chromium_login [chromium.mjs args]: Chromium on $LINK, a screenshot per
# login; BOUT (stdout+stderr), BRC (exit), BR_MS (time taken).
chromium_login() {
	local t0
	t0=$(date +%s%N)
	TMPDIR=$T node tests/idp/chromium.mjs --url "$LINK" --screenshot "$T/shot$N.png" "$@" \
		>"$T/br$N" 2>&1 &
	BR_PID=$!
	wait "$BR_PID"; BRC=$?
	BR_PID=
	BOUT=$(cat "$T/br$N")
	BR_MS=$((($(date +%s%N) - t0) / 1000000))
}

# end_login [SECONDS]: waits for pamtester (killed after SECONDS, default 30); RC and OUTS.
end_login() {
	local i k
	for ((i = 0; i < ${1:-30} * 10; i++)); do
		kill -0 "$PAM_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$PAM_PID" 2>/dev/null; then
		for k in $(pgrep -P "$PAM_PID" 2>/dev/null); do kill -KILL "$k" 2>/dev/null; done
		kill -KILL "$PAM_PID" 2>/dev/null
		echo "(pamtester killed after ${1:-30} s)" >>"$OUT"
	fi
	wait "$PAM_PID"; RC=$?
	PAM_PID=
	exec 9>&- 2>/dev/null
	OUTS=$(grep -v '^PWRAP' "$OUT")
}

# after SECONDS: how long to wait for pamtester: SECONDS, or 2 if the browser failed.
after() { if [ "$BRC" = 0 ]; then echo "$1"; else echo 2; fi; }
granted() { [ "$RC" = 0 ] && grep -q "successfully authenticated" <<<"$OUTS"; }
