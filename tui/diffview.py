"""Diff mode: adapts inspector.diff's result to what the screens mark (no Textual)."""

from __future__ import annotations

import importlib


def _diff_module():
    try:
        return importlib.import_module("inspector.diff")
    except ModuleNotFoundError as exc:
        if exc.name and "inspector.diff".startswith(exc.name):
            return None
        raise


def unavailable_reason() -> str:
    if _diff_module() is None:
        return "diff mode is not available in this build (no inspector.diff)"
    return ""


def compute(a, b):
    raise NotImplementedError


class Adapter:
    @classmethod
    def for_result(cls, result) -> "Adapter":
        raise NotImplementedError
