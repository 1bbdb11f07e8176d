"""Importing this registers every known detection output layout (see layouts.family)."""

import edgecnn.runtime.detection.blazeface as blazeface
import edgecnn.runtime.detection.centernet as centernet
import edgecnn.runtime.detection.ssd as ssd
import edgecnn.runtime.detection.yolo as yolo

FAMILIES = (centernet, ssd, yolo, blazeface)
