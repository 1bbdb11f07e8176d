"""The `edgecnn` command: a click group whose commands import their modules lazily.

Device commands never import TensorFlow; workstation commands import it inside their callbacks,
after their arguments are checked (so a wrong path is answered at once).
"""

from edgecnn.cli.app import cli, main  # commands register themselves when first asked for (app.COMMANDS)

__all__ = ["cli", "main"]
