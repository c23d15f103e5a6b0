#!/usr/bin/env bash
# Installs the FUSE helper and a LiteFS binary built from the Go module proxy.
# The binary is cached outside the clone, keyed by version, so CI and later sessions reuse it.
# Last line of stdout: absolute path of the litefs binary.
set -euo pipefail

LITEFS_VERSION="${LITEFS_VERSION:-v0.5.14}"
ROOT="${SHARDLINE_TOOLS_DIR:-/var/cache/shardline-tools}"
DEST_DIR="$ROOT/litefs-$LITEFS_VERSION"
BIN="$DEST_DIR/litefs"

log() { echo "install-litefs: $*" >&2; }
die() { echo "install-litefs: ERROR: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root to run: $*"
  fi
}

ensure_fuse() {
  if command -v fusermount3 >/dev/null 2>&1; then return 0; fi
  log "fusermount3 missing: installing Debian package fuse3"
  command -v apt-get >/dev/null 2>&1 || die "fusermount3 is missing and apt-get is not available; install fuse3 by hand"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fuse3 >&2; then
    as_root apt-get update >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fuse3 >&2 \
      || die "apt-get install fuse3 failed"
  fi
  command -v fusermount3 >/dev/null 2>&1 || die "fuse3 installed but fusermount3 is still not on PATH"
}

cached_ok() {
  [ -x "$BIN" ] && "$BIN" version >/dev/null 2>&1
}

goenv() {
  env GOPATH="$ROOT/go/path" GOCACHE="$ROOT/go/cache" GOMODCACHE="$ROOT/go/mod" \
    GOFLAGS=-buildvcs=false GOTOOLCHAIN=local "$@"
}

build() {
  command -v go >/dev/null 2>&1 || die "go is not on PATH (need Go >= 1.21 to build LiteFS $LITEFS_VERSION)"
  command -v gcc >/dev/null 2>&1 || die "gcc is not on PATH (LiteFS needs cgo for go-sqlite3)"
  mkdir -p "$DEST_DIR" "$ROOT/go/path" "$ROOT/go/cache" "$ROOT/go/mod"
  local start=$SECONDS
  # Not `go install pkg@version`: it also asks the proxy for the module's version list (to look
  # up deprecations), which the proxy here refuses with 403. Downloading the exact version and
  # building inside its own (read-only) module dir uses litefs's go.mod/go.sum as released.
  log "downloading github.com/superfly/litefs@$LITEFS_VERSION"
  local meta dir commit
  meta="$(goenv go mod download -json "github.com/superfly/litefs@$LITEFS_VERSION")" \
    || die "go mod download github.com/superfly/litefs@$LITEFS_VERSION failed: $meta"
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$meta" | head -n1)"
  commit="$(sed -n 's/^[[:space:]]*"Hash": "\(.*\)",\{0,1\}$/\1/p' <<<"$meta" | head -n1)"
  [ -f "$dir/go.mod" ] || die "no go.mod in downloaded module dir '$dir'"
  local tmp
  tmp="$(mktemp -d "$ROOT/.litefs-build.XXXXXX")"
  log "building LiteFS $LITEFS_VERSION (cgo) into $DEST_DIR"
  # Same tags as upstream release builds; output to a temp dir so a failed build never leaves a half binary.
  if ! (cd "$dir" && goenv CGO_ENABLED=1 nice -n 10 go build -trimpath -tags osusergo,netgo \
      -ldflags "-s -w -X main.Version=$LITEFS_VERSION -X main.Commit=$commit" \
      -o "$tmp/litefs" ./cmd/litefs) >&2; then
    rm -rf "$tmp"
    die "building github.com/superfly/litefs/cmd/litefs@$LITEFS_VERSION failed (see output above)"
  fi
  mv -f "$tmp/litefs" "$BIN"
  rm -rf "$tmp"
  log "built in $((SECONDS - start)) s"
}

ensure_fuse
if cached_ok; then
  log "reusing cached $BIN"
else
  build
  cached_ok || die "$BIN was built but '$BIN version' fails"
fi
log "$("$BIN" version 2>&1 | head -n1)"
echo "$BIN"
