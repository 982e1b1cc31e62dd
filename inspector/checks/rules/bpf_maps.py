"""BPF maps: re-created with bpf(BPF_MAP_CREATE), which needs CAP_BPF or CAP_SYS_ADMIN."""

from __future__ import annotations

from ..base import Rule
from ..facts import has_cap, make, proc_label


def check(cp, target):
    if has_cap(target, "BPF") or has_cap(target, "SYS_ADMIN"):
        return
    for m in cp.bpf_maps:
        proc = next((p for p in cp.processes if any(fd.file_id == m.file_id for fd in p.fds)), None)
        fds = [fd.fd for fd in proc.fds if fd.file_id == m.file_id] if proc else []
        name = m.name or "(unnamed)"
        yield make(
            RULE,
            (f"{proc_label(proc)} fd {','.join(map(str, fds))}: " if proc else "")
            + f"BPF map {name} (type {m.map_type}, {m.max_entries} entries); criu re-creates it with "
            "bpf(BPF_MAP_CREATE), which needs CAP_BPF (or CAP_SYS_ADMIN) unless "
            "kernel.unprivileged_bpf_disabled is 0",
            pid=proc.pid if proc else None,
            fd=fds[0] if fds else None,
            image="files.img",
            criu_error=f"Can't create bpfmap {m.id:#08x}: Operation not permitted",
            details={"map_name": m.name, "map_type": m.map_type},
        )


RULE = Rule(
    code="CRI027",
    title="BPF map (CAP_BPF to re-create)",
    category="files",
    severity="error",
    rationale=(
        "criu dumps BPF maps (hash and array) with their contents (bpfmap-data.img) and creates each "
        "again at restore with bpf(BPF_MAP_CREATE), then refills and, if it was, freezes it. Most "
        "distributions set kernel.unprivileged_bpf_disabled (1 or 2), so without CAP_BPF or "
        "CAP_SYS_ADMIN the kernel refuses and the restore stops."
    ),
    fix="grant the restorer CAP_BPF (--cap BPF), restore as root, or close the map before dumping",
    criu_error="Can't create bpfmap ID: Operation not permitted",
    check=check,
)
