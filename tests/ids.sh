#!/usr/bin/env bash
# Every checklist ID cited anywhere in the tree (code, tests, man pages, docs,
# relay/PROTOCOL.md) is defined in docs/SECURITY.md, and the checklist itself
# is consistent. Prints each unknown citation as file:line: ID.
#
#   bash tests/ids.sh [DIR]        (DIR defaults to the repository)
#
# An ID is defined by its item heading in docs/SECURITY.md: "N. **RLY-14 ...".
# A citation is any word PREFIX-NN (two or more digits) whose PREFIX is one of
# the defined prefixes, or any other [A-Z]{2,5}-NN word not on the short list
# of non-IDs below (so a new prefix cited before its rows exist is caught).
# Ranges "IDT-01..05" and pairs "RLY-18/19" check both ends.
# Checks (and one more: docs/idp/lemonldap-ng.md names every LemonLDAP::NG key
# that tests/llng/lib.sh sets, so the recipe stays the set-up CI runs):
#   1. every cited ID is defined;
#   2. no ID is defined twice;
#   3. the prefix table's counts ("| RLY | ... | 31 |") match the items;
#   4. every item has a row in the coverage table of section 10
#      ("| RLY-14 | enforced in | tests |") and neither cell is empty.
# The self-test runs the same checks on a small made-up tree and expects each
# kind of error to be caught, so this test can fail.
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 1
SUITE=ids BAD_DETAIL=${BAD_DETAIL:-cat}
# shellcheck source=tests/lib/common.sh
. tests/lib/common.sh
# words that look like IDs and are not (UTF-8, ML-DSA-44, ...)
NON_IDS="UTF DSA RSA KEM SHA AES ISO RFC CVE GHSA YSA TLS"


# files DIR: the files to scan, NUL-separated, relative to DIR
files() {
	if git -C "$1" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		# tracked and new (untracked, not ignored) files
		git -C "$1" ls-files -z --cached --others --exclude-standard
	else
		(cd "$1" && find . -type f ! -path './.git/*' -print0 | sed -z 's|^\./||')
	fi | grep -zEv '(^|/)(node_modules|build[^/]*|corpus|\.git)/|\.(png|jpg|gz|der|bin)$|^tests/ids\.sh$'
}

# check_tree DIR: prints problems, returns 1 if there are any
check_tree() {
	local dir=$1 doc=$1/docs/SECURITY.md
	[ -f "$doc" ] || {
		echo "no docs/SECURITY.md in $dir"
		return 1
	}
	(cd "$dir" && files "$dir" | xargs -0 grep -HnoIE \
		'\b[A-Z]{2,5}-[0-9]{2,}(\.\.[0-9]+|/[0-9]+)?\b' 2>/dev/null) |
		awk -v non="$NON_IDS" -v doc="$doc" '
		BEGIN {
			n = split(non, a, " ")
			for (i = 1; i <= n; i++) skip[a[i]] = 1
			bad = 0
			# definitions: "N. **PFX-NN" at the start of a list item
			while ((getline line < doc) > 0) {
				ln++
				if (match(line, /^ *[0-9]+\. \*\*[A-Z]+-[0-9]+/)) {
					id = substr(line, RSTART, RLENGTH)
					sub(/^.*\*\*/, "", id)
					if (id in def) {
						printf "docs/SECURITY.md:%d: %s defined twice (first on line %d)\n", ln, id, def[id]
						bad = 1
					}
					def[id] = ln
					p = id; sub(/-.*/, "", p)
					count[p]++
				}
				# section 10: "| RLY-14 | enforced in | tests |"
				if (line ~ /^## 10\./) incov = 1
				else if (line ~ /^## /) incov = 0
				if (incov && match(line, /^\| [A-Z]+-[0-9]+ \|/)) {
					n = split(line, f, "|")
					id = f[2]; gsub(/ /, "", id)
					ce = f[3]; ct = f[4]; gsub(/ /, "", ce); gsub(/ /, "", ct)
					if (n != 5 || ce == "" || ct == "") {
						printf "docs/SECURITY.md:%d: %s: the coverage row needs both cells (enforced in, tests)\n", ln, id
						bad = 1
					}
					cov[id] = ln
				}
				# prefix table total: "| | **total** | **118** |"
				if (match(line, /^\| *\| \*\*total\*\* \| \*\*[0-9]+\*\* \|$/)) {
					c = line; gsub(/[^0-9]/, "", c); total = c + 0; totline = ln
				}
				# prefix table: "| RLY | callback relay ... | 31 |"
				if (match(line, /^\| [A-Z]+ \|.*\| [0-9]+ \|$/)) {
					split(line, f, "|")
					gsub(/ /, "", f[2]); c = f[length(f) - 1]; gsub(/ /, "", c)
					table[f[2]] = c; tline[f[2]] = ln
				}
			}
			close(doc)
			for (p in count) {
				if (!(p in table))
					printf "docs/SECURITY.md: prefix %s (%d items) missing from the prefix table\n", p, count[p]
				else if (table[p] + 0 != count[p]) {
					printf "docs/SECURITY.md:%d: prefix table says %s has %s items, the checklist has %d\n", tline[p], p, table[p], count[p]
				}
				if (!(p in table) || table[p] + 0 != count[p]) bad = 1
			}
			ndef = 0
			for (id in def) ndef++
			if (totline && total != ndef) {
				printf "docs/SECURITY.md:%d: prefix table total says %d items, the checklist has %d\n", totline, total, ndef
				bad = 1
			}
			for (id in def) {
				if (!(id in cov)) {
					printf "docs/SECURITY.md:%d: %s has no row in the coverage table (section 10)\n", def[id], id
					bad = 1
				}
			}
		}
		{
			# file:line:match
			m = $0; sub(/^[^:]*:[0-9]+:/, "", m)
			where = substr($0, 1, length($0) - length(m) - 1)
			p = m; sub(/-.*/, "", p)
			if (p in skip) next
			num = m; sub(/^[A-Z]+-/, "", num)
			ids[1] = p "-" num; k = 1
			if (num ~ /\.\.|\//) {
				split(num, e, /\.\.|\//)
				while (length(e[2]) < length(e[1])) e[2] = "0" e[2]
				ids[1] = p "-" e[1]; ids[2] = p "-" e[2]; k = 2
			}
			for (i = 1; i <= k; i++) {
				cited++
				if (!(ids[i] in def)) {
					printf "%s: %s is not defined in docs/SECURITY.md\n", where, ids[i]
					bad = 1
				} else used[ids[i]] = 1
			}
		}
		END {
			nused = 0
			for (id in used) nused++
			printf "ids: %d defined, %d citations of %d distinct defined IDs\n", ndef, cited, nused > "/dev/stderr"
			exit bad
		}'
}

# ---------------------------------------------------------------- self-test
tmpdir
tmp=$T
mkdir -p "$tmp/docs" "$tmp/src"
cat >"$tmp/docs/SECURITY.md" <<'EOF'
| prefix | component | count |
|---|---|---|
| AB | a | 2 |
| CD | c | 1 |
| | **total** | **3** |

1. **AB-01 One.** See CD-01.
2. **AB-02 Two.** Also AB-01..02.
1. **CD-01 Three.**

## 10. Coverage

| ID | enforced in | tests |
|---|---|---|
| AB-01 | src/a.c | tests/a.sh |
| AB-02 | src/a.c | tests/a.sh |
| CD-01 | src/c.c | not yet tested |
EOF
printf 'x AB-01 y CD-01 UTF-16 ML-DSA-44 AB-01..02 AB-01/02\n' >"$tmp/src/ok.c"
if out=$(check_tree "$tmp" 2>/dev/null); then
	ok "self-test: a consistent tree passes"
else
	bad "self-test: a consistent tree passes ($out)"
fi
expect_fail() { # NAME EXPECTED-TEXT: the last change must be caught
	local out
	if out=$(check_tree "$tmp" 2>/dev/null); then
		bad "self-test: $1 is caught"
	elif printf '%s\n' "$out" | grep -qF -- "$2"; then
		ok "self-test: $1 is caught"
	else
		bad "self-test: $1 is caught, with \"$2\" (got: $out)"
	fi
}
printf 'a\n/* see AB-03 */\n' >"$tmp/src/bad.c"
expect_fail "an undefined ID" "src/bad.c:2: AB-03 is not defined"
printf 'EF-07\n' >"$tmp/src/bad.c"
expect_fail "a new prefix without rows" "src/bad.c:1: EF-07 is not defined"
printf 'AB-01..04\n' >"$tmp/src/bad.c"
expect_fail "a range past the last item" "AB-04 is not defined"
printf 'RLY-18/CD-09 CD-01/9\n' >"$tmp/src/bad.c"
expect_fail "a pair past the last item" "CD-09 is not defined"
rm "$tmp/src/bad.c"
cp "$tmp/docs/SECURITY.md" "$tmp/good.md"
sed -i 's/^2\. \*\*AB-02 Two.*/&\n3. **AB-02 Again.**/' "$tmp/docs/SECURITY.md"
expect_fail "an ID defined twice" "AB-02 defined twice"
cp "$tmp/good.md" "$tmp/docs/SECURITY.md"
sed -i 's/^2\. \*\*AB-02 Two.*/&\n3. **AB-03 Three.**/; s/^| AB | a | 2 |$/| AB | a | 3 |/' "$tmp/docs/SECURITY.md"
expect_fail "an item without a coverage row" "AB-03 has no row in the coverage table"
cp "$tmp/good.md" "$tmp/docs/SECURITY.md"
sed -i 's/^2\. \*\*AB-02 Two.*/&\n3. **AB-03 Three.**/; s/^| AB-02 .*/&\n| AB-03 | src\/a.c | tests\/a.sh |/' "$tmp/docs/SECURITY.md"
expect_fail "a stale prefix count" "prefix table says AB has 2 items, the checklist has 3"
sed -i 's/^| AB | a | 2 |$/| AB | a | 3 |/' "$tmp/docs/SECURITY.md"
expect_fail "a stale total" "prefix table total says 3 items, the checklist has 4"
cp "$tmp/good.md" "$tmp/docs/SECURITY.md"
sed -i 's/^| CD-01 .*/| CD-01 | src\/c.c |  |/' "$tmp/docs/SECURITY.md"
expect_fail "an empty coverage cell" "CD-01: the coverage row needs both cells"
cp "$tmp/good.md" "$tmp/docs/SECURITY.md"
if out=$(check_tree "$tmp" 2>/dev/null); then
	ok "self-test: the restored tree passes again"
else
	bad "self-test: the restored tree passes again ($out)"
fi

# ---------------------------------------------------------------- the tree
dir=${1:-$here}

# docs/idp/lemonldap-ng.md documents the set-up CI runs: every LemonLDAP::NG
# configuration key tests/llng/lib.sh sets is named on that page.
if [ -f "$dir/tests/llng/lib.sh" ] && [ -f "$dir/docs/idp/lemonldap-ng.md" ]; then
	missing=$(grep -oE '\b(oidc[A-Za-z]+|issuerDB[A-Za-z]+)\b' "$dir/tests/llng/lib.sh" | sort -u |
		while read -r k; do grep -qw -- "$k" "$dir/docs/idp/lemonldap-ng.md" || echo "$k"; done)
	if [ -z "$missing" ]; then
		ok "docs/idp/lemonldap-ng.md names every key tests/llng/lib.sh sets"
	else
		bad "docs/idp/lemonldap-ng.md names every key tests/llng/lib.sh sets" \
			"missing: $(printf '%s ' "$missing" | tr '\n' ' ')"
	fi
fi
if out=$(check_tree "$dir"); then
	ok "every cited checklist ID is defined in docs/SECURITY.md"
else
	bad "every cited checklist ID is defined in docs/SECURITY.md" "$out"
fi

finish
