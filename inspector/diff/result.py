"""The diff's result tree: plain dataclasses, versioned, JSON both ways.

Comparators build it, presenters (text, JSON) read it, and ``from_dict``
rebuilds it from a saved ``--format json`` file so a diff can be re-rendered
without the checkpoints. Fields are added, never renamed; a change of meaning
bumps ``DIFF_JSON_VERSION``. The schema is documented in docs/json-diff.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model.names import PAGE_SIZE
from ..textfmt import human_bytes  # noqa: F401  (re-exported for callers)

DIFF_JSON_VERSION = 1

ADDED, REMOVED, CHANGED, SAME = "added", "removed", "changed", "same"

# What --ignore can leave out. "structure" (everything else) cannot be ignored.
CATEGORIES = {
    "positions": "file positions of open fds",
    "timestamps": "time namespace offsets and other clock values",
    "stats": "dump statistics (stats-dump: times and counters)",
    "registers": "thread registers (general purpose, FPU/vector, TLS)",
    "run-id": "the inventory's dump_criu_run_id (new for every dump)",
    "environment": "process environment variables",
    "pages": "memory page contents (skips the page diff)",
}
STRUCTURE = "structure"


@dataclass
class Change:
    """One field that differs: its values on side A and side B."""

    field: str
    a: Any
    b: Any
    category: str = STRUCTURE
    note: str | None = None  # a summary where the values are too long to show (e.g. vector registers)

    def to_dict(self) -> dict:
        out = {"field": self.field, "a": self.a, "b": self.b, "category": self.category}
        if self.note is not None:
            out["note"] = self.note
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Change:
        return cls(d["field"], d.get("a"), d.get("b"), d.get("category", STRUCTURE), d.get("note"))


@dataclass
class Item:
    """A keyed thing on one or both sides: an fd, a lock, a mount, a thread, an image..."""

    kind: str
    key: str
    status: str
    changes: list[Change] = field(default_factory=list)
    info: dict = field(default_factory=dict)  # kind-specific facts (e.g. fd "retargeted", paths on each side)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "key": self.key,
            "status": self.status,
            "changes": [c.to_dict() for c in self.changes],
            **({"info": self.info} if self.info else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Item:
        return cls(
            d["kind"], d["key"], d["status"], [Change.from_dict(c) for c in d.get("changes", [])], d.get("info", {})
        )


@dataclass
class Hunk:
    """The first differing bytes of one page range, for --pages hexdumps."""

    addr: int  # first byte shown (16-byte aligned)
    a: str | None  # hex of side A's bytes (None: the page exists on side B only)
    b: str | None
    differing_bytes: int

    def to_dict(self) -> dict:
        return {
            "addr": self.addr,
            "addr_hex": f"0x{self.addr:x}",
            "a": self.a,
            "b": self.b,
            "differing_bytes": self.differing_bytes,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Hunk:
        return cls(d["addr"], d.get("a"), d.get("b"), d.get("differing_bytes", 0))


@dataclass
class VmaDiff:
    """One VMA (matched by start address) with its structural and page differences."""

    start: int
    end: int
    status: str = SAME
    changes: list[Change] = field(default_factory=list)
    desc: str = ""  # "rw-p /usr/lib/libc.so.6" of the side the VMA is taken from
    pages_differ: int = 0  # present on both sides, content differs
    pages_added: int = 0  # content on side B only
    pages_removed: int = 0  # content on side A only
    bytes_differ: int = 0  # differing bytes within pages_differ
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def pages_changed(self) -> int:
        return self.pages_differ + self.pages_added + self.pages_removed

    def settle(self) -> None:
        if self.status == SAME and (self.changes or self.pages_changed):
            self.status = CHANGED

    def to_dict(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "start_hex": f"0x{self.start:x}",
            "end_hex": f"0x{self.end:x}",
            "status": self.status,
            "desc": self.desc,
            "changes": [c.to_dict() for c in self.changes],
            "pages_changed": self.pages_changed,
            "pages_differ": self.pages_differ,
            "pages_added": self.pages_added,
            "pages_removed": self.pages_removed,
            "bytes_differ": self.bytes_differ,
            "hunks": [h.to_dict() for h in self.hunks],
        }

    @classmethod
    def from_dict(cls, d: dict) -> VmaDiff:
        return cls(
            d["start"],
            d["end"],
            d["status"],
            [Change.from_dict(c) for c in d.get("changes", [])],
            d.get("desc", ""),
            d.get("pages_differ", 0),
            d.get("pages_added", 0),
            d.get("pages_removed", 0),
            d.get("bytes_differ", 0),
            [Hunk.from_dict(h) for h in d.get("hunks", [])],
        )


@dataclass
class ProcessDiff:
    pid: int  # side A's pid (side B's for an added process)
    pid_b: int | None  # side B's pid (differs from pid under --match tree)
    comm: str
    status: str = SAME
    changes: list[Change] = field(default_factory=list)
    threads: list[Item] = field(default_factory=list)  # per-thread register changes
    fds: list[Item] = field(default_factory=list)
    vmas: list[VmaDiff] = field(default_factory=list)  # only VMAs with a difference
    pages_outside_vmas: int = 0  # changed pages that no VMA on either side covers

    @property
    def pages_changed(self) -> int:
        return sum(v.pages_changed for v in self.vmas) + self.pages_outside_vmas

    @property
    def bytes_differ(self) -> int:
        return sum(v.bytes_differ for v in self.vmas)

    def settle(self) -> None:
        for v in self.vmas:
            v.settle()
        self.vmas = [v for v in self.vmas if v.status != SAME]
        if self.status == SAME and (
            self.changes
            or self.pages_outside_vmas
            or any(t.status != SAME for t in self.threads)
            or any(f.status != SAME for f in self.fds)
            or self.vmas
        ):
            self.status = CHANGED

    def to_dict(self) -> dict:
        return {
            "pid": self.pid,
            "pid_b": self.pid_b,
            "comm": self.comm,
            "status": self.status,
            "changes": [c.to_dict() for c in self.changes],
            "threads": [t.to_dict() for t in self.threads if t.status != SAME],
            "fds": [f.to_dict() for f in self.fds if f.status != SAME],
            "vmas": [v.to_dict() for v in self.vmas],
            "pages_changed": self.pages_changed,
            "bytes_differ": self.bytes_differ,
            "pages_outside_vmas": self.pages_outside_vmas,
        }

    @classmethod
    def from_dict(cls, d: dict) -> ProcessDiff:
        return cls(
            d["pid"],
            d.get("pid_b"),
            d.get("comm", ""),
            d["status"],
            [Change.from_dict(c) for c in d.get("changes", [])],
            [Item.from_dict(t) for t in d.get("threads", [])],
            [Item.from_dict(f) for f in d.get("fds", [])],
            [VmaDiff.from_dict(v) for v in d.get("vmas", [])],
            d.get("pages_outside_vmas", 0),
        )


# checkpoint-wide sections holding lists of Items, in output order
ITEM_SECTIONS = ("timens", "file_locks", "cgroups", "mounts", "images")


@dataclass
class DiffResult:
    a: str
    b: str
    match: str = "pid"
    ignored: list[str] = field(default_factory=list)
    pages_compared: bool = True
    inventory: list[Change] = field(default_factory=list)
    stats: list[Change] = field(default_factory=list)
    processes: list[ProcessDiff] = field(default_factory=list)
    timens: list[Item] = field(default_factory=list)
    file_locks: list[Item] = field(default_factory=list)
    cgroups: list[Item] = field(default_factory=list)
    mounts: list[Item] = field(default_factory=list)
    images: list[Item] = field(default_factory=list)
    version: int = DIFF_JSON_VERSION

    def settle(self) -> DiffResult:
        for p in self.processes:
            p.settle()
        for name in ITEM_SECTIONS:
            setattr(self, name, [i for i in getattr(self, name) if i.status != SAME])
        return self

    @property
    def identical(self) -> bool:
        return (
            not self.inventory
            and not self.stats
            and all(p.status == SAME for p in self.processes)
            and not any(getattr(self, name) for name in ITEM_SECTIONS)
        )

    def summary(self) -> dict:
        """Counts for the summary line and for scripts."""
        s: dict[str, Any] = {}
        for st in (ADDED, REMOVED, CHANGED):
            s[f"processes_{st}"] = sum(1 for p in self.processes if p.status == st)
        fds = [f for p in self.processes for f in p.fds]
        for st in (ADDED, REMOVED):
            s[f"fds_{st}"] = sum(1 for f in fds if f.status == st)
        s["fds_retargeted"] = sum(1 for f in fds if f.status == CHANGED and f.info.get("retargeted"))
        s["fds_changed"] = sum(1 for f in fds if f.status == CHANGED and not f.info.get("retargeted"))
        vmas = [v for p in self.processes for v in p.vmas]
        # VMAs of an added or removed process come and go with it: not counted as VMAs added/removed
        kept_vmas = [v for p in self.processes if p.status == CHANGED for v in p.vmas]
        for st in (ADDED, REMOVED):
            s[f"vmas_{st}"] = sum(1 for v in kept_vmas if v.status == st)
        s["vmas_changed"] = sum(1 for v in kept_vmas if v.status == CHANGED and v.changes)
        s["vmas_with_page_changes"] = sum(1 for v in vmas if v.pages_changed)
        s["pages_changed"] = sum(p.pages_changed for p in self.processes)
        s["pages_differ"] = sum(v.pages_differ for v in vmas)
        s["pages_added"] = sum(v.pages_added for v in vmas)
        s["pages_removed"] = sum(v.pages_removed for v in vmas)
        s["bytes_differ"] = sum(v.bytes_differ for v in vmas)
        s["threads_registers_changed"] = sum(1 for p in self.processes for t in p.threads if t.status != SAME)
        for name in ITEM_SECTIONS:
            s[f"{name}_changed"] = len(getattr(self, name))
        s["inventory_changed"] = len(self.inventory)
        s["stats_changed"] = len(self.stats)
        return s

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "identical": self.identical,
            "a": self.a,
            "b": self.b,
            "match": self.match,
            "ignored": self.ignored,
            "pages_compared": self.pages_compared,
            "page_size": PAGE_SIZE,
            "summary": self.summary(),
            "summary_line": summary_line(self),
            "inventory": [c.to_dict() for c in self.inventory],
            "stats": [c.to_dict() for c in self.stats],
            "processes": [p.to_dict() for p in self.processes],
            **{name: [i.to_dict() for i in getattr(self, name)] for name in ITEM_SECTIONS},
        }

    @classmethod
    def from_dict(cls, d: dict) -> DiffResult:
        from ..errors import InspectError

        if not isinstance(d, dict) or "version" not in d or "processes" not in d:
            raise InspectError(None, "not a criu-inspect diff JSON document (no version/processes)")
        if d["version"] > DIFF_JSON_VERSION:
            raise InspectError(
                None, f"diff JSON version {d['version']} is newer than this criu-inspect ({DIFF_JSON_VERSION})"
            )
        return cls(
            a=d.get("a", ""),
            b=d.get("b", ""),
            match=d.get("match", "pid"),
            ignored=list(d.get("ignored", [])),
            pages_compared=d.get("pages_compared", True),
            inventory=[Change.from_dict(c) for c in d.get("inventory", [])],
            stats=[Change.from_dict(c) for c in d.get("stats", [])],
            processes=[ProcessDiff.from_dict(p) for p in d["processes"]],
            **{name: [Item.from_dict(i) for i in d.get(name, [])] for name in ITEM_SECTIONS},
            version=d["version"],
        )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}es" if word.endswith("s") else f"{n} {word}s"


def summary_line(r: DiffResult) -> str:
    """'3 processes changed, 2 fds added, 41 MiB of pages differ in 3 VMAs' (or 'identical')."""
    if r.identical:
        return "identical"
    s = r.summary()
    parts = []
    for st in (ADDED, REMOVED, CHANGED):
        if s[f"processes_{st}"]:
            parts.append(f"{_plural(s[f'processes_{st}'], 'process')} {st}")
    for key, word in (
        ("fds_added", "added"),
        ("fds_removed", "removed"),
        ("fds_retargeted", "retargeted"),
        ("fds_changed", "changed"),
    ):
        if s[key]:
            parts.append(f"{_plural(s[key], 'fd')} {word}")
    for key, word in (("vmas_added", "added"), ("vmas_removed", "removed"), ("vmas_changed", "changed")):
        if s[key]:
            parts.append(f"{s[key]} {'VMA' if s[key] == 1 else 'VMAs'} {word}")
    if s["pages_changed"]:
        n = s["vmas_with_page_changes"]
        parts.append(
            f"{human_bytes(s['pages_changed'] * PAGE_SIZE)} of pages differ in {n} {'VMA' if n == 1 else 'VMAs'}"
        )
    if s["threads_registers_changed"]:
        parts.append(f"registers of {_plural(s['threads_registers_changed'], 'thread')} changed")
    for key, one, many in (
        ("file_locks_changed", "file lock", "file locks"),
        ("cgroups_changed", "cgroup entry", "cgroup entries"),
        ("mounts_changed", "mount", "mounts"),
        ("timens_changed", "time namespace", "time namespaces"),
        ("images_changed", "other image", "other images"),
    ):
        if s[key]:
            parts.append(f"{s[key]} {one if s[key] == 1 else many} {'differs' if s[key] == 1 else 'differ'}")
    if s["inventory_changed"]:
        parts.append("inventory differs")
    if s["stats_changed"]:
        parts.append("dump stats differ")
    if not parts:
        parts.append("processes differ")
    return ", ".join(parts)
