"""Run every command on one mutated checkpoint, in-process, and classify what each did.

The CLI's promise for any input: exit 0/1 with no error line, or exit 2 with
exactly one line ``criu-inspect: error: ...``; never an internal error, a
hang, a changed input or a temporary directory left behind. Every run is held
to it; a broken promise is a *defect* with a signature (its class, the
command and, for an exception, its type and the innermost project frame), so
a campaign counts distinct defects, not symptoms.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import random
import shutil
import signal
import stat
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from . import mutators

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "sample-images"
# checkpoint -> weight: the large JVM one costs most per case, so it is picked less often
BASES = {p.name: (1 if p.name == "jvm" else 4) for p in sorted(CORPUS.iterdir()) if p.is_dir() and p.name[0] != "_"}
FIXES = ["detach-tty", "uid=1000", "scrub-secrets", "relocate=/tmp:/var/tmp", "bounding-set", "no-new-privs", None]
OK_CLASSES = ("ok", "error")


class Hang(BaseException):
    """Raised by the alarm: not an Exception, so no handler in the project can swallow it."""


@dataclass
class Run:
    command: list[str]
    rc: int | None
    cls: str  # ok | error | internal | multi-line | exit-code | hang | input-changed | temp-left
    stderr: str = ""
    signature: str = ""
    seconds: float = 0.0


@dataclass
class CaseResult:
    index: int
    base: str
    mutator: str
    what: str
    runs: list[Run] = field(default_factory=list)
    max_rss_kib: int = 0

    @property
    def defects(self) -> list[Run]:
        return [r for r in self.runs if r.cls not in OK_CLASSES]


def _alarm(signo, frame):
    raise Hang()


def _innermost_project_frame(tb) -> str:
    where = "?"
    for fs in traceback.extract_tb(tb):
        rel = os.path.relpath(fs.filename, ROOT)
        if rel.startswith(("inspector", "tui")):
            where = f"{rel}:{fs.name}"
    return where


def run_command(argv: list[str], timeout: float) -> tuple[int | None, str, str, str]:
    """(exit code or None on a hang, stdout, stderr, exception signature) of ``criu-inspect ARGV`` in-process."""
    from inspector import cli

    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="replace", write_through=True)
    err = io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    rc: int | None
    exc_sig = ""
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = tui_screens(*argv[1:]) if argv[0] == "tui-screens" else cli.main(argv)
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 2
    except Hang:
        rc = None
    except Exception as exc:  # CRIU_INSPECT_DEBUG makes the CLI re-raise what it would call an internal error
        rc = 2
        exc_sig = f"{type(exc).__name__} at {_innermost_project_frame(exc.__traceback__)}"
        err.write(f"criu-inspect: error: internal error: {type(exc).__name__}: {exc}\n")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return rc, out.buffer.getvalue().decode("utf-8", "replace"), err.getvalue(), exc_sig


def tui_screens(path: str, path_b: str | None = None) -> int:
    """What ``criu-inspect tui`` computes, headless: the session (tui.model, no Textual), then every row of
    every screen, each process's overview and the first lines of each VMA's hex view."""
    import sys

    from inspector import source
    from inspector.errors import InspectError

    try:
        return _tui_screens(path, path_b)
    except InspectError as exc:  # the command says it in one line before the screen is taken over
        sys.stderr.write(f"criu-inspect: error: {exc.one_line()}\n")
        return 2
    finally:
        source.remove_extractions()  # as the CLI does when a command ends


def _tui_screens(path: str, path_b: str | None) -> int:
    from inspector.errors import InspectError
    from tui import model

    session = model.load_session(path, path_b)
    session.summary()
    session.verdict()
    session.problems()
    for _depth, proc, _status in session.tree_rows():
        session.fd_rows(proc.pid)
        model.overview_sections(proc)
        session.overview_extra(proc.pid)
        for vma, _status, _changed in session.vma_rows(proc.pid)[:8]:
            try:
                doc = session.hex_document(proc.pid, vma)
            except InspectError:  # the app shows it as a notification and stays on the VMA list
                continue
            for i in range(min(doc.line_count, 4)):
                model.hex_text(doc.line(i))
    return 0


def classify(rc: int | None, stderr: str, exc_sig: str) -> tuple[str, str]:
    """(class, detail for the signature) of one run against the one-line contract."""
    if rc is None:
        return "hang", ""
    if exc_sig or "internal error" in stderr or "Traceback" in stderr:
        return "internal", exc_sig or stderr.strip().splitlines()[-1][:120]
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    if rc in (0, 1):  # notes on stderr are fine ("'x' not found"); an error line is not
        bad = [ln for ln in lines if ln.startswith("criu-inspect: error") or not ln.startswith("criu-inspect: ")]
        return ("ok", "") if not bad else ("exit-code", f"exit {rc} with an error line")
    errors = [ln for ln in lines if not ln.startswith("criu-inspect: warning: ")]
    if rc == 2:
        if len(errors) != 1 or not errors[0].startswith("criu-inspect: error: "):
            return "multi-line", f"{len(errors)} lines"
        return "error", ""
    return "exit-code", f"exit {rc}"


def snapshot(d: Path, deep: bool) -> dict:
    """What every path under ``d`` is (not following symlinks); with ``deep``, the content hashes too."""
    out = {}
    for root, dirs, files in os.walk(d):
        for name in dirs + files:
            p = os.path.join(root, name)
            st = os.lstat(p)
            key = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_size, st.st_mtime_ns)
            if stat.S_ISLNK(st.st_mode):
                key += (os.readlink(p),)
            elif deep and stat.S_ISREG(st.st_mode):
                with open(p, "rb") as fh:
                    key += (hashlib.sha1(fh.read()).hexdigest(),)
            out[os.path.relpath(p, d)] = key
    return out


def commands(rng: random.Random, case: Path, base: Path, mutated_file: str | None, out: Path) -> list[list[str]]:
    fix = rng.choice(FIXES)
    repair = ["repair", str(case), "-o", str(out)] + (["--fix", fix] if fix else [])
    cmds = [
        ["show", str(case)],
        ["show", str(case), "--format", "json", "--view", rng.choice(["all", "mems", "env", "images"])],
        ["check", str(case), *rng.choice([[], [], ["--host"]])],  # --host: the host rules stat paths of the images
        ["check", str(case), "--target", "root", "--format", rng.choice(["json", "sarif", "junit"])],
        ["grep", str(case), *rng.choice([["PATH="], ["tree"], ["--regex", "[A-Z_]+=/"], ["--ignore-case", "home"]])],
        ["diff", str(base), str(case), "--pages"],
        repair,
        ["tui-screens", str(case)] + ([str(base)] if rng.random() < 0.3 else []),
        [
            "show",
            str(case),
            rng.choice(["mem", "net", "mounts", "stats", "sockets"]),
            *rng.choice([[], ["--format", "json"]]),
        ],
        [
            "memdump",
            str(case),
            "--pid",
            str(_first_pid(base)),
            *rng.choice([[], ["--prot", "rw"], ["--format", "raw", "-o", f"{out}.raw"]]),
        ],
        ["coredump", str(case), "--pid", str(_first_pid(base)), "-o", f"{out}.core"],
    ]
    if mutated_file and (case / mutated_file).exists():
        cmds.append(["decode", str(case / mutated_file)])
    return cmds


@functools.cache
def _first_pid(base: Path) -> int:
    """The first process of the unmutated copy: memdump and coredump need a pid to ask for."""
    from inspector.model.checkpoint import Checkpoint

    return Checkpoint(str(base)).processes[0].pid


def _mutated_name(what: str) -> str | None:
    head = what.split(":", 1)[0]
    return head if head.endswith(".img") or head.startswith("stats-") else None


def run_case(index: int, seed: int, work: Path, timeout: float = 10.0, notify=None) -> CaseResult:
    """Mutate a copy of a corpus checkpoint (chosen by seed and index) and run every command on it."""
    rng = random.Random(f"{seed}:{index}")
    base_name = rng.choices(list(BASES), list(BASES.values()))[0]
    case_root = work / f"case-{index}"
    shutil.rmtree(case_root, ignore_errors=True)
    case_root.mkdir(parents=True)
    base, case = case_root / "orig", case_root / base_name
    shutil.copytree(CORPUS / base_name, base, symlinks=True)
    shutil.copytree(CORPUS / base_name, case, symlinks=True)
    try:
        mutator, what = mutators.mutate(rng, case)
    except Exception as exc:  # a bug of the harness, not of the project: say so and run nothing
        result = CaseResult(index, base_name, "harness", f"mutator failed: {type(exc).__name__}: {exc}")
        result.runs.append(Run(["(mutate)"], None, "harness", repr(exc), f"harness | mutate | {type(exc).__name__}"))
        return result
    result = CaseResult(index, base_name, mutator, what)
    target = next(case_root.glob("archive.tar*"), case)  # an archive mutator packed the case
    if notify:
        notify("case", (base_name, mutator, what))
    tmp = Path(tempfile.gettempdir())
    before_tmp = set(os.listdir(tmp))
    deep_before = {"case": snapshot(case_root, True), "base": snapshot(base, True)}
    out = case_root / "out"
    for argv in commands(rng, target, base, _mutated_name(what) if target == case else None, out):
        if notify:
            notify("cmd", argv)
        shallow = snapshot(case_root, False)
        t0 = time.monotonic()
        rc, _stdout, stderr, exc_sig = run_command(argv, timeout)
        run = Run(argv, rc, "", stderr, seconds=time.monotonic() - t0)
        run.cls, detail = classify(rc, stderr, exc_sig)
        if out.exists():
            shutil.rmtree(out)  # the repair's output, not an input
        for written in case_root.glob("out.*"):
            written.unlink()  # memdump's and coredump's outputs, likewise
        if run.cls in OK_CLASSES and snapshot(case_root, False) != shallow:
            run.cls, detail = "input-changed", "a path under the input changed"
        left = set(os.listdir(tmp)) - before_tmp
        if left and run.cls in OK_CLASSES:
            run.cls, detail = "temp-left", ", ".join(sorted(left))[:80]
        for name in left:
            shutil.rmtree(tmp / name, ignore_errors=True)
        run.signature = f"{run.cls} | {argv[0]} | {detail if run.cls == 'internal' else mutator}"
        result.runs.append(run)
    if snapshot(case_root, True) != deep_before["case"] or snapshot(base, True) != deep_before["base"]:
        result.runs.append(Run(["(all)"], None, "input-changed", signature=f"input-changed | (all) | {mutator}"))
    if sys.platform == "linux":
        import resource

        result.max_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return result


def keep_reproducer(result: CaseResult, run: Run, work: Path, findings: Path, seed: int) -> Path:
    """Save the mutated checkpoint and how to rerun the failing command, once per signature."""
    import re

    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", run.signature)[:100]
    dest = findings / slug
    if dest.exists():
        return dest
    dest.mkdir(parents=True)
    src = work / f"case-{result.index}" / result.base
    if src.exists():
        subprocess_safe_copy(src, dest / result.base)
    argv = [
        a.replace(str(src), "$DIR/" + result.base).replace(str(work / f"case-{result.index}" / "orig"), "$ORIG")
        for a in run.command
    ]
    (dest / "README.txt").write_text(
        f"signature: {run.signature}\nseed {seed} case {result.index}: {result.base}, {result.mutator}: {result.what}\n"
        f"exit: {run.rc}\nstderr:\n{run.stderr}\n"
        f"rerun: DIR=$(dirname $0) ORIG=sample-images/{result.base} criu-inspect {' '.join(argv)}\n"
        f"or: python -m tests.fuzz --seed {seed} --only {result.index}\n"
    )
    return dest


def subprocess_safe_copy(src: Path, dest: Path) -> None:
    """Copy a mutated checkpoint as it is: FIFOs and sockets as new ones, symlinks as links."""
    dest.mkdir()
    for entry in os.scandir(src):
        target = dest / entry.name
        st = entry.stat(follow_symlinks=False)
        if entry.is_symlink():
            target.symlink_to(os.readlink(entry.path))
        elif stat.S_ISFIFO(st.st_mode):
            os.mkfifo(target)
        elif entry.is_dir(follow_symlinks=False):
            shutil.copytree(entry.path, target, symlinks=True)
        elif stat.S_ISREG(st.st_mode):
            shutil.copy2(entry.path, target)
