"""detach-tty[=PATH]: rebind tty-bound fds to regular files, drop every tty entry.

CRIU collects every TTY entry of files.img even if no fd uses it, so all of
them go (else "Found slave peer index 0 without correspond master peer"),
with the REG entry of the pty and tty-info.img. Observed on CRIU 4.2:
unpriv-tty restored unprivileged with neither --shell-job nor a terminal.
"""

from __future__ import annotations

import os

from ...model import names
from ..refs import file_uses
from ..workspace import FixRefused, Workspace
from . import Fix
from .common import fd_type_value, fdinfo_label, file_label, host_file_state, new_reg_file_entry

NAME = "detach-tty"
STDIN_PATH = "/dev/null"
STDIN_FLAGS = 0  # O_RDONLY
OUTPUT_FLAGS = names.O_WRONLY | names.O_APPEND
PTY_MASTER_PATHS = ("/dev/ptmx", "/dev/pts/ptmx")
TTY_IMAGES = ("tty-info.img", "tty-data.img")


def apply(ws: Workspace, arg: str | None) -> None:
    path = arg or "/dev/null"
    if not os.path.isabs(path):
        raise FixRefused(NAME, f"PATH must be absolute (CRIU reopens it by name at restore): {path!r}")
    if ws.has("tty.img") or ws.images_of_kind("TTY_FILES"):
        raise FixRefused(NAME, "tty entries in a separate tty image (an old image layout) are not supported")
    if not ws.has("files.img"):
        raise FixRefused(NAME, "no files.img: this checkpoint has no file entries, so no tty")
    cp = ws.checkpoint
    files = ws.image("files.img")
    tty_entries = [e for e in files.entries if e.message.HasField("tty")]
    if not tty_entries:
        raise FixRefused(NAME, "no tty in this checkpoint (files.img has no TTY entry): nothing to detach")
    tty_ids = {e.message.id for e in tty_entries}
    uses = file_uses(cp)
    by_id = {e.message.id: e for e in files.entries}

    # the tree's own pty master would lose its terminal: no honest rebinding exists
    for e in tty_entries:
        t = e.message.tty
        regf = by_id.get(t.regf_id) if t.HasField("regf_id") else None
        if regf is not None and regf.message.HasField("reg") and regf.message.reg.name in PTY_MASTER_PATHS:
            users = [u.describe() for u in uses.get(e.message.id, []) if u.kind == "fd"]
            if users:
                raise FixRefused(
                    NAME,
                    f"the dumped tree holds the master side of a pty ({', '.join(users)}): rebinding it to a "
                    "file would cut the tree's own terminal; restore with --shell-job instead",
                )

    # fds on a tty, across every fdinfo image
    targets = []  # (fdinfo image, entry)
    for name in ws.images_of_kind("FDINFO"):
        for entry in ws.image(name).entries:
            if entry.message.id in tty_ids:
                targets.append((name, entry))

    free_ids = _unused_ids(set(by_id))
    input_id = output_id = None
    reg_type = fd_type_value("REG")
    for name, entry in targets:
        fi = entry.message
        tty_flags = by_id[fi.id].message.tty.flags
        reads_only = fi.fd == 0 or (tty_flags & names.O_ACCMODE) == 0
        if reads_only:
            if input_id is None:
                input_id = next(free_ids)
                ws.add_entry(
                    "files.img",
                    new_reg_file_entry(input_id, STDIN_PATH, STDIN_FLAGS),
                    f"new id={input_id} REG",
                    f"{STDIN_PATH} O_RDONLY",
                )
            new_id = input_id
        else:
            if output_id is None:
                output_id = next(free_ids)
                ws.add_entry(
                    "files.img",
                    new_reg_file_entry(output_id, path, OUTPUT_FLAGS),
                    f"new id={output_id} REG",
                    f"{path} {names.open_flags_string(OUTPUT_FLAGS)}",
                )
            new_id = output_id
        label = fdinfo_label(entry)
        ws.set_field(name, entry, "id", new_id, label)
        ws.set_field(name, entry, "type", reg_type, label)

    # every TTY entry goes, and the REG entries only they used
    for e in tty_entries:
        t = e.message.tty
        ws.delete_entry("files.img", e, file_label(e), f"tty (tty_info {t.tty_info_id})")
    for e in tty_entries:
        t = e.message.tty
        if not t.HasField("regf_id") or t.regf_id not in by_id:
            continue
        others = [u for u in uses.get(t.regf_id, []) if u.kind != "tty-regf"]
        regf = by_id[t.regf_id]
        if not any(x is regf for x in files.entries):
            continue  # two ttys on one REG entry: already gone
        if others:
            ws.note(
                "info",
                f"REG entry {t.regf_id} ({regf.message.reg.name}) is kept: also used by "
                + ", ".join(u.describe() for u in others),
            )
            continue
        ws.delete_entry("files.img", regf, file_label(regf), f"{regf.message.reg.name} (the tty's own REG entry)")
    for image in TTY_IMAGES:
        if ws.has(image):
            ws.delete_image(image, "no tty entry is left to use it")

    _report(ws, path, input_id, output_id)


def _report(ws: Workspace, path: str, input_id, output_id) -> None:
    cp = ws.checkpoint
    if input_id is not None:
        ws.note("info", f"fds that read the tty now read {STDIN_PATH} (end of file at once)")
    if output_id is not None:
        ws.note(
            "action",
            f"{path} must exist when `criu restore` runs (CRIU never creates it) and be writable by the "
            f"restoring user; the new entry records no mode and no size, so CRIU checks neither (a REG entry "
            f"opened O_WRONLY|O_APPEND with no size is not size-checked). {path} {host_file_state(path)}",
        )
        if path == "/dev/null":
            ws.note("warning", "output the process writes to its terminal is discarded (PATH is /dev/null)")
    ws.note("warning", "the process no longer has a controlling terminal: no SIGHUP, job control or isatty()")
    pids = {e.pid for e in cp.pstree}
    for e in cp.pstree:
        if e.sid not in pids:
            ws.note(
                "action",
                f"pid {e.pid} is not its own session leader (its session {e.sid} is outside the dumped tree): "
                "restore still needs --shell-job",
            )


def _unused_ids(used: set[int]):
    """File ids no entry has, lowest first (max + 1 overflows the u32 field when an id is 2^32 - 1)."""
    candidate = 1
    while True:
        if candidate not in used:
            yield candidate
        candidate += 1


FIX = Fix(
    NAME,
    "rebind tty-bound fds to /dev/null (stdin) and PATH (stdout/stderr, default /dev/null); drop every tty entry",
    apply,
    arg="PATH",
    addresses=("CRI001", "CRI002"),
)
