#!/usr/bin/env bash
# End to end, CI-sized, as scripts/demo runs it: the sandbox with three daemons on one etcd
# cluster, and a drill of three scenarios (a crash and an HTTP 500 that must fail over
# within target, a blip that must not) reading all three logs; the report files must be
# written, and exactly one daemon - the leader - must have run each failover. Then the two
# coordination scenarios: the engine fails over and back (the roles alternate), and the
# leading daemon is killed mid-failover (another completes it, once). Everything is stopped
# by PID on exit.
#   tests/e2e/drill.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
root=$1
build=$2
export HFTGUARD_BUILD=$build
state=$(mktemp -d /tmp/hftguard-drill-XXXXXX)
cleanup() {
  "$root/scripts/sandbox" down --dir "$state" || true
  rm -rf "$state"
}
trap cleanup EXIT
"$root/scripts/sandbox" up --dir "$state" --daemons 3
# The failback restores the whole trading pair: with the standby engine dead (a fence may
# stop either), /restore/trading restarts it and says "restored" only once both answer.
standby_pid=$(sed -n 's/^engine standby .*(pid \([0-9]*\)).*/\1/p' "$state/status")
standby_port=$(sed -n 's/^engine standby *127.0.0.1:\([0-9]*\).*/\1/p' "$state/status")
control=$(sed -n 's/^sandbox control *//p' "$state/status")
kill -KILL "$standby_pid"
answer=$(curl -s -o - -w ' %{http_code}' -X POST "$control/restore/trading")
case "$answer" in
  *'"restored"'*' 200') ;;
  *) echo "restore with the standby dead answered: $answer"; exit 1 ;;
esac
curl -sf "http://127.0.0.1:$standby_port/health" | grep -q '"standby"' ||
  { echo "the standby engine is not back after the restore"; exit 1; }
logs=()
for k in 1 2 3; do logs+=("$state/node$k/failover_events.json"); done
# drill SECONDS ARGS...: the drill over every daemon's log, bounded; each daemon's log tail
# when it fails.
drill() {
  local limit=$1
  shift
  if ! timeout "$limit" "$build/src/hftguard" drill --config "$state/node1/sandbox.yaml" \
      --events "$(IFS=,; echo "${logs[*]}")" "$@"; then
    for k in 1 2 3; do
      echo "--- node$k log (last 25 lines) ---"
      tail -25 "$state/node$k/hftguard.log"
    done
    exit 1
  fi
}
drill 180 --scenario engine-crash,engine-http500,blip --report "$state/report"
# Two failovers, each run by one daemon: two real failover_started in all three logs, and
# only the leader's.
started=$(cat "${logs[@]}" | grep '"type":"failover_started"' | grep -vc '"dry_run":true' || true)
[ "$started" = 2 ] || { echo "expected 2 failover runs across the daemons, found $started"; exit 1; }
runners=$(grep -l '"type":"failover_started"' "${logs[@]}" | wc -l)
[ "$runners" = 1 ] || { echo "failovers were run by $runners daemons"; exit 1; }
for f in report.json report.md timeline.svg; do
  test -s "$state/report/$f" || { echo "missing $f"; exit 1; }
done
grep -q '"pass": true' "$state/report/report.json"

# --json: stdout is the report alone (the progress goes to stderr).
drill 240 --scenario failover-and-back,leader-daemon-kill --json > "$state/second.json"
python3 -m json.tool "$state/second.json" > /dev/null || { echo "drill --json printed more than JSON"; cat "$state/second.json"; exit 1; }
passed=$(grep -c '"pass": true' "$state/second.json" || true)
[ "$passed" = 2 ] || { echo "drill --json: expected 2 passed runs, found $passed"; cat "$state/second.json"; exit 1; }
# Five failovers in all, each completed once: 2 above, 2 there and back, 1 taken over.
completed=$(cat "${logs[@]}" | grep '"type":"failover_completed"' | grep -vc '"dry_run":true' || true)
[ "$completed" = 5 ] || { echo "expected 5 completed failovers across the daemons, found $completed"; exit 1; }
resumed=$(cat "${logs[@]}" | grep -c '"type":"failover_resumed"' || true)
[ "$resumed" = 1 ] || { echo "expected the killed leader's failover resumed once, found $resumed"; exit 1; }
