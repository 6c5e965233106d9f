"""The package version, in a module of its own so that any module can import it at the top
without importing the package ``__init__`` (which imports most modules: a cycle)."""

__version__ = "0.1.0"
