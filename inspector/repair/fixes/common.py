"""Small helpers the fixes share: enum values, labels, new file entries, host facts."""

from __future__ import annotations

import os
import stat

from ...codec import schema
from ...model import names


def fd_type_value(name: str) -> int:
    for value, n in schema.fd_type_names().items():
        if n == name:
            return value
    raise KeyError(name)


def file_label(entry) -> str:
    msg = entry.message
    return f"#{entry.index} id={msg.id} {schema.fd_type_names().get(msg.type, msg.type)}"


def fdinfo_label(entry) -> str:
    return f"#{entry.index} fd {entry.message.fd}"


def new_reg_file_entry(file_id: int, name: str, flags: int):
    """A REG entry of files.img: no size and no mode recorded, so CRIU checks neither."""
    cls = schema.message_class("fdinfo_pb2", "file_entry")
    msg = cls()
    msg.type = fd_type_value("REG")
    msg.id = file_id
    reg = msg.reg
    reg.id = file_id
    reg.flags = flags
    reg.pos = 0
    reg.name = name
    for key in ("uid", "euid", "signum", "pid_type", "pid"):
        setattr(reg.fown, key, 0)
    return msg


def cap_words(mask: int, count: int) -> list[int]:
    """A capability mask as CRIU's u32 words (low word first), ``count`` words."""
    return [(mask >> (32 * i)) & 0xFFFFFFFF for i in range(count)]


def cap_list(mask: int) -> str:
    caps = names.cap_names(mask)
    return ", ".join(caps) if caps else "none"


def host_file_state(path: str) -> str:
    """What this machine says of a path (the restoring host may differ)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "does not exist on this machine"
    except OSError as exc:
        return f"cannot be inspected here ({exc.strerror})"
    except ValueError:
        return "holds a NUL byte: no file can have that name"
    return f"on this machine: owner {st.st_uid}:{st.st_gid}, mode {stat.filemode(st.st_mode)}"


def may_access(path: str, uid: int, gid: int, want: str) -> bool | None:
    """Classic permission bits only (no ACLs, no capabilities): None if the path is not here."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        return None
    if uid == 0:
        return True
    bits = {"r": 4, "w": 2, "x": 1}
    shift = 6 if st.st_uid == uid else 3 if st.st_gid == gid else 0
    mode = (st.st_mode >> shift) & 7
    return all(mode & bits[c] for c in want)
