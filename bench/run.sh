#!/bin/sh
# make bench: each benchmark next to a baseline measured in the same run on
# the same machine, printed as a ratio.
#   ID-token validation (parse, base64url, JSON, signature with a cached
#   key, claims) vs `openssl speed -seconds 1` raw verify of the same alg.
#   ratio = raw verify/s / full validation/s (goal <= 1.2)
#   Then bench/login.sh (login latency, root) and bench/relay.sh (the relay
#   vs nginx: req/s, cycles/s, stalls, wake latency, memory; issue 6).
set -eu
B=${B:-build}
cd "$(dirname "$0")/.."

speed=$(openssl speed -seconds 1 rsa2048 ecdsap256 ed25519 2>/dev/null)
raw_rs=$(printf '%s\n' "$speed" | awk '/^rsa 2048 bits/ {print $NF}')
raw_es=$(printf '%s\n' "$speed" | awk '/ecdsa \(nistp256\)/ {print $NF}')
raw_ed=$(printf '%s\n' "$speed" | awk '/EdDSA \(Ed25519\)/ {print $NF}')
ours=$("$B/bench/bench_jwt" 1)

echo "ID-token validation vs openssl speed (verify/s, 1 s each, one core)"
printf '%-7s %14s %14s %8s\n' alg "ours/s" "openssl/s" ratio
for alg in RS256 ES256 EdDSA; do
	o=$(printf '%s\n' "$ours" | awk -v a="$alg" '$1 == a {print $2}')
	case $alg in RS256) r=$raw_rs ;; ES256) r=$raw_es ;; EdDSA) r=$raw_ed ;; esac
	printf '%-7s %14.0f %14.0f %8.2f\n' "$alg" "$o" "$r" "$(echo "$r $o" | awk '{print $1 / $2}')"
done
[ -x bench/login.sh ] && B=$B bench/login.sh || true
B=$B bench/relay.sh
