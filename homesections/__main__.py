"""``python -m homesections`` behaves exactly like the ``homesections`` script."""

from .cli import main

main(prog_name="homesections")
