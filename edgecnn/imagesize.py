"""Image dimensions from the file header, before anything is decoded (image bombs: a 138-byte PNG
can claim 60000 x 60000 pixels). PNG, JPEG, GIF, BMP, WebP, TIFF and PNM; None when unknown."""

from __future__ import annotations

import re
import struct

_PNM = re.compile(rb"^P[1-6](?:\s+|#[^\n]*\n)+(\d+)(?:\s+|#[^\n]*\n)+(\d+)")


def dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) as the header states them, or None for an unknown or short header."""
    try:
        for sniff in (_png, _gif, _bmp, _webp, _tiff, _pnm, _jpeg):
            found = sniff(data)
            if found is not None:
                return found
    except (struct.error, ValueError, IndexError):
        return None
    return None


def _png(d: bytes) -> tuple[int, int] | None:
    if d[:8] == b"\x89PNG\r\n\x1a\n" and d[12:16] == b"IHDR":
        return struct.unpack(">II", d[16:24])
    return None


def _gif(d: bytes) -> tuple[int, int] | None:
    return struct.unpack("<HH", d[6:10]) if d[:6] in (b"GIF87a", b"GIF89a") else None


def _bmp(d: bytes) -> tuple[int, int] | None:
    if d[:2] != b"BM":
        return None
    if struct.unpack("<I", d[14:18])[0] == 12:  # OS/2 header
        return struct.unpack("<HH", d[18:22])
    w, h = struct.unpack("<ii", d[18:26])
    return abs(w), abs(h)


def _webp(d: bytes) -> tuple[int, int] | None:
    if d[:4] != b"RIFF" or d[8:12] != b"WEBP":
        return None
    kind = d[12:16]
    if kind == b"VP8X":
        return 1 + int.from_bytes(d[24:27], "little"), 1 + int.from_bytes(d[27:30], "little")
    if kind == b"VP8L":
        bits = int.from_bytes(d[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if kind == b"VP8 ":
        w, h = struct.unpack("<HH", d[26:30])
        return w & 0x3FFF, h & 0x3FFF
    return None


def _tiff(d: bytes) -> tuple[int, int] | None:
    order = {b"II": "<", b"MM": ">"}.get(d[:2])
    if order is None or struct.unpack(order + "H", d[2:4])[0] != 42:
        return None
    ifd = struct.unpack(order + "I", d[4:8])[0]
    count = struct.unpack(order + "H", d[ifd:ifd + 2])[0]
    size: dict[int, int] = {}
    for i in range(min(count, 512)):
        tag, kind, _, value = struct.unpack(order + "HHI4s", d[ifd + 2 + 12 * i: ifd + 14 + 12 * i])
        if tag in (256, 257):
            size[tag] = struct.unpack(order + ("H" if kind == 3 else "I"), value[:2 if kind == 3 else 4])[0]
    return (size[256], size[257]) if len(size) == 2 else None


def _pnm(d: bytes) -> tuple[int, int] | None:
    m = _PNM.match(d[:512])
    return (int(m.group(1)), int(m.group(2))) if m else None


def _jpeg(d: bytes) -> tuple[int, int] | None:
    if d[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(d):
        if d[i] != 0xFF:
            i += 1
            continue
        marker = d[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", d[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            h, w = struct.unpack(">HH", d[i + 5:i + 9])
            return w, h
        i += 2 + length
    return None
