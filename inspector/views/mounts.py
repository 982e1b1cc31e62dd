"""show mounts: the container's mounts as its OCI spec asked for them, and the mount namespaces CRIU dumped.

``spec.dump`` is the OCI runtime spec the engine ran the container with
(Podman and CRI-O write it beside ``checkpoint/``); its ``mounts`` list is
what checkpointctl's ``inspect --mounts`` shows (internal/json.go
``buildJSONMounts``: destination, type, source; options are added here).

CRIU writes ``mountpoints-N.img`` for a mount namespace of the tree's own,
N being the namespace id (criu/mount.c dump_mnt_ns): one ``mnt_entry`` per
mount, in mountinfo terms (mnt_id, parent, root, mountpoint, fstype, source,
options, MS_* flags, sharing group ids), with ``ext_key`` set for a mount
dumped as external (``--external mnt[PATH]:KEY``, or ``CRIU:AUTODETECTED``
with ``--ext-mount-map auto``), which the restore must be told where to find.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .container import container_dir, load_json

MOUNT_IMAGE = re.compile(r"^mountpoints-(\d+)\.img$")

MS_RDONLY = 0x1
# linux/mount.h MS_* as mountinfo prints them (per-mount flags), after "ro" or "rw"
MS_FLAGS = [
    (0x2, "nosuid"),
    (0x4, "nodev"),
    (0x8, "noexec"),
    (0x10, "sync"),
    (0x40, "mand"),
    (0x80, "dirsync"),
    (0x100, "nosymfollow"),
    (0x400, "noatime"),
    (0x800, "nodiratime"),
    (0x200000, "relatime"),
    (0x1000000, "strictatime"),
    (0x2000000, "lazytime"),
]


@dataclass
class SpecMount:
    """One entry of spec.dump's ``mounts`` (OCI runtime spec, config.md "Mounts")."""

    destination: str
    type: str | None
    source: str | None
    options: list[str] = field(default_factory=list)


@dataclass
class DumpedMount:
    """One entry of mountpoints-N.img."""

    ns_id: int
    mnt_id: int
    parent_mnt_id: int
    mountpoint: str
    root: str
    fstype: str  # CRIU's fstype name (PROC, TMPFS, ...), or the fs name CRIU kept for AUTO / unsupported ones
    source: str | None
    options: str | None  # superblock options
    flags: list[str]  # per-mount flags, mountinfo style (ro/rw first)
    shared_id: int | None = None
    master_id: int | None = None
    external: str | None = None  # the ext_key of a mount dumped as external
    deleted: bool = False  # its mountpoint was deleted at dump time


@dataclass
class MountsView:
    container: bool
    spec_file: bool  # spec.dump is there (and was read)
    spec_mounts: list[SpecMount] = field(default_factory=list)
    dumped: list[DumpedMount] = field(default_factory=list)
    namespaces: list[int] = field(default_factory=list)  # ids of the dumped mount namespaces


def mounts_view(cp) -> MountsView:
    view = MountsView(container=container_dir(cp) is not None, spec_file=False)
    spec = load_json(cp, "spec.dump") if view.container else None
    if isinstance(spec, dict):
        view.spec_file = True
        view.spec_mounts = spec_mounts(spec)
    for name in cp.files:
        m = MOUNT_IMAGE.match(name)
        if m:
            view.namespaces.append(int(m.group(1)))
            view.dumped += cp._soft(_dumped, cp, name, int(m.group(1)), default=[])
    return view


def spec_mounts(spec: dict) -> list[SpecMount]:
    out = []
    mounts = spec.get("mounts")
    for m in mounts if isinstance(mounts, list) else []:
        if not isinstance(m, dict) or not isinstance(m.get("destination"), str):
            continue
        options = m.get("options")
        out.append(
            SpecMount(
                m["destination"],
                _text(m.get("type")),
                _text(m.get("source")),
                [o for o in options if isinstance(o, str)] if isinstance(options, list) else [],
            )
        )
    return out


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def mount_flags(flags: int) -> list[str]:
    return ["ro" if flags & MS_RDONLY else "rw"] + [name for bit, name in MS_FLAGS if flags & bit]


def _dumped(cp, name: str, ns_id: int) -> list[DumpedMount]:
    from ..codec.schema import registry
    from ..model.checkpoint import as_text

    fstypes = registry().enum_names("mnt_pb2", "fstype")
    out = []
    for m in cp.entries(name):
        fstype = fstypes.get(m.fstype, str(m.fstype))
        if m.HasField("fsname") and m.fsname:
            fstype = f"{fstype} ({as_text(m.fsname)})"
        external = None
        if m.HasField("ext_key"):
            external = as_text(m.ext_key) or "(external)"
        elif m.HasField("ext_mount") and m.ext_mount:
            external = "(external)"
        out.append(
            DumpedMount(
                ns_id,
                m.mnt_id,
                m.parent_mnt_id,
                as_text(m.mountpoint),
                as_text(m.root),
                fstype,
                as_text(m.source) or None,
                as_text(m.options) or None,
                mount_flags(m.flags),
                m.shared_id if m.HasField("shared_id") and m.shared_id else None,
                m.master_id if m.HasField("master_id") and m.master_id else None,
                external,
                bool(m.HasField("deleted") and m.deleted),
            )
        )
    return sorted(out, key=lambda d: d.mnt_id)
