"""The restore target the commands' flags describe, as a ``Target``.

The flags themselves are defined once in ``commands/target_args.py``; this is
their one translation (``target_from_args``), so the commands cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from .base import Target


def target_from_args(args: Any) -> Target:
    """The Target of parsed options: an ``argparse.Namespace``, or any object with the same attributes."""
    return Target(
        kind=args.target,
        uid=args.uid,
        gid=args.gid,
        caps=frozenset(args.cap or ()),
        terminal=bool(args.terminal),
        shell_job=bool(args.shell_job),
        file_locks=bool(args.file_locks),
        tcp_established=bool(args.tcp_established),
        tcp_close=bool(args.tcp_close),
        ext_unix_sk=bool(args.ext_unix_sk),
        manage_cgroups=args.manage_cgroups,
        cgroup_yard=getattr(args, "cgroup_yard", None),
        inherit_fds=tuple(args.inherit_fd or ()),
        externals=tuple(getattr(args, "external", None) or ()),
        skip_file_rwx_check=bool(getattr(args, "skip_file_rwx_check", False)),
        file_validation=getattr(args, "file_validation", None) or "buildid",
        root=getattr(args, "root", None),
        criu=getattr(args, "criu", None),
        cpu_flags=cpu_flags_of(args.target_cpu) if getattr(args, "target_cpu", None) else None,
    )


def cpu_flags_of(path: str) -> frozenset[str]:
    """The flags of the first CPU of a /proc/cpuinfo copy."""
    from ..errors import InspectError
    from ..safeio import open_regular_file

    try:
        with open_regular_file(path) as fh:
            text = fh.read(4 << 20).decode("utf-8", "replace")
    except OSError as exc:
        raise InspectError(path, f"cannot read: {exc.strerror or exc}") from None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "flags":
            return frozenset(value.split())
    raise InspectError(path, "no 'flags' line: --target-cpu takes a copy of the restoring machine's /proc/cpuinfo")
