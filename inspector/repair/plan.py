"""Turn --fix specs into edits of a workspace, in the registry's order.

``plan_repair`` applies every requested fix to an in-memory workspace and
returns it; nothing is written. A fix that refuses raises ``FixRefused`` and
the whole plan is dropped, so a refused repair changes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import fixes
from .workspace import FixRefused, Workspace


@dataclass(frozen=True)
class FixRequest:
    name: str
    arg: str | None = None

    def __str__(self) -> str:
        return self.name if self.arg is None else f"{self.name}={self.arg}"


def parse_fix_spec(spec: str) -> FixRequest:
    """NAME or NAME=ARG; ValueError with a message fit for the command line."""
    name, eq, arg = spec.partition("=")
    name = name.strip()
    try:
        fix = fixes.get(name)
    except KeyError:
        raise ValueError(f"unknown fix {name!r} (fixes: {', '.join(fixes.names())})") from None
    if eq and fix.arg is None:
        raise ValueError(f"fix {name} takes no argument")
    if not eq and fix.arg_required:
        raise ValueError(f"fix {name} needs an argument: --fix {name}={fix.arg}")
    if eq and not arg:
        raise ValueError(f"fix {name}= needs a value ({fix.arg})")
    return FixRequest(name, arg if eq else None)


def check_requests(requests: list[FixRequest]) -> None:
    seen: dict[str, int] = {}
    for req in requests:
        seen[req.name] = seen.get(req.name, 0) + 1
        if seen[req.name] > 1 and not fixes.get(req.name).repeatable:
            raise ValueError(f"fix {req.name} given twice")


def plan_repair(path: str | os.PathLike, requests: list[FixRequest]) -> Workspace:
    """Apply the fixes in memory. Raises FixRefused (nothing applied) or InspectError (bad input)."""
    check_requests(requests)
    ws = Workspace(path)
    try:
        for name in fixes.names():
            for req in requests:
                if req.name != name:
                    continue
                ws.fix = name
                fixes.get(name).apply(ws, req.arg)
    except FixRefused:
        ws.close()
        raise
    ws.fix = ""
    ws.applied = [str(req) for name in fixes.names() for req in requests if req.name == name]
    return ws


__all__ = ["FixRefused", "FixRequest", "Workspace", "parse_fix_spec", "plan_repair"]
