"""Debian's crit 3.17 as the reference: run it, cache its answers for the session.

crit runs on the system python (/usr/bin/python3 with Debian's protobuf),
never in our virtualenv. Tests that need it skip when it is not installed.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import CORPUS

CRIT = "/usr/bin/crit"
SYSTEM_PYTHON = "/usr/bin/python3"
DRIVER = Path(__file__).with_name("_crit_driver.py")


def crit_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["LC_ALL"] = "C.UTF-8"
    return env


def require_crit() -> None:
    if not (os.access(CRIT, os.X_OK) and os.access(SYSTEM_PYTHON, os.X_OK)):
        pytest.skip("Debian's crit (apt package criu) is not installed")


def corpus_image_files() -> list[Path]:
    """Every image file of the corpus: all checkpoints and _failed-dumps."""
    files = []
    for path in CORPUS.rglob("*"):
        rel = path.relative_to(CORPUS)
        if rel.parts[0] == "_restore-logs" or not path.is_file():
            continue
        if path.name.endswith(".img") or path.name.startswith("stats-"):
            files.append(path)
    return sorted(files)


@functools.cache
def crit_decode_all() -> dict[tuple[str, bool], tuple[int, str, str]]:
    """(file, pretty) -> (exit code, stdout, stderr) of `crit decode -i FILE [--pretty]`."""
    require_crit()
    files = corpus_image_files()
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(DRIVER)],
        input="".join(f"{f}\n" for f in files),
        capture_output=True,
        text=True,
        env=crit_env(),
        timeout=600,
    )
    if proc.returncode != 0:
        pytest.fail(f"crit driver failed: {proc.stderr[-2000:]}")
    raw = json.loads(proc.stdout)
    out = {}
    for key, (code, stdout, stderr) in raw.items():
        path, _, mode = key.rpartition("|")
        out[(path, mode == "pretty")] = (code, stdout, stderr)
    return out


def crit_run(*args: str) -> subprocess.CompletedProcess:
    """The crit executable itself, as a user runs it."""
    require_crit()
    return subprocess.run([CRIT, *args], capture_output=True, text=True, env=crit_env(), timeout=120)


EXPLORE_VIEWS = ("ps", "fds", "mems", "rss")


@functools.cache
def crit_explore_all(dirs: tuple[str, ...]) -> dict[tuple[str, str], str]:
    """(dir, view) -> stdout of `crit x DIR VIEW`, run two at a time (2 cores)."""
    require_crit()
    jobs = [(d, v) for d in dirs for v in EXPLORE_VIEWS]

    def one(job):
        d, view = job
        proc = crit_run("x", d, view)
        if proc.returncode != 0:
            pytest.fail(f"crit x {d} {view} failed: {proc.stderr[-1000:]}")
        return job, proc.stdout

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, jobs))


# --- parsers for crit's text output (crit x) --------------------------------
# Formats from pycriu/cli.py: ps "%7d%7d%7d   %s%s" (4 spaces per tree level),
# fds "%d" then "\t%7s: %s", mems "\t%-36s%s%s", rss "\t%lx / %-8d" + VMA columns.

_PS_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\d+)   ( *)(.*)$")
_PID_LINE = re.compile(r"^(\d+)$")
_FD_ROW = re.compile(r"^\t\s*(\S+): (.*)$")
_MEM_ROW = re.compile(r"^\t([0-9a-f]+)-([0-9a-f]+)\s*([r-][w-][x-])(.*)$")
_EXE_ROW = re.compile(r"^\texe\s+(.*)$")
_RSS_ROW = re.compile(r"^\t([0-9a-f]+) / (\d+)")


def parse_ps(text: str) -> list[dict]:
    """Rows in tree order, each with pid, pgid, sid, comm and ppid (from the indentation)."""
    rows: list[dict] = []
    stack: list[int] = []  # pid at each depth
    lines = text.splitlines()
    assert lines and lines[0].split() == ["PID", "PGID", "SID", "COMM"], lines[:1]
    for line in lines[1:]:
        m = _PS_ROW.match(line)
        assert m, f"unparsed crit ps line: {line!r}"
        pid, pgid, sid = int(m[1]), int(m[2]), int(m[3])
        depth = len(m[4]) // 4
        del stack[depth:]
        rows.append({"pid": pid, "pgid": pgid, "sid": sid, "comm": m[5], "ppid": stack[-1] if stack else 0})
        stack.append(pid)
    return rows


def _per_pid(text: str) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = _PID_LINE.match(line)
        if m:
            current = out.setdefault(int(m[1]), [])
        elif line.strip():
            assert current is not None, f"crit line before any pid: {line!r}"
            current.append(line)
    return out


def parse_fds(text: str) -> dict[int, dict[str, str]]:
    """pid -> {"0": target, ..., "cwd": path, "root": path}."""
    out = {}
    for pid, lines in _per_pid(text).items():
        rows = {}
        for line in lines:
            m = _FD_ROW.match(line)
            assert m, f"unparsed crit fds line: {line!r}"
            rows[m[1]] = m[2]
        out[pid] = rows
    return out


def parse_mems(text: str) -> dict[int, dict]:
    """pid -> {"exe": path, "vmas": [{start, end, prot, label}]} (label: crit's text after prot)."""
    out = {}
    for pid, lines in _per_pid(text).items():
        entry: dict = {"exe": None, "vmas": []}
        for line in lines:
            m = _EXE_ROW.match(line)
            if m:
                entry["exe"] = m[1]
                continue
            m = _MEM_ROW.match(line)
            assert m, f"unparsed crit mems line: {line!r}"
            entry["vmas"].append({"start": int(m[1], 16), "end": int(m[2], 16), "prot": m[3], "label": m[4]})
        out[pid] = entry
    return out


def parse_rss(text: str) -> dict[int, list[tuple[int, int]]]:
    """pid -> [(pagemap vaddr, nr_pages as crit read it)]; VMA continuation lines are skipped."""
    out = {}
    for pid, lines in _per_pid(text).items():
        out[pid] = [(int(m[1], 16), int(m[2])) for m in map(_RSS_ROW.match, lines) if m]
    return out
