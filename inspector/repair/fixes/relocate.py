"""relocate=OLD:NEW: an installation moved; rewrite the file paths under OLD to NEW.

Every path CRIU reopens by name lives in a REG entry (files.img, or
reg-files.img in old layouts): fds, file mappings, exe, cwd, root, and the
names ghost and linked remaps re-create. Ghost symlink targets are rewritten
too. Memory (argv, environment, paths the program keeps) is not touched.
"""

from __future__ import annotations

import os

from ..workspace import FixRefused, Workspace
from . import Fix
from .common import file_label

NAME = "relocate"


def parse(arg: str | None) -> tuple[str, str]:
    if not arg or arg.count(":") != 1:
        raise ValueError("relocate takes OLD:NEW, two absolute paths separated by one ':'")
    old, new = arg.split(":")
    if not (old.startswith("/") and new.startswith("/")):
        raise ValueError(f"relocate=OLD:NEW needs absolute paths, not {arg!r}")
    old = os.path.normpath(old)
    new = os.path.normpath(new)
    if old == "/":
        raise ValueError("relocating / would rewrite every path; name the directory that moved")
    if old == new:
        raise ValueError("OLD and NEW are the same path")
    return old, new


def moved(path: str | bytes, old: str, new: str) -> str | None:
    if not isinstance(path, str):  # not UTF-8 (protobuf hands such strings back as bytes): OLD is, so no match
        return None
    if path == old:
        return new
    if path.startswith(old + "/"):
        return new + path[len(old) :]
    return None


def apply(ws: Workspace, arg: str | None) -> None:
    try:
        old, new = parse(arg)
    except ValueError as exc:
        raise FixRefused(NAME, str(exc)) from None
    images = [n for n in ("files.img",) if ws.has(n)] + ws.images_of_kind("REG_FILES")
    count = 0
    for name in dict.fromkeys(images):
        for entry in ws.image(name).entries:
            msg = entry.message
            if name == "files.img":
                if not msg.HasField("reg"):
                    continue
                reg, field, label = msg.reg, "reg.name", file_label(entry)
            else:  # reg-files.img of old layouts: bare reg_file_entry messages
                reg, field, label = msg, "name", f"#{entry.index} id={msg.id}"
            target = moved(reg.name, old, new)
            if target is not None:
                count += ws.set_field(name, entry, field, target, label)
    for name in ws.images_of_kind("GHOST_FILE"):
        if not ws.image(name).entries:
            continue  # validation refuses an empty ghost image; nothing to relocate in one
        entry = ws.image(name).entries[0]
        head = entry.message
        if head.HasField("symlnk_target"):
            target = moved(head.symlnk_target, old, new)
            if target is not None:
                count += ws.set_field(name, entry, "symlnk_target", target, "#0")
    if not count:
        raise FixRefused(NAME, f"no file path of this checkpoint is under {old}: nothing to relocate")
    ws.note("action", f"{new} must hold the files as they were under {old} (same sizes and modes: CRIU checks them)")
    ws.note("info", "memory is not rewritten: argv, environment and paths the program keeps still name " + old)
    for fd in (f for p in ws.checkpoint.processes for f in p.fds):
        if fd.socket is not None and fd.socket.name and moved(fd.socket.name, old, new):
            ws.note("warning", f"unix socket {fd.socket.name} is bound under {old}; its name is not relocated")


FIX = Fix(
    NAME,
    "rewrite file paths (fds, mappings, exe, cwd, root, ghost and remap names) under OLD to NEW",
    apply,
    arg="OLD:NEW",
    arg_required=True,
    repeatable=True,
    addresses=("CRI008", "CRI105", "CRI107"),
)
