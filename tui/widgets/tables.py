"""The tables of the right-hand tabs: fds, VMAs, findings; all filterable with ``/``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from inspector.diff.result import ADDED, CHANGED, REMOVED
from inspector.model.types import Fd, Vma

from ..model.rows import FD_COLUMNS, VMA_COLUMNS, diff_mark, fd_cells, finding_cells, shorten_middle, vma_cells

if TYPE_CHECKING:
    from inspector.checks.base import Finding

ItemT = TypeVar("ItemT")
Cell = str | Text

DIFF_STYLE = {ADDED: "green", REMOVED: "red", CHANGED: "yellow"}
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


class FilterableTable(DataTable, Generic[ItemT]):
    """A row-cursor table that keeps its rows so ``/`` can narrow them and Escape restore them.

    In tables whose last column is a path (``FIT_LAST``), that column is cut
    in its middle to fit the table's width, so two paths that differ only at
    the end still look different; the filter matches the whole text.
    """

    FIT_LAST = False
    MIN_LAST = 10  # below this a cut path says little: the table scrolls sideways instead

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.filter_text = ""
        self._labels: tuple[str, ...] = ()
        self._rows: list[tuple[str, tuple[Cell, ...], ItemT]] = []  # (key, cells, item)
        self.items: dict[str, ItemT] = {}

    def set_columns(self, *columns: str) -> None:
        self._labels = columns
        self.clear(columns=True)
        self.add_columns(*columns)

    def set_rows(self, rows: list[tuple[str, tuple[Cell, ...], ItemT]]) -> None:
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
        room = self._last_column_room()
        if room is not None:  # columns keep the widest cell they ever held: start them afresh
            self.clear(columns=True)
            self.add_columns(*self._labels)
        else:
            self.clear()
        for key, cells, _ in self._rows:
            if needle and not any(needle in str(c).lower() for c in cells):
                continue
            self.add_row(*self._fitted(cells, room), key=key)

    def _last_column_room(self) -> int | None:
        """Cells the last column can take without a horizontal scroll (None: not laid out yet, or no cut)."""
        if not self.FIT_LAST or not self._rows or not self.size.width:
            return None
        widths = [max(len(str(cells[i])) for _, cells, _ in self._rows) for i in range(len(self._rows[0][1]) - 1)]
        labels = [len(str(column.label)) for column in self.ordered_columns]
        used = sum(max(w, lab) + 2 * self.cell_padding for w, lab in zip(widths, labels))
        scrollbar = 2  # the vertical scrollbar, when rows overflow
        return max(self.MIN_LAST, self.size.width - used - 2 * self.cell_padding - scrollbar)

    @staticmethod
    def _fitted(cells: tuple, room: int | None) -> tuple:
        last = cells[-1] if cells else None
        if room is None or last is None or len(str(last)) <= room:
            return cells
        text = shorten_middle(str(last), room)
        short = Text(text, style=last.style) if isinstance(last, Text) else text
        return (*cells[:-1], short)

    def on_resize(self) -> None:
        if self._rows:
            key = self._cursor_key()
            self._refill()
            if key is not None and key in self.shown_keys:
                self.move_cursor(row=self.get_row_index(key))

    def _cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    @property
    def shown_keys(self) -> list[str]:
        return [key for row in self.ordered_rows if (key := row.key.value) is not None]  # every row has one

    def current_item(self) -> ItemT | None:
        key = self._cursor_key()
        return None if key is None else self.items.get(key)

    def item_of(self, row_key: RowKey) -> ItemT | None:
        """The model object of a row an event names."""
        return None if row_key.value is None else self.items.get(row_key.value)

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

    def full_text(self, column: int) -> list[str]:
        """A column's whole text for the rows shown, before the last column is cut to fit."""
        cells = {key: cells for key, cells, _ in self._rows}
        return [str(cells[key][column]) for key in self.shown_keys]


def _mark(status: str | None) -> Text:
    return Text(diff_mark(status), style=DIFF_STYLE.get(status or "", ""))


class FdTable(FilterableTable[Fd]):
    """Files tab: one row per fd (kind, target, flags, position)."""

    FIT_LAST = True

    def show(self, rows: list[tuple[Fd, str | None]], diff_mode: bool = False) -> None:
        self.set_columns(*(["Δ"] if diff_mode else []), *FD_COLUMNS)
        out = []
        for fd, status in rows:
            plain = fd_cells(fd)
            cells: tuple[Cell, ...] = plain
            if diff_mode:
                style = DIFF_STYLE.get(status or "", "")
                cells = (_mark(status), *(Text(c, style=style) for c in plain))
            out.append((f"{fd.fd}:{status or ''}", cells, fd))
        self.set_rows(out)

    def key_of_fd(self, fd_number: int) -> str | None:
        for key in self.items:
            if key.split(":")[0] == str(fd_number):
                return key
        return None


class VmaTable(FilterableTable[Vma]):
    """Memory tab: one row per VMA; Enter opens the hex view of its pages."""

    FIT_LAST = True

    def show(self, rows: list[tuple[Vma, str | None, int | None]], diff_mode: bool = False) -> None:
        self.set_columns(*(["Δ"] if diff_mode else []), *(["pages≠"] if diff_mode else []), *VMA_COLUMNS)
        out = []
        for vma, status, changed_pages in rows:
            plain = vma_cells(vma)
            cells: tuple[Cell, ...] = plain
            if diff_mode:
                style = DIFF_STYLE.get(status or "", "")
                cells = (
                    _mark(status),
                    Text("" if not changed_pages else str(changed_pages), style="bold yellow"),
                    *(Text(c, style=style) for c in plain),
                )
            out.append((f"{vma.start:x}:{status or ''}", cells, vma))
        self.set_rows(out)

    def key_of_vma(self, start: int) -> str | None:
        for key, vma in self.items.items():
            if vma.start <= start < vma.end:
                return key
        return None


class FindingsTable(FilterableTable["Finding"]):
    """Findings tab: severity, code, where, message; Enter jumps to what a finding names."""

    def show(self, findings: list[Finding]) -> None:
        self.set_columns("sev", "code", "where", "message")
        out: list[tuple[str, tuple[Cell, ...], Finding]] = []
        for i, f in enumerate(findings):
            sev, code, where, message = finding_cells(f)
            out.append((str(i), (Text(sev, style=SEVERITY_STYLE.get(sev, "")), code, where, message), f))
        self.set_rows(out)
