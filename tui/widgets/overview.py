"""Overview tab: identity, credentials, namespaces, cgroup, cmdline, environment (secrets masked)."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..model import overview_sections


class Overview(VerticalScroll):
    can_focus = True

    def compose(self):
        yield Static(id="overview-text")

    def show(self, proc, extra: list[tuple[str, list[str]]] | None = None, show_secrets: bool = False) -> None:
        text = Text()
        sections = (extra or []) + overview_sections(proc, show_secrets)
        for i, (heading, lines) in enumerate(sections):
            if i:
                text.append("\n")
            text.append(heading + "\n", style="bold underline")
            for line in lines:
                text.append("  " + line + "\n")
        self.plain = text.plain
        self.query_one("#overview-text", Static).update(text)
        self.scroll_home(animate=False)
