"""Draws the Token Wallet icon (a gold key on a blue rounded square) and writes PNGs.

Run: python3 icons/make_icons.py icons   (no dependencies; stdlib zlib PNG encoder)
"""
import math, struct, sys, zlib

def png(path, w, h, rgba):
    raw = b"".join(b"\x00" + bytes(rgba[y * w * 4:(y + 1) * w * 4]) for y in range(h))
    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    open(path, "wb").write(data)

def in_round_rect(x, y, x0, y0, x1, y1, r):
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r and x0 <= x <= x1 and y0 <= y <= y1

BOW = (0.355, 0.375)
A = math.radians(45)
CA, SA = math.cos(-A), math.sin(-A)

def key_part(x, y):
    """0 = none, 1 = key body, 2 = key shade (inner ring)."""
    dx, dy = x - BOW[0], y - BOW[1]
    u, v = dx * CA - dy * SA, dx * SA + dy * CA  # rotate into the key's frame
    d = math.hypot(u, v)
    if d <= 0.175:
        if d <= 0.062:
            return 0
        return 2 if d <= 0.085 else 1
    if 0.12 <= u <= 0.56 and abs(v) <= 0.048:
        return 1
    if 0.41 <= u <= 0.465 and 0.0 <= v <= 0.14:
        return 1
    if 0.495 <= u <= 0.56 and 0.0 <= v <= 0.11:
        return 1
    return 0

def sample(x, y):
    if not in_round_rect(x, y, 0.05, 0.05, 0.95, 0.95, 0.2):
        return (0, 0, 0, 0)
    k = key_part(x, y)
    if k == 1:
        t = (x + y) / 2
        return (int(252 - 30 * t), int(206 - 40 * t), int(84 - 40 * t), 255)
    if k == 2:
        return (200, 150, 40, 255)
    t = y
    return (int(58 - 30 * t), int(92 - 40 * t), int(219 - 60 * t), 255)

def render(n, ss):
    out = [0] * (n * n * 4)
    for py in range(n):
        for px in range(n):
            acc = [0, 0, 0, 0]
            for sy in range(ss):
                for sx in range(ss):
                    r, g, b, a = sample((px + (sx + 0.5) / ss) / n, (py + (sy + 0.5) / ss) / n)
                    acc[0] += r * a; acc[1] += g * a; acc[2] += b * a; acc[3] += a
            i = (py * n + px) * 4
            a = acc[3]
            if a:
                out[i:i + 4] = [round(acc[0] / a), round(acc[1] / a), round(acc[2] / a), round(a / (ss * ss))]
    return out

outdir = sys.argv[1]
for name, n, ss in [("32x32.png", 32, 8), ("128x128.png", 128, 4), ("128x128@2x.png", 256, 3), ("icon.png", 512, 2)]:
    png(f"{outdir}/{name}", n, n, render(n, ss))
    print("wrote", name)

def ico(path, pngs):
    """A Windows .ico holding PNG images (Windows Vista and later read PNG entries)."""
    head = struct.pack("<HHH", 0, 1, len(pngs))
    offset = 6 + 16 * len(pngs)
    entries, blobs = b"", b""
    for n, data in pngs:
        side = 0 if n >= 256 else n  # 0 means 256
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    open(path, "wb").write(head + entries + blobs)

ico(f"{outdir}/icon.ico", [(32, open(f"{outdir}/32x32.png", "rb").read()),
                           (256, open(f"{outdir}/128x128@2x.png", "rb").read())])
print("wrote icon.ico")
