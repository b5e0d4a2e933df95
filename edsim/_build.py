"""cffi builder of the C core (out-of-line API mode).

The declarations cffi sees are csrc/edsim.h run through the C preprocessor, so the header stays
the single source of truth and the compiler checks the declarations against the code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
CSRC = HERE.parent / "csrc"


def _cdef() -> str:
    cc = os.environ.get("CC", shutil.which("cc") or "gcc")
    out = subprocess.run(
        [cc, "-E", "-P", "-DEDS_CDEF", str(CSRC / "edsim.h")],
        check=True, capture_output=True, text=True,
    )
    return out.stdout


ffibuilder = FFI()
ffibuilder.cdef(_cdef())
_sources = sorted(str(p.relative_to(HERE.parent)) for p in CSRC.glob("*.c"))
ffibuilder.set_source(
    "edsim._core",
    '#include "edsim.h"',
    sources=_sources,
    include_dirs=[str(CSRC.relative_to(HERE.parent))],
    extra_compile_args=["-std=c11", "-O3", "-Wall", "-Wextra", "-fno-math-errno"],
    libraries=["m"],
)

if __name__ == "__main__":
    os.chdir(HERE.parent)
    ffibuilder.compile(tmpdir=".", verbose=False)
