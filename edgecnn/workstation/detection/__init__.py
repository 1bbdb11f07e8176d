"""Object detection on the workstation: data sets (COCO, YOLO, Pascal VOC, the built-in shapes),
the CenterNet-style detector, its training, and parity measured in COCO mAP."""
