"""The rows of the screens, one model object at a time: table cells, tree labels, overview sections.

Plain functions of ``inspector.model`` objects, with the same words as the
CLI's text (``fd_target``, ``human_bytes``, ``names``), so the tables read like
``criu-inspect show`` and are tested without a screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspector.diff.marks import DIFF_MARK
from inspector.diff.result import SAME
from inspector.model import names
from inspector.model.types import Fd, Process, Vma
from inspector.report.redact import environ_shown
from inspector.report.show_text import fd_target, human_bytes

if TYPE_CHECKING:
    from inspector.checks.base import Finding


def fd_flags(fd: Fd) -> str:
    if fd.open_flags is None:
        return ""
    if fd.type in ("REG", "PIPE", "FIFO", "TTY") or fd.memfd:
        return names.open_flags_string(fd.open_flags)
    return f"0x{fd.open_flags:x}"


FD_COLUMNS = ("fd", "kind", "flags", "pos", "target")


def fd_cells(fd: Fd) -> tuple[str, str, str, str, str]:
    """fd, kind, flags, position, target: what `show fds` prints, one row (target last: it is the long one)."""
    kind = "MEMFD" if fd.memfd else fd.type
    flags = fd_flags(fd).replace("O_", "")
    return str(fd.fd), kind, flags, "" if fd.pos is None else str(fd.pos), fd_target(fd)


def shorten_middle(text: str, width: int) -> str:
    """Fit ``text`` in ``width`` cells by cutting its middle: a path's file name is what tells two rows apart."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width == 1:
        return "…"
    tail = (width - 1) * 2 // 3  # the end of a path (its file name) matters more than its start
    name = text.rsplit("/", 1)[-1]
    if "/" in text:  # keep the whole file name (and its slash) when there is room for a start too
        tail = min(width - 3, max(tail, len(name) + 1))
    head = width - 1 - tail
    return text[:head] + "…" + text[len(text) - tail :]


def vma_range(vma: Vma) -> str:
    return f"{vma.start:x}-{vma.end:x}"


def short_size(n: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


VMA_COLUMNS = ("range", "prot", "pres", "lazy", "par", "backing")  # pages present, lazy, in the parent


def vma_backing(vma: Vma) -> str:
    if vma.path:
        return vma.path
    status = [s for s in names.flag_names(vma.status, names.VMA_STATUS) if s not in ("REGULAR", "ANON_PRIVATE")]
    if not status and "MAP_GROWSDOWN" in names.flag_names(vma.flags, names.MAP_FLAGS):
        status = ["STACK"]  # the main stack: CRIU marks it by its mapping flag, not its status
    return "[" + ",".join(status).lower() + "]" if status else "[anon]"


def vma_cells(vma: Vma) -> tuple[str, str, str, str, str, str]:
    """range (start +size), prot, present, lazy, parent pages, backing (last: the long one)."""
    return (
        f"{vma.start:x} +{short_size(vma.size)}",
        names.prot_string(vma.prot),
        str(vma.pages_present),
        str(vma.pages_lazy),
        str(vma.pages_in_parent),
        vma_backing(vma),
    )


def finding_where(f: Finding) -> str:
    parts = []
    if f.pid is not None:
        parts.append(f"pid {f.pid}")
    if f.fd is not None:
        parts.append(f"fd {f.fd}")
    if f.vma_start is not None:
        parts.append(f"vma {f.vma_start:x}")
    if not parts and f.image:
        parts.append(f.image)
    return " ".join(parts)


def finding_cells(f: Finding) -> tuple[str, str, str, str]:
    return f.severity, f.code, finding_where(f), f.message


def diff_mark(status: str | None) -> str:
    """The mark before a row or a process in diff mode: none for what is the same (or outside diff mode)."""
    if status is None or status == SAME:
        return ""
    return DIFF_MARK.get(status, "")


def tree_label(proc: Process, findings: int = 0, diff_status: str | None = None) -> str:
    mark = diff_mark(diff_status)
    text = f"{mark}{proc.pid} {proc.comm}" if mark else f"{proc.pid} {proc.comm}"
    text += f" ({len(proc.threads)}t)"
    if findings:
        text += f" !{findings}"
    return text


def overview_sections(proc: Process, show_secrets: bool = False) -> list[tuple[str, list[str]]]:
    """Overview tab: (heading, lines) pairs; environment values named like secrets masked unless asked."""
    out: list[tuple[str, list[str]]] = []
    ident = [
        f"pid {proc.pid}  ppid {proc.ppid}  pgid {proc.pgid}  sid {proc.sid}  state {proc.state}",
        f"comm {proc.comm}  threads {len(proc.threads)}: {' '.join(map(str, proc.threads))}",
    ]
    for key in ("exe", "cwd", "root"):
        value = getattr(proc, key)
        if value:
            ident.append(f"{key} {value}")
    out.append(("process", ident))
    c = proc.creds
    if c is not None:
        creds = [
            "uid {uid} gid {gid}  euid {euid} egid {egid}  suid {suid} sgid {sgid}  fsuid {fsuid} fsgid {fsgid}".format(
                **c.ids
            ),
            f"groups {' '.join(map(str, c.groups)) or '-'}  no_new_privs {int(c.no_new_privs)}  secbits 0x{c.secbits:x}",
            f"cap_eff {_caps(c.cap_eff)}",
            f"cap_prm {_caps(c.cap_prm)}",
            f"cap_bnd {_caps(c.cap_bnd)}",
        ]
        if c.cap_amb:
            creds.append(f"cap_amb {_caps(c.cap_amb)}")
        if c.lsm_profile:
            creds.append(f"lsm {c.lsm_profile}")
        creds.append(
            f"seccomp {proc.seccomp_mode}" + (f" ({proc.seccomp_filters} filters)" if proc.seccomp_filters else "")
        )
        out.append(("credentials", creds))
    if proc.namespaces:
        out.append(("namespaces", ["  ".join(f"{ns} {ident}" for ns, ident in proc.namespaces.items())]))
    cg = [f"{c['name'] or '(v2)'}: {c['path']}" for c in proc.cgroups]
    out.append(("cgroup", [f"set {proc.cg_set}" if proc.cg_set is not None else "no cgroup set", *cg]))
    out.append(("cmdline", [" ".join(proc.cmdline) if proc.cmdline else f"[{proc.comm}]"]))
    env = environ_shown(proc.environ, show_secrets)
    masked = env != proc.environ
    out.append(
        ("environment", (env or ["(empty)"]) + (["(values named like secrets masked: S shows them)"] if masked else []))
    )
    pages = proc.pages
    out.append(
        (
            "memory",
            [
                f"{len(proc.vmas)} VMAs; pages {pages.present} present ({human_bytes(pages.present * names.PAGE_SIZE)}), "
                f"{pages.lazy} lazy, {pages.in_parent} in parent"
            ],
        )
    )
    return out


def _caps(mask: int) -> str:
    full = names.full_cap_mask()
    if mask & full == full:
        return "all" + (f" (+0x{mask & ~full:x})" if mask & ~full else "")
    found = names.cap_names(mask)
    missing = names.cap_names(full & ~mask)
    if len(found) > len(missing):  # most of them: name the few that are missing
        return "all except " + ",".join(missing)
    return ",".join(found) if found else "none"
