#!/usr/bin/env bash
# Installs everything infergate needs to build, test and run on Debian 12.
# Idempotent: a second run installs nothing and downloads nothing.
#   - Debian packages listed in scripts/deps.env (apt-get, as root)
#   - ONNX Runtime, assembled from two official builds (see docs/dependencies.md):
#     the library from the npm package onnxruntime-node, the headers from
#     Debian trixie's libonnxruntime-dev. Both are cached in $INFERGATE_CACHE
#     (default ~/.cache/infergate) and checked against pinned sha256 sums, then
#     placed in third_party/onnxruntime/{include,lib} (git-ignored).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=deps.env
source "$root/scripts/deps.env"
cache=${INFERGATE_CACHE:-$HOME/.cache/infergate}
dest="$root/third_party/onnxruntime"

log() { printf 'setup: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_apt_packages() {
  local missing=()
  for p in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  command -v npm >/dev/null || missing+=(npm)
  if [ ${#missing[@]} -eq 0 ]; then log "Debian packages present"; return; fi
  log "installing ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

check_sha() {  # file sha256
  echo "$2  $1" | sha256sum -c --quiet - >/dev/null 2>&1
}

mirror_uri() {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || { log "cannot find a Debian mirror in the apt configuration"; exit 1; }
  echo "$uri"
}

fetch_ort_library() {
  local tgz="$cache/$ORT_NPM_PACKAGE-$ORT_NPM_VERSION.tgz"
  if [ -f "$tgz" ] && check_sha "$tgz" "$ORT_NPM_SHA256"; then return; fi
  log "downloading $ORT_NPM_PACKAGE@$ORT_NPM_VERSION (about 110 MB, cached afterwards)"
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$ORT_NPM_PACKAGE@$ORT_NPM_VERSION" >/dev/null)
  mv "$tmp/$ORT_NPM_PACKAGE-$ORT_NPM_VERSION.tgz" "$tgz"; rm -rf "$tmp"
  check_sha "$tgz" "$ORT_NPM_SHA256" || { log "sha256 mismatch for $tgz: the upload changed"; rm -f "$tgz"; exit 1; }
}

fetch_ort_headers() {
  local deb="$cache/${ORT_HEADERS_DEB}_${ORT_HEADERS_VERSION}_amd64.deb"
  if [ -f "$deb" ] && check_sha "$deb" "$ORT_HEADERS_DEB_SHA256"; then return; fi
  log "downloading $ORT_HEADERS_DEB $ORT_HEADERS_VERSION headers from Debian $ORT_HEADERS_SUITE"
  local tmp; tmp=$(mktemp -d)
  mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial"
  echo "deb $(mirror_uri) $ORT_HEADERS_SUITE main" > "$tmp/sources.list"
  local opts=(-o "Dir::Etc::sourcelist=$tmp/sources.list" -o Dir::Etc::sourceparts=/dev/null
              -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o APT::Get::List-Cleanup=0
              -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" update -q >/dev/null
  (cd "$tmp" && apt-get "${opts[@]}" download -q "$ORT_HEADERS_DEB:amd64=$ORT_HEADERS_VERSION" >/dev/null)
  mv "$tmp"/"${ORT_HEADERS_DEB}"_*.deb "$deb"; rm -rf "$tmp"
  check_sha "$deb" "$ORT_HEADERS_DEB_SHA256" || { log "sha256 mismatch for $deb"; rm -f "$deb"; exit 1; }
}

ort_arch() {
  case "$(uname -m)" in
    x86_64) echo x64 ;;
    aarch64|arm64) echo arm64 ;;
    *) log "no ONNX Runtime build for $(uname -m)"; exit 1 ;;
  esac
}

install_ort() {
  local stamp="$dest/.installed"
  local want="$ORT_NPM_VERSION $ORT_NPM_SHA256 $ORT_HEADERS_VERSION $(ort_arch)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$dest/lib/libonnxruntime.so.1" ]; then
    log "ONNX Runtime $ORT_NPM_VERSION present"; return
  fi
  mkdir -p "$cache"
  fetch_ort_library
  fetch_ort_headers
  rm -rf "$dest"; mkdir -p "$dest/lib" "$dest/include"
  local tmp; tmp=$(mktemp -d)
  local member="package/bin/napi-v6/linux/$(ort_arch)/libonnxruntime.so.1"
  tar -xzf "$cache/$ORT_NPM_PACKAGE-$ORT_NPM_VERSION.tgz" -C "$tmp" "$member"
  if [ "$(ort_arch)" = x64 ]; then
    check_sha "$tmp/$member" "$ORT_LIB_X64_SHA256" || { log "sha256 mismatch for $member"; exit 1; }
  fi
  install -m 0644 "$tmp/$member" "$dest/lib/libonnxruntime.so.1"
  ln -sf libonnxruntime.so.1 "$dest/lib/libonnxruntime.so"
  dpkg-deb -x "$cache/${ORT_HEADERS_DEB}_${ORT_HEADERS_VERSION}_amd64.deb" "$tmp/deb"
  cp -r "$tmp/deb/usr/include/onnxruntime/." "$dest/include/"
  rm -rf "$tmp"
  echo "$want" > "$stamp"
  log "ONNX Runtime $ORT_NPM_VERSION installed in $dest"
}

# The Node.js comparison peer of the benchmarks (bench/node-peer): its locked
# npm dependencies. onnxruntime-node's CPU build ships in the package; its
# install script's optional GPU download is skipped.
install_node_peer() {
  local peer="$root/bench/node-peer"
  if [ -f "$peer/node_modules/.package-lock.json" ] && cmp -s "$peer/package-lock.json" "$peer/node_modules/.package-lock.json.src" 2>/dev/null; then
    log "node peer dependencies present"; return
  fi
  log "installing the node peer's npm dependencies"
  (cd "$peer" && ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
     npm ci --silent --no-audit --no-fund >/dev/null)
  cp "$peer/package-lock.json" "$peer/node_modules/.package-lock.json.src"
}

install_apt_packages
install_ort
install_node_peer
