"""Keep glibc's malloc from handing big tensors' memory back to the kernel after every step.

By default glibc serves large blocks with mmap and returns them with munmap when they are freed, and
adjusts that threshold as the program runs. A CPU training step frees and re-allocates its activations
every step, so each step faults in (and the kernel zeroes) fresh pages, a count that depends on the heap's
history, so two identical loops in one process can differ noticeably. Fixed thresholds keep the memory in
the heap for reuse, making CPU timings both faster and comparable (benchmarks/RESULTS.md has the figures).
The catch: memory freed at the top of the heap is not given back to the system until the process ends.

The `litlab` command applies it at start-up (set LITLAB_MALLOC=default to leave glibc alone). The benchmarks
apply it to every variant alike.
"""

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h


def keep_freed_memory(mmap_threshold: int = 2**30, trim_threshold: int = 2**31 - 1) -> bool:
    """Serve blocks below `mmap_threshold` bytes from the heap and never trim it; False where not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(
            libc.mallopt(M_TRIM_THRESHOLD, trim_threshold)
        )
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
