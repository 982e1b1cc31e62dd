"""``?``: every key of the TUI on one screen."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = [
    ("↑ ↓  j k", "move in the tree, a table, the hex view"),
    ("PgUp PgDn", "a page up / down (Home End: to the ends)"),
    ("Tab", "next pane: tree, tab bar, table (Shift+Tab: back)"),
    ("← →", "other tab, when the tab bar has the focus"),
    ("1 2 3 4 5", "Overview, Files, Memory, Findings, Checkpoint"),
    ("Enter", "Memory: hex view of the VMA's pages"),
    ("", "Findings: jump to the process, fd or VMA"),
    ("/", "filter the tree or the focused table"),
    ("", "Enter keeps the filter, Esc clears it"),
    ("/", "hex view: search text, 0xdeadbeef or de ad be ef"),
    ("n N", "hex view: next / previous match (diff mode,"),
    ("", "before a search: next / previous difference)"),
    ("d D", "hex view in diff mode: next / previous difference"),
    ("Esc", "close the search box, the hex view or this help"),
    ("S", "show / mask the values of variables named like secrets"),
    ("?", "this help"),
    ("q", "quit (in the hex view: back)"),
    ("mouse", "click a process, tab or row; wheel scrolls"),
]


class HelpScreen(ModalScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close"),
        Binding("question_mark", "app.pop_screen", "Close", show=False),
        Binding("q", "app.pop_screen", "Close", show=False),
    ]

    def compose(self):
        width = max(len(k) for k, _ in KEYS)
        lines = ["[b]criu-inspect tui: keys[/b]", ""]
        lines += [f"[b]{k:<{width}}[/b]  {v}" for k, v in KEYS]
        lines += ["", "Marks: !N findings of a process; diff mode:", "+ added  - removed  ~ changed  red bytes differ"]
        with VerticalScroll(id="help-box"):
            yield Static("\n".join(lines), id="help-text")
