#!/usr/bin/python3
"""Saves the app's window as a PNG, read from the X server as a person sees it (not through
WebDriver, whose snapshot waits on the web process's own rendering path).

    /usr/bin/python3 tests/e2e/x-screenshot.py EXE FILE.png

EXE is the app binary's path: the window is the largest viewable top-level window whose
_NET_WM_PID names a process running EXE. Needs python3-xlib; writes the PNG with zlib only.
"""
import os
import struct
import sys
import zlib

from Xlib import X, display


def app_windows(d, root, exe):
    pid_atom = d.intern_atom("_NET_WM_PID")
    stack = [root]
    while stack:
        w = stack.pop()
        try:
            prop = w.get_full_property(pid_atom, X.AnyPropertyType)
            if prop is not None:
                try:
                    running = os.path.realpath(f"/proc/{prop.value[0]}/exe")
                except OSError:
                    running = ""
                if running == os.path.realpath(exe) and w.get_attributes().map_state == X.IsViewable:
                    yield w
            stack.extend(w.query_tree().children)
        except Exception:  # a window that went away meanwhile
            continue


def png(width, height, rgb_rows):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + row for row in rgb_rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def main():
    exe, out = sys.argv[1], sys.argv[2]
    d = display.Display()
    found = list(app_windows(d, d.screen().root, exe))
    if not found:
        print(f"no viewable window of {exe}", file=sys.stderr)
        return 1
    w = max(found, key=lambda w: w.get_geometry().width * w.get_geometry().height)
    g = w.get_geometry()
    img = w.get_image(0, 0, g.width, g.height, X.ZPixmap, 0xFFFFFFFF)
    data = img.data
    if isinstance(data, str):
        data = data.encode("latin-1")
    stride = len(data) // g.height
    rows = []
    for y in range(g.height):
        line = data[y * stride : y * stride + g.width * 4]
        # 32-bit BGRX little-endian pixels -> RGB.
        rgb = bytearray(g.width * 3)
        rgb[0::3] = line[2::4]
        rgb[1::3] = line[1::4]
        rgb[2::3] = line[0::4]
        rows.append(bytes(rgb))
    with open(out, "wb") as f:
        f.write(png(g.width, g.height, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
