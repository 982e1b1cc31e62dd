"""The process tree on the left: pid, comm, thread count, marks for findings and differences."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from inspector.model.types import Process

from ..model.rows import tree_label
from .tables import DIFF_STYLE


class ProcessTree(Tree[int]):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__("processes", **kwargs)
        self.show_root = False
        self.guide_depth = 2
        self.filter_text = ""
        self._rows: list[tuple[int, Process, str | None]] = []
        self._findings: dict[int, int] = {}

    def show(self, rows: list[tuple[int, Process, str | None]], findings: dict[int, int]) -> None:
        """rows: (depth, Process, diff status) in tree order; findings: pid -> count."""
        self._rows = rows
        self._findings = findings
        self._refill()

    def label_of(self, proc: Process, status: str | None) -> Text:
        text = Text(tree_label(proc, self._findings.get(proc.pid, 0), status), style=DIFF_STYLE.get(status or "", ""))
        if self._findings.get(proc.pid):
            text.highlight_regex(r"!\d+$", "bold red")
        return text

    def _refill(self) -> None:
        needle = self.filter_text.lower()
        by_pid = {p.pid: p for _, p, _ in self._rows}
        keep: set[int] | None = None
        if needle:
            keep = set()
            for _, p, status in self._rows:
                if needle in tree_label(p, self._findings.get(p.pid, 0), status).lower() or any(
                    needle in arg.lower() for arg in p.cmdline
                ):
                    # the match and its ancestors, so the tree stays a tree
                    q: Process | None = p
                    seen: set[int] = set()
                    while q is not None and q.pid not in seen:
                        seen.add(q.pid)
                        keep.add(q.pid)
                        q = by_pid.get(q.ppid)
        self.clear()
        nodes: dict[int, TreeNode[int]] = {}
        for _, p, status in self._rows:
            if keep is not None and p.pid not in keep:
                continue
            parent = nodes.get(p.ppid, self.root) if p.ppid != p.pid else self.root
            nodes[p.pid] = parent.add(self.label_of(p, status), data=p.pid, expand=True, allow_expand=False)
        self.root.expand()
        self._pid_nodes = nodes

    def apply_filter(self, text: str) -> None:
        self.filter_text = text
        self._refill()
        if self._pid_nodes:
            self.move_cursor(next(iter(self._pid_nodes.values())))

    @property
    def shown_pids(self) -> list[int]:
        out = []

        def walk(node):
            for child in node.children:
                out.append(child.data)
                walk(child)

        walk(self.root)
        return out

    def select_pid(self, pid: int) -> bool:
        if pid not in self._pid_nodes and self.filter_text:
            self.apply_filter("")
        node = self._pid_nodes.get(pid)
        if node is None:
            return False
        self.move_cursor(node)
        return True
