"""What the TUI shows, computed without Textual: one module per job.

``rows`` (table cells, tree labels, overview sections), ``hexdoc`` (a VMA's
pages as lazy hexdump lines), ``session`` (loading one checkpoint or two, and
the screens' questions to it), ``diffview`` (the diff keyed by pid, fd, VMA).
The widgets in ``tui/widgets`` only lay out what these return, so the
decisions (which rows, which marks, which bytes) are tested headless and the
screen never decodes an image itself. Everything goes through the same
library the CLI uses.

The names below are the headless entry points the fuzz harness
(``tests/fuzz/harness.py``) walks; code in ``tui/`` imports the modules.
"""

from __future__ import annotations

from .hexdoc import hex_text
from .rows import overview_sections
from .session import load_session

__all__ = ["hex_text", "load_session", "overview_sections"]
