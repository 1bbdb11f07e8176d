"""Importing this registers every known detection output layout (see layouts.family)."""

import edgecnn.runtime.detection.centernet as centernet

FAMILIES = (centernet,)
