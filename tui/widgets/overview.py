"""Overview tab (identity, credentials, namespaces, cgroup, cmdline, environment with secrets masked) and
the Checkpoint tab (stats, networks, mounts, sockets): headed sections of text lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..model.rows import overview_sections

if TYPE_CHECKING:
    from inspector.model.types import Process

    from ..model.session import Session


class SectionsPane(VerticalScroll):
    """A scrollable column of headed sections; ``plain`` keeps the text shown (tests, smoke test)."""

    can_focus = True

    def compose(self):
        yield Static(classes="sections-text")

    def show_sections(self, sections: list[tuple[str, list[str]]]) -> None:
        text = Text()
        for i, (heading, lines) in enumerate(sections):
            if i:
                text.append("\n")
            text.append(heading + "\n", style="bold underline")
            for line in lines:
                text.append("  " + line + "\n")
        self.plain = text.plain
        self.query_one(".sections-text", Static).update(text)
        self.scroll_home(animate=False)


class Overview(SectionsPane):
    def show(self, proc: Process, extra: list[tuple[str, list[str]]] | None = None, show_secrets: bool = False) -> None:
        self.show_sections((extra or []) + overview_sections(proc, show_secrets))


class CheckpointPane(SectionsPane):
    """What is the checkpoint's as a whole, not one process's: read when the tab is first shown."""

    session: Session | None = None  # once loaded

    def on_show(self) -> None:
        if self.session is not None and not getattr(self, "plain", ""):
            self.show_sections(self.session.checkpoint_sections())
