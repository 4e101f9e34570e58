"""Set or show the scheduler's slice (EEVDF, Linux 6.12 and later: `sched_attr.sched_runtime` of a SCHED_OTHER
thread) of every thread of the given processes. A thread with a shorter slice may preempt the running one
sooner when it wakes. 0 gives the kernel's own back (here 1.4 ms: 0.7 ms a slice times 1 + log2 of 2 cores).

  python3 slice.py NS PID...     set every thread's slice to NS nanoseconds (-1: only show the first's)
"""

from __future__ import annotations

import ctypes
import os
import sys

SCHED_SETATTR, SCHED_GETATTR = 314, 315  # x86_64 system call numbers
libc = ctypes.CDLL(None, use_errno=True)


class SchedAttr(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_uint32),
        ("sched_policy", ctypes.c_uint32),
        ("sched_flags", ctypes.c_uint64),
        ("sched_nice", ctypes.c_int32),
        ("sched_priority", ctypes.c_uint32),
        ("sched_runtime", ctypes.c_uint64),
        ("sched_deadline", ctypes.c_uint64),
        ("sched_period", ctypes.c_uint64),
        ("sched_util_min", ctypes.c_uint32),
        ("sched_util_max", ctypes.c_uint32),
    ]


def _checked(result: int) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def attributes(tid: int) -> SchedAttr:
    attr = SchedAttr()
    _checked(libc.syscall(SCHED_GETATTR, tid, ctypes.byref(attr), ctypes.sizeof(SchedAttr), 0))
    return attr


def set_slice(tid: int, nanoseconds: int) -> None:
    attr = attributes(tid)  # its policy and nice value kept
    attr.size, attr.sched_flags, attr.sched_runtime = ctypes.sizeof(SchedAttr), 0, nanoseconds
    _checked(libc.syscall(SCHED_SETATTR, tid, ctypes.byref(attr), 0))


def main(nanoseconds: int, pids: list[int]) -> None:
    threads = 0
    for pid in pids:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                if nanoseconds >= 0:
                    set_slice(int(tid), nanoseconds)
                threads += 1
            except OSError as error:  # a thread gone since it was listed
                print(pid, tid, error, file=sys.stderr)
    print(f"{threads} threads; the first's slice {attributes(pids[0]).sched_runtime} ns")


if __name__ == "__main__":
    main(int(sys.argv[1]), [int(pid) for pid in sys.argv[2:]])
