"""Things of the whole tree: file locks, cgroup sets and controllers, mounts."""

from __future__ import annotations

from ..context import Context
from ..fields import compare_values, flatten
from ..result import ADDED, CHANGED, REMOVED, SAME, Item


def _keyed(items, keyfn) -> dict:
    out: dict = {}
    for it in items:
        key = keyfn(it)
        n = 0
        while (key, n) in out:
            n += 1
        out[(key, n)] = it
    return out


def _compare_keyed(ctx: Context, kind: str, fa: dict, fb: dict, facts, label) -> list[Item]:
    items = []
    for key in sorted(set(fa) | set(fb), key=str):
        x, y = fa.get(key), fb.get(key)
        name = label(key)
        if y is None:
            items.append(Item(kind, name, REMOVED, info={"a": facts(x)}))
        elif x is None:
            items.append(Item(kind, name, ADDED, info={"b": facts(y)}))
        else:
            changes = ctx.kept(compare_values(facts(x), facts(y)))
            items.append(Item(kind, name, CHANGED if changes else SAME, changes))
    return items


def compare_file_locks(ctx: Context) -> list[Item]:
    m = ctx.matching.map_pid
    fa = _keyed(ctx.a.cp.file_locks, lambda lk: (m(lk.pid), lk.fd, lk.kind))
    fb = _keyed(ctx.b.cp.file_locks, lambda lk: (lk.pid, lk.fd, lk.kind))

    def facts(lk):
        return {"type": lk.type, "start": lk.start, "len": lk.length}

    def label(key):
        (pid, fd, kind), n = key
        return f"{kind} lock of pid {pid} fd {fd}" + (f" #{n + 1}" if n else "")

    return _compare_keyed(ctx, "file_lock", fa, fb, facts, label)


def compare_cgroups(ctx: Context) -> list[Item]:
    sets_a, sets_b = ctx.a.cp.cgroups, ctx.b.cp.cgroups
    items = _compare_keyed(
        ctx,
        "cgroup_set",
        {(k, 0): v for k, v in sets_a.items()},
        {(k, 0): v for k, v in sets_b.items()},
        lambda s: {(c.get("name") or "unified"): c.get("path") for c in s.controllers},
        lambda key: f"cgroup set {key[0]}",
    )
    ca, cb = ctx.a.one("cgroup.img"), ctx.b.one("cgroup.img")
    ctl_a = _keyed(ca.controllers if ca is not None else [], lambda c: ",".join(c.cnames) or "unified")
    ctl_b = _keyed(cb.controllers if cb is not None else [], lambda c: ",".join(c.cnames) or "unified")
    items += _compare_keyed(ctx, "cgroup_controller", ctl_a, ctl_b, flatten, lambda key: f"controller {key[0]}")
    return items


def compare_mounts(ctx: Context) -> list[Item]:
    fa = _keyed(ctx.a.mounts, lambda m: m.mountpoint)
    fb = _keyed(ctx.b.mounts, lambda m: m.mountpoint)

    def facts(m):
        return {"fstype": m.fstype, "root": m.root, "source": m.source, "options": m.options, "external": m.ext}

    def label(key):
        mountpoint, n = key
        return f"mount {mountpoint}" + (f" #{n + 1}" if n else "")

    return _compare_keyed(ctx, "mount", fa, fb, facts, label)
