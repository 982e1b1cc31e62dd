"""Text views of a checkpoint: header, tree, fds, mems, env, images."""

from __future__ import annotations

from ..model import names
from ..model.checkpoint import Checkpoint
from ..model.types import Fd, Process
from ..textfmt import counted, human_bytes
from .textout import Block, Heading, Table, emit


def fd_target(fd: Fd) -> str:
    if fd.socket is not None:
        s = fd.socket
        if s.family == "UNIX":
            text = f"unix {s.type.lower()} {s.state.lower()} {s.name or ''}".rstrip()
        else:
            text = f"{s.family.lower()} {(s.proto or '').lower()} {s.state.lower()} {s.src or ''}"
            if s.dst:
                text += f" -> {s.dst}"
        if fd.peer:
            text += f" peer {fd.peer}"
        return text
    text = fd.path or fd.note or "?"
    if fd.deleted:
        text += " (deleted)"
    if fd.tty:
        text += f" (tty {fd.tty.type.lower()} {fd.tty.index if fd.tty.index is not None else ''})".replace(" )", ")")
    if fd.locks:
        text += " [locks: " + ", ".join(f"{lk.kind} {lk.type}" for lk in fd.locks) + "]"
    return text


def header_blocks(cp: Checkpoint) -> list[Block]:
    procs = cp.processes
    cp.check_pages_sizes()
    totals = cp.page_totals()
    inv = cp.inventory
    version = f"image version {inv.img_version}, CRIU {cp.criu_version_hint}" if inv is not None else "no inventory"
    lines: list[Block] = [Heading(f"checkpoint {cp.origin}")]
    lines += source_lines(cp)
    lines += [
        f"  {version}",
        "  "
        + ", ".join(
            counted(n, what)
            for n, what in (
                (len(procs), "process"),
                (sum(len(p.threads) for p in procs), "thread"),
                (sum(len(p.fds) for p in procs), "fd"),
                (sum(len(p.vmas) for p in procs), "VMA"),
            )
        ),
        f"  pages: {totals.present} present ({human_bytes(totals.present * names.PAGE_SIZE)}), "
        f"{totals.lazy} marked lazy, {totals.in_parent} in parent",
    ]
    cpu = cp.cpu_state
    if cpu is not None:
        used = ", ".join(names.xfeature_names(cpu.xstate_bv)) or "x87 only"
        cap = (
            f"; cpuinfo.img (--cpu-cap): {cpu.cpuinfo_model or 'x86'}, xfeatures {cpu.cpuinfo_xfeatures:#x}"
            if cpu.cpuinfo_xfeatures is not None
            else ""
        )
        lines.append(f"  CPU state in use: {used} (xstate_bv {cpu.xstate_bv:#x}){cap}")
    if cp.unreferenced_images:
        lines.append(
            "  not referred to by any task: "
            + ", ".join(cp.unreferenced_images)
            + " (another dump's, in a reused directory: CRI030)"
        )
    chain = cp.parent_chain()
    if chain:
        shown = [cp.source.shown(p) for p in chain] if cp.source is not None else chain
        lines.append("  parent chain: " + " -> ".join(shown))
    return lines


def source_lines(cp: Checkpoint) -> list[Block]:
    """What holds the images when it is more than a bare image directory, and what the container config says."""
    src = cp.source
    if src is None or (src.kind == "images" and not src.archive and not src.images):
        return []
    out: list[Block] = [f"  {src.describe()}"]
    meta = src.metadata
    if meta:
        facts = []
        name = meta.get("name")
        if name or meta.get("id"):
            facts.append(
                f"container {name or ''}{' (' + meta['id'][:12] + ')' if meta.get('id') else ''}".replace("  ", " ")
            )
        for key, label in (
            ("pod", "pod"),
            ("namespace", "namespace"),
            ("image", "image"),
            ("runtime", "runtime"),
            ("engine", "engine"),
        ):
            if meta.get(key):
                facts.append(f"{label} {meta[key]}")
        if facts:
            out.append("  " + ", ".join(facts))
        times = [
            f"{label} {meta[key]}"
            for key, label in (("created", "created"), ("checkpointed", "checkpointed"))
            if meta.get(key)
        ]
        if meta.get("rootfs_diff_bytes") is not None:
            times.append(f"rootfs diff {human_bytes(meta['rootfs_diff_bytes'])}")
        if times:
            out.append("  " + ", ".join(times))
    return out


def tree_prefixes(cp: Checkpoint):
    """(prefix, process) in tree order: '├─ ' for a child with siblings after it, '└─ ' for the last, and
    '│  ' below a parent whose later siblings are still to come."""
    entries = list(cp.walk())
    # an entry is the last of its siblings unless the next entry at its depth or above is at its depth
    is_last = [True] * len(entries)
    later: list[int] = []  # depths of the entries after, nearest on top
    for i in range(len(entries) - 1, -1, -1):
        depth = entries[i][0]
        while later and later[-1] > depth:
            later.pop()
        is_last[i] = not (later and later[-1] == depth)
        later.append(depth)
    depth_last: list[bool] = []  # for each ancestor level: was that ancestor the last of its siblings?
    for (depth, p), last in zip(entries, is_last):
        del depth_last[max(depth - 1, 0) :]
        if depth == 0:
            yield "", p
            continue
        lines = "".join("   " if ancestor_last else "│  " for ancestor_last in depth_last[: depth - 1])
        yield lines + ("└─ " if last else "├─ "), p
        depth_last.append(last)


def tree_blocks(cp: Checkpoint, pids=None) -> list[Block]:
    out: list[Block] = [Heading("process tree")]
    for prefix, p in tree_prefixes(cp):
        if pids and p.pid not in pids:
            continue
        ident = f"{p.pid} {p.comm or '?'}"  # '?': its core image could not be read
        extra = f"threads {len(p.threads)}" if len(p.threads) > 1 else ""
        ids = f"pgid {p.pgid} sid {p.sid} uid {'?' if p.uid is None else p.uid}"
        cmd = " ".join(p.cmdline) if p.cmdline else f"[{p.comm}]"
        out.append(f"{prefix}{ident}  ({ids}{', ' + extra if extra else ''})  {cmd}")
    return out


def fds_blocks(cp: Checkpoint, pids=None) -> list[Block]:
    out: list[Block] = []
    for p in cp.processes:
        if pids and p.pid not in pids:
            continue
        t = Table(["fd", "type", "target", "flags", "pos"], title=f"fds of {p.pid} ({p.comm})")
        for fd in p.fds:
            flags = (
                names.open_flags_string(fd.open_flags)
                if fd.open_flags is not None and fd.type in ("REG", "PIPE", "FIFO", "TTY")
                else ""
            )
            t.add(fd.fd, fd.type, fd_target(fd), flags, fd.pos if fd.pos is not None else "")
        out.append(t)
        if p.cwd or p.root or p.exe:
            out.append(f"  cwd {p.cwd}  root {p.root}  exe {p.exe}")
    return out


def ps_blocks(cp: Checkpoint, pids=None) -> list[Block]:
    t = Table(["pid", "ppid", "pgid", "sid", "threads", "uid", "comm", "cmdline"])
    for p in cp.processes:
        if pids and p.pid not in pids:
            continue
        t.add(p.pid, p.ppid, p.pgid, p.sid, len(p.threads), p.uid, p.comm, " ".join(p.cmdline))
    return [t]


def mems_blocks(cp: Checkpoint, pids=None) -> list[Block]:
    out: list[Block] = []
    for p in cp.processes:
        if pids and p.pid not in pids:
            continue
        t = Table(
            ["start", "end", "prot", "status", "present", "lazy", "parent", "file"],
            title=f"memory of {p.pid} ({p.comm})",
        )
        for v in p.vmas:
            status = ",".join(s for s in names.flag_names(v.status, names.VMA_STATUS) if s != "REGULAR")
            t.add(
                f"{v.start:x}",
                f"{v.end:x}",
                names.prot_string(v.prot),
                status,
                v.pages_present,
                v.pages_lazy,
                v.pages_in_parent,
                v.path or "",
            )
        out.append(t)
        out.append(f"  pages: {p.pages.present} present, {p.pages.lazy} marked lazy, {p.pages.in_parent} in parent")
    return out


def env_blocks(cp: Checkpoint, pids=None, show_secrets: bool = False) -> list[Block]:
    from .redact import environ_shown

    out: list[Block] = []
    for p in cp.processes:
        if pids and p.pid not in pids:
            continue
        out.append(Heading(f"environment of {p.pid} ({p.comm})"))
        out.extend(f"  {e}" for e in environ_shown(p.environ, show_secrets))
    if not show_secrets:
        out.append("  (values of variables named like secrets are masked: --show-secrets shows them)")
    return out


def images_blocks(cp: Checkpoint) -> list[Block]:
    t = Table(["file", "kind", "bytes", "entries", "problem"])
    for info in cp.image_infos():
        t.add(info.name, info.kind, info.size, "" if info.entries is None else info.entries, info.problem or "")
    return [t]


def problems_blocks(cp: Checkpoint) -> list[Block]:
    if not cp.problems:
        return []
    more = [f"  ... and {cp.problems_omitted} more, not listed"] if cp.problems_omitted else []
    return [Heading("could not read", style="bold red"), *[f"  {p.one_line()}" for p in cp.problems], *more]


def render(cp: Checkpoint, view: str = "all", pids=None, show_secrets: bool = False) -> None:
    blocks: list[Block] = []
    if view == "all":
        blocks += header_blocks(cp) + [""] + tree_blocks(cp, pids) + [""] + fds_blocks(cp, pids)
    elif view == "ps":
        blocks += ps_blocks(cp, pids)
    elif view == "fds":
        blocks += fds_blocks(cp, pids)
    elif view == "mems":
        blocks += mems_blocks(cp, pids)
    elif view == "env":
        blocks += env_blocks(cp, pids, show_secrets)
    elif view == "images":
        blocks += images_blocks(cp)
    blocks += problems_blocks(cp)
    emit(blocks)


__all__ = ["render", "fd_target", "human_bytes", "Process"]
