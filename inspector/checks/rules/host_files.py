"""CRI105 (host): files the processes had open, mapped, or as cwd/root/exe: present here as criu expects?

criu reopens every regular file by its path and then checks it is the same
file: the size ("File %s has bad size %lu (expect %lu)"), the whole st_mode
("File %s has bad mode 0%o (expect 0%o)", rwx bits skippable with
--skip-file-rwx-check) and, by default, the ELF build-id ("File %s has bad
build-ID"; --file-validation filesize skips it).
"""

from __future__ import annotations

import stat
from typing import Any

from ..base import Rule
from ..facts import make
from ..host import current_host, mode_string, reg_files

RWX = 0o777


def _who(use) -> str:
    pids = sorted({pid for pid, _, _ in use.users})
    first = use.users[0][2]
    more = f" +{len(use.users) - 1} more" if len(use.users) > 1 else ""
    return f"pid {', '.join(map(str, pids))}: {first}{more}"


def check(cp, target, host=None):
    host = host or current_host()
    for use in reg_files(cp):
        pid, fd, _ = use.users[0]
        where: dict[str, Any] = dict(pid=pid, fd=fd, image="files.img")
        root = target.root
        details = {"path": use.path, "host_path": host.host_path(use.path, root), "uses": [w for _, _, w in use.users]}
        st = host.stat(use.path, root)
        if st is None:
            yield make(
                RULE,
                f"{use.path} ({_who(use)}) does not exist here" + (f" (under --root {root})" if root else ""),
                details=details,
                **where,
                criu_error=f"Can't open file {use.path} on restore: No such file or directory",
                fix="Put the file back at that path (as it was at dump time), restore with --root pointing at a "
                "tree that has it, or criu-inspect repair --fix relocate=OLD:NEW to point at where it is now.",
            )
            continue
        if use.size is not None and stat.S_ISREG(st.st_mode) and st.st_size != use.size:
            details.update(size=st.st_size, expected_size=use.size)
            yield make(
                RULE,
                f"{use.path} ({_who(use)}) is {st.st_size} bytes here, {use.size} at dump time",
                details=details,
                criu_error=f"File {use.path} has bad size {st.st_size} (expect {use.size})",
                **where,
            )
            continue
        if use.mode is not None:
            have, want = st.st_mode, use.mode
            if target.skip_file_rwx_check:
                have, want = have & ~RWX, want & ~RWX
            if have != want:
                details.update(mode=st.st_mode, expected_mode=use.mode)
                yield make(
                    RULE,
                    f"{use.path} ({_who(use)}) has mode {mode_string(st.st_mode)} here, "
                    f"{mode_string(use.mode)} at dump time",
                    details=details,
                    **where,
                    criu_error=f"File {use.path} has bad mode 0{st.st_mode:o} (expect 0{use.mode:o})",
                    fix="chmod the file back to the dumped mode"
                    + ("" if (st.st_mode & ~RWX) != (use.mode & ~RWX) else ", or restore with --skip-file-rwx-check")
                    + ".",
                )
                continue
        if target.file_validation == "buildid" and use.build_id and use.size is not None and stat.S_ISREG(st.st_mode):
            found = host.build_id(use.path, root)
            if (
                found is not None
                and (len(found) + 3) // 4 * 4 == len(use.build_id)
                and found != use.build_id[: len(found)]
            ):
                details.update(build_id=found.hex(), expected_build_id=use.build_id.hex())
                yield make(
                    RULE,
                    f"{use.path} ({_who(use)}) is another build than at dump time (ELF build-id "
                    f"{found.hex()[:12]}..., dumped {use.build_id.hex()[:12]}...)",
                    details=details,
                    **where,
                    criu_error=f"File {use.path} has bad build-ID",
                    fix="Restore where the same build of the file is installed (same image/package versions), or "
                    "restore with --file-validation filesize if the code at the mapped addresses is known to match.",
                )


RULE = Rule(
    code="CRI105",
    title="reopened file missing or different on this host",
    category="host",
    severity="error",
    rationale=(
        "criu reopens by path every regular file the processes had open, mapped, or used as cwd, root or exe, and "
        "refuses one whose size, mode (type and rwx bits) or ELF build-id differs from the dump: the process would "
        "otherwise see another file at its saved offsets and addresses."
    ),
    fix="Make the file at that path what it was at dump time (size, mode, build), or restore with --root / "
    "criu-inspect repair --fix relocate=OLD:NEW to point at a copy that is.",
    check=check,
    criu_error="File %s has bad size %lu (expect %lu)",
    host=True,
)
