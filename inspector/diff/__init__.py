"""Structural and page-level diff of two CRIU checkpoints.

``diff_checkpoints(a, b, DiffOptions(...)) -> DiffResult``: comparators (one
per kind of thing, in ``comparators/``) fill a versioned result tree
(``result.py``); presenters live apart (``inspector/report/diff_text.py``,
``DiffResult.to_dict`` for JSON) and can re-render a saved JSON result.
"""

from .context import DiffOptions
from .driver import diff_checkpoints
from .result import DIFF_JSON_VERSION, DiffResult

__all__ = ["DiffOptions", "DiffResult", "DIFF_JSON_VERSION", "diff_checkpoints"]
