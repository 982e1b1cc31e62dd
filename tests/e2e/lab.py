"""One end-to-end test's small world: its own temp dir, the programs it starts, real dumps and restores.

Rules this module keeps so that a test can never harm the machine it runs on:
- every program is started here (``start``), and the pids of its tree are
  recorded with their executables before anything is dumped;
- only recorded pids are ever signalled, and only while ``/proc/PID/exe`` is
  still the recorded executable;
- every wait is bounded; ``close`` kills whatever is left and waits for it.
Files live under the lab's directory only (world-traversable, so the test
users can reach their own files in it).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .realcriu import CRIU_PATH_ENV, REPO, RealCriu, User

SCENARIO_SRC = REPO / "sample-images" / "_scenario-src"
PROGRAM_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
# Error lines criu logs and goes past (every root restore on the project machines logs the first)
LOG_NOISE = ("Can't setup RLIMIT_NOFILE", "$XDG_RUNTIME_DIR not set")
SETTLE = 2.0  # seconds a restored program must keep running before it is asked to answer
RESTORE_TIMEOUT = 30.0


def wait_until(predicate, timeout: float, step: float = 0.05):
    """Poll ``predicate`` until it returns something true or ``timeout`` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def exe_of(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def tree_of(pid: int) -> list[int]:
    """pid and its descendants, from /proc/PID/task/TID/children."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                todo.extend(int(c) for c in Path(f"/proc/{p}/task/{tid}/children").read_text().split())
            except OSError:
                pass
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def decisive_error(log: Path) -> str:
    """The first Error line of a criu log that is not known noise (what made the restore fail)."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return f"no log at {log}"
    for line in text.splitlines():
        if "Error (" in line and not any(n in line for n in LOG_NOISE):
            return line.strip()
    return ""


def chown_tree(path: Path, user: User) -> None:
    for p in [path, *path.rglob("*")]:
        os.lchown(p, user.uid, user.gid)


@dataclass
class Dump:
    """A checkpoint this lab made: where, of which tree, and the data files' sizes at dump time."""

    images: Path
    pid: int
    exes: dict[int, str]  # every pid of the dumped tree -> its executable
    sizes: dict[Path, int] = field(default_factory=dict)


@dataclass
class Outcome:
    """What a real restore did: criu's rc, whether the tree still ran after SETTLE, whether it answered."""

    rc: int | None  # None: criu did not finish within the timeout and was killed
    alive: bool
    answered: bool
    why: str  # criu's decisive error line, or what the probe saw
    log: Path

    @property
    def restored(self) -> bool:
        return self.rc == 0 and self.alive and self.answered

    def describe(self) -> str:
        if self.restored:
            return "restored and answered"
        if self.rc is None:
            return f"criu did not finish in time and was killed ({self.why or 'no error logged'})"
        if self.rc != 0:
            return f"criu rc {self.rc}: {self.why}"
        return f"criu rc 0 but {self.why}"


class Terminal:
    """A pty whose slave is criu's controlling terminal; its master is read here so writes never block."""

    def __init__(self, owner: User | None):
        self.master, self.slave = os.openpty()
        if owner is not None:
            os.fchown(self.slave, owner.uid, owner.gid)
        self.output = bytearray()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    @staticmethod
    def make_controlling() -> None:  # runs in the child, after setsid
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    def close_slave(self) -> None:
        if self.slave >= 0:
            os.close(self.slave)
            self.slave = -1

    def close(self) -> None:
        self.close_slave()
        try:
            os.close(self.master)
        except OSError:
            pass
        self._reader.join(timeout=5)


class Lab:
    def __init__(self, criu: RealCriu, base: Path, name: str, bindir: Path, record):
        self.criu = criu
        self.dir = base / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80]
        self.dir.mkdir(parents=True)
        self.dir.chmod(0o755)
        self.bindir = bindir
        self.home = self.dir / "home"
        self.home.mkdir(mode=0o777)
        self.home.chmod(0o777)
        self._record = record
        self._owned: dict[int, str] = {}  # pid -> executable, of every program this lab started or restored
        self._popens: list[subprocess.Popen] = []
        self._terminals: list[Terminal] = []
        self._cgroups: list[Path] = []
        self._n = 0

    # ---- files -------------------------------------------------------------------------------------------

    def mkdir(self, name: str, owner: User | None = None) -> Path:
        d = self.dir / name
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o755)
        if owner is not None:
            os.chown(d, owner.uid, owner.gid)
        return d

    def file(self, path: Path, owner: User | None = None, content: bytes = b"", mode: int = 0o644) -> Path:
        path.write_bytes(content)
        path.chmod(mode)
        if owner is not None:
            os.chown(path, owner.uid, owner.gid)
        return path

    def program(self, name: str) -> Path:
        """A scenario program from sample-images/_scenario-src, built once per session."""
        src = SCENARIO_SRC / name
        if src.suffix == ".c":
            out = self.bindir / src.stem
            if not out.exists():
                flags = ["-pthread"] if "pthread" in src.read_text() else []
                subprocess.run(["cc", "-O1", "-o", f"{out}.tmp", str(src), *flags], check=True, timeout=120)
                os.replace(f"{out}.tmp", out)
            return out
        if src.suffix == ".java":
            out = self.bindir / "java"
            if not (out / f"{src.stem}.class").exists():
                out.mkdir(exist_ok=True)
                out.chmod(0o755)
                subprocess.run(["javac", "-d", str(out), str(src)], check=True, timeout=300)
                for p in out.iterdir():
                    p.chmod(0o644)
            return out
        out = self.bindir / src.name
        if not out.exists():
            shutil.copy(src, out)
            out.chmod(0o755)
        return out

    def cgroup(self) -> Path:
        """A child of this process's own cgroup (v1 pids controller, else the unified hierarchy), removed
        by ``close``: a cgroup the dumped task sits in makes CRIU write cgroup.img."""
        own = dict(line.split(":", 2)[1:] for line in Path("/proc/self/cgroup").read_text().splitlines())
        mounts = [line.split() for line in Path("/proc/self/mounts").read_text().splitlines()]
        v1 = next((m[1] for m in mounts if m[2] == "cgroup" and "pids" in m[3].split(",")), None)
        v2 = next((m[1] for m in mounts if m[2] == "cgroup2"), None)
        base = Path(v1) / own["pids"].lstrip("/") if v1 and "pids" in own else Path(v2) / own[""].lstrip("/")
        group = base / f"criu-inspect-e2e-{os.getpid()}-{len(self._cgroups)}"
        group.mkdir()
        self._cgroups.append(group)
        return group

    # ---- programs ----------------------------------------------------------------------------------------

    def start(
        self,
        argv: list[str],
        *,
        user: User | None = None,
        nnp: bool = False,
        out: Path | None = None,
        cwd: Path | None = None,
        env: dict | None = None,
    ) -> int:
        """Start a program detached (its own session, stdin /dev/null, no inherited fds) as root or ``user``."""
        prefix = user.setpriv(nnp=nnp) if user else (["setpriv", "--no-new-privs"] if nnp else [])
        stdout = open(out, "ab") if out else subprocess.DEVNULL
        try:
            p = subprocess.Popen(
                [*prefix, *argv],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                cwd=cwd or self.dir,
                env={**PROGRAM_ENV, "HOME": str(self.home), **(env or {})},
            )
        finally:
            if out:
                stdout.close()
        self._popens.append(p)
        return p.pid

    def adopt(self, pid: int) -> dict[int, str]:
        """Record pid's tree as this lab's (a program started here, or a tree restored here)."""
        exes = {p: exe for p in tree_of(pid) if (exe := exe_of(p))}
        self._owned.update(exes)
        return exes

    free_port = staticmethod(free_port)

    def wait_for(self, predicate, timeout: float = 20.0, what: str = "the program to be ready"):
        value = wait_until(predicate, timeout)
        assert value, f"timed out after {timeout:.0f} s waiting for {what}"
        return value

    def kill(self, pids) -> None:
        """SIGKILL the given pids that are this lab's and still run the recorded executable, with whatever
        they started since (a shell loop's next child); wait until all are gone, zombies included.

        A zombie still holds its session and group ids: a restore of a tree whose sid is that zombie's
        fails "Can't fork for PID: File exists" until init has reaped it.
        """
        victims = {}
        for p in pids:
            if p in self._owned and exe_of(p) == self._owned[p]:
                victims.update({q: exe for q in tree_of(p) if (exe := exe_of(q))})
        self._owned.update(victims)
        for p, exe in victims.items():
            if exe_of(p) == exe:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.wait_gone(victims)

    def reap(self) -> None:
        for p in self._popens:
            p.poll()

    def wait_gone(self, pids, timeout: float = 15.0) -> None:
        """Wait until none of pids exists (a dumped tree must be gone before it can be restored)."""

        def gone():
            self.reap()
            return not any(os.path.exists(f"/proc/{p}") for p in pids)

        assert wait_until(gone, timeout), f"pids {sorted(pids)} still exist after {timeout:.0f} s"

    # ---- criu --------------------------------------------------------------------------------------------

    def _criu_env(self) -> dict:
        return {"PATH": CRIU_PATH_ENV, "LANG": "C.UTF-8", "HOME": str(self.home)}

    def _criu_argv(self, user: User | None) -> list[str]:
        if user is None:
            return [str(self.criu.binary)]
        return [*user.setpriv(), str(self.criu.capped)]

    def dump(self, pid: int, name: str, *, user: User | None = None, flags=(), data=(), then_kill=()) -> Dump:
        """criu dump of pid's tree (as root, or unprivileged as ``user``); the tree is gone when this returns.

        ``then_kill``: programs of this lab outside the tree to end after the dump, such as a session
        leader that would keep the dumped task a zombie (and its pid taken) forever.
        """
        exes = self.adopt(pid)
        images = self.mkdir(f"dumps/{name}", owner=user)
        argv = [
            *self._criu_argv(user),
            "dump",
            *(["--unprivileged"] if user else []),
            "-t",
            str(pid),
            "-D",
            str(images),
            "-v4",
            "-o",
            "dump.log",
            *flags,
        ]
        r = subprocess.run(argv, cwd=images, env=self._criu_env(), capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            self.kill(exes)
            why = decisive_error(images / "dump.log")
            raise AssertionError(f"criu dump of {name} failed (rc {r.returncode}): {why}")
        self.kill(then_kill)
        self.wait_gone(exes)
        sizes = {f: f.stat().st_size for d in data for f in Path(d).rglob("*") if f.is_file()}
        return Dump(images=images, pid=pid, exes=exes, sizes=sizes)

    def restore(
        self,
        dump: Dump,
        *,
        user: User | None = None,
        flags=(),
        terminal: bool = False,
        images: Path | None = None,
        timeout: float = RESTORE_TIMEOUT,
    ) -> tuple[int | None, Path, Terminal | None]:
        """A real criu restore -d of a copy of the images (as root, or ``--unprivileged`` as ``user``)."""
        # a failed restore may leave a zombie with a dumped pid for init to reap: the pids must be free
        self.wait_gone(dump.exes)
        self._n += 1
        copy = self.dir / "restores" / f"{self._n}-{(images or dump.images).name}"
        copy.parent.mkdir(exist_ok=True)
        copy.parent.chmod(0o755)
        subprocess.run(["cp", "-a", str(images or dump.images), str(copy)], check=True)
        if user is not None:
            chown_tree(copy, user)
        for path, size in dump.sizes.items():  # criu checks the size of every file it reopens
            os.truncate(path, size)
        argv = [
            *self._criu_argv(user),
            "restore",
            *(["--unprivileged"] if user else []),
            "-d",
            "-D",
            str(copy),
            "-v4",
            "-o",
            "restore.log",
            *flags,
        ]
        term = Terminal(user) if terminal else None
        io = (
            dict(stdin=term.slave, stdout=term.slave, stderr=term.slave)
            if term
            else dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        if term:
            self._terminals.append(term)
        p = subprocess.Popen(
            argv,
            cwd=copy,
            env=self._criu_env(),
            start_new_session=True,
            close_fds=True,
            preexec_fn=Terminal.make_controlling if term else None,
            **io,
        )
        self._popens.append(p)
        if term:
            term.close_slave()
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
            # criu and every task it forked so far (a helper for a foreign session has a session of its own)
            self.adopt(p.pid)
            self.kill([p.pid])
        self.adopt_restored(dump)
        return rc, copy / "restore.log", term

    def adopt_restored(self, dump: Dump) -> None:
        """A restored tree has the dumped pids: they are this lab's again (for as long as the exe matches)."""
        self._owned.update(dump.exes)

    def restore_and_probe(self, dump: Dump, probe, **how) -> Outcome:
        """Restore for real, let it run SETTLE seconds, ask ``probe`` whether it answers, then kill it.

        ``probe(term)`` returns "" when the program answered, else what it saw instead.
        """
        rc, log, term = self.restore(dump, **how)
        try:
            if rc != 0:
                return Outcome(rc, False, False, decisive_error(log), log)
            time.sleep(SETTLE)
            if exe_of(dump.pid) != dump.exes[dump.pid]:
                return Outcome(rc, False, False, f"pid {dump.pid} was gone {SETTLE:.0f} s after the restore", log)
            problem = probe(term)
            return Outcome(rc, True, not problem, problem, log)
        finally:
            self.kill(dump.exes)
            if term:
                term.close()

    # ---- criu-inspect ------------------------------------------------------------------------------------

    def inspect(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env.pop("CRIU_INSPECT_DEBUG", None)
        return subprocess.run(
            [sys.executable, "-m", "inspector", *map(str, args)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )

    def check(self, images: Path, *args: str) -> dict:
        r = self.inspect("check", images, *args, "--format", "json")
        assert r.returncode in (0, 1), f"check {images} {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}"
        return json.loads(r.stdout)

    def repair(self, dump: Dump, name: str, *fixes: str) -> Path:
        out = self.dir / "repaired" / name
        out.parent.mkdir(exist_ok=True)
        out.parent.chmod(0o755)
        args = [a for fix in fixes for a in ("--fix", fix)]
        r = self.inspect("repair", dump.images, "-o", out, *args)
        assert r.returncode in (0, 1) and out.is_dir(), f"repair {' '.join(fixes)} exited {r.returncode}: {r.stderr}"
        return out

    # ---- the judgement -----------------------------------------------------------------------------------

    def judge(
        self,
        dump: Dump,
        probe,
        *,
        user: User | None = None,
        flags=(),
        terminal: bool = False,
        images: Path | None = None,
        check_args=(),
        timeout: float = RESTORE_TIMEOUT,
        known_limit: str = "",
    ) -> tuple[dict, Outcome]:
        """check's verdict, and a real restore under the very same conditions: the same user with the
        capped criu's capabilities (or root), the same criu flags, a terminal or none.

        ``known_limit``: why check cannot tell this outcome from the images (recorded apart, not agreed on).
        """
        args = target_args(user) + [f for f in flags if f in CHECK_FLAGS] + (["--terminal"] if terminal else [])
        report = self.check(images or dump.images, *args, *check_args)
        outcome = self.restore_and_probe(
            dump, probe, user=user, flags=flags, terminal=terminal, images=images, timeout=timeout
        )
        self._record(
            images=str((images or dump.images).name),
            check_args=[*args, *check_args],
            verdict=report["verdict"],
            outcome=outcome,
            user=user,
            flags=list(flags),
            terminal=terminal,
            known_limit=known_limit,
        )
        return report, outcome

    def leftovers(self) -> dict[int, str]:
        """Processes whose executable or command line is in this lab's directories: this lab's by construction."""
        mine = (str(self.dir) + "/", str(self.bindir) + "/", str(self.criu.capped), str(self.criu.binary))
        found = {}
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == os.getpid():
                continue
            try:
                cmdline = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            exe = exe_of(int(name)) or ""
            if any(m in cmdline or exe.startswith(m) for m in mine):
                found[int(name)] = exe
        return found

    def close(self) -> None:
        for p in self._popens:  # a child not yet reaped cannot be another process: it and its tree are ours
            if p.poll() is None:
                self.adopt(p.pid)
        self.kill(list(self._owned))
        for p in self._popens:
            p.wait(timeout=15)
        for t in self._terminals:
            t.close()
        left = {p: exe for p, exe in self.leftovers().items() if exe}
        if left:  # a process this lab did not know it had: end it, and fail the test that leaked it
            self._owned.update(left)
            self.kill(list(left))
            raise AssertionError(f"left running after the test: {left}")
        for group in self._cgroups:  # empty once its tasks are gone (a zombie leaves it when reaped)
            assert wait_until(lambda group=group: _rmdir(group), 15), f"cgroup {group} is still busy"


def _rmdir(path: Path) -> bool:
    try:
        path.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


# criu restore flags that check takes as they are
CHECK_FLAGS = (
    "--shell-job",
    "--file-locks",
    "--tcp-established",
    "--tcp-close",
    "--ext-unix-sk",
    "--skip-file-rwx-check",
)


def target_args(user: User | None) -> list[str]:
    """check's target for a restore by root, or by ``user`` with the capped criu (FILE_CAPS)."""
    if user is None:
        return ["--target", "root"]
    return ["--uid", str(user.uid), "--gid", str(user.gid), "--cap", "NET_ADMIN", "--cap", "SYS_PTRACE"]


def findings_text(report: dict) -> str:
    return "; ".join(f"{f['severity']} {f['code']}: {f['message']}" for f in report["findings"]) or "no findings"


def assert_agrees(report: dict, outcome: Outcome) -> None:
    """check's verdict must be the real outcome; a false "restorable" quotes criu's decisive line."""
    real = "restorable" if outcome.restored else "blocked"
    if report["verdict"] == "restorable" and real == "blocked":
        raise AssertionError(
            f"FALSE RESTORABLE: check said restorable, the real restore failed: "
            f"{outcome.describe()} (log {outcome.log})"
        )
    assert report["verdict"] == real, (
        f"check said {report['verdict']} but the real restore {outcome.describe()}; findings: {findings_text(report)}"
    )
