#!/usr/bin/env bash
# End to end, the partition drill as an operator runs it (docs/safety.md): without root the
# lab and the drill refuse, say why and exit non-zero - never a quiet skip; as root,
# `scripts/sandbox up --hosts 3` builds the three hosts in network namespaces and
# `hftguard drill` runs the two named scenarios from the client's namespace: the primary's
# host cut off (one failover, after it fenced itself) and the witness cut off (none). The
# engines' histories must show no instant with two primaries. Everything is stopped by PID and
# the namespaces deleted on exit.
#   tests/e2e/partition_drill.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
root=$1
build=$2
if [ "$(id -u)" -ne 0 ]; then
  echo "partition drill: needs root (network namespaces, and setpriv to drop to nobody)" >&2
  exit 1
fi
export HFTGUARD_BUILD=$build
state=$(mktemp -d /tmp/hftguard-partition-drill-XXXXXX)
chmod 755 "$state"  # the unprivileged runs below read the drill's config
# What `nobody` runs, copied where it can reach it (the checkout may be under /root).
mkdir -p "$state/bin/scripts"
cp "$root/scripts/sandbox" "$state/bin/scripts/"
cp "$build/src/hftguard" "$state/bin/"
chmod -R a+rX "$state/bin"
cleanup() {
  "$root/scripts/sandbox" down --dir "$state" || true
  rm -rf "$state"
}
trap cleanup EXIT
fail() {
  echo "partition drill: $*" >&2
  for f in "$state"/h*/run.log; do
    [ -f "$f" ] && { echo "--- $f (last 20 lines)"; tail -20 "$f"; }
  done
  exit 1
}
# as_nobody CMD...: the command without any privilege (and without the leak checker's
# suppressions file, which may not be readable to it).
as_nobody() {
  setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups --inh-caps=-all \
    env -u LSAN_OPTIONS ASAN_OPTIONS=detect_leaks=0 "$@"
}

if out=$(as_nobody "$state/bin/scripts/sandbox" up --dir "$state/unprivileged" --hosts 3 2>&1); then
  fail "scripts/sandbox up --hosts 3 started without root: $out"
fi
grep -q "needs root (CAP_NET_ADMIN)" <<<"$out" || fail "no reason from the sandbox: $out"

"$root/scripts/sandbox" up --dir "$state" --hosts 3
events=$(sed -n 's/^events *//p' "$state/status")
[ -n "$events" ] || fail "no event logs in $state/status"

if out=$(as_nobody "$state/bin/hftguard" drill --config "$state/sandbox.yaml" --events "$events" \
    --scenario partition-observer 2>&1); then
  fail "the drill ran without root: $out"
fi
grep -q "needs root" <<<"$out" || fail "no reason from the drill: $out"

timeout 240 "$build/src/hftguard" drill --config "$state/sandbox.yaml" --events "$events" \
  --scenario partition-primary-host,partition-observer --report "$state/report" ||
  fail "the drill failed"
report=$state/report/report.md
grep -q '^| partition-primary-host | 1 | 1 | 0.0 ms | [0-9]* ms |$' "$report" ||
  fail "partition-primary-host: not one failover after a self-fence, without two primaries: $(cat "$report")"
grep -q '^| partition-observer | 1 | 0 | 0.0 ms | none |$' "$report" ||
  fail "partition-observer: not calm: $(cat "$report")"
echo "partition drill: both scenarios passed, no instant with two primaries"
