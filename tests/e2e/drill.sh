#!/usr/bin/env bash
# End to end, CI-sized: the sandbox, `hftguard run` on its config, and a drill of three
# scenarios (a crash and an HTTP 500 that must fail over within target, a blip that must
# not); the report files must be written. Everything is stopped by PID on exit.
#   tests/e2e/drill.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
root=$1
build=$2
export HFTGUARD_BUILD=$build
state=$(mktemp -d /tmp/hftguard-drill-XXXXXX)
daemon=""
cleanup() {
  if [ -n "$daemon" ]; then kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
  "$root/scripts/sandbox" down --dir "$state" || true
  rm -rf "$state"
}
trap cleanup EXIT
"$root/scripts/sandbox" up --dir "$state"
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
"$build/src/hftguard" run --config "$state/sandbox.yaml" >"$state/run.log" 2>&1 &
daemon=$!
if ! timeout 120 "$build/src/hftguard" drill --config "$state/sandbox.yaml" \
    --scenario engine-crash,engine-http500,blip --report "$state/report"; then
  echo "--- daemon log (last 40 lines) ---"
  tail -40 "$state/run.log"
  exit 1
fi
for f in report.json report.md timeline.svg; do
  test -s "$state/report/$f" || { echo "missing $f"; exit 1; }
done
grep -q '"pass": true' "$state/report/report.json"
