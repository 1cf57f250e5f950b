#!/usr/bin/env bash
# `cmake --install` into a temporary prefix: the binary, the unit (its paths under that
# prefix, its Documentation= file there), the docs, the example config and the dashboard.
set -euo pipefail
build="$1"
prefix=$(mktemp -d /tmp/hftguard-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
fail() { echo "FAIL: $*"; exit 1; }
for f in bin/hftguard lib/systemd/system/hftguard.service share/doc/hftguard/operations.md \
         share/doc/hftguard/config.md share/doc/hftguard/README.md \
         share/doc/hftguard/examples/hftguard.example.yaml share/hftguard/grafana/hftguard.json; do
  [ -e "$prefix/$f" ] || fail "$f not installed"
done
unit="$prefix/lib/systemd/system/hftguard.service"
doc=$(sed -n 's|^Documentation=file://||p' "$unit")
[ -e "$doc" ] || fail "Documentation=$doc does not exist"
grep -q "^ExecStart=$prefix/bin/hftguard run" "$unit" || fail "ExecStart does not name $prefix/bin"
"$prefix/bin/hftguard" --version
"$prefix/bin/hftguard" check-config "$prefix/share/doc/hftguard/examples/hftguard.example.yaml" \
  >/dev/null 2>&1 || echo "(the example config names secrets files relative to itself: not checked here)"
echo "ok: installed under $prefix"
