#!/usr/bin/env bash
# Runs a command the way a fresh machine without any browser package would: in a private mount
# namespace (Linux, root) where /usr/bin/chromium, the system's NSS, NSPR, expat and SQLite
# libraries (the ones Chromium links against or loads) and the fontconfig set-up (/etc/fonts) do
# not exist. Nothing changes outside the command.
#   scripts/without-system-browser.sh npm test
#   scripts/without-system-browser.sh bash -c 'npm install && npm test'
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0: needs root (a private mount namespace with overlay mounts)" >&2; exit 2; }

if [ "${SHARDLINE_HIDDEN_NS:-}" != 1 ]; then
  exec unshare --mount --propagation private env SHARDLINE_HIDDEN_NS=1 "$0" "$@"
fi

hide="$(mktemp -d)"
libs=/usr/lib/x86_64-linux-gnu
# An overlay whose upper layer has whiteouts (0/0 character devices) for the hidden files: the
# loader finds no such file, exactly as on a machine that never installed them.
mkdir -p "$hide/upper" "$hide/work"
hidden=()
for pkg in libnss3 libnspr4 libexpat1 libsqlite3-0; do
  while read -r path; do
    case "$path" in "$libs"/*.so*|/lib/x86_64-linux-gnu/*.so*) ;; *) continue ;; esac
    name="$(basename "$path")"
    [ -e "$hide/upper/$name" ] || { mknod "$hide/upper/$name" c 0 0; hidden+=("$name"); }
  done < <(dpkg -L "$pkg" 2>/dev/null || true)
done
mount -t overlay overlay -o "lowerdir=$libs,upperdir=$hide/upper,workdir=$hide/work" "$libs"
mounts=("$libs")
mkdir -p "$hide/empty"
if [ -d /etc/fonts ]; then mount --bind "$hide/empty" /etc/fonts; mounts+=(/etc/fonts); fi
if [ -e /usr/bin/chromium ]; then
  mkdir -p "$hide/bin-upper" "$hide/bin-work"
  mknod "$hide/bin-upper/chromium" c 0 0
  mount -t overlay overlay -o "lowerdir=/usr/bin,upperdir=$hide/bin-upper,workdir=$hide/bin-work" /usr/bin
  mounts+=(/usr/bin)
fi

echo "without-system-browser: hidden /usr/bin/chromium, /etc/fonts and ${#hidden[@]} libraries: ${hidden[*]:-none}" >&2
for name in libnss3.so libnspr4.so libexpat.so.1; do
  [ ! -e "$libs/$name" ] || { echo "without-system-browser: $libs/$name is still visible" >&2; exit 1; }
done
[ ! -e /usr/bin/chromium ] || { echo "without-system-browser: /usr/bin/chromium is still visible" >&2; exit 1; }

code=0
"$@" || code=$?
for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" || true; done
rm -rf "$hide"
exit "$code"
