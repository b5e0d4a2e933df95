"""Opening edsim's HDF5 files: every reader checks ``format`` and ``format_version`` first."""

from __future__ import annotations

from pathlib import Path

from edsim.errors import FileFormatError


def open_checked(path, fmt: str, version: int, what: str, error=FileFormatError, fix: str = ""):
    """Open ``path`` read-only after checking it is an HDF5 file of ``fmt`` at ``version``.

    Raises ``error`` naming the file, what was found and what was expected.
    """
    import h5py

    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError) as exc:
        raise error(f"cannot read {what} '{path}': not an HDF5 file or truncated ({exc})") from None
    found = f.attrs.get("format")
    if isinstance(found, bytes):
        found = found.decode()
    if found != fmt:
        f.close()
        raise error(f"'{path}' is not an edsim {what}: format is {found!r}, expected {fmt!r}")
    found_version = f.attrs.get("format_version")
    if found_version != version:
        f.close()
        raise error(f"'{path}' has {what} format_version {found_version}, this edsim reads version "
                    f"{version}{fix}")
    return f
