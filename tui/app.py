"""The criu-inspect TUI: one checkpoint (or two, diff mode) loaded in a worker, browsed by process."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Input, Label, ProgressBar, Static, TabbedContent, TabPane, Tree
from textual.worker import get_current_worker

from .model.session import Session, load_session
from .widgets.findings import FindingsPane
from .widgets.help import HelpScreen
from .widgets.hexview import HexScreen
from .widgets.overview import CheckpointPane, Overview
from .widgets.process_tree import ProcessTree
from .widgets.tables import FdTable, FilterableTable, FindingsTable, VmaTable

if TYPE_CHECKING:
    from inspector.checks.base import Finding, Target
    from inspector.diff.context import DiffOptions
    from inspector.model.types import Vma

PROGRESS_EVERY = 0.1  # seconds between two updates of the loading screen


class LoadCancelled(Exception):
    """The app is closing: the loader thread stops at its next step."""


class InspectorApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "criu-inspect"
    ENABLE_COMMAND_PALETTE = False
    AUTO_FOCUS = None  # the tree takes the focus once loaded; before that, keys go to the app (?, q)
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("slash", "filter", "Filter"),
        Binding("1", "tab('overview')", "Overview", show=False),
        Binding("2", "tab('files')", "Files", show=False),
        Binding("3", "tab('memory')", "Memory", show=False),
        Binding("4", "tab('findings')", "Findings", show=False),
        Binding("5", "tab('checkpoint')", "Checkpoint", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("S", "toggle_secrets", "Show secrets", show=False),
    ]

    def __init__(
        self,
        path_a: str,
        path_b: str | None = None,
        target: Target | None = None,
        diff_options: DiffOptions | None = None,
    ) -> None:
        super().__init__()
        self.path_a = path_a
        self.path_b = path_b
        self.target = target
        self.diff_options = diff_options
        self.session: Session | None = None
        self._progress_shown = 0.0
        self.pid: int | None = None
        self.show_secrets = False  # environment values named like secrets: masked until S
        self._filter_target: ProcessTree | FilterableTable | None = None

    # --- layout ----------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(
            "criu-inspect: loading " + self.path_a + (f" vs {self.path_b}" if self.path_b else ""),
            id="summary",
            markup=False,
        )
        yield Static("", id="verdict", markup=False)
        yield Static("", id="diff-summary", markup=False)
        with Vertical(id="loading"):
            yield Label("decoding the checkpoint", id="load-step", markup=False)
            yield ProgressBar(total=None, show_eta=False, id="load-progress")
        with Horizontal(id="body"):
            yield ProcessTree(id="tree")
            with TabbedContent(id="tabs", initial="overview"):
                with TabPane("Overview", id="overview"):
                    yield Overview(id="overview-pane")
                with TabPane("Files", id="files"):
                    yield FdTable(id="fds")
                with TabPane("Memory", id="memory"):
                    yield Static("", id="vma-summary", markup=False)
                    yield VmaTable(id="vmas")
                with TabPane("Findings", id="findings"):
                    yield FindingsPane(id="findings-pane")
                with TabPane("Checkpoint", id="checkpoint"):
                    yield CheckpointPane(id="checkpoint-pane")
        yield Input(placeholder="filter", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#body").display = False
        self.load()

    # --- loading (worker thread) -------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self) -> None:
        try:
            session = load_session(
                self.path_a,
                self.path_b,
                self.target,
                progress=self._progress_from_thread,
                diff_options=self.diff_options,
            )
        except LoadCancelled:
            return
        except Exception as exc:  # shown on screen; the CLI has validated the directories before
            reason = exc.one_line() if hasattr(exc, "one_line") else f"{type(exc).__name__}: {exc}"
            self.call_from_thread(self._load_failed, reason)
            return
        try:
            self.call_from_thread(self._loaded, session)
        except Exception as exc:  # a bug in laying it out: say so instead of a loading screen forever
            self.call_from_thread(self._load_failed, f"internal error: {type(exc).__name__}: {exc}")

    def _progress_from_thread(self, done: int, total: int, what: str) -> None:
        if get_current_worker().is_cancelled:  # quit while loading: stop decoding instead of finishing unseen
            raise LoadCancelled()
        # call_from_thread waits for the screen: once per process it cost a 1000-process load 5 s
        now = time.monotonic()
        if now - self._progress_shown >= PROGRESS_EVERY or done == 0:
            self._progress_shown = now
            self.call_from_thread(self._progress, done, total, what)

    def _progress(self, done: int, total: int, what: str) -> None:
        self.query_one("#load-step", Label).update(what)
        self.query_one("#load-progress", ProgressBar).update(total=total, progress=done)

    def _load_failed(self, reason: str) -> None:
        self.query_one("#load-step", Label).update(f"criu-inspect: error: {reason}")
        self.query_one("#load-step", Label).add_class("error")
        self.query_one("#load-progress").display = False

    def _loaded(self, session: Session) -> None:
        self.session = session
        self.query_one("#loading").display = False
        self.query_one("#body").display = True
        self.query_one("#summary", Static).update(session.summary())
        text, kind = session.verdict()
        diff_line = self.query_one("#diff-summary", Static)
        diff_line.display = session.diff_mode
        if session.diff_mode:
            diff_line.update(session.diff_summary())
        problems = session.problems()
        if problems:
            text += f"  |  {len(problems)} unreadable: {problems[0]}"
        verdict = self.query_one("#verdict", Static)
        verdict.update(text)
        verdict.set_classes(kind)
        counts: dict[int, int] = {}
        for f in session.findings:
            if f.pid is not None:
                counts[f.pid] = counts.get(f.pid, 0) + 1
        tree = self.query_one(ProcessTree)
        tree.show(session.tree_rows(), counts)
        self.query_one(FindingsPane).show(session.findings, session.findings_note)
        self.query_one(CheckpointPane).session = session
        if tree.shown_pids:
            self.show_process(tree.shown_pids[0])
            tree.select_pid(tree.shown_pids[0])
        tree.focus()

    # --- the selected process ----------------------------------------------
    def show_process(self, pid: int) -> None:
        session = self.session
        if session is None or pid == self.pid:
            return
        proc = session.process(pid)
        if proc is None:
            return
        self.pid = pid
        self.query_one(Overview).show(proc, session.overview_extra(pid), show_secrets=self.show_secrets)
        fds = self.query_one(FdTable)
        fds.show(session.fd_rows(pid), session.diff is not None)
        if fds.filter_text:
            fds.apply_filter(fds.filter_text)
        self.query_one("#vma-summary", Static).update(session.memory_summary(pid))
        vmas = self.query_one(VmaTable)
        vmas.show(session.vma_rows(pid), session.diff is not None)
        if vmas.filter_text:
            vmas.apply_filter(vmas.filter_text)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        if event.node.data is not None:
            self.show_process(event.node.data)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        table = event.data_table
        if isinstance(table, VmaTable):
            self.open_hex(table.item_of(event.row_key))
        elif isinstance(table, FindingsTable):
            self.jump_to(table.item_of(event.row_key))

    # --- actions -------------------------------------------------------------
    def check_action(self, action: str, _parameters: tuple[object, ...]) -> bool | None:
        # the main screen's keys do nothing under the hex view or the help
        if action in ("tab", "filter", "clear_filter") and len(self.screen_stack) > 1:
            return False
        return True

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_toggle_secrets(self) -> None:
        self.show_secrets = not self.show_secrets
        session, pid = self.session, self.pid
        if session is not None and pid is not None:
            proc = session.process(pid)
            if proc is not None:
                self.query_one(Overview).show(proc, session.overview_extra(pid), show_secrets=self.show_secrets)
        self.notify("secret values shown" if self.show_secrets else "secret values masked")

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def _current_table(self) -> FilterableTable | None:
        active = self.query_one(TabbedContent).active
        tables: dict[str, FilterableTable] = {
            "files": self.query_one(FdTable),
            "memory": self.query_one(VmaTable),
            "findings": self.query_one(FindingsTable),
        }
        return tables.get(active)

    def action_filter(self) -> None:
        if self.session is None:
            return
        focused = self.focused
        target = focused if isinstance(focused, (ProcessTree, FilterableTable)) else self._current_table()
        if target is None:
            target = self.query_one(ProcessTree)
        self._filter_target = target
        box = self.query_one("#filter", Input)
        what = "processes" if isinstance(target, ProcessTree) else f"{self.query_one(TabbedContent).active} rows"
        box.placeholder = f"filter {what} (Enter keeps, Esc clears)"
        box.value = target.filter_text
        box.add_class("-active")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter" and self._filter_target is not None:
            self._filter_target.apply_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self._close_filter()

    def _close_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.remove_class("-active")
        if self._filter_target is not None:
            self._filter_target.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_class("-active") and self._filter_target is not None:
            self._filter_target.apply_filter("")
            self._close_filter()

    def open_hex(self, vma: Vma | None) -> None:
        if vma is None or self.session is None or self.pid is None:
            return
        try:
            doc = self.session.hex_document(self.pid, vma)
        except Exception as exc:
            self.notify(exc.one_line() if hasattr(exc, "one_line") else str(exc), severity="error")
            return
        note = "red: bytes that differ in B" if doc.other is not None else ""
        self.push_screen(HexScreen(self.pid, doc, note))

    @staticmethod
    def _focus_row(table: FilterableTable, key: str | None) -> None:
        if key is not None:
            table.cursor_to(key)
        table.focus()

    def jump_to(self, finding: Finding | None) -> None:
        """Select the process a finding names, then its fd (Files) or VMA (Memory)."""
        if finding is None:
            return
        tabs = self.query_one(TabbedContent)
        if finding.pid is not None:
            self.query_one(ProcessTree).select_pid(finding.pid)
            self.show_process(finding.pid)
        if finding.fd is not None:
            tabs.active = "files"
            fds = self.query_one(FdTable)
            self._focus_row(fds, fds.key_of_fd(finding.fd))
        elif finding.vma_start is not None:
            tabs.active = "memory"
            vmas = self.query_one(VmaTable)
            self._focus_row(vmas, vmas.key_of_vma(finding.vma_start))
        elif finding.pid is not None:
            tabs.active = "overview"
            self.query_one(ProcessTree).focus()
        else:
            self.notify(
                f"{finding.code} is about {finding.image or 'the checkpoint as a whole'}, not one process", timeout=4
            )


def run_app(
    path_a: str, path_b: str | None = None, target: Target | None = None, diff_options: DiffOptions | None = None
) -> int:
    InspectorApp(path_a, path_b, target, diff_options).run()
    return 0
