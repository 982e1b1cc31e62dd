"""bounding-set[=HEX]: widen every task's cap_bnd by the bits the restorer's own set lacks.

CRIU's restorer drops (PR_CAPBSET_DROP) every capability missing from the
image's bounding set; without CAP_SETPCAP that fails ("Unable to drop
capability 24" on unpriv-plain) unless the task had no_new_privs. A bit the
restorer lacks is already gone from its set, so adding it to the image
changes nothing for the restored process: widening reproduced the original
exactly. A bit the restorer *has* and the image lacks cannot be edited away
honestly: that is refused.
"""

from __future__ import annotations

import re

from ...model import names
from ..workspace import FixRefused, Workspace
from . import Fix
from .common import cap_list, cap_words
from .uid import all_creds, creds_of

NAME = "bounding-set"
CAP_WORDS = 2  # CRIU's CR_CAP_SIZE


def parse(arg: str) -> int:
    text = arg.strip().lower().removeprefix("0x")
    if not re.fullmatch(r"[0-9a-f]{1,16}", text):
        raise ValueError(f"bounding-set=HEX takes a hex mask like /proc/self/status CapBnd, not {arg!r}")
    return int(text, 16)


def host_bounding_set(status: str = "/proc/self/status", last_cap: str = "/proc/sys/kernel/cap_last_cap"):
    """(CapBnd of this process, the kernel's last capability)."""
    mask = None
    with open(status) as fh:
        for line in fh:
            if line.startswith("CapBnd:"):
                mask = int(line.split()[1], 16)
    if mask is None:
        raise FixRefused(NAME, f"no CapBnd line in {status}: give the restorer's set as bounding-set=HEX")
    try:
        with open(last_cap) as fh:
            last = int(fh.read().strip())
    except (OSError, ValueError):
        last = max(names.LAST_CAP, mask.bit_length() - 1)
    return mask, last


def apply(ws: Workspace, arg: str | None) -> None:
    if arg:
        try:
            restorer = parse(arg)
        except ValueError as exc:
            raise FixRefused(NAME, str(exc)) from None
        last_cap, source = max(names.LAST_CAP, restorer.bit_length() - 1), "given"
    else:
        restorer, last_cap = host_bounding_set()
        source = "this machine's CapBnd"
    full = names.full_cap_mask(last_cap)
    restorer &= full
    lacks = full & ~restorer
    ws.target_hints["bounding_set"] = restorer

    plans = []
    conflicts = []
    for pid, tid, image, prefix in all_creds(ws, NAME):
        creds = creds_of(ws, image, prefix)
        bnd = names.caps_from_words(creds.cap_bnd)
        extra = restorer & ~bnd
        if extra:
            conflicts.append((pid, tid, extra, bool(getattr(creds, "no_new_privs", 0))))
        plans.append((pid, tid, image, prefix, bnd))
    if conflicts:
        pid, tid, extra, nnp = conflicts[0]
        more = f" (and {len(conflicts) - 1} more threads)" if len(conflicts) > 1 else ""
        raise FixRefused(
            NAME,
            f"the restorer's bounding set ({source}, 0x{restorer:x}) holds {cap_list(extra)}, which thread {tid} "
            f"of pid {pid} lacks{more}: CRIU must drop them (needs CAP_SETPCAP), and adding them to the image would "
            "give the process capabilities it never had. No honest edit exists: restore with CAP_SETPCAP or as "
            "root"
            + (
                "; this task already has no_new_privs, so CRIU only warns"
                if nnp
                else ", or pass --fix no-new-privs (CRIU then only warns, but the process can never again gain "
                "privileges through execve)"
            ),
        )
    for pid, tid, image, prefix, bnd in plans:
        entry = ws.image(image).entries[0]
        words = list(creds_of(ws, image, prefix).cap_bnd)
        new = bnd | lacks
        ws.set_field(
            image,
            entry,
            prefix + "cap_bnd",
            cap_words(new, max(len(words), CAP_WORDS)),
            f"#0 tid {tid}" if prefix else f"#0 pid {pid}",
        )
        lost = bnd & ~restorer
        if lost and tid == pid:
            ws.note(
                "warning",
                f"pid {pid}'s bounding set after restore also lacks {cap_list(lost)}, which the "
                "restorer's own set lacks (a bounding set can never be widened)",
            )
    if not any(c.fix == NAME for c in ws.changes):
        raise FixRefused(
            NAME,
            f"nothing to change: every task's bounding set already holds every bit the "
            f"restorer's ({source}, 0x{restorer:x}) lacks, so CRIU has nothing to drop",
        )
    ws.note(
        "info",
        f"restorer's bounding set ({source}): 0x{restorer:x}; bits it lacks were added to every "
        f"task's cap_bnd ({cap_list(lacks)}), so CRIU has nothing to drop and the restored process "
        "gets the restorer's set",
    )


FIX = Fix(
    NAME,
    "add to every task's bounding set the bits the restorer's set lacks (HEX, default: this machine's CapBnd)",
    apply,
    arg="HEX",
    addresses=("CRI007",),
)
