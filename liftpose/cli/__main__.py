"""``python -m liftpose.cli ARGS`` is ``liftpose ARGS``."""

from . import main

main()
