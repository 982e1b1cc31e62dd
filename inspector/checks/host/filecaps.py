"""File capabilities: the ``security.capability`` xattr a binary on this machine carries."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from ...model import names

VFS_CAP_REVISION_MASK = 0xFF000000
VFS_CAP_REVISION_1, VFS_CAP_REVISION_2, VFS_CAP_REVISION_3 = 0x01000000, 0x02000000, 0x03000000
VFS_CAP_FLAGS_EFFECTIVE = 0x000001


@dataclass(frozen=True)
class FileCaps:
    permitted: int
    inheritable: int
    effective: bool
    rootid: int | None = None

    def names(self) -> list[str]:
        return names.cap_names(self.permitted)


def decode_file_caps(raw: bytes) -> FileCaps | None:
    """struct vfs_cap_data / vfs_ns_cap_data, as stored in the security.capability xattr."""
    if len(raw) < 4:
        return None
    (magic,) = struct.unpack_from("<I", raw, 0)
    rev = magic & VFS_CAP_REVISION_MASK
    eff = bool(magic & VFS_CAP_FLAGS_EFFECTIVE)
    if rev == VFS_CAP_REVISION_1 and len(raw) >= 12:
        prm, inh = struct.unpack_from("<II", raw, 4)
        return FileCaps(prm, inh, eff)
    if rev in (VFS_CAP_REVISION_2, VFS_CAP_REVISION_3) and len(raw) >= 20:
        prm_lo, inh_lo, prm_hi, inh_hi = struct.unpack_from("<IIII", raw, 4)
        rootid = struct.unpack_from("<I", raw, 20)[0] if rev == VFS_CAP_REVISION_3 and len(raw) >= 24 else None
        return FileCaps(prm_lo | prm_hi << 32, inh_lo | inh_hi << 32, eff, rootid)
    return None


def read_file_caps(path: str) -> FileCaps | None:
    """The capabilities ``path`` carries, or None (none, or no xattr support)."""
    try:
        raw = os.getxattr(path, "security.capability")
    except OSError:
        return None
    return decode_file_caps(raw)
