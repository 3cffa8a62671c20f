#!/usr/bin/python3
"""Watches, from outside, for an app's window (tests/bench/desktop.mjs): prints
"mapped WINDOW" when a viewable top-level window with _NET_WM_PID = PID appears, then
"drawn" once that window's pixels show more than MIN_COLOURS distinct colours (text, a
logo, a field: the unlock screen, not a blank or uniform window). One X connection for the
whole watch (a new xwd per frame made later clients fail to connect to Xvfb). Gives up
after 30 s.

    /usr/bin/python3 tests/bench/watch-window.py PID
"""
import sys
import time

from Xlib import X, display

MIN_COLOURS = 64
DEADLINE = 30.0


def windows(d, root, pid, pid_atom):
    """Viewable windows under root whose _NET_WM_PID is pid."""
    stack = [root]
    while stack:
        w = stack.pop()
        try:
            prop = w.get_full_property(pid_atom, X.AnyPropertyType)
            if prop is not None and prop.value[0] == pid:
                if w.get_attributes().map_state == X.IsViewable:
                    yield w
            stack.extend(w.query_tree().children)
        except Exception:  # a window that went away meanwhile
            continue


def colours(w):
    g = w.get_geometry()
    img = w.get_image(0, 0, g.width, g.height, X.ZPixmap, 0xFFFFFFFF)
    data = img.data
    seen = set()
    # Every 3rd 32-bit pixel is plenty to tell a drawn screen from a blank one.
    for o in range(0, len(data) - 3, 12):
        seen.add(data[o : o + 3])
    return len(seen)


def main():
    pid = int(sys.argv[1])
    d = display.Display()
    root = d.screen().root
    pid_atom = d.intern_atom("_NET_WM_PID")
    start = time.monotonic()
    win = None
    while time.monotonic() - start < DEADLINE:
        if win is None:
            found = list(windows(d, root, pid, pid_atom))
            if found:
                win = found[0]
                print(f"mapped {win.id}", flush=True)
        else:
            try:
                if colours(win) >= MIN_COLOURS:
                    print("drawn", flush=True)
                    return 0
            except Exception:
                pass  # not drawable yet
        time.sleep(0.004)
    print("timeout", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
