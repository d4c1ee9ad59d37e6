#!/bin/bash
# Runs every suite given, even after one fails, and ends with one line over
# all of them: "total: N passed, N failed" (then the failed suites), exit 1
# if any failed. Each argument is one suite: [VAR=value...] SCRIPT [ARG...],
# e.g. 'FUZZ_SECONDS=5 tests/fuzz/run.sh build/fuzz/fuzz_jwt'. A suite's last
# line must be "NAME: N passed, N failed" (tests/lib/common.sh writes it); a
# suite without it, or with a non-zero exit and no failure counted, counts as
# one failure. The suite's output goes to the terminal as it runs.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
export B

total_pass=0 total_fail=0
failed=()
log=$(mktemp)
pid= tpid=
trap 'rm -f "$log"' EXIT
# a background suite ignores SIGINT: pass the interrupt on as SIGTERM (its trap cleans up)
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid"
	[ -n "$tpid" ] && kill "$tpid" 2>/dev/null
	echo "interrupted"; exit 130' INT TERM HUP

for spec in "$@"; do
	read -r -a words <<<"$spec"
	envs=()
	while [ ${#words[@]} -gt 0 ] && [[ ${words[0]} =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		envs+=("${words[0]}")
		words=("${words[@]:1}")
	done
	script=${words[0]:-}
	[ -n "$script" ] || continue
	echo "=== $script"
	start=$SECONDS
	# to a file, shown as it grows: a daemon a suite leaves behind cannot hold the runner
	env "${envs[@]}" bash "${words[@]}" >"$log" 2>&1 &
	pid=$!
	tail -n +1 -s 0.2 -f --pid="$pid" "$log" &
	tpid=$!
	wait "$tpid" # returns at once on a signal: the trap stops the suite
	wait "$pid"
	rc=$?
	last=$(tail -n 1 "$log")
	if [[ $last =~ ^[^:]+:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
		[ "$rc" -eq 0 ] && [ "$f" -ne 0 ] && echo "$script: exit 0 with failures"
	else
		echo "$script: no summary line (exit $rc)"
		p=0 f=1
	fi
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	[ "$f" -ne 0 ] && failed+=("$script")
	echo "=== $script: $p passed, $f failed, exit $rc, $((SECONDS - start)) s"
done

echo
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed suites:"
	printf '  %s\n' "${failed[@]}"
fi
echo "total: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
