"""Helpers the per-rule tests share: the usual targets, the findings of one rule, and decode -> change -> encode
of one image in a writable copy of a corpus checkpoint."""

from __future__ import annotations

from pathlib import Path

from inspector.checks.base import Target
from inspector.checks.engine import run_checks
from inspector.codec.image import open_image

UNPRIV = Target(kind="unprivileged", uid=1001, caps=frozenset({"NET_ADMIN", "SYS_PTRACE"}))
ROOT = Target(kind="root")


def unpriv(**kw) -> Target:
    base = dict(kind="unprivileged", uid=1001, caps=frozenset({"NET_ADMIN", "SYS_PTRACE"}))
    base.update(kw)
    return Target(**base)


def found(path, target, code, severity=None):
    report = run_checks(Path(path), target, select=[code])
    return [f for f in report.findings if f.code == code and (severity is None or f.severity == severity)]


def edit(directory: Path, image: str, change) -> None:
    """Decode ``image``, let ``change(message)`` edit each entry (return False to leave it), encode it back."""
    img = open_image(directory / image)
    for entry in img.entries:
        msg = entry.message
        if change(msg) is not False:
            entry.set_message(msg)
    (directory / image).write_bytes(img.encode())


def retype_file5(d, kind: str, fill) -> None:
    """Turn file id 5 of a plain-devnull copy (its fds 1 and 2) into a file of type ``kind``, which
    ``fill(entry, fown)`` fills in (fown: the original owner settings)."""

    def change(fe):
        if fe.id != 5:
            return False
        fown = type(fe.reg.fown)()
        fown.CopyFrom(fe.reg.fown)
        fe.ClearField("reg")
        fe.type = fe.DESCRIPTOR.fields_by_name["type"].enum_type.values_by_name[kind].number
        fill(fe, fown)

    edit(d, "files.img", change)
