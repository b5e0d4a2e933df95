"""edsim's exceptions.

Every exception inherits from :class:`EdsimError` and from the builtin that matches its meaning, so
``except ValueError`` works as a Python user expects. Status codes from the C core become exceptions
in one place, :func:`edsim._engine.check`.
"""

from __future__ import annotations


class EdsimError(Exception):
    """Base class of every error edsim raises."""


class ParameterError(EdsimError, ValueError):
    """A parameter, weight, delay or array has a value outside its rule."""


class ConnectionError_(EdsimError, ValueError):
    """A projection cannot be made (objects from another network, bad indices, ...)."""


class FileFormatError(EdsimError, ValueError):
    """A file is not what it should be: wrong format or version, truncated, malformed."""


class TableError(FileFormatError):
    """A lookup table is malformed, of the wrong format or version, or truncated."""


class CausalityError(EdsimError, ValueError):
    """An event was scheduled before the current simulation time."""


class StateError(EdsimError, RuntimeError):
    """The operation is not allowed in the network's current state."""


class CoreError(EdsimError, RuntimeError):
    """The C core reported an internal failure (out of memory, overflow)."""
