#!/usr/bin/env bash
# Checks of the Debian package scripts/package.sh builds (ctest -L package).
# Usage: package_test.sh build|contents|unit <source dir> <build dir>
#   build     scripts/package.sh --no-build (the fixture the others need)
#   contents  dpkg-deb -c/-I: files, modes, owners, conffiles, Depends; the
#             extracted binary runs on the bundled ONNX Runtime; lintian
#   unit      systemd-analyze verify of the unit against the extracted tree
set -euo pipefail
mode=$1 root=$2 build=$3
arch=$(dpkg --print-architecture)
version=$(sed -n 's/^project(infergate VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
deb=$build/infergate_${version}_${arch}.deb
failures=0
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }
expect_match() {  # text regex what
  grep -Eq -- "$2" <<<"$1" || fail "$3: no match for /$2/"
}

if [ "$mode" = build ]; then
  rm -f "$deb"
  INFERGATE_BUILD_DIR=$build INFERGATE_DEB_COMPRESSION=gzip "$root/scripts/package.sh" --no-build
  [ -f "$deb" ] || { echo "FAIL: $deb not built" >&2; exit 1; }
  exit 0
fi

[ -f "$deb" ] || { echo "FAIL: $deb missing (the package_build test makes it)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp/root"

check_contents() {
  local listing info
  listing=$(dpkg-deb -c "$deb")
  info=$(dpkg-deb -I "$deb")
  local entry
  for entry in \
    '-rwxr-xr-x root/root .* ./usr/bin/infergate$' \
    '-rw-r--r-- root/root .* ./usr/share/man/man1/infergate.1.gz$' \
    '-rw-r--r-- root/root .* ./usr/lib/infergate/libonnxruntime.so.1$' \
    '-rw-r--r-- root/root .* ./etc/infergate/infergate.yaml$' \
    '-rw-r--r-- root/root .* ./lib/systemd/system/infergate.service$' \
    '-rw-r--r-- root/root .* ./usr/share/doc/infergate/copyright$' \
    '-rw-r--r-- root/root .* ./usr/share/doc/infergate/changelog.gz$'; do
    expect_match "$listing" "^$entry" "dpkg-deb -c"
  done
  if grep -v ' root/root ' <<<"$listing" | grep -q .; then fail "entries not owned by root/root"; fi
  if grep -q '^-.\{5\}w\|^-.\{8\}w' <<<"$listing"; then fail "group- or world-writable files"; fi
  expect_match "$info" '^ Package: infergate$' "control"
  expect_match "$info" "^ Version: $version\$" "control"
  expect_match "$info" "^ Architecture: $arch\$" "control"
  expect_match "$info" '^ Installed-Size: [0-9]+$' "control"
  expect_match "$info" '^ Depends: adduser, .*libc6 \(>= [0-9.]+\)' "Depends"
  expect_match "$info" '^ Depends: .*libstdc\+\+6' "Depends"
  expect_match "$info" '^ Depends: .*libyaml-cpp0.7' "Depends"
  if grep -q '^ Depends: .*onnxruntime' <<<"$info"; then fail "Depends names onnxruntime (it is bundled)"; fi
  expect_match "$info" '^ Depends: .*libgrpc\+\+' "Depends (remote models' gRPC client)"
  if grep -q 'infergate-bench' <<<"$listing"; then fail "infergate-bench is packaged"; fi
  expect_match "$(dpkg-deb -f "$deb" Package)" '^infergate$' "dpkg-deb -f"
  dpkg-deb -e "$deb" "$tmp/DEBIAN"
  expect_match "$(cat "$tmp/DEBIAN/conffiles")" '^/etc/infergate/infergate.yaml$' "conffiles"
  expect_match "$(cat "$tmp/DEBIAN/postinst")" 'adduser --system --group .*infergate' "postinst"
  expect_match "$(cat "$tmp/DEBIAN/postinst")" 'chown infergate:infergate' "postinst"
  if grep -q 'rm \|deluser' "$tmp/DEBIAN/prerm"; then fail "prerm deletes something"; fi
  local script
  for script in postinst prerm postrm; do sh -n "$tmp/DEBIAN/$script" || fail "$script: syntax"; done
  (cd "$tmp/root" && md5sum --quiet -c "$tmp/DEBIAN/md5sums") || fail "md5sums"

  # The binary: stripped, RUNPATH to the bundled library, runs without help.
  local bin=$tmp/root/usr/bin/infergate dyn
  dyn=$(readelf -d "$bin")
  expect_match "$dyn" 'RUNPATH.*\[\$ORIGIN/\.\./lib/infergate\]' "RUNPATH"
  if readelf -S "$bin" | grep -Eq '\.symtab|\.debug_info'; then fail "$bin is not stripped"; fi
  local out
  out=$(env -u LD_LIBRARY_PATH "$bin" --version 2>&1) || fail "infergate --version: $out"
  expect_match "$out" "^infergate $version\$" "--version"
  out=$(env -u LD_LIBRARY_PATH LD_TRACE_LOADED_OBJECTS=1 "$bin" 2>&1)
  expect_match "$out" "libonnxruntime.so.1 => $tmp/root/usr/bin/../lib/infergate/libonnxruntime.so.1" "ORT resolution"
  if grep -q 'not found' <<<"$out"; then fail "unresolved libraries: $out"; fi

  # The shipped configuration starts the server (on free ports, state here).
  mkdir -p "$tmp/state/models"
  sed "s|/var/lib/infergate|$tmp/state|" "$tmp/root/etc/infergate/infergate.yaml" > "$tmp/infergate.yaml"
  env -u LD_LIBRARY_PATH "$bin" serve --config "$tmp/infergate.yaml" --http-port 0 --grpc-port 0 \
    >"$tmp/serve.log" 2>&1 &
  local pid=$! i
  for i in $(seq 300); do  # up to 30 s for the log line; ends early when the process exits
    grep -q 'infergate ready' "$tmp/serve.log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q 'infergate ready' "$tmp/serve.log" || fail "the shipped configuration: $(cat "$tmp/serve.log")"
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || fail "serve with the shipped configuration exited with $?: $(cat "$tmp/serve.log")"

  if command -v lintian >/dev/null; then
    lintian --fail-on error,warning "$deb" || fail "lintian"
  else
    echo "lintian not installed (scripts/setup.sh installs it): skipped" >&2
  fi
}

check_unit() {
  local unit=$tmp/root/lib/systemd/system/infergate.service text
  text=$(cat "$unit")
  local key
  for key in '^Type=notify$' '^ExecReload=/bin/kill -HUP \$MAINPID$' '^User=infergate$' '^StateDirectory=infergate$' \
             '^ProtectSystem=strict$' '^ReadWritePaths=/var/lib/infergate$' '^NoNewPrivileges=yes$' \
             '^PrivateTmp=yes$' '^ProtectHome=yes$' '^Restart=on-failure$' '^WatchdogSec=[0-9]+$' \
             '^ExecStart=/usr/bin/infergate serve --config /etc/infergate/infergate.yaml' '^WantedBy=multi-user.target$'; do
    expect_match "$text" "$key" "infergate.service"
  done
  # TimeoutStopSec covers the configured drain.
  local stop drain
  stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$unit")
  drain=$(sed -n 's/^drain_secs: \([0-9]*\).*/\1/p' "$tmp/root/etc/infergate/infergate.yaml")
  [ -n "$stop" ] && [ -n "$drain" ] && [ "$stop" -gt "$((drain + 5))" ] ||
    fail "TimeoutStopSec ($stop) is not longer than drain_secs ($drain) + 5 s"
  # verify checks ExecStart's binary exists: point it at the extracted tree.
  mkdir -p "$tmp/units"
  sed "s|^ExecStart=/usr/bin/infergate|ExecStart=$tmp/root/usr/bin/infergate|" "$unit" > "$tmp/units/infergate.service"
  local out
  if ! out=$(systemd-analyze verify --man=no "$tmp/units/infergate.service" 2>&1) || [ -n "$out" ]; then
    fail "systemd-analyze verify: $out"
  fi
}

case "$mode" in
  contents) check_contents ;;
  unit) check_unit ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
[ "$failures" = 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "package $mode: ok"
