"""Processes: identity, cmdline, environment, creds, threads, sid/pgid, namespaces,
cgroup set, the rest of core/mm/fs, and each thread's registers."""

from __future__ import annotations

import dataclasses

from ...model.types import Process
from ..context import Context
from ..fields import compare_values, flatten, time_category
from ..result import ADDED, CHANGED, REMOVED, SAME, Item, ProcessDiff

# core fields compared elsewhere (identity, creds, cgroups) or as registers
CORE_SKIP = (
    "thread_info",
    "tc.comm",
    "tc.task_state",
    "tc.cg_set",
    "thread_core.creds",
    "thread_core.cg_set",
    "thread_core.seccomp_mode",
    "tc.old_seccomp_mode",
)
MM_SKIP = ("vmas", "exe_file_id")  # VMAs have their own comparator; the exe is compared by path
FS_SKIP = ("cwd_id", "root_id")  # compared by path


def compare_process(ctx: Context, a: Process | None, b: Process | None) -> ProcessDiff:
    if b is None:
        assert a is not None  # a pair has at least one side
        return ProcessDiff(a.pid, None, a.comm, REMOVED)
    if a is None:
        return ProcessDiff(b.pid, b.pid, b.comm, ADDED)
    pd = ProcessDiff(a.pid, b.pid, a.comm or b.comm)
    changes = compare_values(_identity(ctx, a, ctx.matching.map_pid), _identity(ctx, b, lambda pid: pid))
    env = compare_values(_environ(a), _environ(b), "environment", prefix="environ.")
    changes += env if ctx.options.show_secrets else [_masked(c) for c in env]
    changes += compare_values(_creds(a), _creds(b), prefix="creds.")
    changes += compare_values(a.namespaces, b.namespaces, prefix="ns.")
    changes += compare_values(_cgroups(a), _cgroups(b), prefix="cgroup.")
    changes += _image_leftovers(ctx, a, b)
    pd.changes = ctx.kept(changes)
    pd.threads = _threads(ctx, a, b)
    return pd


def _identity(ctx: Context, p: Process, mapped) -> dict:
    """Pid-valued fields are put in B's numbering (they differ under --match tree)."""
    return {
        "comm": p.comm,
        "state": p.state,
        "cmdline": " ".join(p.cmdline),
        "ppid": mapped(p.ppid),
        "pgid": mapped(p.pgid),
        "sid": mapped(p.sid),
        "threads": len(p.threads) if ctx.matching.how == "tree" else sorted(p.threads),
        "cwd": p.cwd,
        "root": p.root,
        "exe": p.exe,
        "seccomp.mode": p.seccomp_mode,
        "seccomp.filters": p.seccomp_filters,
    }


def _masked(change):
    """A change of an environment value, shown as every output shows it: that a secret changed, not its
    values (they were compared unmasked)."""
    from ...secretnames import masked_value

    name = change.field.removeprefix("environ.")
    a, b = (v if not isinstance(v, str) else masked_value(name, v) for v in (change.a, change.b))
    return dataclasses.replace(change, a=a, b=b)


def _environ(p: Process) -> dict:
    out = {}
    for item in p.environ:
        key, sep, value = item.partition("=")
        out[key if sep else item] = value if sep else None
    return out


def _creds(p: Process) -> dict:
    c = p.creds
    if c is None:
        return {}
    return {
        **c.ids,
        "groups": c.groups,
        **{k: f"0x{getattr(c, k):x}" for k in ("cap_inh", "cap_prm", "cap_eff", "cap_bnd", "cap_amb")},
        "secbits": c.secbits,
        "no_new_privs": c.no_new_privs,
        "lsm_profile": c.lsm_profile,
    }


def _cgroups(p: Process) -> dict:
    return {(c.get("name") or "unified"): c.get("path") for c in p.cgroups}


def _image_leftovers(ctx: Context, a: Process, b: Process) -> list:
    """Fields of core, mm and fs that no model attribute covers (rlimits, timers, brk, umask...)."""
    changes = []
    for prefix, skip in (("core", CORE_SKIP), ("mm", MM_SKIP), ("fs", FS_SKIP)):
        ma = ctx.a.cores.get(a.pid) if prefix == "core" else ctx.a.one(f"{prefix}-{a.pid}.img")
        mb = ctx.b.cores.get(b.pid) if prefix == "core" else ctx.b.one(f"{prefix}-{b.pid}.img")
        fa = flatten(ma, skip=skip) if ma is not None else {}
        fb = flatten(mb, skip=skip) if mb is not None else {}
        changes += compare_values(fa, fb, time_category, prefix=f"{prefix}.", show=_show_address)
    return changes


_ADDRESS_WORDS = (
    "addr",
    "pointer",
    "futex_rla",
    "sigaction",
    "restorer",
    "mm_start",
    "mm_end",
    "mm_arg",
    "mm_env",
    "mm_brk",
    "ss_sp",
)


def _show_address(name: str, value):
    if isinstance(value, int) and not isinstance(value, bool) and any(w in name for w in _ADDRESS_WORDS):
        return f"0x{value:x}"
    return value


def _show_register(name: str, value):
    if isinstance(value, int) and not isinstance(value, bool) and ("gpregs" in name or "addr" in name):
        return f"0x{value:x}"
    return value


def _threads(ctx: Context, a: Process, b: Process) -> list[Item]:
    """Registers of every thread (and the thread-only core of non-leader threads)."""
    items = []
    tids = ctx.matching.map_tid(a, b)
    for ta in a.threads:
        tb = tids.get(ta)
        key = f"thread {ta}" if tb in (None, ta) else f"thread {ta} -> {tb}"
        if tb is None:
            items.append(Item("thread", key, REMOVED))
            continue
        ca, cb = ctx.a.cores.get(ta), ctx.b.cores.get(tb)
        if ca is None or cb is None:
            continue  # the process-level comparison already reports a missing core
        regs = compare_values(
            flatten(ca.thread_info) if ca.HasField("thread_info") else {},
            flatten(cb.thread_info) if cb.HasField("thread_info") else {},
            "registers",
            show=_show_register,
        )
        rest = []
        if ta != a.pid:  # the leader's thread_core is compared with the process
            skip = ("creds", "cg_set", "seccomp_mode")
            rest = compare_values(
                flatten(ca.thread_core, skip=skip) if ca.HasField("thread_core") else {},
                flatten(cb.thread_core, skip=skip) if cb.HasField("thread_core") else {},
                time_category,
                prefix="thread_core.",
            )
        changes = ctx.kept(regs + rest)
        items.append(Item("thread", key, CHANGED if changes else SAME, changes))
    mapped_b = set(tids.values())
    for tb in b.threads:
        if tb not in mapped_b:
            items.append(Item("thread", f"thread {tb}", ADDED))
    return items
