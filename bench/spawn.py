"""Run a command COUNT times, one after the other; print its wall-clock and CPU time and its peak RSS.

    python -I -S bench/spawn.py COUNT COMMAND [ARGUMENT ...]

Why a process of its own: on Linux a child's ``ru_maxrss`` starts at the peak
RSS of the process that forked it (``exec`` records the old memory's peak), so
a command started by the benchmark, whose own RSS is tens of MiB, would never
report less than that. Started from this small process (``-I -S``: no site
packages), a command's peak RSS is its own down to about 10 MiB. The
command's standard output goes to /dev/null; its standard error is kept.
Prints one JSON object: the times added up, the largest peak RSS (KiB).
"""

import json
import os
import sys
import time


def main() -> int:
    count, argv = int(sys.argv[1]), sys.argv[2:]
    quiet = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0), (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
    seconds = cpu = 0.0
    peak = 0
    for _ in range(count):
        started = time.perf_counter()
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=quiet)
        _pid, status, usage = os.wait4(pid, 0)
        seconds += time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            print(f"{' '.join(argv)} exited with {code}", file=sys.stderr)
            return 1
        cpu += usage.ru_utime + usage.ru_stime
        peak = max(peak, usage.ru_maxrss)
    print(json.dumps({"seconds": seconds, "cpu": cpu, "maxrss_kib": peak}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
