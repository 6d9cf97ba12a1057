"""A real small file system for full-disk tests: a tmpfs mounted for one test (root only)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def mounted_tmpfs(mnt: Path, size: str) -> Iterator[tuple[Path, Callable[[str], None]]]:
    """Mount a tmpfs of ``size`` (e.g. ``"256k"``) on the new folder ``mnt``; yield ``(mnt, resize)``.

    Skips the test where mounting is not permitted (not root, or no ``mount`` rights); always
    unmounted afterwards (lazily if something still holds it).
    """
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs for a full-disk test needs root")
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True,
                       text=True)
    if r.returncode:
        pytest.skip(f"mount -t tmpfs is not permitted here: {r.stderr.strip() or r.returncode}")

    def resize(new_size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={new_size}", str(mnt)], check=True)

    try:
        yield mnt, resize
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
