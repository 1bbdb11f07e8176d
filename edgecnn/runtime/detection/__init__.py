"""Object detection on the device: numpy decoders for edgecnn's own detectors and common
third-party output layouts, NMS in numpy, one typed result (`Detection`), boxes in pixels of the
original frame (x0, y0, x1, y1)."""

from edgecnn.runtime.detection.boxes import Detection, Letterbox
from edgecnn.runtime.detection.detector import ObjectDetector

__all__ = ["Detection", "Letterbox", "ObjectDetector"]
