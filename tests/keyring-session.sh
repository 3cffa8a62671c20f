#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with a real, unlocked gnome-keyring
# Secret Service (its default `login` collection), in temporary XDG directories, and stops
# the daemon afterwards. Nothing touches the caller's own keyring.
#   tests/keyring-session.sh CMD [ARGS...]
#
# The daemon runs in the foreground as this script's own child, so the script knows its
# pid (never another session's daemon) and sees it exit. Should it exit while CMD runs,
# the script says so on stderr with the daemon's own log, and starts it again on the same
# keyring (so one lost daemon fails the tests that were talking to it, not every test
# after them); the exit status is then CMD's, or 1 if CMD succeeded.
set -euo pipefail
if [ -z "${TW_IN_KEYRING_SESSION:-}" ]; then
  export TW_IN_KEYRING_SESSION=1
  exec dbus-run-session -- "$0" "$@"
fi
unset TW_IN_KEYRING_SESSION
tmp=$(mktemp -d)
export XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/run" XDG_CONFIG_HOME="$tmp/config"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME"
chmod 700 "$XDG_RUNTIME_DIR"
export GNOME_KEYRING_CONTROL="$XDG_RUNTIME_DIR/keyring"
log="$tmp/gnome-keyring.log"
password="keyring-test-password"

# The pid owning org.freedesktop.secrets on this bus, or nothing. NameHasOwner and
# GetConnectionUnixProcessID ask the bus, never the service: asked any earlier, a call to
# org.freedesktop.secrets makes D-Bus *activate* a second daemon of its own (from the
# service file), with no unlocked collection, and every keystore call then fails.
owner_pid() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets 2>/dev/null |
    awk '/uint32/ { print $2 }'
}

# Starts the daemon (replacing any daemon D-Bus activated meanwhile) and waits until it
# owns the name and its default alias answers.
start_daemon() {
  printf %s "$password" |
    gnome-keyring-daemon --foreground --replace --unlock --components=secrets >>"$log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 1 200); do
    [ "$(owner_pid)" = "$daemon_pid" ] && break
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ "$(owner_pid)" != "$daemon_pid" ]; then
    echo "keyring-session: gnome-keyring-daemon did not take org.freedesktop.secrets within 10 s; its log:" >&2
    sed 's/^/  gnome-keyring: /' "$log" >&2
    return 1
  fi
  for _ in $(seq 1 100); do
    if dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
        org.freedesktop.Secret.Service.ReadAlias string:default 2>/dev/null | grep -q "/collection/"; then
      return 0
    fi
    sleep 0.1
  done
  echo "keyring-session: the Secret Service has no default collection after 10 s" >&2
  return 1
}

start_daemon
echo "$daemon_pid" >"$tmp/daemon.pid"

# Watches the daemon: it is a child of this shell, so the watcher polls its pid file.
(
  restarts=0
  while [ ! -e "$tmp/stopping" ]; do
    pid=$(cat "$tmp/daemon.pid")
    if ! kill -0 "$pid" 2>/dev/null && [ ! -e "$tmp/stopping" ]; then
      touch "$tmp/lost"
      {
        echo "keyring-session: gnome-keyring-daemon (pid $pid) exited at $(date +%T) while the tests ran; its log:"
        sed 's/^/  gnome-keyring: /' "$log"
      } >&2
      restarts=$((restarts + 1))
      [ "$restarts" -le 3 ] || { echo "keyring-session: not restarting it a fourth time" >&2; exit 0; }
      : >"$log"
      if start_daemon; then
        echo "$daemon_pid" >"$tmp/daemon.pid"
        echo "keyring-session: started it again (pid $daemon_pid) on the same keyring" >&2
      fi
    fi
    sleep 0.5
  done
) &
watcher=$!

cleanup() {
  touch "$tmp/stopping"
  local pid
  pid=$(cat "$tmp/daemon.pid")
  kill "$pid" 2>/dev/null || true
  # The first daemon is this shell's child; a restarted one is the watcher's, which
  # reaps it before it ends.
  wait "$pid" 2>/dev/null || true
  sleep 0.6
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

set +e
"$@"
rc=$?
if [ -e "$tmp/lost" ] && [ "$rc" -eq 0 ]; then
  echo "keyring-session: the Secret Service was lost during the run (see above)" >&2
  rc=1
fi
exit $rc
