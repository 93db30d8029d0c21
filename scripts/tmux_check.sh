#!/usr/bin/env bash
# Drive `sentitui demo` in tmux the way a person would: start it in a real
# terminal of a given size, wait for the dashboard, press through every screen,
# and capture the pane after each key into a folder.
#
# Exits non-zero if the app died, a screen did not show its marker text within
# the time allowed, or the dashboard did not change by itself (the demo is live).
#
#   scripts/tmux_check.sh [OUT_DIR]        # default OUT_DIR: ./tmux-captures
#   SIZES="80x24" scripts/tmux_check.sh    # only one size (default: 80x24 200x60)
#
# Textual draws on the terminal the command runs in (tmux's pane), so nothing
# here redirects the app's output.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mkdir -p "${1:-tmux-captures}" && cd "${1:-tmux-captures}" && pwd)
SIZES=${SIZES:-"80x24 200x60"}
WAIT=${WAIT:-30}            # seconds a screen may take to show its marker
LIVE_WAIT=${LIVE_WAIT:-20}  # seconds within which the dashboard must change
SENTITUI=${SENTITUI:-$REPO/.venv/bin/sentitui}
EXIT_MARK="__sentitui_exited__"

# key (tmux send-keys name) | capture name | extended regex the pane must match after
# the key: text only that screen shows (the tab bar names every screen all the time).
# The failed-records marker is a table row, so the demo must have produced a failure.
STEPS=(
  "2|2-pipelines|Source +Status +Progress +Last run"
  "3|3-failed| (parse|clean|fetch) +[0-9]+ "
  "4|4-logs|run [0-9]+ (started|ok)"
  "5|5-posts|Feedback +Text"
  "1|1-dashboard|Polarity over time"
  "?|6-help|─ Keys ─"
  "Escape|7-help-closed|Polarity over time"
)

command -v tmux >/dev/null || { echo "tmux is not installed" >&2; exit 2; }
[ -x "$SENTITUI" ] || { echo "$SENTITUI not found: run 'make demo' or install first" >&2; exit 2; }

SESSION=""
cleanup() {
  [ -n "$SESSION" ] && tmux kill-session -t "$SESSION" 2>/dev/null || true
}
trap cleanup EXIT

capture() { tmux capture-pane -p -t "$SESSION"; }

fail() {
  echo "FAIL [$SIZE] $*" >&2
  capture > "$DIR/failure.txt" 2>/dev/null || true
  echo "  pane saved in $DIR/failure.txt" >&2
  exit 1
}

# Wait until the pane matches the regex; fail early if the app has exited.
wait_for() {
  local pattern=$1 what=$2 deadline=$((SECONDS + WAIT)) screen
  while true; do
    screen=$(capture)
    if grep -q "$EXIT_MARK" <<<"$screen"; then
      fail "the app exited while waiting for $what"
    fi
    if grep -Eq "$pattern" <<<"$screen"; then
      return 0
    fi
    [ $SECONDS -lt $deadline ] || fail "$what did not show /$pattern/ within ${WAIT}s"
    sleep 0.3
  done
}

check_size() {
  local cols=${SIZE%x*} rows=${SIZE#*x}
  DIR="$OUT/$SIZE"
  rm -rf "$DIR" && mkdir -p "$DIR"
  SESSION="sentitui-check-$$-$SIZE"
  # The echo after the app marks its end in the pane, with its exit status.
  tmux new-session -d -s "$SESSION" -x "$cols" -y "$rows" -c "$REPO" \
    "'$SENTITUI' demo --db '$DIR/demo.db'; s=\$?; echo; echo \"$EXIT_MARK status=\$s\"; sleep 600"

  wait_for "Polarity over time" "the dashboard"
  capture > "$DIR/0-dashboard-start.txt"
  # Live: the dashboard must change by itself (new posts arrive every few seconds).
  local first deadline=$((SECONDS + LIVE_WAIT))
  first=$(capture)
  while [ "$(capture)" = "$first" ]; do
    [ $SECONDS -lt $deadline ] || fail "the dashboard did not change within ${LIVE_WAIT}s"
    sleep 0.5
  done
  sleep 2
  capture > "$DIR/1-dashboard-live.txt"

  local step key name pattern
  for step in "${STEPS[@]}"; do
    IFS='|' read -r key name pattern <<<"$step"
    # Everything after the second | is the regex (it may contain | itself).
    pattern=${step#*|*|}
    tmux send-keys -t "$SESSION" "$key"
    sleep 0.5
    wait_for "$pattern" "screen $name (key $key)"
    sleep 1  # let the screen's first data load land in the capture
    capture > "$DIR/$name.txt"
  done

  tmux send-keys -t "$SESSION" q
  local deadline=$((SECONDS + WAIT))
  until capture | grep -q "$EXIT_MARK"; do
    [ $SECONDS -lt $deadline ] || fail "the app did not quit on q within ${WAIT}s"
    sleep 0.3
  done
  capture > "$DIR/8-after-quit.txt"
  grep -q "$EXIT_MARK status=0" "$DIR/8-after-quit.txt" || fail "the app exited with an error"
  if grep -q "Traceback" "$DIR/8-after-quit.txt"; then
    fail "the app printed a traceback"
  fi
  tmux kill-session -t "$SESSION"
  SESSION=""
  echo "ok [$SIZE] captures and the demo's database in $DIR"
}

for SIZE in $SIZES; do
  check_size
done
