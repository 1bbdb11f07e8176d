"""Reading and resizing images the same way on the workstation and on the device.

OpenCV + numpy only. Every image becomes a uint8 array of shape (H, W, C) in the
colour order the card names (RGB or grey); resizing uses the card's method so the
device sees exactly the pixels the model was trained and calibrated on.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import cv2
import numpy as np

from edgecnn.errors import EdgeCNNError, read_file
from edgecnn.imagesize import dimensions

if TYPE_CHECKING:
    from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".pnm", ".tif", ".tiff", ".webp")
# Decoding more than this many pixels is refused (a 1 GB Pi holds ~64 MP of BGR three times over).
MAX_PIXELS = int(os.environ.get("EDGECNN_MAX_PIXELS", 64_000_000))
_INTERPOLATION = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST}


class ImageError(EdgeCNNError):
    """An image file is missing, unreadable or not an image."""


def is_image_file(path: Path) -> bool:
    """True when the file name has an image suffix edgecnn reads."""
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def list_images(folder: Path) -> list[Path]:
    """The image files directly inside `folder`, by name (hidden files skipped)."""
    from pathlib import Path  # not at the top: a cold `edgecnn classify` has no use for pathlib

    return sorted(p for p in Path(folder).iterdir() if not p.name.startswith(".") and is_image_file(p))


def decode_image(data: bytes, color: str, source: str = "image") -> np.ndarray:
    """Decode encoded image bytes into uint8 (H, W, C) in `color` order ("rgb", "gray", or "bgr",
    OpenCV's own order, for the camera and face paths)."""
    size = dimensions(data)
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise ImageError(f"{source} claims {size[0]}x{size[1]} pixels, more than the {MAX_PIXELS / 1e6:.0f} MP "
                         f"edgecnn decodes (EDGECNN_MAX_PIXELS); shrink it first")
    buf = np.frombuffer(data, dtype=np.uint8)
    flag = cv2.IMREAD_GRAYSCALE if color == "gray" else cv2.IMREAD_COLOR
    try:
        img = cv2.imdecode(buf, flag) if buf.size else None
    except cv2.error:  # OpenCV's own size limit, or a decoder that gives up loudly
        img = None
    if img is None:
        raise ImageError(f"{source} is not a readable image (jpg, png, bmp, pgm, ...)")
    if color == "gray":
        return img[:, :, None]
    return img if color == "bgr" else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def load_image(path: str | Path, color: str) -> np.ndarray:
    """Read an image file into uint8 (H, W, C); one clear ImageError for every failure."""
    return decode_image(read_file(path, "image", ImageError), color, str(path))


def probe_color(path: str | Path) -> str | None:
    """"gray" for single-channel files, "rgb" for colour ones, None if unreadable."""
    try:
        data = read_file(path, "image", ImageError)
    except ImageError:
        return None
    size = dimensions(data)
    if not data or (size is not None and size[0] * size[1] > MAX_PIXELS):
        return None
    try:
        img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        return None
    if img is None:
        return None
    return "gray" if img.ndim == 2 or img.shape[2] == 1 else "rgb"


def resize_image(img: np.ndarray, height: int, width: int, method: str = "area") -> np.ndarray:
    """Resize uint8 (H, W, C) to (height, width, C) with the card's interpolation."""
    if img.shape[0] == height and img.shape[1] == width:
        return img
    # INTER_AREA only averages when shrinking; for enlarging OpenCV falls back to bilinear.
    out = cv2.resize(img, (width, height), interpolation=_INTERPOLATION[method])
    return out if out.ndim == 3 else out[:, :, None]


def from_bgr(bgr: np.ndarray, color: str) -> np.ndarray:
    """OpenCV BGR (H, W, 3) -> the card's colour order ("rgb" or "gray") as (H, W, C)."""
    if color == "gray":
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)[:, :, None]
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
