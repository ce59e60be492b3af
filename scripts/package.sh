#!/usr/bin/env bash
# Builds the Debian package build/infergate_<version>_<arch>.deb from the
# normal build (scripts/build.sh: RelWithDebInfo, shared ccache; the installed
# binary is stripped, so it costs nothing to reuse it rather than compile a
# second, Release, tree). Contents: /usr/bin/infergate (the CMake install
# component `server`; RUNPATH $ORIGIN/../lib/infergate), ONNX Runtime's library in
# /usr/lib/infergate, /etc/infergate/infergate.yaml (conffile), the systemd
# unit, maintainer scripts (system user infergate, /var/lib/infergate), a man
# page. infergate-bench stays out: it links gRPC's C++ library (libgrpc++,
# abseil), which a gateway would otherwise install for a client-side tool.
# Files: packaging/debian/. Checked by tests/package (ctest -L package).
# Usage: scripts/package.sh [--no-build] [--lintian]
#   --no-build  package what build/ holds (the tests do this); otherwise
#               scripts/setup.sh, then the target infergate is built first
#   --lintian   run lintian on the result (fails on any error or warning)
# INFERGATE_DEB_COMPRESSION: dpkg-deb's -Z (default xz; the tests use gzip:
# the same contents, 3 s instead of 15 s on the 45 MB ONNX Runtime library)
set -euo pipefail
# The Maintainer field; set it to who publishes the package.
maintainer=${INFERGATE_MAINTAINER:-infergate developers <infergate@example.org>}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(realpath -m "${INFERGATE_BUILD_DIR:-$root/build}")
pkg=$root/packaging/debian

do_build=1 do_lintian=0
for arg in "$@"; do
  case "$arg" in
    --no-build) do_build=0 ;;
    --lintian) do_lintian=1 ;;
    *) echo "usage: scripts/package.sh [--no-build] [--lintian]" >&2; exit 2 ;;
  esac
done
log() { printf 'package: %s\n' "$*" >&2; }

# The normal build's configuration (scripts/build.sh), the server only.
if [ "$do_build" = 1 ]; then
  "$root/scripts/setup.sh"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" --parallel "$(nproc)" --target infergate
fi

version=$(sed -n 's/^project(infergate VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
arch=$(dpkg --print-architecture)
deb=$build/infergate_${version}_${arch}.deb
work=$(mktemp -d "$build/package.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/infergate
umask 022

# Binaries (stripped, RUNPATH rewritten by CMake) and ONNX Runtime's library.
cmake --install "$build" --component server --prefix "$stage/usr" --strip >/dev/null
chmod 0644 "$stage/usr/lib/infergate/libonnxruntime.so.1"
install -D -m 0644 "$pkg/infergate.yaml" "$stage/etc/infergate/infergate.yaml"
install -D -m 0644 "$pkg/infergate.service" "$stage/lib/systemd/system/infergate.service"
doc=$stage/usr/share/doc/infergate
install -D -m 0644 "$pkg/copyright" "$doc/copyright"
sed -e "s/@VERSION@/$version/" -e "s|@MAINTAINER@|$maintainer|" "$pkg/changelog" | gzip -9n > "$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"
install -D -m 0644 "$root/README.md" "$doc/README.md"
install -D -m 0644 "$root/examples/infergate.yaml" "$doc/examples/infergate.yaml"
sed "s/@VERSION@/$version/" "$pkg/infergate.1" | gzip -9n > "$work/infergate.1.gz"
install -D -m 0644 "$work/infergate.1.gz" "$stage/usr/share/man/man1/infergate.1.gz"
install -D -m 0644 "$pkg/lintian-overrides" "$stage/usr/share/lintian/overrides/infergate"

# Depends: what the ELF files need (dpkg-shlibdeps; libonnxruntime.so.1 is in
# the package itself), plus adduser for postinst.
shlibs=$work/shlibs
mkdir -p "$shlibs/debian"
printf 'Source: infergate\n\nPackage: infergate\nArchitecture: any\n' > "$shlibs/debian/control"
depends=$(cd "$shlibs" && dpkg-shlibdeps -O --ignore-missing-info -l"$stage/usr/lib/infergate" \
            -xinfergate "$stage/usr/bin/infergate" \
            "$stage/usr/lib/infergate/libonnxruntime.so.1" 2>"$work/shlibdeps.err" | sed -n 's/^shlibs:Depends=//p') || {
  cat "$work/shlibdeps.err" >&2; exit 1; }
# Its warnings are expected here: $ORIGIN in the RUNPATH, a staging folder
# rather than debian/infergate, libm linked but unused; shown on failure only.
[ -n "$depends" ] || { log "dpkg-shlibdeps found no dependencies"; exit 1; }
depends="adduser, $depends"

mkdir -p "$stage/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$size/" -e "s/@DEPENDS@/$depends/" \
  -e "s|@MAINTAINER@|$maintainer|" \
  "$pkg/control.in" > "$stage/DEBIAN/control"
echo /etc/infergate/infergate.yaml > "$stage/DEBIAN/conffiles"
for script in postinst prerm postrm; do install -m 0755 "$pkg/$script" "$stage/DEBIAN/$script"; done
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Z"${INFERGATE_DEB_COMPRESSION:-xz}" --build "$stage" "$deb" >/dev/null
log "built $deb (installed size $size KiB)"
if [ "$do_lintian" = 1 ]; then
  lintian --fail-on error,warning "$deb"
fi
