"""Field-level comparison helpers shared by the comparators.

``flatten`` turns a protobuf message into {dotted.path: value} so any image
can be compared field by field (the fallback comparator, core and mm leftovers);
``compare_values`` turns two such dicts (or two dicts of model facts) into
``Change``s, each tagged with the --ignore category it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .result import STRUCTURE, Change

LONG_LIST = 8  # lists longer than this are summarised ("3 of 64 words differ"), not copied into the result


def flatten(msg, prefix: str = "", skip: Iterable[str] = ()) -> dict[str, Any]:
    """{path: value} of every set field; repeated scalars stay one list value."""
    out: dict[str, Any] = {}
    skip = set(skip)
    _flatten_into(msg, prefix, skip, out)
    return out


def _flatten_into(msg, prefix: str, skip: set[str], out: dict) -> None:
    for fd, value in msg.ListFields():
        path = f"{prefix}{fd.name}"
        if path in skip:
            continue
        repeated = fd.label == fd.LABEL_REPEATED if hasattr(fd, "label") else fd.is_repeated
        if fd.message_type is not None:
            if repeated:
                for i, sub in enumerate(value):
                    _flatten_into(sub, f"{path}[{i}].", skip, out)
                out[f"{path}.count"] = len(value)
            else:
                _flatten_into(value, path + ".", skip, out)
        elif repeated:
            out[path] = [_plain(v) for v in value]
        else:
            out[path] = _plain(value)


def _plain(value):
    if isinstance(value, bytes):
        return value.hex()
    return value


def compare_values(
    a: dict[str, Any],
    b: dict[str, Any],
    category: str | Callable[[str], str] = STRUCTURE,
    prefix: str = "",
    show: Callable[[str, Any], Any] | None = None,
) -> list[Change]:
    """Changes between two {field: value} dicts (a field missing on one side is None there)."""
    changes = []
    for key in sorted(set(a) | set(b), key=_natural):
        va, vb = a.get(key), b.get(key)
        if va == vb:
            continue
        cat = category(key) if callable(category) else category
        changes.append(make_change(prefix + key, va, vb, cat, show))
    return changes


def make_change(name: str, va, vb, category: str = STRUCTURE, show=None) -> Change:
    if isinstance(va, list) and isinstance(vb, list) and max(len(va), len(vb)) > LONG_LIST:
        n = sum(1 for x, y in zip(va, vb) if x != y) + abs(len(va) - len(vb))
        return Change(name, None, None, category, note=f"{n} of {max(len(va), len(vb))} elements differ")
    if show is not None:
        va, vb = show(name, va), show(name, vb)
    return Change(name, va, vb, category)


def _natural(key: str):
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key)]


def time_category(path: str, default: str = STRUCTURE) -> str:
    """Clock values (timers, start times) belong to 'timestamps'."""
    low = path.lower()
    if "time" in low or "timer" in low or low.endswith(("tv_sec", "tv_nsec")):
        return "timestamps"
    return default
