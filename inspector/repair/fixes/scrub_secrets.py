"""scrub-secrets: overwrite, in a copy of the pages, each secret value the secrets rule finds.

Same length, zero bytes: no page moves, the pagemap stays valid. Only the
pages files that hold a secret are copied and patched; the others are
hard-linked like any unchanged pages file. The scanner is the one rule CRI050
uses (inspector/secrets.py), so what check reports is what gets scrubbed.
"""

from __future__ import annotations

from ...errors import InspectError
from ...model.names import PAGE_SIZE, PE_PRESENT
from ..workspace import FixRefused, Workspace
from . import Fix

NAME = "scrub-secrets"


def apply(ws: Workspace, arg: str | None) -> None:
    if arg:
        raise FixRefused(NAME, "takes no argument")
    from ...secrets import scan_process

    cp = ws.checkpoint
    found = 0
    seen: set[tuple[str, int]] = set()
    for proc in cp.processes:
        if proc.state in ("dead", "zombie"):
            continue
        try:
            pm = cp.pagemap(proc.pid)
        except InspectError:
            continue  # no pagemap: no memory that could hold a secret
        hits = list(scan_process(cp, proc.pid))
        for hit in hits:
            if hit.where == "shared":
                raise FixRefused(
                    NAME,
                    f"a secret of pid {proc.pid} ({hit.title}, {hit.masked}) at 0x{hit.start:x} lies in shared "
                    "anonymous memory (a pagemap-shmem image), which this fix does not edit: keep it out of "
                    "shared memory and dump again",
                )
            if hit.where != "present":
                raise FixRefused(
                    NAME,
                    f"a secret of pid {proc.pid} ({hit.title}, {hit.masked}) at 0x{hit.start:x} lies in pages of the "
                    "pre-dump parent checkpoint, which this copy does not hold: scrub the parent too, or dump "
                    "without pre-dump",
                )
            pages_name = f"pages-{pm.pages_id}.img"
            pieces = list(_file_pieces(pm, hit.value_start, hit.value_end))
            if pieces is None or sum(n for _, n in pieces) != hit.value_length:
                raise FixRefused(NAME, f"the secret at 0x{hit.start:x} of pid {proc.pid} is not wholly in {pages_name}")
            what = f"pid {proc.pid} {hit.title}" + (f" {hit.name}" if hit.kind in ("env", "pem") else "")
            for offset, length in pieces:
                if (pages_name, offset) in seen:
                    continue
                seen.add((pages_name, offset))
                ws.patch_pages(pages_name, offset, bytes(length), f"{what} at 0x{hit.value_start:x}", hit.masked)
            found += 1
    if not found:
        raise FixRefused(NAME, "no secret found in the memory of the dumped processes: nothing to scrub")
    ws.note(
        "warning",
        f"{found} secret value(s) overwritten with zero bytes: the restored process finds them empty "
        "(an environment variable with an empty value, a key that no longer parses); give them back "
        "at restore time or restart the process",
    )


def _file_pieces(pm, start: int, end: int):
    """(offset in the pages file, length) for [start, end), page by page; raises FixRefused if not present."""
    addr = start
    while addr < end:
        page_end = addr - addr % PAGE_SIZE + PAGE_SIZE
        n = min(end, page_end) - addr
        run = next(iter(pm.runs_in(addr, addr + 1)), None)
        if run is None or not run.flags & PE_PRESENT or run.file_offset < 0:
            raise FixRefused(NAME, f"page 0x{addr - addr % PAGE_SIZE:x} of a secret is not in this checkpoint's pages")
        yield run.file_offset + (addr - run.start), n
        addr += n


FIX = Fix(
    NAME,
    "overwrite the secret values found in memory with zero bytes, in a copy of the pages (same length)",
    apply,
    addresses=("CRI050",),
)
