"""The programs the end-to-end scenarios checkpoint: each started detached, as root or a test user,
with its data in the lab's own directory, and the probe that tells whether it still answers."""

from __future__ import annotations

import os
import re
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from . import probes
from .lab import tree_of as tree_pids
from .realcriu import User

# the JVM of the corpus's jvm checkpoint: small heap, no hsperfdata mapping
JAVA_FLAGS = ["-Xmx32m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData"]


@dataclass
class Running:
    pid: int
    data: Path  # the program's own files (criu checks their sizes at restore: the lab resets them)
    probe: object  # probe(term) -> "" when the program answers
    files: dict[str, Path] = field(default_factory=dict)


def _data(lab, name: str, user: User | None) -> Path:
    return lab.mkdir(name, owner=user)


def ticker(lab, user: User | None = None, nnp: bool = False, name: str = "ticker", env=None) -> Running:
    """The corpus's ticker: prints a line a second to a file its user owns."""
    data = _data(lab, name, user)
    out = lab.file(data / "out", owner=user)
    pid = lab.start([str(lab.program("ticker.c"))], user=user, nnp=nnp, out=out, cwd=data, env=env)
    lab.wait_for(lambda: out.stat().st_size > 0, what="the ticker's first line")
    return Running(pid, data, probes.output_grows(out), {"out": out})


def shm_ticker(lab) -> Running:
    """A ticker whose counter lives in shared anonymous memory, beside a string named like a secret (root)."""
    data = _data(lab, "shmticker", None)
    out = lab.file(data / "out")
    pid = lab.start([str(lab.program("shmticker.c"))], out=out, cwd=data)
    lab.wait_for(lambda: out.stat().st_size > 0, what="the shm ticker's first line")
    return Running(pid, data, probes.shared_counter_goes_on(out), {"out": out})


def devnull_ticker(lab) -> Running:
    """The ticker as root with stdin, stdout and stderr on /dev/null (the corpus's plain-devnull)."""
    data = _data(lab, "devnull", None)
    pid = lab.start([str(lab.program("ticker.c"))], cwd=data)
    lab.wait_for(lambda: os.path.exists(f"/proc/{pid}/fd/2"), what="the ticker")

    def runs(term) -> str:
        return "" if os.path.exists(f"/proc/{pid}") else f"pid {pid} is gone"

    return Running(pid, data, runs)


def http_server(lab, user: User | None = None, nnp: bool = False) -> Running:
    """python3 -m http.server on 127.0.0.1, its log in a file its user owns."""
    port = lab.free_port()
    data = _data(lab, "http", user)
    log = lab.file(data / "server.log", owner=user)
    pid = lab.start(
        ["python3", "-m", "http.server", "-b", "127.0.0.1", str(port)], user=user, nnp=nnp, out=log, cwd=data
    )
    lab.wait_for(lambda: _http_ok(port), what=f"http.server on port {port}")
    return Running(pid, data, probes.http_answers(port), {"log": log})


def jvm_http(lab, user: User | None = None, nnp: bool = False) -> Running:
    """A JVM (the distribution's JDK) serving HTTP with com.sun.net.httpserver (_scenario-src/Hello.java)."""
    port = lab.free_port()
    data = _data(lab, "jvm", user)
    log = lab.file(data / "hello.log", owner=user)
    classes = lab.program("Hello.java")
    pid = lab.start(
        ["java", *JAVA_FLAGS, "-cp", str(classes), "Hello", str(port), str(log)], user=user, nnp=nnp, cwd=data
    )
    lab.wait_for(lambda: b"listening" in log.read_bytes(), timeout=60, what="the JVM's HTTP server")
    return Running(pid, data, probes.http_answers(port, expect=b"hello"), {"log": log})


def tmux_pane(lab, user: User, nnp: bool = True) -> Running:
    """A tmux server (the pane's pty master) with one pane running a shell loop."""
    data = _data(lab, "tmux", user)
    out = lab.file(data / "pane.out", owner=user)
    sock = data / "tmux.sock"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(lab.home), "TERM": "xterm", "SHELL": "/bin/sh"}
    loop = f"while :; do date >> {out}; echo tick; sleep 1; done"
    subprocess.run(
        [*user.setpriv(nnp=nnp), "tmux", "-S", str(sock), "new-session", "-d", "-x", "80", "-y", "24", loop],
        env=env,
        cwd=data,
        check=True,
        timeout=30,
        capture_output=True,
    )
    shown = subprocess.run(
        [*user.setpriv(), "tmux", "-S", str(sock), "display", "-p", "#{pid}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    pid = int(shown.stdout)
    lab.adopt(pid)  # the tmux server daemonized itself: it is ours all the same
    lab.wait_for(lambda: out.stat().st_size > 0, what="the tmux pane's first line")

    def pane_answers(term) -> str:
        r = subprocess.run(
            [*user.setpriv(), "tmux", "-S", str(sock), "capture-pane", "-p"],
            env=env,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if r.returncode != 0 or "tick" not in r.stdout:
            return f"tmux capture-pane: rc {r.returncode} {r.stderr.strip()!r}"
        return ""

    return Running(pid, data, probes.all_of(pane_answers, probes.output_grows(out)), {"out": out, "sock": sock})


def sqlite_lock(lab, user: User, nnp: bool = True) -> Running:
    """sqlite3 in the middle of an exclusive transaction, kept alive by a .shell loop."""
    data = _data(lab, "sqlite", user)
    db = data / "app.db"
    subprocess.run(["sqlite3", str(db), "CREATE TABLE t(x); INSERT INTO t VALUES (1);"], check=True, timeout=30)
    os.chown(db, user.uid, user.gid)
    out = lab.file(data / "out", owner=user)
    pid = lab.start(
        [
            "sqlite3",
            "-cmd",
            "BEGIN EXCLUSIVE;",
            "-cmd",
            "INSERT INTO t VALUES (2);",
            "-cmd",
            f".shell while :; do echo tick >> {out}; sleep 1; done",
            str(db),
        ],
        user=user,
        nnp=nnp,
        cwd=data,
    )
    lab.wait_for(lambda: out.stat().st_size > 0, what="sqlite3's .shell loop")
    assert not probes.sqlite_locked(db)(None), "sqlite3 does not hold its lock before the dump"
    return Running(pid, data, probes.all_of(probes.sqlite_locked(db), probes.output_grows(out)), {"db": db})


def on_pty(lab, user: User | None, nnp: bool = True) -> Running:
    """The ticker on a pty whose master stays outside the tree (_scenario-src/ptyrun.py): a shell job."""
    data = _data(lab, "pty", user)
    log = lab.file(data / "pty.log", owner=user)
    lab.start(
        [str(lab.program("ptyrun.py")), str(log), "3", str(lab.program("ticker.c"))], user=user, nnp=nnp, cwd=data
    )
    found = lab.wait_for(lambda: re.search(rb"child pid (\d+)", log.read_bytes()), what="ptyrun's child")
    lab.wait_for(lambda: b"tick 1" in log.read_bytes(), what="the ticker on its pty")
    return Running(int(found.group(1)), data, probes.terminal_output_grows(), {"log": log})


def process_tree(lab, user: User | None = None, nnp: bool = False) -> Running:
    """The corpus's tree: 4 processes, 7 threads, a child in its own session, another in its own group."""
    data = _data(lab, "tree", user)
    out = lab.file(data / "out", owner=user)
    pid = lab.start([str(lab.program("tree.c"))], user=user, nnp=nnp, out=out, cwd=data)
    lab.wait_for(lambda: out.read_bytes().count(b"pid") >= 4, what="all four processes")
    pids = tree_pids(pid)

    def all_alive(term) -> str:
        gone = [p for p in pids if not os.path.exists(f"/proc/{p}")]
        return f"pids {gone} are gone" if gone else ""

    return Running(pid, data, probes.all_of(all_alive, probes.output_grows(out)), {"out": out})


def ghost(lab, user: User | None = None, nnp: bool = False, name: str = "ghost") -> Running:
    """A deleted file kept open (a ghost) and shared and private mappings of a regular file."""
    data = _data(lab, name, user)
    lab.file(data / "mapped.bin", owner=user, content=b"M" * 65536)
    out = lab.file(data / "out", owner=user)
    pid = lab.start([str(lab.program("ghost.c")), str(data)], user=user, nnp=nnp, out=out, cwd=data)
    lab.wait_for(lambda: b"tick 1" in out.read_bytes(), what="the ghost program")
    return Running(pid, data, probes.output_grows(out), {"out": out})


def locker(lab, user: User | None = None, nnp: bool = False) -> Running:
    """The corpus's locker: a parent holding flock(), a child holding a POSIX lock (--file-locks)."""
    data = _data(lab, "flock", user)
    out = lab.file(data / "out", owner=user)
    pid = lab.start([str(lab.program("locker.c")), str(data)], user=user, nnp=nnp, out=out, cwd=data)
    lab.wait_for(lambda: b"holds posix lock" in out.read_bytes(), what="both locks")
    return Running(
        pid, data, probes.all_of(probes.flock_held(data / "flock.txt"), probes.output_grows(out)), {"out": out}
    )


def tail_follow(lab, user: User | None = None) -> Running:
    """tail -F on a log: blocked in poll() on its inotify fd; the probe appends a line and expects it out."""
    data = _data(lab, "tail", user)
    log = lab.file(data / "app.log", owner=user, content=b"first line\n")
    out = lab.file(data / "out", owner=user)
    pid = lab.start(["tail", "-F", str(log)], user=user, out=out, cwd=data)
    lab.wait_for(lambda: b"first line" in out.read_bytes(), what="tail's first line")

    def follows(term) -> str:
        with open(log, "ab") as fh:
            fh.write(b"one more line\n")
        return probes.output_grows(out)(term)

    return Running(pid, data, follows, {"log": log, "out": out})


def _http_ok(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False
