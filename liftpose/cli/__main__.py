"""``python -m liftpose.cli ARGS`` is ``liftpose ARGS``."""

from . import main

if __name__ == "__main__":  # not when a tool imports every submodule (pkgutil.walk_packages)
    main()
