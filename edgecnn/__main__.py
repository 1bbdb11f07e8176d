"""`python -m edgecnn` is the same as the `edgecnn` command."""

from edgecnn.cli import main

main()
