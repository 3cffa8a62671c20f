#!/usr/bin/python3
"""Watches, from outside, an app's window being drawn (tests/bench/desktop.mjs), as a
person sees it: through the X server's pixels.

Prints "mapped WINDOW T" when a viewable top-level window with _NET_WM_PID = PID appears,
then reads the window's pixels every few milliseconds for SETTLE seconds and prints
"drawn T FRAMES" where T is the capture time of the first frame from which on the window
shows what it finally shows (the unlock screen): every later frame differs from the last
one in at most MAX_CHANGED of its 64-pixel blocks (a blinking caret is a few blocks; a
screen still being laid out or missing its text is hundreds). T is the moment the frame
was requested from the X server, on CLOCK_MONOTONIC (node's process.hrtime reads the
same clock), so the watcher's own work never delays what it reports. One X connection for
the whole watch (a new xwd per frame made later clients fail to connect to Xvfb).

    /usr/bin/python3 tests/bench/watch-window.py PID [SETTLE]
"""
import sys
import time

from Xlib import X, display

DEADLINE = 30.0
BLOCK = 256  # bytes: 64 pixels of 32 bits
MAX_CHANGED = 0.005  # of the window's blocks


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


def frame(w):
    """(geometry, a hash per 64-pixel block) of the window's pixels now."""
    g = w.get_geometry()
    data = w.get_image(0, 0, g.width, g.height, X.ZPixmap, 0xFFFFFFFF).data
    return (g.width, g.height), [hash(data[o : o + BLOCK]) for o in range(0, len(data), BLOCK)]


def changed(a, b):
    """How many blocks differ between frames a and b (all of them if the size differs)."""
    if a[0] != b[0]:
        return len(b[1])
    return sum(1 for x, y in zip(a[1], b[1]) if x != y)


def main():
    pid = int(sys.argv[1])
    settle = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    d = display.Display()
    root = d.screen().root
    pid_atom = d.intern_atom("_NET_WM_PID")
    start = time.monotonic()
    win = None
    frames = []  # (capture time, frame)
    while time.monotonic() - start < DEADLINE:
        if win is None:
            found = list(windows(d, root, pid, pid_atom))
            if found:
                win = found[0]
                mapped = time.monotonic()
                print(f"mapped {win.id} {mapped:.6f}", flush=True)
        else:
            t = time.monotonic()
            if t - mapped > settle:
                break
            try:
                frames.append((t, frame(win)))
            except Exception:
                pass  # not drawable yet
        time.sleep(0.002)
    if not frames:
        print("timeout", flush=True)
        return 1
    last = frames[-1][1]
    limit = MAX_CHANGED * len(last[1])
    # The first frame after which nothing changes beyond the limit.
    drawn = frames[-1][0]
    for t, f in reversed(frames):
        if changed(f, last) > limit:
            break
        drawn = t
    print(f"drawn {drawn:.6f} {len(frames)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
