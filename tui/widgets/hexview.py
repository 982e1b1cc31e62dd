"""The hex view of one VMA: a line-API scroll view over a HexDocument (pages read as lines are drawn)."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Static

from ..model import HexDocument, hex_text, vma_backing, vma_range

ADDR = Style(color="bright_black")
DIFF = Style(color="red", bold=True, reverse=True)
PARENT = Style(color="cyan")
NOTE = Style(color="yellow", italic=True)


class HexView(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("space", "page_down", "Page down", show=False),
    ]

    # no smooth scrolling: every frame of it would redraw a screen of hex lines
    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def action_scroll_home(self) -> None:
        self.scroll_home(animate=False)

    def action_scroll_end(self) -> None:
        self.scroll_end(animate=False)

    def __init__(self, doc: HexDocument, **kwargs) -> None:
        super().__init__(**kwargs)
        self.doc = doc
        self.virtual_size = Size(78, doc.line_count)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        if index >= self.doc.line_count:
            return Strip.blank(width, self.rich_style)
        line = self.doc.line(index)
        text = hex_text(line)
        if line.data is None:
            segments = [Segment(text[:12], ADDR), Segment(text[12:], NOTE)]
        else:
            base = PARENT if line.where == "parent" else None
            segments = [Segment(text[:14], ADDR)]
            differs = set(line.differs)
            for i, byte in enumerate(line.data):
                segments.append(Segment(f"{byte:02x}", DIFF if i in differs else base))
                segments.append(Segment(" "))
            pad = 47 - (len(line.data) * 3 - 1)
            segments.append(Segment(" " * (pad + 1)))
            for i, byte in enumerate(line.data):
                segments.append(Segment(chr(byte) if 32 <= byte < 127 else ".", DIFF if i in differs else base))
        strip = Strip(segments)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def visible_lines(self) -> list[str]:
        """The text of the lines on screen (tests, smoke test)."""
        top = self.scroll_offset.y
        end = min(self.doc.line_count, top + self.size.height)
        return [hex_text(self.doc.line(i)) for i in range(top, end)]


class HexScreen(Screen):
    """Full-screen hex view; Escape or q goes back to the tables."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.pop_screen", "Back", show=False),
        Binding("n", "difference", "Next difference"),
        Binding("N", "difference(True)", "Previous difference"),
    ]

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "difference":
            return self.doc.other is not None  # only in diff mode
        return True

    def action_difference(self, backwards: bool = False) -> None:
        view = self.query_one(HexView)
        line = self.doc.next_difference(view.scroll_offset.y, backwards)
        if line is None:
            self.notify("no more differences in this VMA", timeout=2)
            return
        view.scroll_to(y=line, animate=False)

    def __init__(self, pid: int, doc: HexDocument, side_note: str = "") -> None:
        super().__init__()
        self.pid = pid
        self.doc = doc
        self.side_note = side_note

    def compose(self):
        vma = self.doc.vma
        title = (
            f"pid {self.pid}  {vma_range(vma)}  {vma_backing(vma)}  "
            f"{vma.pages_present} present, {vma.pages_lazy} lazy, {vma.pages_in_parent} parent pages"
        )
        if self.side_note:
            title += f"  {self.side_note}"
        yield Static(title, id="hex-title", markup=False)
        yield HexView(self.doc, id="hex")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(HexView).focus()
