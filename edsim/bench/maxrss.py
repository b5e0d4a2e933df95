"""Run a command, write its peak memory: ``python -m edsim.bench.maxrss OUT.json CMD...``.

Used as Brian2 standalone's run command, so that the binary's own peak memory is measured apart
from the compiler's and from the Python process that generated it. Exits with the command's status.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        sys.stderr.write("usage: python -m edsim.bench.maxrss OUT.json COMMAND [ARGS...]\n")
        return 2
    out, cmd = argv[0], argv[1:]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    with open(out, "w") as f:
        json.dump({"peak_rss_mb": usage.ru_maxrss / 1024.0, "wall_s": wall,
                   "cpu_s": usage.ru_utime + usage.ru_stime, "exit_code": code}, f)
    return code if code >= 0 else 1


if __name__ == "__main__":
    sys.exit(main())
