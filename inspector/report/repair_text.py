"""Text of a repair: the changes (image, entry, field: old -> new), notes, what was written, check delta."""

from __future__ import annotations

from .textout import Block, Heading, Table, emit

LEVEL_ORDER = {"action": 0, "warning": 1, "info": 2}


def value_text(value) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return _scalar(value)


def _scalar(v) -> str:
    if isinstance(v, bytes):
        return repr(v)
    if isinstance(v, int) and not isinstance(v, bool) and v > 0xFFFF:
        return f"{v} (0x{v:x})"
    return str(v)


def change_text(c) -> str:
    where = f"{c.image} {c.entry}".strip()
    if c.action == "add-entry":
        return f"{where}: added {c.new}"
    if c.action == "delete-entry":
        return f"{where}: deleted {c.old}"
    if c.action == "delete-file":
        return f"{c.image}: file deleted ({c.old})"
    if c.action == "patch-pages":
        return f"{where} {c.field}: {c.old} -> {c.new}"
    return f"{where} {c.field}: {value_text(c.old)} -> {value_text(c.new)}"


def plan_blocks(ws, requests, out: str | None, dry_run: bool) -> list[Block]:
    blocks: list[Block] = []
    fixes = ", ".join(str(r) for r in requests) or "none (a plain copy)"
    head = f"repair {ws.path}" + (f" -> {out}" if out else "") + f"  fixes: {fixes}"
    blocks.append(Heading(head + ("  (dry run: nothing written)" if dry_run else "")))
    if ws.changes:
        t = Table(["fix", "change (image entry field: old -> new)"], title="changes")
        for c in ws.changes:
            t.add(c.fix, change_text(c))
        blocks.append(t)
    else:
        blocks.append("no changes: every image is written back byte for byte")
    if ws.notes:
        t = Table(["", "fix", "note"], title="notes")
        for n in sorted(ws.notes, key=lambda n: LEVEL_ORDER.get(n.level, 9)):
            t.add(n.level, n.fix, n.text)
        blocks.append(t)
    return blocks


def written_blocks(result) -> list[Block]:
    parts = [f"wrote {result.out}: {len(result.changed)} image(s) changed"]
    if result.changed:
        parts[0] += f" ({', '.join(result.changed)})"
    for label, items in (("deleted", result.deleted), ("pages patched", result.patched)):
        if items:
            parts.append(f"{len(items)} {label} ({', '.join(items)})")
    parts.append(f"{len(result.written) - len(result.changed)} re-encoded unchanged")
    parts.append(f"{len(result.linked)} hard-linked")
    parts.append(f"{len(result.copied)} copied")
    blocks: list[Block] = ["; ".join(parts)]
    for s in result.symlinks:
        blocks.append(f"symlink {s}")
    blocks += [f"note: {w}" for w in result.warnings]
    return blocks


def delta_blocks(delta, target) -> list[Block]:
    who = target.kind + (f", uid {target.uid}" if target.uid is not None else "")
    after = delta.after_verdict
    unverified = [f for f in delta.unaddressed if f.severity == "error"]
    if after == "restorable" and unverified:  # the exit code is 1: say why, not "restorable"
        after = f"restorable, unverified ({len(unverified)} error(s) no fix addresses vanished: check --host)"
    blocks: list[Block] = [Heading(f"check ({who}): {delta.before_verdict} -> {after}")]
    if delta.note:
        blocks.append(f"note: {delta.note}")
    for title, items in (
        ("removed by the repair", delta.removed),
        (
            "no longer reported, but no fix addresses them (the checker infers them from what "
            "the repair changed, e.g. file owners from the task's uid): verify on the restoring "
            "host (check --host)",
            delta.unaddressed,
        ),
        ("remaining", delta.remaining),
        ("new after the repair", delta.added),
    ):
        if not items and title.startswith("no longer"):
            continue
        t = Table(["severity", "code", "pid", "fd", "finding"], title=f"{title} ({len(items)})")
        for f in items:
            t.add(f.severity, f.code, f.pid, f.fd, f.message)
        if items:
            blocks.append(t)
        else:
            blocks.append(f"{title}: none")
    return blocks


def render(blocks: list[Block]) -> None:
    emit(blocks)
