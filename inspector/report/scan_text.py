"""A scan as a table: one line per checkpoint, blocked ones first, then what changed since an earlier scan."""

from __future__ import annotations

import io

from .textout import Block, Heading, Table
from .textout import emit as emit_blocks

MiB = 1 << 20


def blocks(rows: list[dict], targets: list[str], since: dict | None = None) -> list[Block]:
    from ..scan import blocked

    t = Table(["checkpoint", "source", *targets, "errors", "warnings", "top codes", "procs", "memory MiB", "secrets"])
    for r in sorted(rows, key=lambda r: (not blocked(r), r["path"])):
        verdicts = [r["verdicts"][k] or "error" for k in targets]
        mem = "" if r["memory_present"] is None else f"{r['memory_present'] / MiB:.1f}"
        errors = "/".join("" if r["errors"][k] is None else str(r["errors"][k]) for k in targets)
        warnings = "/".join("" if r["warnings"][k] is None else str(r["warnings"][k]) for k in targets)
        t.add(
            r["path"],
            _source(r),
            *verdicts,
            errors,
            warnings,
            ",".join(r["top_codes"]),
            r["processes"],
            mem,
            {True: "yes", False: "no", None: ""}[r["secrets"]],
        )
    out: list[Block] = [t]
    failed = [r for r in rows if r["error"]]
    if failed:
        out.append(Heading("could not read", style="bold red"))
        out += [f"  {r['error']}" for r in failed]
    n_blocked = sum(1 for r in rows if blocked(r))
    out.append(
        f"{len(rows)} checkpoint(s); {n_blocked} not restorable for every target "
        f"({', '.join(targets)}); {len(failed)} unreadable"
    )
    if since is not None:
        out.append(Heading("since the earlier scan"))
        out += [f"  new      {p}" for p in since["new"]]
        out += [f"  removed  {p}" for p in since["removed"]]
        out += [f"  changed  {c['path']} ({c['target']}): {c['before']} -> {c['after']}" for c in since["changed"]]
        if not (since["new"] or since["removed"] or since["changed"]):
            out.append("  no change")
    return out


def _source(r: dict) -> str:
    if r["source"] is None:
        return ""
    return r["source"] + (f" ({r['archive']})" if r["archive"] else "")


def render(rows: list[dict], targets: list[str], since: dict | None = None) -> str:
    buf = io.StringIO()
    emit_blocks(blocks(rows, targets, since), buf)
    return buf.getvalue()


def emit(rows: list[dict], targets: list[str], since: dict | None = None) -> None:
    emit_blocks(blocks(rows, targets, since))
