"""Diff mode: what inspector.diff found, keyed the way the screens look things up (no Textual).

The diff library compares the two directories itself (``diff_checkpoints``);
this adapter only indexes its result by pid, fd number and VMA start, and
pairs each mark with the model object (from A, or from B for what B added).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspector.diff.result import ADDED, REMOVED, SAME, Change, DiffResult, ProcessDiff, summary_line
from inspector.model.checkpoint import Checkpoint
from inspector.model.types import Fd, Process, Vma

if TYPE_CHECKING:
    from inspector.diff.context import DiffOptions


def compute(a: Checkpoint, b: Checkpoint, options: DiffOptions | None = None) -> DiffView:
    """Diff checkpoints ``a`` and ``b``, with the diff command's options (or its defaults)."""
    from inspector.diff.driver import diff_checkpoints

    return DiffView(diff_checkpoints(a.path, b.path, options), a, b)


def _fd_number(key: str) -> int | None:
    try:
        return int(key.split()[-1])
    except (ValueError, IndexError):
        return None


def _status(status: str | None) -> str | None:
    return None if status in (None, SAME) else status


class DiffView:
    """The diff of checkpoints ``a`` and ``b``, looked up by the pids of the TUI's tree."""

    def __init__(self, result: DiffResult, a: Checkpoint, b: Checkpoint) -> None:
        self.result = result
        self.a, self.b = a, b
        self.by_pid: dict[int, ProcessDiff] = {}  # A's pid -> its ProcessDiff; B's pid for processes only B has
        self._added: set[int] = set()
        for pd in result.processes:
            if pd.status == ADDED:
                pid = pd.pid_b if pd.pid_b is not None else pd.pid
                self._added.add(pid)
                self.by_pid.setdefault(pid, pd)
            else:
                self.by_pid[pd.pid] = pd

    def added_pids(self) -> set[int]:
        return self._added

    def summary(self) -> str:
        return "diff: " + summary_line(self.result)

    def process_status(self, pid: int) -> str | None:
        pd = self.by_pid.get(pid)
        return None if pd is None else _status(pd.status)

    def sides(self, pid: int) -> tuple[Process | None, Process | None]:
        """(A's process, its B counterpart) for a pid of the tree (B's pid for an added process)."""
        pd = self.by_pid.get(pid)
        if pid in self._added:
            return None, self.b.process(pid)
        if pd is not None and pd.status == REMOVED:
            return self.a.process(pid), None
        pid_b = pd.pid_b if pd is not None and pd.pid_b is not None else pid
        return self.a.process(pid), self.b.process(pid_b)

    def fd_rows(self, pid: int) -> list[tuple[Fd, str | None]]:
        pd = self.by_pid.get(pid)
        pa, pb = self.sides(pid)
        if pa is None or pb is None or pd is None or pd.status in (ADDED, REMOVED):
            only = pa or pb
            mark = REMOVED if pb is None else ADDED
            return [(fd, mark) for fd in (only.fds if only else [])]
        items = {_fd_number(i.key): i for i in pd.fds}
        rows: list[tuple[Fd, str | None]] = []
        in_a = {fd.fd for fd in pa.fds}
        for fd in pa.fds:
            item = items.get(fd.fd)
            rows.append((fd, _status(item.status) if item else None))
        for fd in pb.fds:
            item = items.get(fd.fd)
            if fd.fd not in in_a:
                rows.append((fd, ADDED if item is None else _status(item.status) or ADDED))
        rows.sort(key=lambda r: (r[0].fd, r[1] == ADDED))
        return rows

    def vma_rows(self, pid: int) -> list[tuple[Vma, str | None, int | None]]:
        pd = self.by_pid.get(pid)
        pa, pb = self.sides(pid)
        vds = {v.start: v for v in pd.vmas} if pd is not None else {}
        if pa is None or pb is None:
            only = pa or pb
            mark = REMOVED if pb is None else ADDED
            return [
                (v, mark, vds[v.start].pages_changed if v.start in vds else None) for v in (only.vmas if only else [])
            ]
        rows: list[tuple[Vma, str | None, int | None]] = []
        for v in pa.vmas:
            vd = vds.get(v.start)
            rows.append((v, _status(vd.status) if vd else None, vd.pages_changed if vd else None))
        starts_a = {v.start for v in pa.vmas}
        for v in pb.vmas:
            if v.start not in starts_a:
                vd = vds.get(v.start)
                rows.append((v, ADDED, vd.pages_changed if vd else None))
        rows.sort(key=lambda r: (r[0].start, r[1] == ADDED))
        return rows

    def overview_extra(self, pid: int) -> list[tuple[str, list[str]]]:
        pd = self.by_pid.get(pid)
        if pd is None:
            return []
        if pd.status in (ADDED, REMOVED):
            return [("diff", [f"process {pd.status} ({'only in B' if pd.status == 'added' else 'only in A'})"])]
        lines = [_change_line(c) for c in pd.changes]
        for t in pd.threads:
            if t.status != SAME:
                fields = ", ".join(c.field for c in t.changes[:6]) + (" ..." if len(t.changes) > 6 else "")
                lines.append(f"{t.key}: {t.status}" + (f" ({fields})" if fields else ""))
        changed_fds = [i for i in pd.fds if i.status != SAME]
        if changed_fds:
            lines.append("fds: " + ", ".join(f"{i.key} {i.status}" for i in changed_fds))
        if pd.vmas:
            lines.append(
                f"VMAs: {len(pd.vmas)} differ; {pd.pages_changed} pages changed, {pd.bytes_differ} bytes differ"
            )
        if pd.pages_outside_vmas:
            lines.append(f"{pd.pages_outside_vmas} changed pages outside every VMA")
        return [("diff (A -> B)", lines or ["same"])]


def _change_line(change: Change) -> str:
    if change.note is not None:
        return f"{change.field}: {change.note}"
    a, b = change.a, change.b
    # secret-named environment values arrive masked: the diff result masks them (DiffOptions.show_secrets)
    return f"{change.field}: {_short(a)} -> {_short(b)}"


def _short(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
