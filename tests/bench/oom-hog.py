#!/usr/bin/python3
"""One OOM kill, timed: forks a child that joins a memory cgroup and touches memory until the
kernel's OOM killer kills it, reaps it, and prints when the parent's waitpid returned.

  oom-hog.py CGROUP_PROCS_FILE [MAX_MIB]

Prints `mono_ns=N signal=S` (N: CLOCK_MONOTONIC at waitpid's return, comparable with the
receiver's mono_ns; S: the signal that killed the child, 9 for an OOM kill). Exits 1 when
the child was not killed by a signal (it reached MAX_MIB, default 4096, without an OOM kill:
the cgroup has no limit, or swap absorbed it).
"""

import os
import sys
import time


def hog(procs, max_mib):
    with open(procs, "w") as f:
        f.write(f"{os.getpid()}\n")
    held = []
    for _ in range(max_mib):
        held.append(b"\x01" * (1 << 20))  # touched: charged to the cgroup at once
    os._exit(3)


def main(argv):
    if len(argv) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    max_mib = int(argv[1]) if len(argv) == 2 else 4096
    pid = os.fork()
    if pid == 0:
        try:
            hog(argv[0], max_mib)
        finally:
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    now = time.monotonic_ns()
    if not os.WIFSIGNALED(status):
        print(f"oom-hog: the child exited {os.WEXITSTATUS(status)} without being killed",
              file=sys.stderr)
        return 1
    print(f"mono_ns={now} signal={os.WTERMSIG(status)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
