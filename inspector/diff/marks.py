"""The mark of each diff status, one table for every presenter of a diff.

``criu-inspect diff``'s text (``inspector/report/diff_text.py``) and the TUI's
rows and tree (``tui/model/rows.py``) put the same character before what
differs: ``+`` only in B, ``-`` only in A, ``~`` changed, ``=`` the same. No
rendering library here, so the headless TUI model imports it too.
"""

from __future__ import annotations

from .result import ADDED, CHANGED, REMOVED, SAME

DIFF_MARK = {ADDED: "+", REMOVED: "-", CHANGED: "~", SAME: "="}
