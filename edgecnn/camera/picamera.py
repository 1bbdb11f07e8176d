"""The Raspberry Pi camera through picamera2 (Debian's python3-picamera2).

Two streams from one capture request: `main` (BGR, the web view, snapshots, regions) and, once
the loop knows the model's input size, `lores`, which the camera's ISP scales down in hardware to
about that size, so the CPU never resizes a full frame for inference. The lores stream has the
main stream's aspect ratio (the same view, fewer pixels); picamera2 only offers it as YUV420
(I420 planes), converted here at its small size.

Not verified on a Raspberry Pi: written against picamera2's documented API and tested with a stand-in.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from edgecnn.errors import SourceError

LORES_ALIGN = 64  # lores widths are multiples of 64: rows have no padding (stride == width)


class Paired(NamedTuple):
    """One capture: the full frame and the same view at about the model's input size (both BGR)."""

    main: np.ndarray
    small: np.ndarray


def lores_size(main: tuple[int, int], model: tuple[int, int]) -> tuple[int, int] | None:
    """(w, h) of the lores stream for a model input of `model` (w, h): the main stream's aspect
    ratio, covering the model input, width a multiple of 64, height even; None when that would not
    be smaller than the main stream (nothing to save)."""
    (mw, mh), (iw, ih) = main, model
    aspect = mw / mh
    w = int(math.ceil(max(iw, ih * aspect) / LORES_ALIGN) * LORES_ALIGN)
    h = 2 * int(round(w / aspect / 2))
    return (w, h) if w < mw and h < mh else None


class PiCameraSource:
    """`read()` gives the main BGR frame, or a `Paired` (main, small) once `want_small()` was told
    the model's input size before `open()`."""

    def __init__(self, size: tuple[int, int] = (640, 480)) -> None:
        self.size, self.live, self.fps, self.name = size, True, 0.0, "Pi camera (picamera2)"
        self.lores: tuple[int, int] | None = None
        self.cam = None

    def want_small(self, width: int, height: int) -> None:
        self.lores = lores_size(self.size, (width, height))

    def open(self) -> None:
        try:
            from picamera2 import Picamera2  # type: ignore[import-not-found]
        except ImportError:
            raise SourceError("picamera2 is not installed: sudo apt-get install python3-picamera2 "
                              "(and a venv made with --system-site-packages, see deploy/pi)") from None
        try:
            self.cam = Picamera2()
            streams = {"main": {"size": self.size, "format": "RGB888"}}
            if self.lores is not None:
                streams["lores"] = {"size": self.lores, "format": "YUV420"}
            self.cam.configure(self.cam.create_video_configuration(**streams))
            self.cam.start()
        except Exception as exc:  # libcamera raises RuntimeError/IndexError when no camera is attached
            self.cam = None
            raise SourceError(f"cannot open the Pi camera: {exc}") from None

    def read(self) -> np.ndarray | Paired | None:
        if self.cam is None:
            return None
        try:
            if self.lores is None:
                return self.cam.capture_array("main")  # RGB888 in picamera2 is BGR in memory
            request = self.cam.capture_request()
            try:
                main, yuv = request.make_array("main"), request.make_array("lores")
            finally:
                request.release()  # the buffers go back to the camera at once
        except Exception:  # a camera that stops answering counts as a failed read
            return None
        w, h = self.lores
        small = cv2.cvtColor(np.ascontiguousarray(yuv[: h * 3 // 2, :w]), cv2.COLOR_YUV2BGR_I420)
        return Paired(main, small)

    def close(self) -> None:
        if self.cam is not None:
            try:
                self.cam.stop()
                self.cam.close()
            finally:
                self.cam = None
