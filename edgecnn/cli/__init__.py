"""The `edgecnn` command: a click group whose commands import their modules lazily.

Device commands never import TensorFlow; workstation commands import it inside their callbacks,
after their arguments are checked (so a wrong path is answered at once).
"""

from edgecnn.cli import camera, device, edgetpu, face, face_device, train, workstation  # noqa: F401 (registers)
from edgecnn.cli.app import cli, main

__all__ = ["cli", "main"]
