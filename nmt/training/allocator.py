"""Keep freed memory in the process during CPU training, instead of handing it back to the OS.

glibc serves large blocks (above a threshold that grows to at most 32 MB on its own) with mmap
and returns them with munmap when freed; every update then asks for fresh pages again (logits of
2,000 target tokens x 8,000 pieces are 64 MB), and the kernel zeroes each page on first touch.
A profile of the reference model's update (``benchmarks/profile_step.py``) shows that as time in
``aten::fill_``: a fifth of an update spent faulting in memory, with no arithmetic done. Raising
the mmap and trim thresholds keeps such blocks in the heap for reuse; the cost is a resident size
that stays at its peak, which training reaches every update anyway.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
M_MMAP_THRESHOLD = -3
THRESHOLD = 1 << 30


def keep_freed_memory() -> bool:
    """Set glibc's thresholds for this process; False where the C library has no ``mallopt``
    (musl, macOS, Windows), which then keeps its own behaviour."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, THRESHOLD))
