"""The hex view of one VMA: a line-API scroll view over a HexDocument (pages read as lines are drawn)."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.binding import Binding
from textual.geometry import Size
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Input, Static

from ..model.hexdoc import HexDocument, hex_text, parse_needle
from ..model.rows import vma_backing, vma_range

ADDR = Style(color="bright_black")
DIFF = Style(color="red", bold=True, reverse=True)
PARENT = Style(color="cyan")
NOTE = Style(color="yellow", italic=True)
MATCH = Style(color="black", bgcolor="yellow", bold=True)


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
        self.match: tuple[int, int] | None = None  # (address, length) of the search hit shown

    def _matched(self, addr: int) -> bool:
        return self.match is not None and self.match[0] <= addr < self.match[0] + self.match[1]

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
            styles = [
                MATCH if self._matched(line.addr + i) else DIFF if i in differs else base for i in range(len(line.data))
            ]
            for byte, style in zip(line.data, styles):
                segments.append(Segment(f"{byte:02x}", style))
                segments.append(Segment(" "))
            pad = 47 - (len(line.data) * 3 - 1)
            segments.append(Segment(" " * (pad + 1)))
            for byte, style in zip(line.data, styles):
                segments.append(Segment(chr(byte) if 32 <= byte < 127 else ".", style))
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
        Binding("escape", "back", "Back"),
        Binding("q", "app.pop_screen", "Back", show=False),
        Binding("slash", "search", "Search"),
        Binding("n", "next(False)", "Next"),
        Binding("N", "next(True)", "Previous"),
        Binding("d", "difference", "Next difference", show=False),
        Binding("D", "difference(True)", "Previous difference", show=False),
    ]

    def __init__(self, pid: int, doc: HexDocument, side_note: str = "") -> None:
        super().__init__()
        self.pid = pid
        self.doc = doc
        self.side_note = side_note
        self.needle: bytes | None = None

    def check_action(self, action: str, _parameters: tuple[object, ...]) -> bool | None:
        if action == "difference":
            return self.doc.other is not None  # only in diff mode
        if action == "next":
            return self.needle is not None or self.doc.other is not None
        return True

    def action_next(self, backwards: bool = False) -> None:
        """n/N: the next search hit once there is a search; in diff mode before any search, the next difference."""
        if self.needle is not None:
            view = self.query_one(HexView)
            here = view.match[0] if view.match else self._top_addr() - (0 if backwards else 1)
            self.search(self.needle, here, backwards)
        else:
            self.action_difference(backwards)

    def action_back(self) -> None:
        box = self.query_one("#hex-search", Input)
        if box.display:  # Esc in the search box closes the box, not the hex view
            box.display = False
            self.query_one(HexView).focus()
        else:
            self.app.pop_screen()

    def action_search(self) -> None:
        box = self.query_one("#hex-search", Input)
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        box = event.input
        box.display = False
        self.query_one(HexView).focus()
        if not event.value.strip():
            return
        try:
            needle = parse_needle(event.value)
        except ValueError:
            self.notify(f"not hex bytes: {event.value}", severity="error", timeout=3)
            return
        self.needle = needle
        self.search(needle, self._top_addr() - 1, False)

    def _top_addr(self) -> int:
        view = self.query_one(HexView)
        if not self.doc.line_count:
            return self.doc.vma.start
        return self.doc.line(min(view.scroll_offset.y, self.doc.line_count - 1)).addr

    @work(thread=True, exclusive=True, group="hex-search", exit_on_error=False)
    def search(self, needle: bytes, from_addr: int, backwards: bool) -> None:
        """Runs in a thread: a miss in a large VMA reads all its pages."""
        try:
            hit = self.doc.find(needle, from_addr, backwards)
        except Exception as exc:
            reason = exc.one_line() if hasattr(exc, "one_line") else str(exc)
            self.app.call_from_thread(self.notify, reason, severity="error")
            return
        self.app.call_from_thread(self._show_hit, needle, hit, backwards)

    def _show_hit(self, needle: bytes, hit: int | None, backwards: bool) -> None:
        view = self.query_one(HexView)
        if hit is None:
            self.notify(f"no {'earlier' if backwards else 'further'} match of {needle!r} in this VMA", timeout=3)
            return
        view.match = (hit, len(needle))
        view.scroll_to(y=max(0, self.doc.line_of_addr(hit) - 2), animate=False)
        view.refresh()

    def action_difference(self, backwards: bool = False) -> None:
        view = self.query_one(HexView)
        line = self.doc.next_difference(view.scroll_offset.y, backwards)
        if line is None:
            self.notify("no more differences in this VMA", timeout=2)
            return
        view.scroll_to(y=line, animate=False)

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
        hint = "search: text, 0xdeadbeef or de ad be ef (Enter searches, n/N next/previous, Esc closes)"
        yield Input(placeholder=hint, id="hex-search")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#hex-search").display = False
        self.query_one(HexView).focus()
