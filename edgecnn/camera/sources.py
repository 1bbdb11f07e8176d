"""Frame sources: cameras, the Pi camera, video files, network streams, image folders.

Every source yields BGR uint8 frames through `read() -> ndarray | None` (None: no frame right
now, or the end of a file). `live` sources are read on a capture thread; files are not.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from edgecnn.camera.picamera import PiCameraSource
from edgecnn.errors import EdgeCNNUsageError, SourceError
from edgecnn.images import ImageError, is_image_file, list_images, load_image
from edgecnn.log import get_logger

log = get_logger(__name__)
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mjpg", ".mjpeg", ".h264")




class Source(Protocol):
    name: str
    live: bool
    fps: float

    def open(self) -> None: ...
    def read(self) -> np.ndarray | None: ...
    def close(self) -> None: ...


class CaptureSource:
    """cv2.VideoCapture on a camera index, /dev/videoN, a video file or a stream URL."""

    def __init__(self, target: int | str, live: bool, name: str) -> None:
        self.target, self.live, self.name = target, live, name
        self.cap: cv2.VideoCapture | None = None
        self.fps = 0.0

    def open(self) -> None:
        _quiet_opencv()
        self.cap = cv2.VideoCapture(self.target)
        if not self.cap.isOpened():
            self.cap.release()
            self.cap = None
            hint = " (is it plugged in, and are you in the 'video' group?)" if isinstance(self.target, int) \
                or str(self.target).startswith("/dev/") else ""
            raise SourceError(f"cannot open {self.name}{hint}")
        self.fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0.0)

    def read(self) -> np.ndarray | None:
        if self.cap is None:
            return None
        ok, frame = self.cap.read()
        return frame if ok and frame is not None and frame.size else None

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None


class FolderSource:
    """Images of a folder in name order (or one image file), as a finite source; unreadable files
    are skipped and counted. `current` is the file the last frame came from."""

    def __init__(self, folder: Path, single: bool = False) -> None:
        self.folder, self.single, self.live, self.fps = folder, single, False, 0.0
        self.name = f"{'image' if single else 'folder'} {folder}"
        self.files: list[Path] = []
        self.index = 0
        self.unreadable = 0
        self.current: Path | None = None

    def open(self) -> None:
        self.files = [self.folder] if self.single else list_images(self.folder)
        if not self.files:
            raise SourceError(f"{self.folder} holds no images")
        self.index = 0

    def read(self) -> np.ndarray | None:
        while self.index < len(self.files):
            path = self.files[self.index]
            self.index += 1
            try:
                frame = load_image(path, "bgr")
                self.current = path
                return frame
            except ImageError as exc:  # unreadable, an image bomb, a FIFO: skipped and counted
                self.unreadable += 1
                log.warning(f"skipped {exc}")
        return None

    def close(self) -> None:
        self.files = []


def _quiet_opencv() -> None:
    """OpenCV prints its own multi-line warnings when a device fails to open; ours is the one line."""
    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:  # builds without the logging utilities
        pass


def open_source(text: str) -> Source:
    """Parse a --source value into a Source (not yet opened); usage error when unknown."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return CaptureSource(int(text), True, f"camera {text}")
    if text.lower() in ("picamera", "picam", "pi"):
        return PiCameraSource()
    if re.match(r"^(rtsp|rtmp|http|https|udp|tcp)://", text, re.IGNORECASE):
        return CaptureSource(text, True, f"stream {text}")
    path = Path(text)
    if text.startswith("/dev/video"):
        if not path.exists():
            raise SourceError(f"cannot open camera {text}: no such device (list cameras with ls /dev/video*)")
        return CaptureSource(text, True, f"camera {text}")
    if path.is_dir():
        return FolderSource(path)
    if path.is_file():
        if is_image_file(path):
            return FolderSource(path, single=True)
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            raise EdgeCNNUsageError(f"{text} is not an image, a video ({', '.join(VIDEO_SUFFIXES)}) or an image folder")
        return CaptureSource(str(path), False, f"video {text}")
    raise EdgeCNNUsageError(f"unknown source {text!r}: give a camera index (0), /dev/videoN, picamera, "
                            f"a video file, an image folder or an rtsp:// / http:// URL")


def sleep_until(deadline: float) -> None:
    """Sleep until time.perf_counter() reaches `deadline` (no-op if it has)."""
    delay = deadline - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
