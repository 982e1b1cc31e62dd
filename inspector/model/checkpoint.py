"""A checkpoint directory as one model, decoded lazily per image.

``Checkpoint(path)`` opens nothing but the directory listing; each image is
identified and decoded the first time something asks for it, and cached.
Problems with individual images are collected (``problems``) so a partly
broken checkpoint still yields a model; a directory that is not a checkpoint
at all raises ``InspectError``. ``path`` may also be a container checkpoint,
an archive or an Open Liberty server: ``inspector.source`` finds the images
(``path`` is then their directory, ``origin`` what was given, ``source`` the handle).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..codec.image import Image, expected_kind_for_name, open_image
from ..errors import InspectError, shown_path
from ..pages import PageMap, PageReader, PagesFile, pages_size_error
from ..safeio import open_regular_file
from . import names
from .types import (
    BpfMap,
    Cgroup,
    CpuState,
    Creds,
    ExternalMount,
    Fd,
    FileLock,
    FsnotifyGroup,
    GhostFile,
    ImageInfo,
    InotifyWatch,
    InterruptedCall,
    InventoryFlags,
    MemfdInode,
    Mount,
    PageCounts,
    Process,
    RegFile,
    Remap,
    RepairRecord,
    Socket,
    TaskFs,
    TtyInfo,
    Vma,
)

if TYPE_CHECKING:
    from ..source import Source

MAX_PARENT_DEPTH = 64
MAX_PROBLEMS = 1000  # problems kept (and listed) per checkpoint; the rest are counted
RECORD_NAME = "criu-inspect-repair.json"  # written by repair into its output; criu ignores it


class Checkpoint:
    def __init__(self, path: str | os.PathLike, *, _chain: tuple[str, ...] = (), _source: Source | None = None) -> None:
        if not _chain:
            # a container checkpoint, an archive, a Liberty server: the source layer finds the images
            from ..source import resolve

            _source = resolve(path)
            path = _source.images_dir
        self.source = _source
        self.origin = _source.origin if _source is not None else os.fspath(path)  # what the user named
        self.path = os.fspath(path)  # the CRIU image directory
        # images the layout keeps beside the image directory (podman's stats-dump); not a parent's
        self._elsewhere: dict[str, str] = dict(_source.extra_images) if _source is not None and not _chain else {}
        if not os.path.exists(self.path):
            raise InspectError(self.path, "no such directory")
        if not os.path.isdir(self.path):
            raise InspectError(self.path, "not a directory (expected a CRIU checkpoint directory)")
        try:
            self.files = FileNames(os.listdir(self.path))
        except OSError as exc:
            raise InspectError(self.path, exc.strerror or str(exc)) from None
        self.problems: list[InspectError] = list(_source.problems) if _source is not None and not _chain else []
        self._problem_lines = {p.one_line() for p in self.problems}
        self.problems_omitted = 0  # past MAX_PROBLEMS
        self._repair_record: RepairRecord | None = None
        if "inventory.img" not in self.files:
            # criu writes inventory.img only when a dump succeeds: without it this is at best
            # what a failed dump left, shown for what it is worth (and a problem)
            incomplete = InspectError(self.path, _not_a_checkpoint_reason(self.path, self.files))
            if "pstree.img" not in self.files:
                raise incomplete
            self._record(incomplete)
        self._chain = _chain + (os.path.realpath(self.path),)
        # a pre-dump chain lives next to the checkpoint (criu's ../N links); a
        # parent link that resolves outside that folder is not followed
        self._tree_root = os.path.dirname(self._chain[0])
        self._images: dict[str, Image | None] = {}
        self._pages_files: dict[int, PagesFile] = {}
        self._pagemaps: dict[int, PageMap] = {}
        self._shmem_pagemaps: dict[int, PageMap | None] = {}
        self._image_infos: list[ImageInfo] | None = None

    @property
    def shown_path(self) -> str:
        """The image directory as users know it: ``ARCHIVE!/checkpoint`` for an archive's."""
        return self.source.shown(self.path) if self.source is not None else self.path

    # --- images -----------------------------------------------------------
    def image(self, name: str) -> Image | None:
        """The image file ``name`` (e.g. "core-42.img"), or None if absent."""
        if name not in self._images:
            path = os.path.join(self.path, name) if name in self.files else self._elsewhere.get(name)
            if path is None:
                self._images[name] = None
            else:
                img = open_image(path)
                expected = expected_kind_for_name(name)
                if expected is not None and img.name != expected:
                    found = f"unknown magic 0x{img.magic:08x}" if img.name == "UNKNOWN" else f"the magic of {img.name}"
                    raise InspectError(
                        img.path, f"wrong magic: {name} must hold {expected}, has {found}", img.magic_offset
                    )
                self._images[name] = img
        return self._images[name]

    def entries(self, name: str) -> list[Any]:
        """The decoded protobuf messages of an image (none if absent); for the builders, not for rules."""
        img = self.image(name)
        return [] if img is None else [e.message for e in img.entries]

    def one(self, name: str) -> Any:
        msgs = self.entries(name)
        return msgs[0] if msgs else None

    def _soft(self, fn: Callable[..., Any], *args: Any, default: Any = None) -> Any:
        """Run a builder step; record an InspectError as a problem and go on."""
        try:
            return fn(*args)
        except InspectError as exc:
            self._record(exc)
            return default

    def image_infos(self) -> list[ImageInfo]:
        """Every file of the directory, identified and framed; unreadable images become problems.

        Framing every image is cheap (pages files are not read), and it is how
        ``show`` lists what it could not read even in images no view needs.
        """
        if self._image_infos is None:
            self._image_infos = self._scan_images()
        return self._image_infos

    def _record(self, exc: InspectError) -> None:
        if len(self.problems) >= MAX_PROBLEMS:  # a directory of 100k junk files: count them, keep the first
            self.problems_omitted += 1
            return
        line = exc.one_line()
        if line not in self._problem_lines:  # a set: thousands of broken images cost linear time
            self._problem_lines.add(line)
            self.problems.append(exc)

    @property
    def problem_count(self) -> int:
        return len(self.problems) + self.problems_omitted

    def _scan_images(self) -> list[ImageInfo]:
        infos = []
        for name in self.files:
            full = os.path.join(self.path, name)
            if os.path.isdir(full):
                continue
            try:
                size = os.path.getsize(full)
            except OSError as exc:  # e.g. a dangling symlink
                infos.append(ImageInfo(name, "UNREADABLE", 0, False, problem=f"{full}: {exc.strerror or exc}"))
                continue
            if not (name.endswith(".img") or name.startswith("stats-")):
                infos.append(ImageInfo(name, "OTHER", size, known=False))
                continue
            try:
                img = self.image(name)
            except InspectError as exc:
                self._record(exc)
                infos.append(ImageInfo(name, "UNREADABLE", size, False, problem=exc.one_line()))
                continue
            assert img is not None  # the name is in the listing
            info = ImageInfo(name, img.name, img.size, img.known or img.raw)
            if img.known:
                try:
                    info.entries = img.count_entries()
                except InspectError as exc:
                    self._record(exc)
                    info.problem = exc.one_line()
            elif not img.raw:
                info.problem = (
                    f"unknown image kind (magic 0x{img.magic:08x})"
                    if img.kind is None
                    else f"no schema for image kind {img.name} in the installed pycriu"
                )
            infos.append(info)
        return infos

    # --- checkpoint-wide facts -------------------------------------------
    @functools.cached_property
    def inventory(self) -> Any:  # InventoryEntry (inventory.proto), or None
        return self._soft(self.one, "inventory.img")

    @functools.cached_property
    def inventory_flags(self) -> InventoryFlags | None:
        inv = self.inventory
        if inv is None:
            return None
        return InventoryFlags(
            img_version=inv.img_version,
            fdinfo_per_id=inv.HasField("fdinfo_per_id") and inv.fdinfo_per_id,
            root_cg_set=inv.root_cg_set if inv.HasField("root_cg_set") else None,
            root_ids={f.name: v for f, v in inv.root_ids.ListFields()} if inv.HasField("root_ids") else None,
            network_lock_method=(
                names.describe(names.NETWORK_LOCK_METHOD, inv.network_lock_method)
                if inv.HasField("network_lock_method")
                else None
            ),
            plugins=list(inv.plugins_entry.plugins) if inv.HasField("plugins_entry") else [],
            tcp_close=inv.HasField("tcp_close") and inv.tcp_close,
            allow_uprobes=inv.HasField("allow_uprobes") and inv.allow_uprobes,
        )

    @functools.cached_property
    def criu_version_hint(self) -> str:
        """The CRIU versions that could have written these images: ">= 4.2", ">= 3.16, < 4.1", ..."""
        lo, hi = self.criu_version_range
        if lo is None and hi is None:
            return "unknown"
        text = ", ".join(
            part for part in (lo and ">= " + ".".join(map(str, lo)), hi and "< " + ".".join(map(str, hi))) if part
        )
        return text

    @functools.cached_property
    def criu_version_range(self) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
        """(lowest, first excluded) CRIU version, from the fields each release added to the images.

        A field present means the version that added it or a later one; a field CRIU always writes since
        some version, absent, means an earlier one (names.CRIU_FIELD_VERSIONS says which is which).
        """
        inv = self.inventory
        if inv is None:
            return None, None
        present: dict[str, bool] = {
            f"inventory.{f}": inv.HasField(f)
            for f in ("dump_criu_run_id", "plugins_entry", "allow_uprobes", "network_lock_method", "tcp_close")
        }
        if self.processes:
            root = self.root
            if root.creds is not None:
                core = self._soft(self.one, f"core-{root.pid}.img")
                if core is not None and core.HasField("thread_core") and core.thread_core.HasField("creds"):
                    creds = core.thread_core.creds
                    present["creds.no_new_privs"] = creds.HasField("no_new_privs")
                    present["creds.cap_amb"] = len(creds.cap_amb) > 0
            present["ids.time_ns_id"] = "time_ns_id" in root.ids
            entries = self._soft(self.entries, f"pagemap-{root.pid}.img", default=[])
            if len(entries) > 1:  # entry 0 is the header; a run of a 4.2 dump carries its count in field 5
                present["pagemap.nr_pages"] = entries[1].HasField("nr_pages")
        lo, hi = (2, 0), None
        for field, (since, always) in names.CRIU_FIELD_VERSIONS.items():
            if field not in present:
                continue
            if present[field]:
                lo = max(lo, since)
            elif always:
                hi = since if hi is None else min(hi, since)
        return lo, hi

    @functools.cached_property
    def dump_stats(self) -> dict[str, int]:
        stats = self._soft(self.one, "stats-dump")
        if stats is None or not stats.HasField("dump"):
            return {}
        return {f.name: v for f, v in stats.dump.ListFields()}

    @functools.cached_property
    def parent(self) -> Checkpoint | None:
        """The pre-dump checkpoint behind the ``parent`` link (raises if the link is bad)."""
        link = os.path.join(self.path, "parent")
        if not os.path.lexists(link):
            return None
        try:
            target = os.readlink(link)
        except OSError:
            target = None  # a real directory named parent: fine, resolve it below
        real = os.path.realpath(link)
        shown_real = shown_path(real)
        shown = f"{target} ({shown_real})" if target is not None and target != real else shown_real
        if real in self._chain:
            raise InspectError(link, f"parent link loops: {shown} is already in the pre-dump chain")
        if len(self._chain) >= MAX_PARENT_DEPTH:
            raise InspectError(link, f"parent chain deeper than {MAX_PARENT_DEPTH}")
        if os.path.commonpath([real, self._tree_root]) != self._tree_root:
            raise InspectError(link, f"parent link leaves the checkpoint's folder {self._tree_root}: {shown}")
        if not os.path.exists(real):
            raise InspectError(link, f"parent link dangles: {shown} does not exist")
        if not os.path.isdir(real):
            raise InspectError(link, f"parent link points to {shown}, which is not a directory")
        return Checkpoint(real, _chain=self._chain, _source=self.source)

    def parent_chain(self) -> list[str]:
        """Paths of the pre-dumps behind this checkpoint; a bad link ends it as a problem."""
        chain: list[str] = []
        cur = self
        while True:
            nxt = self._soft(lambda c: c.parent, cur)
            if nxt is None:
                return chain
            chain.append(nxt.path)
            cur = nxt

    @functools.cached_property
    def pstree(self) -> list:
        msgs = self.entries("pstree.img")
        if not msgs:
            raise InspectError(os.path.join(self.path, "pstree.img"), "no process tree (pstree.img missing or empty)")
        return msgs

    @functools.cached_property
    def files_by_id(self) -> dict[int, Any]:
        """files.img's FileEntry messages by id: for the builders and for repair, which rewrites them.

        Rules read the typed views instead (reg_files, bpf_maps, fsnotify_groups, ...)."""
        out = {}
        for msg in self._soft(self.entries, "files.img", default=[]):
            out[msg.id] = msg
        return out

    @functools.cached_property
    def tty_infos(self) -> dict[int, TtyInfo]:
        return {m.id: _tty_info(m) for m in self._soft(self.entries, "tty-info.img", default=[])}

    @functools.cached_property
    def reg_files(self) -> dict[int, RegFile]:
        """The regular files of files.img by file id."""
        return {file_id: _reg_file(fe.reg) for file_id, fe in self.files_by_id.items() if fe.HasField("reg")}

    @functools.cached_property
    def bpf_maps(self) -> list[BpfMap]:
        """The BPF map files of files.img, by file id."""
        return [
            BpfMap(file_id, fe.bpf.id, fe.bpf.map_name, fe.bpf.map_type, fe.bpf.max_entries)
            for file_id, fe in sorted(self.files_by_id.items())
            if fe.HasField("bpf")
        ]

    @functools.cached_property
    def fsnotify_groups(self) -> list[FsnotifyGroup]:
        """The inotify instances and fanotify groups of files.img, by file id."""
        out = []
        for file_id, fe in sorted(self.files_by_id.items()):
            if fe.HasField("ify"):
                watches = [InotifyWatch(w.s_dev, w.i_ino, not w.f_handle.HasField("path")) for w in fe.ify.wd]
                out.append(FsnotifyGroup(file_id, "inotify", watches=watches))
            elif fe.HasField("ffy"):
                out.append(FsnotifyGroup(file_id, "fanotify", marks=len(fe.ffy.mark)))
        return out

    @functools.cached_property
    def unix_socket_addresses(self) -> dict[int, bytes]:
        """inode -> address (sun_path; abstract ones start with a NUL) of every bound unix socket of files.img."""
        out: dict[int, bytes] = {}
        for fe in self.files_by_id.values():
            if fe.HasField("usk") and fe.usk.name:
                out.setdefault(fe.usk.ino, fe.usk.name)
        return out

    def memfd_inode_id(self, file_id: int) -> int | None:
        """The memfd.img inode of a memfd file (an fd's file id, or a memfd mapping's shmid)."""
        fe = self.file_entry(file_id)
        return fe.memfd.inode_id if fe is not None and fe.HasField("memfd") else None

    def memfd_inodes(self) -> dict[int, MemfdInode]:
        """memfd.img by inode id (raises if it cannot be read)."""
        if "memfd.img" not in self.files:
            return {}
        return {
            e.inode_id: MemfdInode(e.inode_id, as_text(e.name), e.uid, e.gid)
            for e in self.entries("memfd.img")
            if e.HasField("inode_id")
        }

    def ghost_file(self, remap: Remap) -> GhostFile | None:
        """The ghost-file image of a GHOST remap, or None if the checkpoint lacks it (raises if unreadable)."""
        if remap.ghost_image not in self.files:
            return None
        gf = self.one(remap.ghost_image)
        return None if gf is None else GhostFile(gf.uid, gf.gid, gf.mode)

    def task_fs(self, pid: int) -> TaskFs | None:
        """fs-PID.img, or None if the checkpoint lacks it (raises if unreadable)."""
        name = f"fs-{pid}.img"
        fs = self.one(name) if name in self.files else None
        return None if fs is None else TaskFs(fs.cwd_id, fs.root_id)

    def thread_creds(self, tid: int) -> Creds | None:
        """The creds core-TID.img records for one thread (None: no image, or none recorded; raises if unreadable)."""
        return _thread_creds(self.one(f"core-{tid}.img"))

    @functools.cached_property
    def file_locks(self) -> list[FileLock]:
        out = []
        for m in self._soft(self.entries, "filelocks.img", default=[]):
            kind = names.FL_KIND.get(m.flag, f"flag {m.flag}")
            out.append(FileLock(kind, names.describe(names.LOCK_TYPES, m.type), m.pid, m.fd, m.start, m.len, m.flag))
        return out

    @functools.cached_property
    def cgroups(self) -> dict[int, Cgroup]:
        cg = self._soft(self.one, "cgroup.img")
        if cg is None:
            return {}
        out = {}
        for s in cg.sets:
            out[s.id] = Cgroup(s.id, [{"name": as_text(c.name), "path": as_text(c.path)} for c in s.ctls])
        return out

    @property
    def repair_record(self) -> RepairRecord | None:
        """The record a repair left in this checkpoint, or None for a checkpoint as CRIU wrote it.

        Not soft: a record that cannot be read raises, since guessing from the rewritten creds instead
        is exactly the false "restorable" the record exists to prevent.
        """
        if RECORD_NAME not in self.files:
            return None
        if self._repair_record is None:
            self._repair_record = self._read_record()
        return self._repair_record

    def _read_record(self) -> RepairRecord:
        import json
        import stat

        path = os.path.join(self.path, RECORD_NAME)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO there must not hang the reader
            with os.fdopen(fd, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise InspectError(path, "not a regular file")
                data = json.loads(fh.read(1 << 20))
            dumped = data["dumped"]
            return RepairRecord(
                fixes=[str(f) for f in data["fixes"]],
                dumped_creds={
                    int(pid): {k: int(ids[k]) for k in ("uid", "gid", "fsuid", "fsgid")}
                    for pid, ids in dumped["creds"].items()
                },
                ghost_owners={str(k): int(v) for k, v in dumped["ghost_owners"].items()},
                relocated={str(k): str(v) for k, v in data["relocated"].items()},
            )
        except OSError as exc:
            raise InspectError(path, f"cannot read: {exc.strerror or exc}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InspectError(path, f"not a criu-inspect repair record ({type(exc).__name__}: {exc})") from None

    @functools.cached_property
    def cpu_state(self) -> CpuState | None:
        """The x86 FPU state components every thread used (core-TID.img xsave xstate_bv) and, when the dump
        had --cpu-cap, cpuinfo.img's. None for images of another architecture."""
        bv, xsave, threads, seen = 0, 0, 0, False
        for proc in self.processes:
            for tid in proc.threads:
                name = f"core-{tid}.img"
                info = _x86_64_thread_info(self._soft(self.one, name) if name in self.files else None)
                if info is None:
                    continue
                seen = True
                threads += 1
                fp = info.fpregs
                if fp.HasField("xsave"):
                    xsave += 1
                    bv |= fp.xsave.xstate_bv
        if not seen:
            return None
        state = CpuState(bv, xsave, threads)
        info = self._soft(self.one, "cpuinfo.img") if "cpuinfo.img" in self.files else None
        if info is not None and info.x86_entry:
            x = info.x86_entry[0]
            state.cpuinfo_xfeatures = x.xfeatures_mask if x.HasField("xfeatures_mask") else 0
            state.cpuinfo_model = x.model_id or None
        return state

    @functools.cached_property
    def unreferenced_images(self) -> list[str]:
        """Per-task images no task of this tree refers to: what another dump left in a reused directory.

        criu ignores them, but they ship with the checkpoint (their memory too). Only the families whose
        owner can be told from the name are judged: core-TID, ids/mm/pagemap/fs/creds-PID, fdinfo-ID (an
        ids-PID files_id), pages-ID (a pagemap's pages_id) and pagemap-shmem-ID (a shared mapping's shmid, or
        the shmid of a memfd inode in memfd.img: CRIU 4.2 dumps MAP_SHARED|MAP_ANONYMOUS memory as a memfd, whose
        VMA's shmid is then a file id; a real restore without those images fails "Can't restore shmem content").
        """
        procs = self.processes
        pids = {p.pid for p in procs}
        wanted = {
            "core": {t for p in procs for t in p.threads},
            "ids": pids,
            "mm": pids,
            "pagemap": pids,
            "fs": pids,
            "creds": pids,
            "fdinfo": {p.ids["files_id"] for p in procs if "files_id" in p.ids},
            "pagemap-shmem": {v.shmid for p in procs for v in p.vmas if v.shmid is not None}
            | {e.shmid for e in self._soft(self.entries, "memfd.img", default=[]) if e.HasField("shmid")},
        }
        pages = set()
        for name in self.files:
            m = re.fullmatch(r"pagemap-(shmem-)?(\d+)\.img", name)
            if m and (int(m.group(2)) in wanted["pagemap-shmem" if m.group(1) else "pagemap"]):
                head = self._soft(self.entries, name, default=[])
                if head and head[0].HasField("pages_id"):
                    pages.add(head[0].pages_id)
        wanted["pages"] = pages
        out = []
        for name in self.files:
            m = re.fullmatch(r"(core|ids|mm|pagemap-shmem|pagemap|fs|creds|fdinfo|pages)-(\d+)\.img", name)
            if m and int(m.group(2)) not in wanted[m.group(1)]:
                out.append(name)
        return out

    def interrupted_calls(self, proc: Process) -> list[InterruptedCall]:
        """Threads of ``proc`` that were in a system call the kernel would have restarted through a restart
        block (poll, nanosleep, futex waits with a timeout): compel saves them with -EINTR in ax ("Will
        restore PID with interrupted system call", compel/arch/x86/src/lib/infect.c), so the restored
        thread returns from the call with EINTR. x86_64 images only."""
        out = []
        for tid in proc.threads:
            name = f"core-{tid}.img"
            if name not in self.files:
                continue
            info = _x86_64_thread_info(self.one(name))
            if info is None:
                continue
            regs = info.gpregs
            if regs.orig_ax >= 1 << 63 or regs.ax != (1 << 64) - names.EINTR:
                continue  # not in a system call, or not one saved as interrupted
            nr = regs.orig_ax
            name = names.X86_64_SYSCALLS.get(nr, f"syscall {nr}")
            out.append(InterruptedCall(tid, nr, name, (regs.di, regs.si, regs.dx)))
        return out

    @functools.cached_property
    def remaps(self) -> dict[int, Remap]:
        """remap-fpath.img by the remapped file's id."""
        return {
            m.orig_id: Remap(m.orig_id, m.remap_id, m.remap_type)
            for m in self._soft(self.entries, "remap-fpath.img", default=[])
        }

    @functools.cached_property
    def seccomp_filters(self) -> int:
        sc = self._soft(self.one, "seccomp.img")
        return len(sc.seccomp_filters) if sc is not None else 0

    def external_mounts(self, name: str) -> list[ExternalMount]:
        """The mounts of one mountpoints-N.img that criu restores from outside the checkpoint (raises if unreadable)."""
        out = []
        for m in self.entries(name):
            key = m.ext_key if m.HasField("ext_key") else ""
            if key or (m.HasField("ext_mount") and m.ext_mount):
                out.append(ExternalMount(m.mnt_id, as_text(m.mountpoint), as_text(key)))
        return out

    def mounts(self) -> list[Mount]:
        out = []
        for name in self.files:
            if re.fullmatch(r"mountpoints-\d+\.img", name):
                for m in self._soft(self.entries, name, default=[]):
                    out.append(
                        Mount(
                            m.mnt_id,
                            m.parent_mnt_id,
                            m.fstype,
                            as_text(m.mountpoint),
                            as_text(m.root),
                            as_text(m.source) or None,
                            as_text(m.options) or None,
                            bool(m.HasField("ext_key") or m.HasField("ext_mount") and m.ext_mount),
                        )
                    )
        return out

    # --- pages ------------------------------------------------------------
    def pagemap(self, pid: int) -> PageMap:
        pm = self._pagemaps.get(pid)
        if pm is None:
            img = self.image(f"pagemap-{pid}.img")
            if img is None:
                raise InspectError(os.path.join(self.path, f"pagemap-{pid}.img"), "missing")
            pm = PageMap.from_image(img)
            self._pagemaps[pid] = pm
        return pm

    def shmem_id(self, vma: Vma) -> int | None:
        """The id of the ``pagemap-shmem-ID.img`` holding a shared anonymous VMA's memory, or None.

        A MAP_SHARED|MAP_ANONYMOUS VMA: CRIU 4.2 dumps it as a memfd, and the
        VMA's shmid is the memfd's file id (files.img -> its inode -> that
        inode's shmid in memfd.img); older dumps name the pagemap by the VMA's
        own shmid. System V shared memory lives in ipcns images: None.
        """
        if vma.status & names.VMA_AREA_SYSVIPC:
            return None
        if vma.status & names.VMA_AREA_MEMFD:
            fe = self.file_entry(vma.shmid)
            if fe is None or not fe.HasField("memfd"):
                return None
            inode = fe.memfd.inode_id
            return next(
                (
                    e.shmid
                    for e in self._soft(self.entries, "memfd.img", default=[])
                    if e.inode_id == inode and e.HasField("shmid")
                ),
                None,
            )
        if vma.status & names.VMA_ANON_SHARED:
            return vma.shmid
        return None

    def shmem_pagemap(self, shmem_id: int) -> PageMap | None:
        """The pagemap of one shared memory object (its runs' addresses are offsets in the object)."""
        if shmem_id not in self._shmem_pagemaps:
            img = self.image(f"pagemap-shmem-{shmem_id}.img")
            self._shmem_pagemaps[shmem_id] = None if img is None else PageMap.from_image(img)
        return self._shmem_pagemaps[shmem_id]

    def shared_memory(self, pid: int) -> list[tuple[Vma, PageMap]]:
        """The shared anonymous VMAs of ``pid`` (start, end, pgoff: where the object is mapped) with the pagemap of
        their object, for the first process of the tree that maps each object (its memory is dumped once; a
        scan reports it once)."""
        return self._shared_memory.get(pid, [])

    @functools.cached_property
    def _shared_memory(self) -> dict[int, list[tuple[Vma, PageMap]]]:
        out: dict[int, list[tuple[Vma, PageMap]]] = {}
        seen: set[int] = set()
        # from the mm images, not self.processes: building a process reads its memory (cmdline) through here
        for entry in self.pstree:
            mm = self._soft(self.one, f"mm-{entry.pid}.img")
            for vma in map(_vma, mm.vmas if mm is not None else ()):
                if not vma.status & (names.VMA_ANON_SHARED | names.VMA_AREA_MEMFD) or not vma.flags & MAP_SHARED:
                    continue  # (a private mapping of a memfd: its written pages are the process's own)
                shmem = self._soft(self.shmem_id, vma)
                if shmem is None or shmem in seen:
                    continue
                seen.add(shmem)
                pm = self._soft(self.shmem_pagemap, shmem)
                if pm is not None:
                    out.setdefault(entry.pid, []).append((vma, pm))
        return out

    def pages_file(self, pages_id: int) -> PagesFile:
        pf = self._pages_files.get(pages_id)
        if pf is None:
            path = os.path.join(self.path, f"pages-{pages_id}.img")
            if not os.path.exists(path):
                raise InspectError(path, "missing (named by a pagemap)")
            pf = PagesFile(path)
            self._pages_files[pages_id] = pf
        return pf

    def page_reader(self, pid: int) -> PageReader:
        return PageReader(self, pid)

    def check_pages_sizes(self) -> list[InspectError]:
        """The invariant: present pages x page size == size of pages-N.img."""
        found = []
        for proc in self.pstree:
            try:
                pm = self.pagemap(proc.pid)
                pf = self.pages_file(pm.pages_id)
            except InspectError as exc:
                found.append(exc)
                continue
            if pm.present_bytes != pf.size:
                found.append(pages_size_error(pf.path, pf.size, pm.present_bytes))
        for error in found:
            self._record(error)
        return found

    def validate(self) -> list[InspectError]:
        """Everything ``show`` reports as unreadable: each image framed, the parent chain walked, pages sized.

        For the commands that must not go on from a damaged input (repair writes a copy of it).
        """
        self.image_infos()
        self.parent_chain()
        self.check_pages_sizes()
        parent = self._soft(lambda: self.parent)
        if parent is not None:  # the chain is bounded (MAX_PARENT_DEPTH) and loop-free (parent raised otherwise)
            for exc in parent.validate():
                self._record(exc)
        return list(self.problems)

    # --- processes ----------------------------------------------------------
    @functools.cached_property
    def processes(self) -> list[Process]:
        procs = [self._build_process(e) for e in self.pstree]
        by_pid = {p.pid: p for p in procs}
        for p in procs:
            parent = by_pid.get(p.ppid)
            if parent is not None and parent is not p:
                parent.children.append(p.pid)
        self._link_peers(procs)
        return procs

    @property
    def root(self) -> Process:
        return self.processes[0]

    def process(self, pid: int) -> Process | None:
        for p in self.processes:
            if p.pid == pid:
                return p
        return None

    def walk(self) -> Iterator[tuple[int, Process]]:
        """Processes in tree order with their depth."""
        by_pid = {p.pid: p for p in self.processes}
        seen: set[int] = set()

        def rec(p: Process, depth: int) -> Iterator[tuple[int, Process]]:
            if p.pid in seen:
                return
            seen.add(p.pid)
            yield depth, p
            for c in p.children:
                yield from rec(by_pid[c], depth + 1)

        for p in self.processes:
            if p.ppid not in by_pid or p.ppid == p.pid:
                yield from rec(p, 0)
        for p in self.processes:  # anything unreachable (broken ppid links)
            if p.pid not in seen:
                yield from rec(p, 0)

    def _build_process(self, entry: Any) -> Process:  # PstreeEntry (pstree.proto)
        proc = Process(entry.pid, entry.ppid, entry.pgid, entry.sid, list(entry.threads) or [entry.pid])
        core = self._soft(self.one, f"core-{entry.pid}.img")
        if core is not None:
            tc = core.tc
            proc.comm = as_text(tc.comm)
            proc.state = names.describe(names.TASK_STATE, tc.task_state)
            th = core.thread_core
            proc.creds = _thread_creds(core)
            mode = th.seccomp_mode if th.HasField("seccomp_mode") else tc.old_seccomp_mode
            proc.seccomp_mode = names.describe(names.SECCOMP_MODE, mode)
            if th.HasField("cg_set"):
                proc.cg_set = th.cg_set
            elif tc.HasField("cg_set"):
                proc.cg_set = tc.cg_set
        if proc.seccomp_mode == "filter":
            proc.seccomp_filters = self.seccomp_filters
        if proc.cg_set is not None and proc.cg_set in self.cgroups:
            proc.cgroups = self.cgroups[proc.cg_set].controllers
        ids = self._soft(self.one, f"ids-{entry.pid}.img")
        if ids is not None:
            proc.ids = {f.name: v for f, v in ids.ListFields()}
            proc.namespaces = {ns: proc.ids[f"{ns}_ns_id"] for ns in names.NAMESPACES if f"{ns}_ns_id" in proc.ids}
        fs = self._soft(self.one, f"fs-{entry.pid}.img")
        if fs is not None:
            proc.cwd = self.file_path(fs.cwd_id)
            proc.root = self.file_path(fs.root_id)
        # page counts come from the pagemap alone, so a broken mm image still leaves them
        has_memory = f"pagemap-{entry.pid}.img" in self.files or f"mm-{entry.pid}.img" in self.files
        pm = self._soft(self.pagemap, entry.pid) if has_memory else None  # zombies have neither
        if pm is not None:
            present, lazy, in_parent = pm.page_totals
            proc.pages.present += present
            proc.pages.lazy += lazy
            proc.pages.in_parent += in_parent
        mm = self._soft(self.one, f"mm-{entry.pid}.img")
        if mm is not None:
            proc.exe = self.file_path(mm.exe_file_id) if mm.HasField("exe_file_id") else None
            proc.mm = {
                k: getattr(mm, k)
                for k in (
                    "mm_arg_start",
                    "mm_arg_end",
                    "mm_env_start",
                    "mm_env_end",
                    "mm_start_code",
                    "mm_end_code",
                    "mm_start_brk",
                    "mm_brk",
                    "mm_start_stack",
                )
            }
            for v in mm.vmas:
                vma = _vma(v)
                if v.status & (names.VMA_FILE_PRIVATE | names.VMA_FILE_SHARED) or v.status & names.VMA_AREA_MEMFD:
                    vma.path = self.file_path(v.shmid)
                if pm is not None:
                    vma.pages_present, vma.pages_lazy, vma.pages_in_parent = pm.counts_in(v.start, v.end)
                proc.vmas.append(vma)
            self._soft(self._read_args, proc)
        if "files_id" in proc.ids:
            for fi in self._soft(self.entries, f"fdinfo-{proc.ids['files_id']}.img", default=[]):
                proc.fds.append(self._build_fd(fi))
            proc.fds.sort(key=lambda f: f.fd)
        for lock in self.file_locks:
            if lock.pid == proc.pid:
                for fd in proc.fds:
                    if fd.fd == lock.fd:
                        fd.locks.append(lock)
        return proc

    def _read_args(self, proc: Process) -> None:
        mm = proc.mm
        reader = self.page_reader(proc.pid)
        for lo, hi, attr in (("mm_arg_start", "mm_arg_end", "cmdline"), ("mm_env_start", "mm_env_end", "environ")):
            start, end = mm.get(lo, 0), mm.get(hi, 0)
            if not start or end <= start:
                continue
            if end - start > 1 << 20:
                raise InspectError(reader.pagemap.pagemap_path, f"{attr} of pid {proc.pid} spans {end - start} bytes")
            raw = reader.read(start, end - start)
            parts = raw.split(b"\0")
            if parts and parts[-1] == b"":
                parts.pop()
            setattr(proc, attr, [p.decode("utf-8", "backslashreplace") for p in parts])

    # --- files ----------------------------------------------------------------
    def file_entry(self, file_id: int) -> Any:  # FileEntry (fdinfo.proto), or None
        return self.files_by_id.get(file_id)

    def file_path(self, file_id: int) -> str | None:
        fe = self.file_entry(file_id)
        if fe is None:
            return None
        if fe.HasField("reg"):
            return as_text(fe.reg.name)
        if fe.HasField("memfd"):
            return f"memfd:{fe.memfd.inode_id}"
        return None

    def _build_fd(self, fi: Any) -> Fd:  # FdinfoEntry (fdinfo.proto)
        fd = Fd(fi.fd, _fd_type_name(fi.type), fi.id, fi.flags)
        fe = self.file_entry(fi.id)
        if fe is None:
            fd.note = "file entry missing from files.img"
            return fd
        for kind, fill in _FD_BUILDERS.items():
            if fe.HasField(kind):
                fill(self, fd, getattr(fe, kind))
                return fd
        for f, v in fe.ListFields():  # a kind the model does not describe: its open flags at least
            if f.message_type is not None:
                fd.open_flags = getattr(v, "flags", None)
                break
        return fd

    def _link_peers(self, procs: list[Process]) -> None:
        """Name each unix socket's far end, and mark the ones whose peer is not in the tree."""
        inos = {fd.socket.ino for p in procs for fd in p.fds if fd.socket and fd.socket.ino}
        for p in procs:
            for fd in p.fds:
                s = fd.socket
                if s and s.family == "UNIX" and s.peer_ino:
                    if s.peer_ino in inos:
                        fd.peer = f"socket:[{s.peer_ino}] (in the tree)"
                    else:
                        s.external_peer = True
                        fd.peer = f"socket:[{s.peer_ino}] (outside the tree)"

    # --- totals -------------------------------------------------------------
    def page_totals(self) -> PageCounts:
        total = PageCounts()
        for p in self.processes:
            total.add(p.pages)
        return total

    def close(self) -> None:
        for pf in self._pages_files.values():
            pf.close()


# --- one builder per kind of file: fills an Fd from its files.img entry -------------
def _fill_reg(cp: Checkpoint, fd: Fd, r: Any) -> None:  # RegFileEntry (regfile.proto)
    reg = _reg_file(r)
    fd.path, fd.open_flags, fd.pos, fd.size, fd.mode = reg.name, reg.flags, reg.pos, reg.size, reg.mode
    fd.deleted = reg.id in cp.remaps


def _fill_pipe(cp: Checkpoint, fd: Fd, p: Any) -> None:  # PipeEntry (pipe.proto)
    fd.pipe_id, fd.open_flags = p.pipe_id, p.flags
    fd.path = f"pipe:[{p.pipe_id}]"


def _fill_fifo(cp: Checkpoint, fd: Fd, f: Any) -> None:  # FifoEntry (fifo.proto)
    fd.pipe_id = f.pipe_id
    fd.path = cp.file_path(f.regf_id)


def _fill_unix_socket(cp: Checkpoint, fd: Fd, u: Any) -> None:  # UnixSkEntry (sk-unix.proto)
    name = u.name.decode("utf-8", "backslashreplace") if u.name else None
    if name and name.startswith("\0"):
        name = "@" + name[1:]
    fd.socket = Socket(
        "UNIX",
        names.describe(names.SOCK_TYPE, u.type),
        names.describe(names.TCP_STATE, u.state),
        ino=u.ino,
        peer_ino=u.peer or None,
        external_peer=bool(u.uflags & names.USK_EXTERN),
        uflags=u.uflags,
        name=name,
        src=name,
    )
    fd.open_flags = u.flags
    fd.path = f"socket:[{u.ino}]"


def _fill_inet_socket(cp: Checkpoint, fd: Fd, s: Any) -> None:  # InetSkEntry (sk-inet.proto)
    src = names.ip_address(s.src_addr, s.family)
    dst = names.ip_address(s.dst_addr, s.family)
    fd.socket = Socket(
        names.describe(names.SOCK_FAMILY, s.family),
        names.describe(names.SOCK_TYPE, s.type),
        names.describe(names.TCP_STATE, s.state),
        proto=names.describe(names.IP_PROTO, s.proto),
        src=_endpoint(src, s.src_port) if src else None,
        dst=_endpoint(dst, s.dst_port) if dst and s.dst_port else None,
        src_port=s.src_port,
        dst_port=s.dst_port,
        ino=s.ino,
    )
    fd.open_flags = s.flags
    fd.path = f"socket:[{s.ino}]"


def _fill_tty(cp: Checkpoint, fd: Fd, t: Any) -> None:  # TtyFileEntry (tty.proto)
    fd.open_flags = t.flags
    fd.path = cp.file_path(t.regf_id) if t.HasField("regf_id") else None
    fd.tty = cp.tty_infos.get(t.tty_info_id)


def _fill_memfd(cp: Checkpoint, fd: Fd, m: Any) -> None:  # MemfdFileEntry (memfd.proto)
    fd.memfd = True
    fd.open_flags, fd.pos = m.flags, m.pos
    fd.path = f"memfd:{m.inode_id}"


def _fill_external(cp: Checkpoint, fd: Fd, e: Any) -> None:  # ExtFileEntry (ext-file.proto)
    fd.external = True
    fd.note = "external file"


# FileEntry field -> its builder; a FileEntry sets exactly one of them
_FD_BUILDERS: dict[str, Callable[[Checkpoint, Fd, Any], None]] = {
    "reg": _fill_reg,
    "pipe": _fill_pipe,
    "fifo": _fill_fifo,
    "usk": _fill_unix_socket,
    "isk": _fill_inet_socket,
    "tty": _fill_tty,
    "memfd": _fill_memfd,
    "ext": _fill_external,
}


def _x86_64_thread_info(core: Any) -> Any:  # CoreEntry (core.proto); returns its thread_info_x86
    """The registers a core-TID.img of an x86_64 dump saves (thread_info), or None for another architecture."""
    if core is None or names.CORE_MTYPE.get(core.mtype) != "X86_64" or not core.HasField("thread_info"):
        return None
    return core.thread_info


def _vma(v: Any) -> Vma:  # VmaEntry (vma.proto)
    """A VmaEntry (mm-N.img) as Vma; its path and page counts are the process builder's to fill."""
    return Vma(v.start, v.end, v.prot, v.flags, v.status, v.pgoff, v.shmid)


def _tty_info(info: Any) -> TtyInfo:  # TtyInfoEntry (tty.proto)
    """A TtyInfoEntry (tty-info.img) as TtyInfo."""
    return TtyInfo(
        type=names.describe(names.TTY_TYPE, info.type),
        index=info.pty.index if info.HasField("pty") else None,
        sid=info.sid,
        pgrp=info.pgrp,
        uid=info.uid if info.HasField("uid") else None,
        gid=info.gid if info.HasField("gid") else None,
        rdev=info.rdev,
        tty_info_id=info.id,
        dev=info.dev if info.HasField("dev") else None,
        termios=info.HasField("termios"),
        termios_locked=info.HasField("termios_locked"),
    )


def _reg_file(r: Any) -> RegFile:  # RegFileEntry (regfile.proto)
    """A RegFileEntry (files.img) as RegFile."""
    return RegFile(
        r.id,
        as_text(r.name),
        r.flags,
        r.pos,
        size=r.size if r.HasField("size") else None,
        mode=r.mode if r.HasField("mode") else None,
    )


MAP_SHARED = 0x01  # mmap(2) flags, as a VMA entry keeps them


class FileNames(list):
    """A directory's file names, sorted, with membership in O(1): ``name in cp.files`` is asked per
    image, and a hostile checkpoint may hold 100,000 junk files (quadratic time as a plain list)."""

    def __init__(self, names: Iterable[str]) -> None:
        super().__init__(sorted(names))
        self._set = frozenset(self)

    def __contains__(self, name: object) -> bool:
        return name in self._set


def as_text(value: str | bytes) -> str:
    """A protobuf string field as text. Linux paths and names are bytes: a value
    that is not UTF-8 comes back from protobuf as bytes, shown here with \\x escapes."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return value


def _thread_creds(core: Any) -> Creds | None:  # CoreEntry (core.proto)
    """The creds a core-TID.img records in its thread_core, or None if it records none."""
    if core is None or not core.HasField("thread_core") or not core.thread_core.HasField("creds"):
        return None
    return _creds(core.thread_core.creds)


def _creds(c: Any) -> Creds:  # CredsEntry (creds.proto)
    return Creds(
        c.uid,
        c.gid,
        c.euid,
        c.egid,
        c.suid,
        c.sgid,
        c.fsuid,
        c.fsgid,
        names.caps_from_words(c.cap_inh),
        names.caps_from_words(c.cap_prm),
        names.caps_from_words(c.cap_eff),
        names.caps_from_words(c.cap_bnd),
        names.caps_from_words(c.cap_amb),
        c.secbits,
        list(c.groups),
        bool(c.no_new_privs),
        as_text(c.lsm_profile) if c.HasField("lsm_profile") else None,
    )


def _fd_type_name(value: int) -> str:
    from ..codec.schema import fd_type_names

    return fd_type_names().get(value, f"type{value}")


def _not_a_checkpoint_reason(path: str, files: list[str]) -> str:
    """Why a directory is not a checkpoint, with criu's own last error if it left a log."""
    if not any(f.endswith(".img") for f in files):
        return "not a CRIU checkpoint: no inventory.img and no image files"
    reason = "not a complete CRIU checkpoint: no inventory.img (criu writes it only when a dump succeeds)"
    for log in ("dump.log", "pre-dump.log"):
        if log in files:
            last = _last_error_line(os.path.join(path, log))
            if last:
                reason += f"; {log}: {last}"
            break
    return reason


def _last_error_line(log_path: str, tail: int = 64 * 1024) -> str | None:
    """The last 'Error' line of a criu log, reading only its tail."""
    try:
        with open_regular_file(log_path) as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - tail))
            text = fh.read(tail).decode("utf-8", "replace")
    except (OSError, InspectError):
        return None
    errors = [ln.strip() for ln in text.splitlines() if "Error" in ln and "Dumping FAILED" not in ln]
    if not errors:
        return None
    return errors[-1][:300]


def _endpoint(addr: str, port: int) -> str:
    """``addr:port``; ``[addr]:port`` for IPv6, whose own colons would make ``2001:db8::1:80`` ambiguous."""
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"
