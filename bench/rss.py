"""Peak resident memory of a whole process tree (the bench process, dbt subprocesses, the peer), and
what DuckDB spilled to disk meanwhile.

A background thread reads /proc every `interval` seconds and records the summed RSS of the root
process and all its descendants; peaks are then asked for any time window. Summing RSS counts
pages shared between processes more than once, so the figure is an upper bound. With `spill_dirs`
(DuckDB's temporary directory: `<database>.tmp` unless set otherwise) it also records the bytes
held there: what a memory limit pushed out of memory, measured rather than guessed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

PROC = Path("/proc")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _parent_pids() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        # Field 4 is the parent pid; the command name (field 2) may contain spaces, so split after it.
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def tree_pids(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, parent in _parent_pids().items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def rss_bytes(pid: int) -> int:
    try:
        resident_pages = int((PROC / str(pid) / "statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return resident_pages * PAGE_SIZE


def tree_rss_bytes(root: int) -> int:
    return sum(rss_bytes(pid) for pid in tree_pids(root))


def folder_bytes(folders: Sequence[Path]) -> int:
    """Bytes of the files directly in `folders` (missing folders and vanished files count 0)."""
    total = 0
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                total += entry.stat().st_size if entry.is_file() else 0
            except OSError:
                continue
    return total


class TreeSampler(threading.Thread):
    """Samples the tree's RSS until stopped; use as a context manager."""

    def __init__(self, root: int | None = None, interval: float = 0.2, spill_dirs: Sequence[Path] = ()) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.root = root if root is not None else os.getpid()
        self.interval = interval
        self.spill_dirs = tuple(spill_dirs)
        self.samples: list[tuple[float, int]] = []  # (time.time(), bytes)
        self.spill_samples: list[tuple[float, int]] = []  # (time.time(), bytes in spill_dirs)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            now = time.time()
            self.samples.append((now, tree_rss_bytes(self.root)))
            if self.spill_dirs:
                self.spill_samples.append((now, folder_bytes(self.spill_dirs)))
            if self._stop_event.wait(self.interval):
                return

    def __enter__(self) -> TreeSampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_event.set()
        self.join()

    def peak(self, start: float | None = None, end: float | None = None) -> int:
        """Largest RSS sample in [start, end] (inclusive); the nearest earlier sample when none falls inside."""
        return _peak(self.samples, start, end)

    def peak_spill(self, start: float | None = None, end: float | None = None) -> int:
        """Largest spill sample in [start, end], as `peak` (0 without `spill_dirs`)."""
        return _peak(self.spill_samples, start, end)


def _peak(samples: list[tuple[float, int]], start: float | None, end: float | None) -> int:
    start = start if start is not None else float("-inf")
    end = end if end is not None else float("inf")
    inside = [value for stamp, value in list(samples) if start <= stamp <= end]
    if inside:
        return max(inside)
    before = [value for stamp, value in list(samples) if stamp <= end]
    return before[-1] if before else 0
