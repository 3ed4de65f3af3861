"""No process outlives ``ingest`` or ``extract`` (issue 11): after a normal exit, Ctrl-C,
SIGTERM or a failing document, nothing of the command's process group is left, not even
an unreaped zombie (PID 1 of a container often reaps nothing)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")

ARTICLE = """Fighting near {town}

The {group} said on {day} that its fighters had ambushed an army convoy near {town}, killing {n} soldiers.
{leader}, who leads the {group}, said the group would keep attacking government positions.
Residents of {town} said the market stayed closed for a second day.
"""
TOWNS = ["Goma", "Mopti", "Gao", "Kidal", "Beni", "Bunia", "Diffa", "Agadez"]
GROUPS = ["Red Valley Front", "Coastal Defence Brigade", "United Patriotic Army", "Eastern Guard"]
LEADERS = ["Pierre Lumbala", "Amina Sule", "Joseph Okello", "Grace Mutombo"]
DAYS = ["Monday", "Tuesday", "Friday"]


def _corpus(folder: Path, n: int, bad: bool = False) -> Path:
    folder.mkdir()
    for i in range(n):
        text = ARTICLE.format(town=TOWNS[i % 8], group=GROUPS[i % 4], leader=LEADERS[i // 4 % 4],
                              day=DAYS[i % 3], n=3 + i % 20)
        # enough text that the run lasts past the moment a signal is sent
        (folder / f"a{i:03d}.txt").write_text(text * 4, encoding="utf-8")
    if bad:
        (folder / "broken.txt").write_bytes(b"\x00\x01\x02" * 1000)   # a binary file: one error line
    return folder


def _cli() -> list[str]:
    exe = shutil.which("allegiance", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "allegiance"]


def _group(pgid: int) -> list[tuple[int, str, str]]:
    left = []
    for p in psutil.process_iter(["pid", "name", "status"]):
        try:
            if os.getpgid(p.pid) == pgid:
                left.append((p.pid, p.info["name"], p.info["status"]))
        except (ProcessLookupError, psutil.Error):
            continue
    return left


def _run(args: list[str], send: int | None, tmp_path: Path) -> tuple[int, str, list]:
    proc = subprocess.Popen(_cli() + args, start_new_session=True, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        if send is not None:
            # wait until the worker pool is up (two workers and the pool's helper)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                kids = psutil.Process(proc.pid).children(recursive=True)
                if len(kids) >= 2:
                    break
                time.sleep(0.1)
            assert len(kids) >= 2, "the worker pool never started"
            time.sleep(1.0)
            assert proc.poll() is None, "the run ended before the signal could be sent"
            proc.send_signal(send)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    time.sleep(0.3)   # let the kernel finish reparenting anything left
    return proc.returncode, err, _group(proc.pid)


@pytest.mark.parametrize("command", ["ingest", "extract"])
@pytest.mark.parametrize("how", ["normal", "failing-document", "sigint", "sigterm"])
def test_no_process_outlives_the_command(tmp_path, command, how):
    docs = _corpus(tmp_path / "docs", 16 if how in ("normal", "failing-document") else 160,
                   bad=how == "failing-document")
    args = [command, "--workers", "2", str(docs)]
    if command == "ingest":
        args += ["--db", str(tmp_path / "s.duckdb")]
    send = {"sigint": signal.SIGINT, "sigterm": signal.SIGTERM}.get(how)
    rc, err, left = _run(args, send, tmp_path)
    assert left == [], f"left after {command} ({how}): {left}\n{err[-2000:]}"
    if how == "normal":
        assert rc == 0, err[-2000:]
    elif how == "failing-document":
        assert "broken.txt" in err
        assert "Traceback" not in err
    elif how == "sigint":
        assert rc == 130 and "error: interrupted" in err, err[-2000:]
    else:
        assert rc == 143 and "error: terminated" in err, err[-2000:]
    assert "Traceback" not in err and "leaked" not in err, err[-2000:]
