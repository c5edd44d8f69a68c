"""CPU training keeps freed memory for reuse (nmt.training.allocator): glibc no longer unmaps a
large block when it is freed, so the next update does not fault its pages in again."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import sys, torch
from nmt.training.allocator import keep_freed_memory

def resident_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

if sys.argv[1] == "keep":
    assert keep_freed_memory()
x = torch.ones(50_000_000)  # 200 MB: above every threshold glibc sets on its own
before = resident_mib()
del x
print(before - resident_mib())
"""


def released_mib(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                         check=True)
    return float(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_tensor_memory_stays_with_the_process_only_when_asked():
    assert released_mib("default") > 150  # glibc hands a large block straight back
    assert released_mib("keep") < 10      # kept in the heap for the next update
