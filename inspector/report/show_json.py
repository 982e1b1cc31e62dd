"""The model as JSON-ready dicts. Versioned: fields are added, never renamed.

See docs/json-show.md for the schema.
"""

from __future__ import annotations

from dataclasses import asdict

from ..model import names
from ..model.checkpoint import Checkpoint, as_text
from ..model.types import Fd, Process, Vma

SHOW_JSON_VERSION = 1


def vma_dict(v: Vma) -> dict:
    return {
        "start": v.start,
        "end": v.end,
        "start_hex": f"0x{v.start:x}",
        "end_hex": f"0x{v.end:x}",
        "prot": names.prot_string(v.prot),
        "flags": names.flag_names(v.flags, names.MAP_FLAGS),
        "status": names.flag_names(v.status, names.VMA_STATUS),
        "pgoff": v.pgoff,
        "shmid": v.shmid,
        "path": v.path,
        "pages": {"present": v.pages_present, "lazy": v.pages_lazy, "in_parent": v.pages_in_parent},
    }


def fd_dict(fd: Fd) -> dict:
    out: dict = {"fd": fd.fd, "type": fd.type, "file_id": fd.file_id}
    if fd.path is not None:
        out["path"] = fd.path
    if fd.open_flags is not None:
        out["flags"] = (
            names.open_flags_string(fd.open_flags) if fd.type in ("REG", "PIPE", "FIFO", "TTY") else fd.open_flags
        )
    out["cloexec"] = bool(fd.flags & 1)
    for key in ("pos", "size", "mode", "pipe_id", "peer"):
        value = (fd.peer or fd.note) if key == "peer" else getattr(fd, key)  # the documented "peer" holds both
        if value is not None:
            out[key] = value
    if fd.deleted:
        out["deleted"] = True
    if fd.memfd:
        out["memfd"] = True
    if fd.socket is not None:
        out["socket"] = {k: v for k, v in asdict(fd.socket).items() if v not in (None, "")}
    if fd.tty is not None:
        out["tty"] = fd.tty.as_dict()
    if fd.locks:
        out["locks"] = [asdict(lock) for lock in fd.locks]
    return out


def process_dict(p: Process, *, with_env: bool = True, show_secrets: bool = False) -> dict:
    c = p.creds
    out = {
        "pid": p.pid,
        "ppid": p.ppid,
        "pgid": p.pgid,
        "sid": p.sid,
        "threads": p.threads,
        "comm": p.comm,
        "state": p.state,
        "cmdline": p.cmdline,
        "uid": p.uid,
        "gid": c.gid if c else None,
        "creds": None
        if c is None
        else {
            **c.ids,
            "groups": c.groups,
            "cap_eff": f"0x{c.cap_eff:x}",
            "cap_prm": f"0x{c.cap_prm:x}",
            "cap_inh": f"0x{c.cap_inh:x}",
            "cap_bnd": f"0x{c.cap_bnd:x}",
            "cap_amb": f"0x{c.cap_amb:x}",
            "secbits": c.secbits,
            "no_new_privs": c.no_new_privs,
        },
        "seccomp": {"mode": p.seccomp_mode, "filters": p.seccomp_filters},
        "namespaces": p.namespaces,
        "cwd": p.cwd,
        "root": p.root,
        "exe": p.exe,
        "cg_set": p.cg_set,
        "cgroups": p.cgroups,
        "fds": [fd_dict(fd) for fd in p.fds],
        "vmas": [vma_dict(v) for v in p.vmas],
        "pages": {"present": p.pages.present, "lazy": p.pages.lazy, "in_parent": p.pages.in_parent},
        "children": p.children,
    }
    if with_env:
        from .redact import environ_shown

        out["environ"] = environ_shown(p.environ, show_secrets)
    return out


def _shown(cp: Checkpoint, path: str) -> str:
    """A path inside an extracted archive as ``ARCHIVE!/member`` (the extraction is gone after the run)."""
    return cp.source.shown(path) if cp.source is not None else path


def checkpoint_dict(cp: Checkpoint, show_secrets: bool = False) -> dict:
    procs = cp.processes
    cp.check_pages_sizes()
    totals = cp.page_totals()
    inv = cp.inventory
    return {
        "version": SHOW_JSON_VERSION,
        "path": cp.origin,
        "source": cp.source.as_dict() if cp.source is not None else None,
        "inventory": None
        if inv is None
        else {
            "img_version": inv.img_version,
            "criu": cp.criu_version_hint,
            "root_cg_set": inv.root_cg_set if inv.HasField("root_cg_set") else None,
            "tcp_close": inv.tcp_close if inv.HasField("tcp_close") else None,
            "network_lock_method": inv.network_lock_method if inv.HasField("network_lock_method") else None,
            "dump_criu_run_id": as_text(inv.dump_criu_run_id) if inv.HasField("dump_criu_run_id") else None,
            "plugins": [as_text(x) for x in inv.plugins_entry.plugins] if inv.HasField("plugins_entry") else [],
            "allow_uprobes": inv.allow_uprobes if inv.HasField("allow_uprobes") else None,
            "root_ids": {f.name: v for f, v in inv.root_ids.ListFields()} if inv.HasField("root_ids") else {},
        },
        "summary": {
            "processes": len(procs),
            "threads": sum(len(p.threads) for p in procs),
            "fds": sum(len(p.fds) for p in procs),
            "vmas": sum(len(p.vmas) for p in procs),
            "pages": {"present": totals.present, "lazy": totals.lazy, "in_parent": totals.in_parent},
            "bytes": totals.present * names.PAGE_SIZE,
        },
        "dump_stats": cp.dump_stats,
        "parent_chain": [_shown(cp, p) for p in cp.parent_chain()],
        "processes": [process_dict(p, show_secrets=show_secrets) for p in procs],
        "secrets_masked": not show_secrets,
        "file_locks": [
            {"kind": lk.kind, "type": lk.type, "pid": lk.pid, "fd": lk.fd, "start": lk.start, "len": lk.length}
            for lk in cp.file_locks
        ],
        "cgroups": [{"set": c.set_id, "controllers": c.controllers} for c in cp.cgroups.values()],
        "mounts": [asdict(m) for m in cp.mounts()],
        "images": [asdict(i) for i in cp.image_infos()],
        "cpu": None
        if cp.cpu_state is None
        else {
            "xstate_bv": cp.cpu_state.xstate_bv,
            "features": names.xfeature_names(cp.cpu_state.xstate_bv),
            "xsave_threads": cp.cpu_state.xsave_threads,
            "threads": cp.cpu_state.threads,
            "cpuinfo_xfeatures": cp.cpu_state.cpuinfo_xfeatures,
            "cpuinfo_model": cp.cpu_state.cpuinfo_model,
        },
        "unreferenced_images": cp.unreferenced_images,
        "problems": [p.one_line() for p in cp.problems],
        "problems_omitted": cp.problems_omitted,
    }
