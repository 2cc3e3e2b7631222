#!/usr/bin/env python3
"""Draw logo.png, the icon elastic.io shows beside the component.

    python3 tools/logo.py            # writes logo.png at the repository root

A 256x256 RGBA PNG: a white pennant on its pole in a dark rounded square,
drawn from shapes with 4x4 supersampling and written with zlib only, so
the file is the same byte for byte on every machine (no image library,
no fonts, no time stamp).
"""

import os
import struct
import zlib

SIZE = 256
SAMPLES = 4  # per axis, per pixel
BACKGROUND = (0x23, 0x23, 0x23)
MARK = (0xFF, 0xFF, 0xFF)
RADIUS = 48  # of the rounded square


def in_rounded_square(x, y):
    r = RADIUS
    cx = min(max(x, r), SIZE - r)
    cy = min(max(y, r), SIZE - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def in_polygon(x, y, points):
    inside = False
    j = len(points) - 1
    for i, (xi, yi) in enumerate(points):
        xj, yj = points[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def in_capsule(x, y, x0, x1, y0, y1):
    """A vertical bar with round ends."""
    r = (x1 - x0) / 2
    cx = x0 + r
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


# The pole, and the pennant with a swallowtail notch flying from it.
POLE = (72, 90, 52, 204)
PENNANT = [(86, 60), (190, 60), (156, 101), (190, 142), (86, 142)]


def in_mark(x, y):
    return in_capsule(x, y, *POLE) or in_polygon(x, y, PENNANT)


def pixel(px, py):
    shape = mark = 0
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            x = px + (sx + 0.5) / SAMPLES
            y = py + (sy + 0.5) / SAMPLES
            if in_rounded_square(x, y):
                shape += 1
                if in_mark(x, y):
                    mark += 1
    n = SAMPLES * SAMPLES
    if shape == 0:
        return (0, 0, 0, 0)
    t = mark / shape
    rgb = tuple(round(b + (m - b) * t) for b, m in zip(BACKGROUND, MARK))
    return rgb + (round(255 * shape / n),)


def png(width, height, rows):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes(v for p in row for v in p) for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main():
    rows = [[pixel(x, y) for x in range(SIZE)] for y in range(SIZE)]
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    with open(os.path.join(root, "logo.png"), "wb") as f:
        f.write(png(SIZE, SIZE, rows))


if __name__ == "__main__":
    main()
