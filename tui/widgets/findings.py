"""Findings tab: the table of findings and the detail (message, fix, criu's error) of the highlighted one."""

from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from .tables import SEVERITY_STYLE, FindingsTable


class FindingsPane(Vertical):
    def compose(self):
        yield Static("", id="findings-note", markup=False)
        yield FindingsTable(id="findings-table")
        yield Static("", id="finding-detail")

    _pending: list | None = None

    def show(self, findings, note: str = "") -> None:
        """The findings, laid out when the tab is first on screen: a table of 3,000 findings (a 1000-process
        checkpoint) took a second to measure, and the tree waited for it."""
        note_widget = self.query_one("#findings-note", Static)
        if not findings:
            note_widget.update(note or "no findings: nothing blocks this restore target")
            note_widget.display = True
        else:
            note_widget.display = bool(note)
            note_widget.update(note)
        self._pending = list(findings)
        if all(getattr(node, "display", True) for node in self.ancestors_with_self):
            self._fill()

    def on_show(self) -> None:
        self._fill()

    def _fill(self) -> None:
        if self._pending is None:
            return
        table = self.query_one(FindingsTable)
        table.show(self._pending)
        self._pending = None
        self.describe(table.current_item())

    def describe(self, finding) -> None:
        detail = self.query_one("#finding-detail", Static)
        if finding is None:
            detail.update("")
            return
        text = Text()
        text.append(f"{finding.severity} {finding.code}", style=SEVERITY_STYLE.get(finding.severity, ""))
        text.append(f"  {finding.title}\n", style="bold")
        text.append(finding.message + "\n")
        text.append("fix: ", style="bold green")
        text.append(finding.fix)
        if finding.criu_error:
            text.append("\ncriu: ", style="bold")
            text.append(finding.criu_error, style="italic")
        detail.update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.describe(self.query_one(FindingsTable).item_of(event.row_key))
