#!/usr/bin/env bash
# Installs (or reuses from the cache) schemathesis, the OpenAPI fuzzer of `npm run fuzz:api`,
# from PyPI into a Python virtual environment of the project's own, outside the clone and keyed
# by version. A missing or unwritable cache is replaced by a temporary directory.
# Last line of stdout: absolute path of the schemathesis executable.
set -euo pipefail

SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
ROOT="${SHARDLINE_TOOLS_DIR:-/var/cache/shardline-tools}"

log() { echo "install-schemathesis: $*" >&2; }
die() { echo "install-schemathesis: ERROR: $*" >&2; exit 1; }

mkdir -p "$ROOT" 2>/dev/null && [ -w "$ROOT" ] || { ROOT="$(mktemp -d)"; log "cache not writable: using $ROOT"; }
VENV="$ROOT/schemathesis-$SCHEMATHESIS_VERSION"
BIN="$VENV/bin/schemathesis"

cached_ok() {
  [ -x "$BIN" ] && [ -f "$VENV/.complete" ] && "$BIN" --version 2>/dev/null | grep -q "version $SCHEMATHESIS_VERSION\$"
}

ensure_venv_module() {
  if command -v python3 >/dev/null 2>&1 && python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then return 0; fi
  # Debian ships venv and ensurepip apart from python3 itself.
  log "python3 cannot create virtual environments here: installing Debian packages python3 python3-venv"
  command -v apt-get >/dev/null 2>&1 || die "python3 with venv is missing and apt-get is not available"
  env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv >&2 \
    || { apt-get update >&2 && env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv >&2; } \
    || die "apt-get install python3 python3-venv failed"
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || die "python3 still cannot create virtual environments after installing python3-venv"
}

# One installer at a time per cache (two CI runs, or a run and a helper).
exec 9>"$ROOT/schemathesis.lock"
flock 9

if cached_ok; then
  log "reusing $BIN"
else
  ensure_venv_module
  start=$SECONDS
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "schemathesis==$SCHEMATHESIS_VERSION" >&2 \
    || die "pip install schemathesis==$SCHEMATHESIS_VERSION failed (needs PyPI)"
  touch "$VENV/.complete"
  cached_ok || die "installed schemathesis does not answer --version $SCHEMATHESIS_VERSION"
  log "installed schemathesis $SCHEMATHESIS_VERSION in $((SECONDS - start)) s"
fi
echo "$BIN"
