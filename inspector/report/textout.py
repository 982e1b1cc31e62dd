"""Plain text in pipes, rich tables on a terminal; NO_COLOR honoured.

Renderers build a list of blocks (headings, lines, tables); ``emit`` prints
them. rich is imported only when stdout is a terminal.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    title: str | None = None

    def add(self, *cells) -> None:
        self.rows.append(["" if c is None else str(c) for c in cells])


@dataclass
class Heading:
    text: str
    style: str = "bold"  # rich style on a terminal (colours dropped under NO_COLOR)


Block = str | Table | Heading


def use_rich(stream=None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("CRIU_INSPECT_PLAIN"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def plain_table(table: Table) -> list[str]:
    widths = [len(c) for c in table.columns]
    for row in table.rows:
        for i, cell in enumerate(row[: len(widths)]):
            widths[i] = max(widths[i], len(cell))
    out = []
    if table.title:
        out.append(table.title)

    def fmt(cells):
        parts = [c.ljust(widths[i]) for i, c in enumerate(cells[:-1])] + [cells[-1]]
        return "  ".join(parts).rstrip()

    out.append(fmt(table.columns))
    for row in table.rows:
        out.append(fmt(row + [""] * (len(widths) - len(row))))
    return out


def plain_lines(blocks: list[Block]) -> list[str]:
    """The blocks as ``emit`` prints them in a pipe, one string per line (the TUI shows views this way)."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(b.text)
        elif isinstance(b, Table):
            out += plain_table(b)
        else:
            out += b.split("\n")
    return out


def emit(blocks: list[Block], stream=None) -> None:
    stream = stream or sys.stdout
    if use_rich(stream):
        from rich.console import Console
        from rich.table import Table as RichTable

        console = Console(file=stream, no_color=bool(os.environ.get("NO_COLOR")), highlight=False)
        for b in blocks:
            if isinstance(b, Heading):
                console.print(_esc(b.text), style=b.style)
            elif isinstance(b, Table):
                t = RichTable(title=b.title, show_edge=False, header_style="bold cyan", pad_edge=False)
                for c in b.columns:
                    t.add_column(c, overflow="fold")
                for r in b.rows:
                    t.add_row(*[_esc(c) for c in r])
                console.print(t)
            else:
                console.print(_esc(b), soft_wrap=True)
        return
    for line in plain_lines(blocks):
        stream.write(line + "\n")


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)
