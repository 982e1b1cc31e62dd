"""A repair as JSON (stable: fields are added, never renamed; docs/repair.md lists them)."""

from __future__ import annotations

import json
from dataclasses import asdict

REPAIR_JSON_VERSION = 1


def repair_dict(ws, requests, out: str | None, dry_run: bool, result=None, delta=None, target=None) -> dict:
    data = {
        "version": REPAIR_JSON_VERSION,
        "input": ws.origin,
        "output": out,
        "dry_run": dry_run,
        "fixes": [str(r) for r in requests],
        "changes": [_change(c) for c in ws.changes],
        "notes": [asdict(n) for n in ws.notes],
        "written": None,
        "check": None,
    }
    if result is not None:
        data["written"] = {k: v for k, v in asdict(result).items() if k != "out"}
    if delta is not None:
        from .check_json import finding_dict, target_dict

        data["check"] = {
            "skipped": None,  # repair JSON v1 keeps the key: the comparison always runs now
            "note": delta.note,
            "target": target_dict(target) if target is not None else None,
            "before": delta.before_verdict or None,
            "after": delta.after_verdict or None,
            "removed": [finding_dict(f) for f in delta.removed],
            "unaddressed": [finding_dict(f) for f in delta.unaddressed],
            "remaining": [finding_dict(f) for f in delta.remaining],
            "added": [finding_dict(f) for f in delta.added],
        }
    return data


def _change(c) -> dict:
    out = asdict(c)
    for key in ("old", "new"):
        if isinstance(out[key], bytes):
            out[key] = out[key].hex()
    return out


def render(data: dict, stream) -> None:
    json.dump(data, stream, indent=1)
    stream.write("\n")
