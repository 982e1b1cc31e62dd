"""The tables of the right-hand tabs: fds, VMAs, findings; all filterable with ``/``."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from ..model import DIFF_MARK, FD_COLUMNS, VMA_COLUMNS, fd_cells, finding_cells, vma_cells

DIFF_STYLE = {"added": "green", "removed": "red", "changed": "yellow"}
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


class FilterableTable(DataTable):
    """A row-cursor table that keeps its rows so ``/`` can narrow them and Escape restore them."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.filter_text = ""
        self._rows: list[tuple[str, tuple, object]] = []  # (key, cells, item)
        self.items: dict[str, object] = {}

    def set_columns(self, *columns: str) -> None:
        self.clear(columns=True)
        self.add_columns(*columns)

    def set_rows(self, rows: list[tuple[str, tuple, object]]) -> None:
        # plain Text: a str cell would be read as Rich markup ("[heap]" would vanish)
        rows = [(key, tuple(Text(c) if isinstance(c, str) else c for c in cells), item) for key, cells, item in rows]
        self._rows = rows
        self.items = {key: item for key, _, item in rows}
        self._refill()

    def apply_filter(self, text: str) -> None:
        self.filter_text = text
        self._refill()

    def _refill(self) -> None:
        needle = self.filter_text.lower()
        self.clear()
        for key, cells, _ in self._rows:
            if needle and not any(needle in str(c).lower() for c in cells):
                continue
            self.add_row(*cells, key=key)

    @property
    def shown_keys(self) -> list[str]:
        return [row.key.value for row in self.ordered_rows]

    def current_item(self):
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.items.get(key)

    def cursor_to(self, key: str) -> bool:
        if key not in self.shown_keys and self.filter_text:
            self.apply_filter("")
        try:
            index = self.get_row_index(key)
        except Exception:
            return False
        self.move_cursor(row=index)
        return True

    def column_text(self, column: int) -> list[str]:
        """What a column shows, top to bottom (for tests and the smoke test)."""
        return [str(self.get_row_at(i)[column]) for i in range(self.row_count)]


def _mark(status: str | None) -> Text:
    return Text(DIFF_MARK.get(status or "", ""), style=DIFF_STYLE.get(status or "", ""))


class FdTable(FilterableTable):
    """Files tab: one row per fd (kind, target, flags, position)."""

    def show(self, rows, diff_mode: bool = False) -> None:
        self.set_columns(*(["Δ"] if diff_mode else []), *FD_COLUMNS)
        out = []
        for fd, status in rows:
            cells = fd_cells(fd)
            if diff_mode:
                style = DIFF_STYLE.get(status or "", "")
                cells = (_mark(status), *(Text(c, style=style) for c in cells))
            out.append((f"{fd.fd}:{status or ''}", cells, fd))
        self.set_rows(out)

    def key_of_fd(self, fd_number: int) -> str | None:
        for key in self.items:
            if key.split(":")[0] == str(fd_number):
                return key
        return None


class VmaTable(FilterableTable):
    """Memory tab: one row per VMA; Enter opens the hex view of its pages."""

    def show(self, rows, diff_mode: bool = False) -> None:
        self.set_columns(*(["Δ"] if diff_mode else []), *(["pages≠"] if diff_mode else []), *VMA_COLUMNS)
        out = []
        for vma, status, changed_pages in rows:
            cells = vma_cells(vma)
            if diff_mode:
                style = DIFF_STYLE.get(status or "", "")
                cells = (
                    _mark(status),
                    Text("" if not changed_pages else str(changed_pages), style="bold yellow"),
                    *(Text(c, style=style) for c in cells),
                )
            out.append((f"{vma.start:x}:{status or ''}", cells, vma))
        self.set_rows(out)

    def key_of_vma(self, start: int) -> str | None:
        for key, vma in self.items.items():
            if vma.start <= start < vma.end:
                return key
        return None


class FindingsTable(FilterableTable):
    """Findings tab: severity, code, where, message; Enter jumps to what a finding names."""

    def show(self, findings) -> None:
        self.set_columns("sev", "code", "where", "message")
        out = []
        for i, f in enumerate(findings):
            sev, code, where, message = finding_cells(f)
            out.append((str(i), (Text(sev, style=SEVERITY_STYLE.get(sev, "")), code, where, message), f))
        self.set_rows(out)
