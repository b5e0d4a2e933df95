"""edsim's HDF5 files: readers check ``format`` and ``format_version`` first, writers replace
files atomically, and contiguous datasets are memory-mapped read-only."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

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


@contextmanager
def atomic_write(path):
    """An HDF5 file open for writing that replaces ``path`` only once it is complete, so readers
    never see half a file."""
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".h5.tmp")
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            yield f
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def mapped(dset, path) -> np.ndarray:
    """A read-only memory map of a contiguous, uncompressed dataset (shared by every process
    through the page cache), else its values. ValueError if the file is truncated."""
    offset = dset.id.get_offset()
    if offset is None or dset.chunks is not None or dset.compression is not None:
        return dset[()]
    return np.memmap(path, dtype=dset.dtype, mode="r", offset=offset, shape=dset.shape)
