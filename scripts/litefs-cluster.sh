#!/usr/bin/env bash
# Starts a throwaway LiteFS cluster on loopback for manual experiments: one `consul agent -dev`
# (session_ttl_min lowered to 1s) and N `litefs mount` nodes, all using the repository's
# litefs.yml through scripts/litefs-entrypoint.sh. Everything is stopped, unmounted and deleted
# on exit (Ctrl-C, SIGTERM, or when the command given after `--` ends).
#
# Usage: scripts/litefs-cluster.sh [-n NODES] [-d DIR] [-k] [-- COMMAND...]
#   -n NODES   number of LiteFS nodes (default 3)
#   -d DIR     working dir (default: a new temp dir); kept on exit only with -k
#   -k         keep DIR on exit (logs, data)
# Timing knobs (environment): LITEFS_CONSUL_TTL (2s), LITEFS_CONSUL_LOCK_DELAY (500ms),
# LITEFS_RECONNECT_DELAY (200ms), LITEFS_EXEC (none: no app process; e.g. "sleep infinity").
# Binaries: LITEFS_BIN / CONSUL_BIN, else built or reused via scripts/install-tools.sh.
#
# Layout: DIR/cluster.env (CONSUL_URL, LITEFS_KEY, NODE_COUNT, NODE<i>_URL, NODE<i>_DIR),
# DIR/n<i>/{mnt,data,litefs.log,pid,start.sh}. `DIR/n<i>/start.sh` restarts node i by hand
# (e.g. after `kill -9 $(cat DIR/n<i>/pid)`); the cleanup still finds it through the pid file.
# Each node is its own process group (pgid = pid), so `kill -9 -- -PID` also ends its app child.
# COMMAND runs with CLUSTER_DIR set and cluster.env exported; its exit code is the script's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
nodes=3
dir=""
keep=false
while [ $# -gt 0 ]; do
  case "$1" in
    -n) nodes="$2"; shift 2;;
    -d) dir="$2"; shift 2;;
    -k) keep=true; shift;;
    --) shift; break;;
    -h|--help) sed -n '2,20p' "$0"; exit 0;;
    *) echo "litefs-cluster: unknown argument '$1' (see --help)" >&2; exit 2;;
  esac
done
case "$nodes" in ''|*[!0-9]*) echo "litefs-cluster: -n needs a number" >&2; exit 2;; esac

log() { echo "litefs-cluster: $*" >&2; }

[ "$(id -u)" = 0 ] || log "warning: not root; FUSE mounts usually need root (/dev/fuse is root-only)"

if [ -z "${LITEFS_BIN:-}" ] || [ -z "${CONSUL_BIN:-}" ]; then
  mapfile -t bins < <("$here/install-tools.sh" | tail -n 2)
  : "${LITEFS_BIN:=${bins[0]}}"
  : "${CONSUL_BIN:=${bins[1]}}"
fi

if [ -z "$dir" ]; then dir="$(mktemp -d "${TMPDIR:-/tmp}/litefs-cluster.XXXXXX")"; else mkdir -p "$dir"; fi
dir="$(cd "$dir" && pwd)"

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

consul_pid=""
cleanup() {
  local code=$?
  trap - EXIT INT TERM
  local i pid
  for ((i = 1; i <= nodes; i++)); do
    pid="$(cat "$dir/n$i/pid" 2>/dev/null || true)"
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
  for ((i = 1; i <= nodes; i++)); do
    pid="$(cat "$dir/n$i/pid" 2>/dev/null || true)"
    [ -n "$pid" ] || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    # Each node runs in its own process group (setsid in start.sh): this also reaches an app
    # child left running after its litefs was killed with SIGKILL (it is re-parented, not killed).
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  for ((i = 1; i <= nodes; i++)); do
    local mnt="$dir/n$i/mnt"
    if grep -qs " $mnt fuse" /proc/mounts; then
      fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || log "could not unmount $mnt"
    fi
  done
  if [ -n "$consul_pid" ]; then
    kill -TERM "$consul_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$consul_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$consul_pid" 2>/dev/null || true
  fi
  if $keep; then log "kept $dir"; else rm -rf "$dir"; fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

http_port="$(free_port)"; serf_port="$(free_port)"; server_port="$(free_port)"
consul_url="http://127.0.0.1:$http_port"
# All fixed dev-mode ports are moved or disabled so several clusters can run side by side.
"$CONSUL_BIN" agent -dev -bind 127.0.0.1 -client 127.0.0.1 \
  -http-port "$http_port" -serf-lan-port "$serf_port" -server-port "$server_port" \
  -dns-port -1 -grpc-port -1 -grpc-tls-port -1 \
  -hcl 'ports { serf_wan = -1 }' -hcl 'session_ttl_min = "1s"' -hcl 'log_level = "warn"' \
  >"$dir/consul.log" 2>&1 &
consul_pid=$!
for _ in $(seq 1 200); do
  curl -sf "$consul_url/v1/status/leader" 2>/dev/null | grep -q ':' && break
  kill -0 "$consul_pid" 2>/dev/null || { log "consul exited; see $dir/consul.log"; tail -n 20 "$dir/consul.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf "$consul_url/v1/status/leader" | grep -q ':' || { log "consul has no leader after 20 s"; exit 1; }
log "consul $consul_url (pid $consul_pid)"

key="shardline-test/$(basename "$dir")-$$"
{
  echo "CONSUL_URL=$consul_url"
  echo "LITEFS_KEY=$key"
  echo "NODE_COUNT=$nodes"
} >"$dir/cluster.env"

for ((i = 1; i <= nodes; i++)); do
  nd="$dir/n$i"
  mkdir -p "$nd"
  port="$(free_port)"
  cat >"$nd/start.sh" <<EOF
#!/usr/bin/env bash
# Starts node n$i of this cluster in the background and records its pid.
cd "$nd"
env LITEFS_BIN="$LITEFS_BIN" LITEFS_DIR="$nd/mnt" LITEFS_DATA_DIR="$nd/data" \\
  LITEFS_HTTP_PORT="$port" LITEFS_HOSTNAME="n$i" \\
  LITEFS_CANDIDATE="\${LITEFS_CANDIDATE:-true}" \\
  LITEFS_CONSUL_URL="$consul_url" LITEFS_CONSUL_KEY="$key" \\
  LITEFS_CONSUL_TTL="${LITEFS_CONSUL_TTL:-2s}" LITEFS_CONSUL_LOCK_DELAY="${LITEFS_CONSUL_LOCK_DELAY:-500ms}" \\
  LITEFS_RECONNECT_DELAY="${LITEFS_RECONNECT_DELAY:-200ms}" LITEFS_EXEC="${LITEFS_EXEC:-none}" \\
  setsid "$here/litefs-entrypoint.sh" >>"$nd/litefs.log" 2>&1 </dev/null &
echo \$! >"$nd/pid"
EOF
  chmod +x "$nd/start.sh"
  "$nd/start.sh"
  echo "NODE${i}_URL=http://127.0.0.1:$port" >>"$dir/cluster.env"
  echo "NODE${i}_DIR=$nd/mnt" >>"$dir/cluster.env"
  # Wait for this node to settle (primary, or replica of a known primary) before the next one,
  # so n1 is the first primary.
  ok=false
  for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$port/info" 2>/dev/null | grep -Eq '"hostname": "[^"]+"'; then ok=true; break; fi
    kill -0 "$(cat "$nd/pid")" 2>/dev/null || break
    sleep 0.1
  done
  $ok || { log "node n$i did not join; last log lines:"; tail -n 20 "$nd/litefs.log" >&2; exit 1; }
  log "n$i http://127.0.0.1:$port mnt $nd/mnt (pid $(cat "$nd/pid"))"
done
log "cluster ready in $dir (key $key)"

if [ $# -gt 0 ]; then
  set +e
  (set -a; . "$dir/cluster.env"; set +a; CLUSTER_DIR="$dir" "$@")
  code=$?
  set -e
  exit "$code"
fi
log "Ctrl-C to stop"
while true; do sleep 1; done
