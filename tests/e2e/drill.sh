#!/usr/bin/env bash
# End to end, CI-sized, as scripts/demo runs it: the sandbox with three daemons on one etcd
# cluster, and a drill of three scenarios (a crash and an HTTP 500 that must fail over
# within target, a blip that must not) reading all three logs; the report files must be
# written, and exactly one daemon - the leader - must have run each failover. Everything is
# stopped by PID on exit.
#   tests/e2e/drill.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
root=$1
build=$2
export HFTGUARD_BUILD=$build
state=$(mktemp -d /tmp/hftguard-drill-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
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
for k in 1 2 3; do
  "$build/src/hftguard" run --config "$state/node$k/sandbox.yaml" >"$state/node$k/run.log" 2>&1 &
  pids+=($!)
  logs+=("$state/node$k/failover_events.json")
done
for _ in $(seq 1 300); do
  grep -qs '"type":"leader_elected"' "${logs[@]}" && break
  sleep 0.1
done
if ! timeout 180 "$build/src/hftguard" drill --config "$state/node1/sandbox.yaml" \
    --events "$(IFS=,; echo "${logs[*]}")" \
    --scenario engine-crash,engine-http500,blip --report "$state/report"; then
  for k in 1 2 3; do
    echo "--- node$k log (last 25 lines) ---"
    tail -25 "$state/node$k/run.log"
  done
  exit 1
fi
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
