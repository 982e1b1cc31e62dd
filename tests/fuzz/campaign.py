"""A fuzz campaign: cases spread over worker processes, each watched by a hard deadline.

Workers run cases in-process (fast: no interpreter start per command) under
an address-space cap; the parent kills a worker whose case outlives its
deadline (a hang in C code that no alarm interrupts) and starts another.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import signal
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from .harness import CaseResult, Run, keep_reproducer, run_case


@dataclass
class Summary:
    seed: int
    cases: int = 0
    runs: int = 0
    classes: Counter = field(default_factory=Counter)
    signatures: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)  # signature -> "case N: what"
    max_rss_kib: int = 0
    seconds: float = 0.0
    slowest: tuple[float, str] = (0.0, "")

    @property
    def defects(self) -> int:
        return sum(n for s, n in self.signatures.items())

    def add(self, result: CaseResult) -> list[Run]:
        self.cases += 1
        self.runs += len(result.runs)
        self.max_rss_kib = max(self.max_rss_kib, result.max_rss_kib)
        new = []
        for run in result.runs:
            self.classes[run.cls] += 1
            if run.seconds > self.slowest[0]:
                self.slowest = (run.seconds, f"{' '.join(run.command[:1])} on case {result.index} ({result.what})")
            if run.cls in ("ok", "error"):
                continue
            if run.signature not in self.signatures:
                new.append(run)
                self.examples[run.signature] = (
                    f"case {result.index}: {result.base}, {result.what}; {run.stderr.strip()[:300]}"
                )
            self.signatures[run.signature] = self.signatures.get(run.signature, 0) + 1
        return new

    def as_dict(self) -> dict:
        """The figures, and the text that explains them, as JSON can carry them."""
        return {
            "seed": self.seed,
            "cases": self.cases,
            "runs": self.runs,
            "classes": dict(self.classes),
            "signatures": self.signatures,
            "max_rss_kib": self.max_rss_kib,
            "text": self.text(),
        }

    def text(self) -> str:
        lines = [
            f"seed {self.seed}: {self.cases} cases, {self.runs} command runs in {self.seconds:.0f} s; "
            f"peak RSS {self.max_rss_kib / 1024:.0f} MiB; slowest run {self.slowest[0]:.1f} s ({self.slowest[1]})",
            "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(self.classes.items())),
            f"{len(self.signatures)} distinct defect signatures, {self.defects} runs",
        ]
        for sig, n in sorted(self.signatures.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {n:6d}  {sig}\n          e.g. {self.examples[sig]}")
        return "\n".join(lines)


def _worker(conn, parent_end, seed: int, work: str, timeout: float, as_limit: int | None) -> None:
    import ctypes
    import resource

    parent_end.close()  # else recv() never sees EOF when the campaign dies
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: a killed campaign leaves no workers

    if as_limit:
        resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
    os.environ["CRIU_INSPECT_DEBUG"] = "1"  # internal errors surface as exceptions with their frames
    tmp = Path(work) / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    tempfile.tempdir = str(tmp)
    os.environ["TMPDIR"] = str(tmp)
    while True:
        index = conn.recv()
        if index is None:
            return
        result = run_case(index, seed, Path(work), timeout, notify=lambda kind, what: conn.send((kind, what)))
        conn.send(("done", result))


class _Slot:
    def __init__(self, ctx, n: int, seed: int, base: Path, timeout: float, as_limit: int | None):
        self.work = base / f"w{n}"
        self.work.mkdir(parents=True, exist_ok=True)
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_worker, args=(child, self.conn, seed, str(self.work), timeout, as_limit), daemon=True
        )
        self.proc.start()
        child.close()
        self.index: int | None = None
        self.command: list[str] = []
        self.case: tuple[str, str, str] = ("?", "?", "?")
        self.deadline = 0.0

    def kill(self) -> None:
        if self.proc.is_alive():
            os.kill(self.proc.pid, signal.SIGKILL)  # our own child, started above
        self.proc.join(5)
        self.conn.close()


def run(
    indices: list[int],
    seed: int,
    workers: int = 2,
    timeout: float = 10.0,
    findings: Path | None = None,
    as_limit: int | None = 1 << 30,
    progress=None,
) -> Summary:
    """Run the cases ``indices`` of campaign ``seed``; save a reproducer per new signature into ``findings``."""
    summary = Summary(seed)
    start = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="criu-inspect-fuzz-"))
    ctx = mp.get_context("fork")
    pending = list(reversed(indices))
    slots = [_Slot(ctx, n, seed, base, timeout, as_limit) for n in range(max(1, min(workers, len(indices))))]
    hard = timeout * 3 + 30  # per case: every command has `timeout`, the alarm fires first; this is for C-level hangs

    def feed(slot: _Slot) -> None:
        slot.case, slot.command = ("?", "?", "?"), []
        if pending:
            slot.index = pending.pop()
            slot.deadline = time.monotonic() + hard
            slot.conn.send(slot.index)
        else:
            slot.index = None

    def record(result: CaseResult, work: Path) -> None:
        for run_ in summary.add(result):
            if findings is not None:
                keep_reproducer(result, run_, work, findings, seed)
        shutil.rmtree(work / f"case-{result.index}", ignore_errors=True)
        if progress:
            progress(summary)

    try:
        for s in slots:
            feed(s)
        while any(s.index is not None for s in slots):
            busy = [s for s in slots if s.index is not None]
            ready = wait([s.conn for s in busy], timeout=1.0)
            now = time.monotonic()
            for i, s in enumerate(slots):
                if s.index is None:
                    continue
                if s.conn in ready:
                    try:
                        kind, payload = s.conn.recv()
                    except EOFError:  # the worker died (a crash in C, or the address-space cap hit hard)
                        kind, payload = "died", None
                    if kind == "cmd":
                        s.command = payload
                        continue
                    if kind == "case":
                        s.case = payload
                        continue
                    if kind == "done":
                        record(payload, s.work)
                        feed(s)
                        continue
                if s.conn in ready or now > s.deadline:
                    cls = "hang" if now > s.deadline else "crash"
                    cmd = s.command[:1] or ["?"]
                    result = CaseResult(s.index, *s.case)
                    result.runs.append(
                        Run(s.command, None, cls, signature=f"{cls} | {cmd[0]} | {s.case[1]} (worker killed)")
                    )
                    s.kill()
                    record(result, s.work)
                    slots[i] = _Slot(ctx, i + 100 * summary.cases + 2, seed, base, timeout, as_limit)
                    feed(slots[i])
        for s in slots:
            s.conn.send(None)
            s.proc.join(10)
            s.kill()
    finally:
        for s in slots:
            if s.proc.is_alive():
                s.kill()
        shutil.rmtree(base, ignore_errors=True)
    summary.seconds = time.monotonic() - start
    return summary
