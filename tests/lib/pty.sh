# shellcheck shell=bash
# Real terminal programs (sudo, ssh) on a pty: a private tmux server, one
# window per case. Source it, then:
#
#   pty_start DIR                  # tmux server with its socket in DIR
#   pty_run NAME 'shell script'    # new window; the script ends with EXIT=<status>
#   pty_wait ERE SECONDS [COUNT]   # until the window shows ERE (COUNT times)
#   pty_keys 'text' Enter          # tmux send-keys to the current window
#   pty_type 'line'                # the line typed literally, then Enter
#   pty_screen / pty_exit_status / pty_ms (ms since pty_run)
#   pty_qr NAME COLSxROWS LAST SECONDS COMMAND
#                                  # the QR as a phone sees it, see below
#   pty_stop                       # kills every process under the windows, then tmux
#
# Wrapped lines are joined (capture-pane -J): long URLs stay whole; tmux's
# "Pane is dead" line is left out.

pty_now_ms() { echo $(($(date +%s%N) / 1000000)); }

pty_descendants() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		echo "$c"
		pty_descendants "$c"
	done
}

pty_start() {
	PTY_DIR=$1
	PTY_TM=(tmux -u -S "$PTY_DIR/tmux.sock" -f /dev/null)
	"${PTY_TM[@]}" new-session -d -s pty -x 200 -y 60 'sleep 86400' || return 1
	"${PTY_TM[@]}" set-option -g remain-on-exit on >/dev/null
	"${PTY_TM[@]}" set-option -g history-limit 20000 >/dev/null
}

pty_run() {
	PTY_W=$1
	printf '%s\necho "EXIT=$?"\n' "$2" >"$PTY_DIR/$PTY_W.sh"
	"${PTY_TM[@]}" new-window -d -t pty -n "$PTY_W" "sh $PTY_DIR/$PTY_W.sh"
	PTY_T0=$(pty_now_ms)
	PTY_PANE_PID=$("${PTY_TM[@]}" display-message -p -t "pty:$PTY_W" '#{pane_pid}')
}

pty_ms() { echo $(($(pty_now_ms) - PTY_T0)); }

pty_screen() {
	"${PTY_TM[@]}" capture-pane -p -J -S - -E - -t "pty:$PTY_W" 2>/dev/null | grep -v '^Pane is dead (' |
		sed -e :a -e '/^[[:space:]]*$/{$d;N;ba' -e '}'
}

pty_wait() {
	local i s end=$(($(pty_now_ms) + $2 * 1000))
	for ((i = 0; ; i++)); do
		s=$(pty_screen)
		[ "$(grep -Ec -- "$1" <<<"$s")" -ge "${3:-1}" ] && return 0
		grep -q '^EXIT=' <<<"$s" && return 1
		[ "$(pty_now_ms)" -ge "$end" ] && return 1
		sleep 0.02
	done
}

pty_keys() { "${PTY_TM[@]}" send-keys -t "pty:$PTY_W" "$@"; }

pty_type() { pty_keys -l -- "$1" && pty_keys Enter; }

pty_exit_status() { pty_screen | sed -n 's/^EXIT=\([0-9]*\).*/\1/p' | tail -n 1; }

# pty_qr NAME COLSxROWS LAST SECONDS COMMAND: COMMAND (a sh command line) in
# its own COLSxROWS session until the screen shows the ERE LAST (SECONDS at
# most). The visible screen at that moment (capture-pane -p: no scrollback)
# goes to QRSHOT ($PTY_DIR/qr-NAME.screen), the link shown ($RELAY/l/...)
# to QRLINK; tests/lib/qrscreen.py rebuilds the screen as an image, decodes
# it with zbarimg and compares with the link: its output in QROUT, its status
# in QRRC (0: the QR decodes to the link shown). Then Ctrl-C, every process
# left under the session killed, the session closed.
pty_qr() {
	local n=$1 last=$3 i p pane
	QRSHOT=$PTY_DIR/qr-$n.screen QRLINK='' QROUT='' QRRC=''
	"${PTY_TM[@]}" new-session -d -s "$n" -x "${2%x*}" -y "${2#*x}" "$5; sleep 600" || return 1
	pane=$("${PTY_TM[@]}" display-message -p -t "$n" '#{pane_pid}')
	for ((i = 0; i < $4 * 20; i++)); do
		"${PTY_TM[@]}" capture-pane -p -J -S - -t "$n" | grep -qE -- "$last" && break
		sleep 0.05
	done
	"${PTY_TM[@]}" capture-pane -p -t "$n" >"$QRSHOT"
	QRLINK=$("${PTY_TM[@]}" capture-pane -p -J -S - -t "$n" | grep -oE "$RELAY/l/[A-Za-z0-9_-]{16}" | head -n 1)
	QROUT=$(python3 tests/lib/qrscreen.py --first 'To log in as' --last "$last" \
		--expect "${QRLINK:-no link on the screen}" "$QRSHOT" 2>&1)
	QRRC=$?
	"${PTY_TM[@]}" send-keys -t "$n" C-c
	sleep 0.3
	for p in $(pty_descendants "$pane"); do kill -KILL "$p" 2>/dev/null; done
	"${PTY_TM[@]}" kill-session -t "$n" 2>/dev/null
	return 0
}

pty_stop() {
	local w p
	[ -n "${PTY_DIR:-}" ] && [ -S "$PTY_DIR/tmux.sock" ] || return 0
	for w in $("${PTY_TM[@]}" list-panes -a -F '#{pane_pid}' 2>/dev/null); do
		for p in $(pty_descendants "$w"); do kill -KILL "$p" 2>/dev/null; done
	done
	"${PTY_TM[@]}" kill-server 2>/dev/null
}
