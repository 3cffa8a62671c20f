#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with a real, unlocked gnome-keyring
# Secret Service (its default `login` collection), in temporary XDG directories, and stops
# the daemon afterwards. Nothing touches the caller's own keyring.
#   tests/keyring-session.sh CMD [ARGS...]
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
eval "$(printf %s "keyring-test-password" | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
daemon_pid=$(pgrep -n -f "gnome-keyring-daemon.*--components=secrets" || true)
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
# Wait until the daemon started above owns the Secret Service name. Asked any earlier, a
# call to org.freedesktop.secrets makes D-Bus *activate* a second daemon of its own (from
# the service file), with no unlocked collection: every keystore call then fails ("result
# not returned from SS API"). NameHasOwner asks the bus, never the service.
for _ in $(seq 1 200); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; then
    break
  fi
  sleep 0.05
done
# Then until the default alias answers.
for _ in $(seq 1 100); do
  if dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
      org.freedesktop.Secret.Service.ReadAlias string:default 2>/dev/null | grep -q "/collection/"; then
    break
  fi
  sleep 0.1
done
set +e
"$@"
rc=$?
exit $rc
