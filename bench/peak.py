"""Run a command and write its own peak resident memory to a file (a bench_report helper).

Run: python -m bench.peak OUT_FILE COMMAND... — COMMAND inherits stdin, stdout and stderr; its
exit status is passed on; OUT_FILE gets COMMAND's peak resident set in KiB.

Why a helper: Linux carries the high-water mark of the memory a process had before it exec'd
into the new program's ru_maxrss. A child started straight from the benchmark (vfork or fork,
then exec) reports at least the benchmark's own peak, which after bench_bot or building the
million-answer file is larger than any report. Started from this small process, the command's
figure is its own (or this helper's ~10 MiB, whichever is larger).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def main() -> int:
    """Run the command; return its exit status."""
    out, command = Path(sys.argv[1]), sys.argv[2:]
    proc = subprocess.Popen(command)
    _, status, usage = os.wait4(proc.pid, 0)
    out.write_text(str(usage.ru_maxrss))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
