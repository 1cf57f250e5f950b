#!/usr/bin/env bash
# The unit as systemd reads it (systemd-analyze, offline): Type=notify with a watchdog, and
# `systemd-analyze security` exposure at most 2.0 (the issue's bound; docs/operations.md).
set -euo pipefail
unit="$1/systemd/hftguard.service"
grep -qx 'Type=notify' "$unit" || { echo "FAIL: the unit is not Type=notify"; exit 1; }
grep -qE '^WatchdogSec=[0-9]+s$' "$unit" || { echo "FAIL: no WatchdogSec"; exit 1; }
grep -qx 'NoNewPrivileges=yes' "$unit" || { echo "FAIL: NoNewPrivileges is off"; exit 1; }
out=$(systemd-analyze security --offline=true "$unit" 2>&1 | tail -1)
echo "$out"
level=$(sed -n 's/.*exposure level for hftguard.service: \([0-9.]*\).*/\1/p' <<<"$out")
[ -n "$level" ] || { echo "FAIL: no exposure level in: $out"; exit 1; }
awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || { echo "FAIL: exposure $level > 2.0"; exit 1; }
echo "ok: exposure $level"
