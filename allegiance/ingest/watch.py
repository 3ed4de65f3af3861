"""Watching a folder: ingest what is there, then poll for new and changed files.

A file is identified by its path and (mtime, size). Files found at start are ingested at
once; a file that appears or changes later is ingested when two polls in a row see the
same (mtime, size), so a file still being written waits. Each version of a file is
ingested once, whether it succeeded or not (a malformed file is one error line, not an
error on every poll). Ctrl-C or SIGTERM stops the watch after the current batch."""
from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from allegiance.ingest.reader import TEXT_EXTENSIONS

WATCH_SUFFIXES = tuple(sorted(TEXT_EXTENSIONS)) + (".warc", ".warc.gz")
Signature = tuple[int, int]  # (mtime_ns, size)


def watched(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(WATCH_SUFFIXES)


@dataclass
class WatchSummary:
    polls: int = 0
    batches: int = 0
    files: int = 0
    tally: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False


class Watcher:
    """``Watcher(dir, ingest).run()``; ``ingest(paths) -> tally dict`` stores the files."""

    def __init__(
        self,
        directory: str | os.PathLike,
        ingest: Callable[[list[str]], dict[str, int]],
        *,
        interval: float = 5.0,
        max_polls: int | None = None,
        should_stop: Callable[[], bool] | None = None,
        log: Callable[[str], None] | None = None,
        report: Callable[[list[str], dict[str, int]], None] | None = None,
    ):
        self.directory = Path(directory).expanduser().resolve()
        self.ingest = ingest
        self.interval = max(0.01, float(interval))
        self.max_polls = max_polls
        self.should_stop = should_stop or (lambda: False)
        self.log = log or (lambda msg: None)
        self.report = report or (lambda paths, tally: None)
        self.done: dict[str, Signature] = {}
        self.pending: dict[str, Signature] = {}
        self.summary = WatchSummary()
        self._scan_error: str | None = None

    # -- scanning ----------------------------------------------------------------------
    def scan(self) -> dict[str, Signature]:
        """Watched files under the folder (recursive; hidden files and folders skipped).

        Symlinks are followed, to files and to folders, as the batch reader does
        (``reader._walk_folder``): each real folder is read once, real folders before
        links, so a folder that is also linked is listed under its own path, and a link
        back to a folder above it (a cycle) is not walked again."""
        found: dict[str, Signature] = {}
        problem = None
        try:
            st = os.stat(self.directory)
            seen = {(st.st_dev, st.st_ino)}
        except OSError as exc:
            seen = set()
            problem = f"cannot read folder {self.directory}: {exc.strerror or exc}"
        stack = [self.directory] if seen else []
        links: list[Path] = []   # folder symlinks, walked once every real folder is read
        while stack or links:
            if not stack:
                link = links.pop(0)
                try:
                    dst = os.stat(link)
                except OSError:
                    continue   # broken, a loop, or vanished since the listing
                if (dst.st_dev, dst.st_ino) in seen:
                    continue   # a folder read already (a cycle, or a second link to it)
                seen.add((dst.st_dev, dst.st_ino))
                stack.append(link)
                continue
            folder = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                problem = f"cannot read folder {folder}: {exc.strerror or exc}"
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        est = entry.stat(follow_symlinks=False)
                        if (est.st_dev, est.st_ino) not in seen:
                            seen.add((est.st_dev, est.st_ino))
                            stack.append(Path(entry.path))
                    elif entry.is_symlink() and entry.is_dir():
                        links.append(Path(entry.path))
                    elif entry.is_file() and watched(entry.name):
                        st = entry.stat()
                        found[entry.path] = (st.st_mtime_ns, st.st_size)
                except OSError:
                    continue  # vanished between listing and stat
        if problem != self._scan_error and problem:
            self.log(f"error: {problem}")
        self._scan_error = problem
        return found

    def poll(self) -> list[str]:
        """One poll: find ready files, ingest them; returns the paths ingested."""
        first = self.summary.polls == 0
        self.summary.polls += 1
        current = self.scan()
        ready = []
        for path, sig in sorted(current.items()):
            if self.done.get(path) == sig:
                continue
            if first or self.pending.get(path) == sig:
                ready.append(path)
            else:
                self.pending[path] = sig  # new or still changing: look again next poll
        self.pending = {p: s for p, s in self.pending.items() if p in current and p not in ready}
        self.done = {p: s for p, s in self.done.items() if p in current}
        if ready:
            tally = self.ingest(ready)
            for path in ready:
                self.done[path] = current[path]
            self.summary.batches += 1
            self.summary.files += len(ready)
            for k, v in tally.items():
                self.summary.tally[k] = self.summary.tally.get(k, 0) + v
            self.report(ready, tally)
        return ready

    # -- loop --------------------------------------------------------------------------
    def _sleep(self) -> None:
        end = time.monotonic() + self.interval
        while not self.should_stop():
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.1, left))

    def run(self) -> WatchSummary:
        try:
            while not self.should_stop():
                self.poll()
                if self.max_polls is not None and self.summary.polls >= self.max_polls:
                    break
                self._sleep()
        except KeyboardInterrupt:
            self.summary.interrupted = True
        if self.should_stop():
            self.summary.interrupted = True
        return self.summary


@contextmanager
def stop_on_signals() -> Iterator[Callable[[], bool]]:
    """SIGTERM and Ctrl-C ask the watch to stop (a second Ctrl-C interrupts at once).
    Yields ``should_stop``. Outside the main thread no handler is installed."""
    flag = {"stop": False}

    def handler(signum, frame):
        if flag["stop"] and signum == signal.SIGINT:
            raise KeyboardInterrupt
        flag["stop"] = True

    installed = []
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                installed.append((sig, signal.signal(sig, handler)))
            except (ValueError, OSError):
                pass
    try:
        yield lambda: flag["stop"]
    finally:
        for sig, previous in installed:
            signal.signal(sig, previous)
