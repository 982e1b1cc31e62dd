"""Open fds (matched by number): added, removed, retargeted, position and flags changed,
and the sockets behind them (state, addresses)."""

from __future__ import annotations

import re

from ...model import names
from ...model.types import Fd, Process
from ..context import Context
from ..fields import compare_values
from ..result import ADDED, CHANGED, REMOVED, SAME, Item

# Kernel inode numbers (pipe:[N], socket:[N]) name the same object only within one
# running system; they are left out so a restored-and-redumped tree compares clean.
_INODE = re.compile(r"\[\d+\]")


def fd_facts(fd: Fd, map_pid) -> dict:
    kernel_object = fd.socket is not None or fd.pipe_id is not None
    out = {
        "type": fd.type,
        "path": None if kernel_object else fd.path,
        "flags": names.open_flags_string(fd.open_flags) if fd.open_flags is not None else None,
        "cloexec": bool(fd.flags & 1),
        "pos": fd.pos,
        "size": fd.size,
        "mode": None if fd.mode is None else f"0o{fd.mode:o}",
        "deleted": fd.deleted,
        "memfd": fd.memfd,
        "peer": _INODE.sub("[*]", fd.peer) if fd.peer else fd.note,
    }
    s = fd.socket
    if s is not None:
        for key in ("family", "type", "state", "proto", "src", "dst", "name", "external_peer"):
            out[f"socket.{key}"] = getattr(s, key)
    if fd.tty is not None:
        for key in ("type", "index", "uid", "gid"):
            out[f"tty.{key}"] = getattr(fd.tty, key)
        out["tty.sid"] = map_pid(fd.tty.sid)
        out["tty.pgrp"] = map_pid(fd.tty.pgrp)
    return out


def _category(key: str) -> str:
    return "positions" if key == "pos" else "structure"


def compare_fds(ctx: Context, a: Process, b: Process) -> list[Item]:
    fa = {fd.fd: fd for fd in a.fds}
    fb = {fd.fd: fd for fd in b.fds}
    items = []
    same_pid = lambda pid: pid  # noqa: E731
    for n in sorted(set(fa) | set(fb)):
        if n not in fb:
            items.append(Item("fd", f"fd {n}", REMOVED, info={"path_a": fa[n].path, "type_a": fa[n].type}))
            continue
        if n not in fa:
            items.append(Item("fd", f"fd {n}", ADDED, info={"path_b": fb[n].path, "type_b": fb[n].type}))
            continue
        x, y = fa[n], fb[n]
        facts_a, facts_b = fd_facts(x, ctx.matching.map_pid), fd_facts(y, same_pid)
        changes = ctx.kept(compare_values(facts_a, facts_b, _category))
        info = {}
        if any(c.field in ("path", "type") for c in changes):
            info = {"retargeted": True, "path_a": x.path, "path_b": y.path}
        items.append(Item("fd", f"fd {n}", CHANGED if changes else SAME, changes, info))
    return items
