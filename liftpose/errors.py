"""The library's error and warning types, so callers can catch liftpose's own problems in one place.

``LiftposeError`` subclasses ``ValueError`` (what the library raised before it existed), so existing
``except ValueError`` code keeps working. Its subclasses: :class:`WeightsError` (weights that cannot be
found, verified or loaded) and its subclass ``liftpose.convert.CheckpointError``.
``LiftposeWarning`` is what the input checks of :mod:`liftpose.checks` warn with.
"""

from __future__ import annotations


class LiftposeError(ValueError):
    """An input, option, file or weights problem; the message says what was expected, what was
    received and how to fix it."""


class LiftposeWarning(UserWarning):
    """Input that is probably, but not certainly, wrong (the message names the likely fix)."""


class WeightsError(LiftposeError):
    """Weights that cannot be found, verified or loaded; the message says how to fix it."""
