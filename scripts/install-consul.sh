#!/usr/bin/env bash
# Builds a Consul binary from the Go module proxy, cached outside the clone keyed by version.
# `go install github.com/hashicorp/consul@vX` is refused because consul's go.mod has local
# `replace` directives for its sub-modules, so we build it from a throwaway wrapper module whose
# go.mod is consul's own requirement list (minus the local replaces) plus a require on consul.
# Last line of stdout: absolute path of the consul binary.
set -euo pipefail

CONSUL_VERSION="${CONSUL_VERSION:-v1.22.2}"
ROOT="${SHARDLINE_TOOLS_DIR:-/var/cache/shardline-tools}"
DEST_DIR="$ROOT/consul-$CONSUL_VERSION"
BIN="$DEST_DIR/consul"
MODULE=github.com/hashicorp/consul

log() { echo "install-consul: $*" >&2; }
die() { echo "install-consul: ERROR: $*" >&2; exit 1; }

cached_ok() {
  [ -x "$BIN" ] && "$BIN" version >/dev/null 2>&1
}

# The checksum database the proxy serves here answers 404 for consul's own sub-modules
# (envoyextensions, proto-public, troubleshoot), and consul's go.sum lacks them because upstream
# builds them from local dirs; they come from the same proxy as the verified root module.
goenv() {
  env GONOSUMDB="${GONOSUMDB:-github.com/hashicorp/consul}" GOPATH="$ROOT/go/path" GOCACHE="$ROOT/go/cache" GOMODCACHE="$ROOT/go/mod" \
    GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local "$@"
}

# Prints one JSON field of `go mod download -json` output read on stdin.
json_field() {
  sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" | head -n1
}

build() {
  command -v go >/dev/null 2>&1 || die "go is not on PATH (Consul $CONSUL_VERSION needs a recent Go, see its go.mod 'go' line)"
  mkdir -p "$DEST_DIR" "$ROOT/go/path" "$ROOT/go/cache" "$ROOT/go/mod"
  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/consul-wrapper.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  local start=$SECONDS

  log "downloading $MODULE@$CONSUL_VERSION"
  local meta dir sum modsum
  meta="$(goenv go mod download -json "$MODULE@$CONSUL_VERSION")" \
    || die "go mod download $MODULE@$CONSUL_VERSION failed: $meta"
  dir="$(json_field Dir <<<"$meta")"
  sum="$(json_field Sum <<<"$meta")"
  modsum="$(json_field GoModSum <<<"$meta")"
  [ -f "$dir/go.mod" ] || die "no go.mod in downloaded module dir '$dir'"

  # Wrapper go.mod: consul's module line renamed, its local (./...) replaces dropped, everything
  # else (go line, exclude block, pinned requirements, any non-local replace) kept verbatim so the
  # build resolves exactly the dependency versions consul itself was released with.
  awk -v ver="$CONSUL_VERSION" -v mod="$MODULE" '
    /^module / { print "module shardline.invalid/consul-wrapper"; next }
    /^replace \($/ { inrep = 1; next }
    inrep && /^\)$/ { inrep = 0; next }
    inrep { if ($0 !~ /=> *\.\.?\//) keep[++n] = $0; next }
    /^replace .*=> *\.\.?\// { next }
    { print }
    END {
      print ""
      print "require " mod " " ver
      if (n > 0) { print ""; print "replace ("; for (i = 1; i <= n; i++) print keep[i]; print ")" }
    }
  ' "$dir/go.mod" >"$work/go.mod"
  cp "$dir/go.sum" "$work/go.sum"
  chmod u+w "$work/go.sum"
  printf '%s %s %s\n%s %s/go.mod %s\n' "$MODULE" "$CONSUL_VERSION" "$sum" "$MODULE" "$CONSUL_VERSION" "$modsum" >>"$work/go.sum"

  log "building $MODULE@$CONSUL_VERSION in wrapper module $work (slow: several minutes on 2 cores)"
  # consul's main package is the module root; version info goes in via ldflags like upstream.
  local vnum="${CONSUL_VERSION#v}"
  if ! (cd "$work" && goenv CGO_ENABLED=0 nice -n 10 go build -trimpath \
      -ldflags "-s -w -X github.com/hashicorp/consul/version.GitCommit=module-proxy -X github.com/hashicorp/consul/version.Version=$vnum -X github.com/hashicorp/consul/version.VersionPrerelease=" \
      -o "$work/consul" "$MODULE") >&2; then
    die "building $MODULE@$CONSUL_VERSION failed (see output above; wrapper go.mod kept in log only)"
  fi
  mv -f "$work/consul" "$BIN"
  log "built in $((SECONDS - start)) s"
}

if cached_ok; then
  log "reusing cached $BIN"
else
  build
  cached_ok || die "$BIN was built but '$BIN version' fails"
fi
log "$("$BIN" version 2>&1 | head -n1)"
echo "$BIN"
