#!/usr/bin/env bash
# Installs (or reuses from the cache) the real LiteFS and Consul binaries used by the LiteFS
# integration tests and scripts/litefs-cluster.sh.
# Last two lines of stdout: the litefs path, then the consul path.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
missing=()

litefs="$("$here/install-litefs.sh" | tail -n 1)" && [ -x "$litefs" ] || missing+=("litefs (scripts/install-litefs.sh failed: needs fuse3, Go >= 1.21, gcc and the Go module proxy)")

consul="$("$here/install-consul.sh" | tail -n 1)" && [ -x "$consul" ] || missing+=("consul (scripts/install-consul.sh failed: needs a Go at least as new as consul's go.mod and the Go module proxy)")

if [ ${#missing[@]} -gt 0 ]; then
  for m in "${missing[@]}"; do echo "install-tools: ERROR: missing $m" >&2; done
  exit 1
fi
echo "$litefs"
echo "$consul"
