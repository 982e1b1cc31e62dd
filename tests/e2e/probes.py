"""Does a restored program answer? Each probe returns "" when it did, else what it saw instead.

criu's rc 0 is not enough: a program may die of EINTR or ECONNRESET right
after the restore, or run without the lock or the peer it had.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.request
from pathlib import Path

from .lab import wait_until


def http_answers(port: int, expect: bytes = b""):
    def probe(term) -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                body = r.read()
                if r.status != 200:
                    return f"HTTP {r.status} on port {port}"
                if expect and expect not in body:
                    return f"HTTP on port {port} answered without {expect!r}"
                return ""
        except OSError as e:
            return f"no HTTP answer on port {port}: {e}"

    return probe


def _grows(size_now, what: str, seconds: float = 3.0) -> str:
    before = size_now()
    grew = wait_until(lambda: size_now() > before, seconds, step=0.1)
    return "" if grew else f"{what} did not grow in {seconds:.0f} s (stuck at {before} bytes)"


def output_grows(path: Path, seconds: float = 3.0):
    """The program keeps writing its output file."""
    return lambda term: _grows(lambda: os.path.getsize(path), str(path), seconds)


def last_tick(path: Path) -> int | None:
    ticks = [int(line.split()[1]) for line in path.read_text().splitlines() if line.startswith("tick ")]
    return ticks[-1] if ticks else None


def shared_counter_goes_on(path: Path, seconds: float = 3.0):
    """The program keeps writing, counting on from where it was: its counter lives in shared memory, so a
    count that restarted would mean the shared memory came back empty."""

    def probe(term) -> str:
        before = last_tick(path)
        problem = _grows(lambda: os.path.getsize(path), str(path), seconds)
        if problem:
            return problem
        after = last_tick(path)
        return (
            ""
            if before is not None and after is not None and after > before
            else f"the shared counter did not go on ({before} -> {after})"
        )

    return probe


def terminal_output_grows(seconds: float = 3.0):
    """The program keeps writing to the terminal criu handed it."""
    return lambda term: _grows(lambda: len(term.output), "the terminal's output", seconds)


def sqlite_locked(db: Path):
    """Another connection cannot take a write lock: the restored sqlite3 still holds its lock."""

    def probe(term) -> str:
        con = sqlite3.connect(db, timeout=0)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.rollback()
            return f"{db} was not locked (the lock was lost)"
        except sqlite3.OperationalError as e:
            return "" if "locked" in str(e) else f"{db}: {e}"
        finally:
            con.close()

    return probe


def flock_held(path: Path):
    """Another open file description cannot take the flock() the restored program holds."""
    import fcntl

    def probe(term) -> str:
        with open(path, "rb") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return ""
            fcntl.flock(fh, fcntl.LOCK_UN)
            return f"{path} was not locked (the flock was lost)"

    return probe


def all_of(*probes):
    def probe(term) -> str:
        for p in probes:
            problem = p(term)
            if problem:
                return problem
        return ""

    return probe


def runs_as(pid: int, uid: int):
    """The restored task runs with the uid a repair gave it."""

    def probe(term) -> str:
        status = Path(f"/proc/{pid}/status").read_text()
        real = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
        return "" if int(real) == uid else f"pid {pid} runs as uid {real}, not {uid}"

    return probe
