"""A loaded session: one checkpoint (or two, diff mode) with its findings and differences.

``load_session`` decodes everything the screens show in a worker thread,
reporting progress process by process; ``Session`` answers the screens'
questions (the tree, a process's rows, a VMA's hex document) from the model,
the checker's report and the diff, the same library the CLI uses.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from inspector.errors import InspectError
from inspector.model import names
from inspector.model.checkpoint import Checkpoint
from inspector.model.types import Fd, Process, Vma
from inspector.pages import PageReader
from inspector.report.show_text import human_bytes
from inspector.textfmt import counted

from .hexdoc import HexDocument

if TYPE_CHECKING:
    from inspector.checks.base import CheckReport, Finding, Target
    from inspector.diff.context import DiffOptions
    from inspector.report.textout import Block

    from .diffview import DiffView

Progress = Callable[[int, int, str], None]  # (step done, steps, what is being done now)

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass
class Session:
    a: Checkpoint
    b: Checkpoint | None = None
    target: Target | None = None
    report: CheckReport | None = None  # of A
    report_b: CheckReport | None = None  # and of B, in diff mode (its verdict only)
    findings_note: str = ""  # why there are no findings to show
    diff: DiffView | None = None
    diff_note: str = ""
    _findings_by_pid: dict[int | None, list[Finding]] = field(default_factory=dict, repr=False)

    @property
    def findings(self) -> list[Finding]:
        if self.report is None:
            return []
        return sorted(self.report.findings, key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.code, f.pid or 0))

    def findings_for(self, pid: int) -> list[Finding]:
        if not self._findings_by_pid and self.report is not None:
            for f in self.report.findings:
                self._findings_by_pid.setdefault(f.pid, []).append(f)
        return self._findings_by_pid.get(pid, [])

    @property
    def diff_mode(self) -> bool:
        return self.b is not None

    # --- header --------------------------------------------------------
    def summary(self) -> str:
        cp = self.a
        procs = cp.processes
        totals = cp.page_totals()
        inv = cp.inventory
        version = f"img v{inv.img_version} CRIU {cp.criu_version_hint}" if inv is not None else "no inventory"
        where = cp.path if self.b is None else f"{cp.path} -> {self.b.path}"
        return (
            f"{where} · {version} · {counted(len(procs), 'proc')} {counted(sum(len(p.threads) for p in procs), 'thread')} "
            f"{counted(sum(len(p.fds) for p in procs), 'fd')} {counted(sum(len(p.vmas) for p in procs), 'VMA')} · "
            f"{human_bytes(totals.present * names.PAGE_SIZE)} pages"
        )

    def verdict(self) -> tuple[str, str]:
        """(text, kind): kind is ok, blocked or unknown (no check ran), a CSS class of the verdict line."""
        if self.report is None:
            return (self.findings_note or "no check run", "unknown")
        target = self.report.target
        who = target.kind + (f" uid {target.uid}" if target.uid is not None else "")
        verdict = self.report.verdict
        text = f"{verdict.upper()} for {who} restore{_counts(self.report)}"
        if self.b is not None:
            text = "A: " + text
            if self.report_b is not None:
                text += f"; B: {self.report_b.verdict.upper()}{_counts(self.report_b)}"
        return text, "ok" if verdict == "restorable" else "blocked"

    def problems(self) -> list[str]:
        """What could not be read, from the model and from the checker, once each."""
        out = [p.one_line() for p in self.a.problems]
        if self.b is not None:
            out += [p.one_line() for p in self.b.problems]
        if self.report is not None:
            out += [str(p) for p in self.report.problems]
        return list(dict.fromkeys(out))

    # --- the tree -------------------------------------------------------
    def tree_rows(self) -> list[tuple[int, Process, str | None]]:
        """(depth, process, diff status) in tree order: A's processes, then those only B has (diff mode)."""
        rows = [(depth, p, self.process_status(p.pid)) for depth, p in self.a.walk()]
        if self.diff is not None:
            added = self.diff.added_pids()
            for depth, p in self.diff.b.walk():
                if p.pid in added:
                    rows.append((depth, p, "added"))
        return rows

    def process(self, pid: int) -> Process | None:
        """The process ``pid`` of A, or of B for a process only B has (diff mode)."""
        if self.diff is not None and pid in self.diff.added_pids():
            return self.diff.b.process(pid)
        return self.a.process(pid)

    # --- diff ------------------------------------------------------------
    def process_status(self, pid: int) -> str | None:
        if self.diff is None:
            return None
        return self.diff.process_status(pid)

    def fd_rows(self, pid: int) -> list[tuple[Fd, str | None]]:
        proc = self.process(pid)
        if proc is None:
            return []
        if self.diff is None:
            return [(fd, None) for fd in proc.fds]
        return self.diff.fd_rows(pid)

    def vma_rows(self, pid: int) -> list[tuple[Vma, str | None, int | None]]:
        """(vma, diff status, pages that differ)"""
        proc = self.process(pid)
        if proc is None:
            return []
        if self.diff is None:
            return [(v, None, None) for v in proc.vmas]
        return self.diff.vma_rows(pid)

    def overview_extra(self, pid: int) -> list[tuple[str, list[str]]]:
        """Shown above a process's overview: its findings, and in diff mode what changed in it."""
        out = []
        mine = sorted(self.findings_for(pid), key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.code))
        if mine:
            lines = []
            for f in mine:
                where = " ".join(
                    w
                    for w in (
                        f"fd {f.fd}" if f.fd is not None else "",
                        f"vma {f.vma_start:x}" if f.vma_start is not None else "",
                    )
                    if w
                )
                lines.append(f"{f.severity} {f.code}{' ' + where if where else ''}: {f.title}")
            out.append(("findings (tab 4)", lines))
        if self.diff is not None:
            out += self.diff.overview_extra(pid)
        return out

    def diff_summary(self) -> str:
        return self.diff.summary() if self.diff is not None else self.diff_note

    def memory_summary(self, pid: int) -> str:
        """Above the VMA table: the process's sizes and where its pages are (``show mem``'s row)."""
        from inspector.memsizes import process_sizes

        proc = self.a.process(pid)
        if proc is None:
            return ""
        try:
            m = process_sizes(self.a, proc)
        except InspectError as exc:
            return f"sizes unknown: {exc.one_line()}"
        page = names.PAGE_SIZE
        pages = m.pages
        where = [("present", pages.present), ("in parent", pages.in_parent), ("lazy", pages.lazy)]
        where += [("shared", pages.shmem), ("not dumped", pages.not_dumped)]
        return (
            f"{human_bytes(m.size)} in {counted(m.vmas, 'VMA')}: private {human_bytes(m.private)}, "
            f"shared {human_bytes(m.shared)}, file {human_bytes(m.file_backed)}, anon {human_bytes(m.anonymous)}"
            "\npages " + ", ".join(f"{label} {human_bytes(n * page)}" for label, n in where if n or label == "present")
        )

    def checkpoint_sections(self) -> list[tuple[str, list[str]]]:
        """The Checkpoint tab: what ``show stats``, ``net``, ``mounts`` and ``sockets`` print, for A."""
        from inspector.report import views_text
        from inspector.report.textout import plain_lines
        from inspector.report.views_render import view_data

        render: dict[str, Callable[[Any], list[Block]]] = {
            "stats": views_text.stats_blocks,
            "net": views_text.net_blocks,
            "mounts": views_text.mounts_blocks,
            "sockets": views_text.sockets_blocks,
        }
        out = []
        for view, blocks_of in render.items():
            try:
                lines = plain_lines(blocks_of(view_data(self.a, view)))
            except InspectError as exc:
                lines = [f"cannot read: {exc.one_line()}"]
            out.append((f"{view} (criu-inspect show DIR {view})", lines))
        return out

    def _reader(self, cp: Checkpoint, pid: int) -> PageReader | None:
        try:
            return cp.page_reader(pid)
        except InspectError:
            return None

    def hex_document(self, pid: int, vma: Vma) -> HexDocument:
        """Pages of ``vma``: read from A (from B for what only B has); in diff mode compared with B's."""
        diff = self.diff
        pa, pb = diff.sides(pid) if diff is not None else (self.a.process(pid), None)
        if pa is not None and any(v.start == vma.start for v in pa.vmas):
            cp, proc = self.a, pa
            other = self._reader(diff.b, pb.pid) if diff is not None and pb is not None else None
        elif diff is not None and pb is not None:  # B's side exists only in diff mode
            cp, proc, other = diff.b, pb, None
        else:
            raise InspectError(self.a.path, f"VMA {vma.start:x} is not a VMA of pid {pid}")
        reader = self._reader(cp, proc.pid)
        if reader is None:
            raise InspectError(os.path.join(cp.path, f"pagemap-{proc.pid}.img"), "no pages for this process")
        return HexDocument(reader, vma, other)


def _counts(report: CheckReport) -> str:
    counts = {s: 0 for s in SEVERITY_ORDER}
    for f in report.findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    detail = ", ".join(f"{n} {s}{'s' * (n != 1)}" for s, n in counts.items() if n)
    return f" ({detail})" if detail else ""


def load_session(
    path_a: str,
    path_b: str | None = None,
    target: Target | None = None,
    progress: Progress | None = None,
    diff_options: DiffOptions | None = None,
) -> Session:
    """Decode everything the screens show, process by process, reporting progress (run in a worker thread)."""
    paths = [p for p in (path_a, path_b) if p]
    checkpoints = []
    for path in paths:  # the process trees first: they say how much work there is
        cp = Checkpoint(path)
        _ = cp.pstree  # not a checkpoint worth showing: raise now, in the loader
        checkpoints.append(cp)
    total = sum(len(cp.pstree) for cp in checkpoints) + len(checkpoints) + (1 if path_b else 0) + 1
    done = 0

    def tick(what: str) -> None:
        if progress is not None:
            progress(done, total, what)

    for cp in checkpoints:
        for entry in cp.pstree:
            tick(f"decoding {cp.path}: pid {entry.pid}")
            _warm_process(cp, entry.pid)
            done += 1
        tick(f"building the model of {cp.path}")
        _ = cp.processes
        cp.check_pages_sizes()
        done += 1
    session = Session(checkpoints[0], checkpoints[1] if path_b else None, target)
    if path_b:
        tick("comparing the checkpoints, down to pages")
        _run_diff(session, diff_options)
        done += 1
    tick("checking restore blockers")
    _run_checks(session)
    done += 1
    tick("done")
    return session


def _warm_process(cp: Checkpoint, pid: int) -> None:
    """Decode one process's images (cached by the checkpoint) so the progress moves per process."""
    try:
        for name in (f"core-{pid}.img", f"ids-{pid}.img", f"fs-{pid}.img", f"mm-{pid}.img"):
            cp.entries(name)
        if f"pagemap-{pid}.img" in cp.files:
            cp.pagemap(pid)
    except InspectError:
        pass  # building the model records it as a problem of this checkpoint


def _run_checks(session: Session) -> None:
    from inspector.checks.base import Target
    from inspector.checks.engine import run_checks

    target = session.target if session.target is not None else Target()
    session.target = target
    try:
        session.report = run_checks(session.a, target)
        if session.b is not None:  # diff mode: is B (the other checkpoint) any better for the same target?
            session.report_b = run_checks(session.b, target)
    except InspectError as exc:
        session.findings_note = f"check failed: {exc.one_line()}"


def _run_diff(session: Session, options: DiffOptions | None = None) -> None:
    from .diffview import compute

    assert session.b is not None, "diff mode has a second checkpoint"
    try:
        session.diff = compute(session.a, session.b, options)
    except InspectError as exc:
        session.diff_note = f"diff failed: {exc.one_line()}"
