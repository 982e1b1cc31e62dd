"""CRI050: secrets in the memory of the dumped processes.

Not a restore blocker: a leak. A checkpoint shipped in a container image
carries every page the processes had, so an environment variable holding a
password, a private key read from disk or a cloud token is readable by anyone
who can read the image. Reported with pid, address and VMA, value masked.
"""

from __future__ import annotations

from ...errors import InspectError
from ..base import Finding, Rule

MAX_PER_PROCESS = 50


def check(cp, target):
    from ...memsearch import vma_label
    from ...model import names
    from ...secrets import scan_process

    unreadable: InspectError | None = None
    for proc in cp.processes:
        if proc.state in ("dead", "zombie"):
            continue
        try:
            pm = cp.pagemap(proc.pid)
        except InspectError:  # no pagemap: no memory to leak (the model reports the missing image)
            continue
        hits = []
        try:
            for hit in scan_process(cp, proc.pid):
                hits.append(hit)
        except InspectError as exc:  # report what was found before the bad page, scan the other processes
            unreadable = unreadable or exc
        for hit in hits[:MAX_PER_PROCESS]:
            vma = next((v for v in proc.vmas if v.start <= hit.start < v.end), None)
            label = vma_label(proc, vma)
            where = f"{label} {vma.start:x}-{vma.end:x} {names.prot_string(vma.prot)}" if vma is not None else label
            what = {
                "env": f"environment variable {hit.name} (named like a secret)",
                "pem": f"PEM private key ({hit.name})",
            }.get(hit.kind, hit.title)
            image = _pages_image(cp, pm, proc.pid, hit)
            yield Finding(
                code=RULE.code,
                title=RULE.title,
                category=RULE.category,
                severity=RULE.severity,
                message=(
                    f"pid {proc.pid} ({proc.comm}): {what} at 0x{hit.start:x} in {where}: value {hit.masked}"
                    + _WHERE_NOTE.get(hit.where, "")
                ),
                fix=RULE.fix,
                pid=proc.pid,
                vma_start=vma.start if vma is not None else None,
                image=image,
                details={
                    "kind": hit.kind,
                    "name": hit.name,
                    "address": hit.start,
                    "address_hex": f"0x{hit.start:x}",
                    "value_address": hit.value_start,
                    "value_length": hit.value_length,
                    "masked": hit.masked,
                    "where": hit.where,
                    "vma": label,
                    **_file_span(pm, hit),
                },
            )
        if len(hits) > MAX_PER_PROCESS:
            yield Finding(
                code=RULE.code,
                title=RULE.title,
                category=RULE.category,
                severity=RULE.severity,
                message=f"pid {proc.pid} ({proc.comm}): {len(hits) - MAX_PER_PROCESS} more secrets not listed "
                f"({len(hits)} in all; `criu-inspect grep` finds them)",
                fix=RULE.fix,
                pid=proc.pid,
                image=f"pages-{pm.pages_id}.img",
                details={"more": len(hits) - MAX_PER_PROCESS},
            )
    if unreadable is not None:
        raise unreadable  # the engine records it as a problem: the scan was incomplete


def _file_span(pm, hit) -> dict:
    """Where the value lies in pages-N.img (file_offset, file_length), when its first page is present there."""
    run = next(iter(pm.runs_in(hit.value_start, hit.value_start + 1)), None)
    if hit.where != "present" or run is None or run.file_offset < 0:
        return {}
    return {"file_offset": run.file_offset + hit.value_start - run.start, "file_length": hit.value_length}


_WHERE_NOTE = {
    "parent": " (page from the pre-dump parent)",
    "shared": " (shared memory: every process that maps it reads it)",
}


def _pages_image(cp, pm, pid: int, hit) -> str:
    """The pages file (relative to the checkpoint) the secret's first page is read from."""
    if hit.where == "present":
        return f"pages-{pm.pages_id}.img"
    if hit.where == "shared":  # the shared object's own pages file, named by its pagemap-shmem-ID.img
        return next(
            (f"pages-{spm.pages_id}.img" for vma, spm in cp.shared_memory(pid) if vma.start <= hit.start < vma.end),
            "pagemap-shmem",
        )
    return _parent_pages_image(cp, pid)


def _parent_pages_image(cp, pid: int) -> str:
    """The pages file (relative to the checkpoint) a PE_PARENT page is read from: the first parent's."""
    try:
        return f"parent/pages-{cp.parent.pagemap(pid).pages_id}.img"
    except Exception:
        return f"pagemap-{pid}.img"


RULE = Rule(
    code="CRI050",
    title="secret in process memory",
    category="secrets",
    severity="warning",
    rationale=(
        "The pages of a checkpoint hold everything the processes had in memory: environment variables named like "
        "secrets (PASSWORD, TOKEN, SECRET, API_KEY, ...), PEM private keys, cloud keys (AWS AKIA..., GitHub ghp_..., "
        "Slack xox..., Google AIza..., GitLab glpat-, npm_, Azure AccountKey=, GCP service-account JSON). A checkpoint shipped in a container image leaks them "
        "to anyone who can pull the image. The restore itself is not affected."
    ),
    fix=(
        "Scrub the values from a copy (the `scrub-secrets` fix of `criu-inspect repair`: overwrites each value in "
        "pages-N.img; the restored process then sees the overwritten bytes), or keep secrets out of the dumped "
        "process (pass them as files read at need, unset them after use) and dump again; rotate any key that shipped."
    ),
    check=check,
    criu_error=None,
)
