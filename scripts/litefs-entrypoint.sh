#!/usr/bin/env bash
# Starts `litefs mount` with litefs.yml after filling in every LITEFS_* variable that the config
# reads. LiteFS's own ${VAR} expansion has no defaults, so production defaults live here, derived
# from the variables Fly.io sets on every machine (FLY_APP_NAME, FLY_MACHINE_ID, FLY_REGION,
# PRIMARY_REGION, FLY_CONSUL_URL). Anything already set in the environment wins, which is how the
# local cluster script and the tests point several nodes at one loopback Consul.
#
#   LITEFS_BIN                 litefs binary               (default: litefs on PATH)
#   LITEFS_CONFIG              config file                 (default: /etc/litefs.yml, else the repo's litefs.yml)
#   LITEFS_DIR                 FUSE mount dir              (default: /litefs)
#   LITEFS_DATA_DIR            LiteFS internal data dir    (default: /var/lib/litefs)
#   LITEFS_HTTP_PORT           port of the HTTP API        (default: 20202; only used for the two below)
#   LITEFS_HTTP_ADDR           HTTP API bind address       (default: fly-local-6pn:PORT on Fly, else 127.0.0.1:PORT)
#   LITEFS_URL                 how the local app reaches the API (default: http://LITEFS_HTTP_ADDR; not read by LiteFS)
#   LITEFS_HOSTNAME            name this node advertises in the lease and .primary (default: FLY_MACHINE_ID, else hostname)
#   LITEFS_ADVERTISE_URL       URL other nodes use for this node (default: http://FLY_MACHINE_ID.vm.FLY_APP_NAME.internal:PORT on Fly, else LITEFS_URL)
#   LITEFS_CANDIDATE           may become primary          (default: true iff FLY_REGION == PRIMARY_REGION; both unset: true)
#   LITEFS_RECONNECT_DELAY     retry delay after losing the primary (default: 1s)
#   LITEFS_CONSUL_URL          Consul URL                  (default: FLY_CONSUL_URL; required)
#   LITEFS_CONSUL_KEY          lease key, unique per cluster (default: litefs/FLY_APP_NAME; required)
#   LITEFS_CONSUL_TTL          lease session TTL           (default: 10s; Consul's session_ttl_min is 10s unless lowered)
#   LITEFS_CONSUL_LOCK_DELAY   lease lock-delay            (default: 1s)
#   LITEFS_EXEC                app command run by LiteFS   (default: shardline start; "none" runs no app)
# and, for the shardline node LiteFS runs: SHARDLINE_LITEFS_URL (LITEFS_URL), SHARDLINE_DATA_DIR
# (LITEFS_DIR), SHARDLINE_NODE_ID (LITEFS_HOSTNAME), SHARDLINE_HTTP_PORT (8080), and on Fly
# SHARDLINE_HTTP_HOST (::) and SHARDLINE_ADVERTISE_URL (the machine's .internal name).
# Extra arguments are passed to `litefs mount` (e.g. -debug).
set -euo pipefail

die() { echo "litefs-entrypoint: ERROR: $*" >&2; exit 2; }

on_fly=false
[ -n "${FLY_APP_NAME:-}" ] && on_fly=true

: "${LITEFS_BIN:=litefs}"
if [ -z "${LITEFS_CONFIG:-}" ]; then
  if [ -f /etc/litefs.yml ]; then LITEFS_CONFIG=/etc/litefs.yml
  else LITEFS_CONFIG="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/litefs.yml"
  fi
fi
: "${LITEFS_DIR:=/litefs}"
: "${LITEFS_DATA_DIR:=/var/lib/litefs}"
: "${LITEFS_HTTP_PORT:=20202}"
if [ -z "${LITEFS_HTTP_ADDR:-}" ]; then
  # fly-local-6pn resolves (via /etc/hosts) to this machine's private IPv6 address.
  if $on_fly; then LITEFS_HTTP_ADDR="fly-local-6pn:$LITEFS_HTTP_PORT"
  else LITEFS_HTTP_ADDR="127.0.0.1:$LITEFS_HTTP_PORT"
  fi
fi
: "${LITEFS_URL:=http://$LITEFS_HTTP_ADDR}"
if [ -z "${LITEFS_HOSTNAME:-}" ]; then
  LITEFS_HOSTNAME="${FLY_MACHINE_ID:-$(hostname)}"
fi
if [ -z "${LITEFS_ADVERTISE_URL:-}" ]; then
  if $on_fly; then
    [ -n "${FLY_MACHINE_ID:-}" ] || die "FLY_APP_NAME is set but FLY_MACHINE_ID is not; set LITEFS_ADVERTISE_URL"
    LITEFS_ADVERTISE_URL="http://$FLY_MACHINE_ID.vm.$FLY_APP_NAME.internal:$LITEFS_HTTP_PORT"
  else
    LITEFS_ADVERTISE_URL="$LITEFS_URL"
  fi
fi
if [ -z "${LITEFS_CANDIDATE:-}" ]; then
  if [ "${FLY_REGION:-}" = "${PRIMARY_REGION:-}" ]; then LITEFS_CANDIDATE=true; else LITEFS_CANDIDATE=false; fi
fi
: "${LITEFS_RECONNECT_DELAY:=1s}"
: "${LITEFS_CONSUL_URL:=${FLY_CONSUL_URL:-}}"
if [ -z "${LITEFS_CONSUL_KEY:-}" ] && [ -n "${FLY_APP_NAME:-}" ]; then
  LITEFS_CONSUL_KEY="litefs/$FLY_APP_NAME"
fi
: "${LITEFS_CONSUL_TTL:=10s}"
: "${LITEFS_CONSUL_LOCK_DELAY:=1s}"
: "${LITEFS_EXEC:=shardline start}"

[ -n "$LITEFS_CONSUL_URL" ] || die "LITEFS_CONSUL_URL is not set (and FLY_CONSUL_URL is empty): attach Consul with 'fly consul attach' or set it"
[ -n "${LITEFS_CONSUL_KEY:-}" ] || die "LITEFS_CONSUL_KEY is not set (and FLY_APP_NAME is empty to derive it from)"
[ -f "$LITEFS_CONFIG" ] || die "config file $LITEFS_CONFIG not found"
case "$LITEFS_CANDIDATE" in true|false) ;; *) die "LITEFS_CANDIDATE must be true or false, got '$LITEFS_CANDIDATE'";; esac

# LiteFS pastes values into YAML unquoted; refuse values that would change the YAML structure.
for var in LITEFS_DIR LITEFS_DATA_DIR LITEFS_HTTP_ADDR LITEFS_HOSTNAME LITEFS_ADVERTISE_URL \
    LITEFS_RECONNECT_DELAY LITEFS_CONSUL_URL LITEFS_CONSUL_KEY LITEFS_CONSUL_TTL LITEFS_CONSUL_LOCK_DELAY LITEFS_EXEC; do
  val="${!var}"
  case "$val" in
    \[*|\{*|\"*|\'*|\&*|\**|\!*|\|*|\>*|%*|@*|\`*|\#*|-\ *|*': '*|*' #'*|*$'\n'*|*': ')
      die "$var='$val' cannot be pasted into litefs.yml as a plain YAML value";;
  esac
done

export LITEFS_DIR LITEFS_DATA_DIR LITEFS_HTTP_ADDR LITEFS_URL LITEFS_HOSTNAME LITEFS_ADVERTISE_URL \
  LITEFS_CANDIDATE LITEFS_RECONNECT_DELAY LITEFS_CONSUL_URL LITEFS_CONSUL_KEY LITEFS_CONSUL_TTL \
  LITEFS_CONSUL_LOCK_DELAY LITEFS_EXEC

# The shardline node LiteFS runs takes its cluster settings from the same values, so the lease
# hostname and the node id can never disagree (explicit SHARDLINE_* settings still win).
: "${SHARDLINE_LITEFS_URL:=$LITEFS_URL}"
: "${SHARDLINE_DATA_DIR:=$LITEFS_DIR}"
: "${SHARDLINE_NODE_ID:=$LITEFS_HOSTNAME}"
: "${SHARDLINE_HTTP_PORT:=8080}"
if $on_fly; then
  # Other machines reach this node's internal API over Fly's private network.
  : "${SHARDLINE_HTTP_HOST:=::}"
  : "${SHARDLINE_ADVERTISE_URL:=http://$FLY_MACHINE_ID.vm.$FLY_APP_NAME.internal:$SHARDLINE_HTTP_PORT}"
  export SHARDLINE_ADVERTISE_URL
fi
export SHARDLINE_LITEFS_URL SHARDLINE_DATA_DIR SHARDLINE_NODE_ID SHARDLINE_HTTP_PORT
[ -n "${SHARDLINE_HTTP_HOST:-}" ] && export SHARDLINE_HTTP_HOST

if [ "$LITEFS_EXEC" = none ]; then
  # An empty value leaves `exec:` null in the YAML, so LiteFS runs no app.
  LITEFS_EXEC=""
fi
# exec, not a child: LiteFS itself must be the process the platform signals on a stop (Fly sends
# kill_signal to the entrypoint). LiteFS 0.5 (cmd/litefs/main.go, runMount) then sends that same
# signal to its exec'd app (shardline) and waits for it to exit, with no time limit of its own,
# before it unmounts the FUSE mount and releases the lease. So shardline's graceful leave (the
# lease handed on, every shard moved by resume) runs on a mounted database, and LiteFS releases
# nothing mid-leave; only the platform's SIGKILL after kill_timeout cuts it short. LiteFS reads a
# single signal: a second one is not passed on (the leave's own SHARDLINE_LEAVE_TIMEOUT_MS and
# the platform's kill timeout bound the stop instead). A shell here that trapped the signal and
# waited would add nothing but a second process in the way of the signal.
exec "$LITEFS_BIN" mount -config "$LITEFS_CONFIG" "$@"
