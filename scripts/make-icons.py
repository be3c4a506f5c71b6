#!/usr/bin/env python3
"""Draws Atrium's app icons (a person glyph on the brand blue) as PNG files
and favicon.ico, with only the standard library. Run once when the design
changes; the results are committed under public/."""
import struct
import zlib
from pathlib import Path

BLUE = (52, 81, 178)
WHITE = (255, 255, 255)


def pixel(x, y, n):
    # Coordinates in a 0..1 square; supersample 4x4 for smooth edges.
    r = g = b = a = 0.0
    for sy in range(4):
        for sx in range(4):
            u = (x + (sx + 0.5) / 4) / n
            v = (y + (sy + 0.5) / 4) / n
            # rounded square background (radius 0.22)
            cx, cy = min(max(u, 0.22), 0.78), min(max(v, 0.22), 0.78)
            inside_bg = (u - cx) ** 2 + (v - cy) ** 2 <= 0.22 ** 2
            head = (u - 0.5) ** 2 + (v - 0.38) ** 2 <= 0.15 ** 2
            shoulders = v >= 0.58 and ((u - 0.5) / 0.27) ** 2 + ((v - 0.86) / 0.28) ** 2 <= 1 and v <= 0.8
            if not inside_bg:
                continue
            col = WHITE if (head or shoulders) else BLUE
            r += col[0]; g += col[1]; b += col[2]; a += 255
    k = 16
    if a == 0:
        return (0, 0, 0, 0)
    return (int(r / (a / 255)), int(g / (a / 255)), int(b / (a / 255)), int(a / k))


def png(n):
    rows = []
    for y in range(n):
        row = bytearray([0])
        for x in range(n):
            row.extend(pixel(x, y, n))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", n, n, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def ico(png_bytes, n):
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", n % 256, n % 256, 0, 0, 1, 32, len(png_bytes), 6 + 16)
    return header + entry + png_bytes


public = Path(__file__).resolve().parent.parent / "public"
(public / "icons").mkdir(parents=True, exist_ok=True)
for n in (192, 512):
    (public / "icons" / f"icon-{n}.png").write_bytes(png(n))
(public / "favicon.ico").write_bytes(ico(png(32), 32))
