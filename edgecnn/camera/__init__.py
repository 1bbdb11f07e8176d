"""The camera side: frame sources, latest-frame capture, the detect loop, web view, events.

Device side: numpy, OpenCV and the LiteRT runtime only.
"""
