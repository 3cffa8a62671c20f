#!/usr/bin/python3
"""Closes the app's main window as a window manager does, or says whether it is shown.

    /usr/bin/python3 tests/e2e/x-close.py close PID   # WM_DELETE_WINDOW, as the title bar's X
    /usr/bin/python3 tests/e2e/x-close.py state PID   # prints "viewable", "hidden" or "none"

The main window is the top-level window whose _NET_WM_PID is PID and whose title is
exactly "Token Wallet" (the native dialogs' titles go on after a colon). A window manager
closes a window by sending it a WM_PROTOCOLS ClientMessage naming WM_DELETE_WINDOW; GTK
turns that into the close request the app handles. Needs python3-xlib.
"""
import sys

from Xlib import X, display
from Xlib.protocol import event

TITLE = "Token Wallet"


def main_window(d, pid):
    pid_atom = d.intern_atom("_NET_WM_PID")
    name_atom = d.intern_atom("_NET_WM_NAME")
    utf8 = d.intern_atom("UTF8_STRING")
    stack = [d.screen().root]
    while stack:
        w = stack.pop()
        try:
            prop = w.get_full_property(pid_atom, X.AnyPropertyType)
            if prop is not None and prop.value[0] == pid:
                name = w.get_full_property(name_atom, utf8)
                title = name.value.decode("utf-8", "replace") if name is not None else w.get_wm_name()
                if isinstance(title, bytes):
                    title = title.decode("utf-8", "replace")
                if title == TITLE:
                    return w
            stack.extend(w.query_tree().children)
        except Exception:  # a window that went away meanwhile
            continue
    return None


def main():
    what, pid = sys.argv[1], int(sys.argv[2])
    d = display.Display()
    w = main_window(d, pid)
    if what == "state":
        if w is None:
            print("none")
        else:
            print("viewable" if w.get_attributes().map_state == X.IsViewable else "hidden")
        return 0
    if what != "close":
        print(f"unknown command {what}", file=sys.stderr)
        return 2
    if w is None:
        print(f"no “{TITLE}” window of process {pid}", file=sys.stderr)
        return 1
    protocols = d.intern_atom("WM_PROTOCOLS")
    delete = d.intern_atom("WM_DELETE_WINDOW")
    msg = event.ClientMessage(
        window=w,
        client_type=protocols,
        data=(32, [delete, X.CurrentTime, 0, 0, 0]),
    )
    w.send_event(msg, event_mask=X.NoEventMask)
    d.sync()
    return 0


if __name__ == "__main__":
    sys.exit(main())
