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

    def show(self, findings, note: str = "") -> None:
        table = self.query_one(FindingsTable)
        note_widget = self.query_one("#findings-note", Static)
        if not findings:
            note_widget.update(note or "no findings: nothing blocks this restore target")
            note_widget.display = True
        else:
            note_widget.display = bool(note)
            note_widget.update(note)
        table.show(findings)
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
        self.describe(self.query_one(FindingsTable).items.get(event.row_key.value))
