"""`edgecnn quantize`, split by role: convert (TFLiteConverter), calibrate (which images), layers
(per-layer error report), budget (search for a model within an accuracy budget), metadata (embed
the card), run (the command's whole job)."""
