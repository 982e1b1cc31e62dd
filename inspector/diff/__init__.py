"""Structural and page-level diff of two CRIU checkpoints.

``diff_checkpoints(a, b, DiffOptions(...)) -> DiffResult``: comparators (one
per kind of thing, in ``comparators/``) return the pieces of a versioned
result tree (``result.py``) that the driver assembles; presenters live apart
(``inspector/report/diff_text.py``, ``DiffResult.to_dict`` for JSON) and can
re-render a saved JSON result.

Names are imported on first use, so ``inspector.diff.result`` (all that
``criu-inspect diff --help`` needs) loads without protobuf or the model.
"""

from __future__ import annotations

_LAZY = {
    "DiffOptions": ("context", "DiffOptions"),
    "diff_checkpoints": ("driver", "diff_checkpoints"),
    "DiffResult": ("result", "DiffResult"),
    "DIFF_JSON_VERSION": ("result", "DIFF_JSON_VERSION"),
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module, attr = _LAZY[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
