"""An ELF core file of one checkpointed process, for gdb and readelf (``criu-inspect coredump``).

What the kernel writes when a process dumps core (fs/binfmt_elf.c), built
from the images instead of a live process: notes with the registers of every
thread (core-TID.img), the process's identity (pstree, creds, cmdline), its
auxiliary vector (mm-PID.img) and its file mappings (NT_FILE), then one or
more PT_LOAD segments per VMA holding the pages the images have, read
through the page reader (pre-dump parents and shared memory included).

The file is planned first (which bytes go where: nothing is read) and then
streamed: headers, notes, then each segment's pages copied from the mmapped
pages files in bounded chunks. Memory stays flat whatever the process's size.
Pages the images do not hold are holes: within a segment, zeros written as a
sparse hole; past the last page the images hold, no bytes at all
(p_filesz < p_memsz), so gdb reads a file-backed range from the file NT_FILE
names and anonymous memory as zeros. See docs/coredump.md.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from .errors import InspectError
from .model import names
from .model.names import PAGE_SIZE

if TYPE_CHECKING:
    from .model.checkpoint import Checkpoint
    from .model.types import Process, Vma
    from .pages import Extent

# --- ELF constants (elf.h) -------------------------------------------------------
ET_CORE, EM_X86_64, EV_CURRENT = 4, 62, 1
PT_LOAD, PT_NOTE = 1, 4
PF_X, PF_W, PF_R = 1, 2, 4
PN_XNUM = 0xFFFF  # e_phnum when the count is kept in section header 0's sh_info
NT_PRSTATUS, NT_FPREGSET, NT_PRPSINFO, NT_AUXV = 1, 2, 3, 6
NT_FILE, NT_X86_XSTATE = 0x46494C45, 0x202

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")  # Elf64_Ehdr, 64 bytes
PHDR = struct.Struct("<IIQQQQQQ")  # Elf64_Phdr, 56 bytes
SHDR = struct.Struct("<IIQQQQIIQQ")  # Elf64_Shdr, 64 bytes (only for PN_XNUM)
NHDR = struct.Struct("<III")  # Elf64_Nhdr: namesz, descsz, type

# struct elf_prstatus (x86_64, 336 bytes): pr_info (signo, code, errno), pr_cursig, pr_sigpend, pr_sighold,
# pid, ppid, pgrp, sid, four struct timeval, then pr_reg (user_regs_struct) and pr_fpvalid
PRSTATUS_HEAD = struct.Struct("<iiih2xQQiiii64x")  # 112 bytes, pr_reg follows
PRSTATUS_TAIL = struct.Struct("<i4x")  # pr_fpvalid
# struct elf_prpsinfo (x86_64, 136 bytes)
PRPSINFO = struct.Struct("<bcbb4xQIIiiii16s80s")
# x86_64 user_regs_struct (sys/user.h), the order gdb reads .reg in; CRIU's names for each
X86_64_USER_REGS = (
    "r15",
    "r14",
    "r13",
    "r12",
    "bp",
    "bx",
    "r11",
    "r10",
    "r9",
    "r8",
    "ax",
    "cx",
    "dx",
    "si",
    "di",
    "orig_ax",
    "ip",
    "cs",
    "flags",
    "sp",
    "ss",
    "fs_base",
    "gs_base",
    "ds",
    "es",
    "fs",
    "gs",
)
USER_REGS = struct.Struct("<27Q")
# the legacy FXSAVE area (user_fxsr_struct), 512 bytes: also the first part of the XSAVE area
FXSAVE_HEAD = struct.Struct("<HHHHQQII")  # cwd swd twd fop rip rdp mxcsr mxcsr_mask; st_space, xmm_space follow
FXSAVE_SIZE = 512
XCR0_OFFSET = 464  # bytes 464..471 of the FXSAVE area: XCR0 in NT_X86_XSTATE (arch/x86/include/asm/user.h)

# XSAVE standard-format components CRIU keeps (images/core-x86.proto user_x86_xsave_entry):
# (CRIU field, element format, offset in the XSAVE area, size, XCR0 bits the component needs)
XSAVE_COMPONENTS = (
    ("ymmh_space", "I", 576, 256, 0x4),  # AVX
    ("bndreg_state", "Q", 960, 64, 0x8),  # MPX
    ("bndcsr_state", "Q", 1024, 64, 0x10),
    ("opmask_reg", "Q", 1088, 64, 0x20),  # AVX-512
    ("zmm_upper", "Q", 1152, 512, 0x40),
    ("hi16_zmm", "Q", 1664, 1024, 0x80),
    ("pkru", "I", 2688, 8, 0x200),  # protection keys
)
XSAVE_HEADER = 512
TASK_STATE_CHAR = {"alive": (0, b"R"), "stopped": (3, b"T"), "zombie": (4, b"Z"), "dead": (4, b"Z")}
PRARGSZ = 80
COPY_CHUNK = 1 << 20
RELEASE_EVERY = 8 << 20


@dataclass
class Segment:
    """One PT_LOAD: [start, start+memsz) of ``vma``; its first ``filesz`` bytes are in the file at ``offset``."""

    vma: Vma
    start: int
    memsz: int
    filesz: int
    extents: list[Extent] = field(default_factory=list)  # where those bytes are, in address order
    offset: int = 0

    @property
    def flags(self) -> int:
        prot = self.vma.prot
        return (PF_R if prot & 1 else 0) | (PF_W if prot & 2 else 0) | (PF_X if prot & 4 else 0)


@dataclass
class CorePlan:
    """Everything about the core file but the page bytes: written by ``write``."""

    pid: int
    process: Process
    notes: bytes
    segments: list[Segment]
    threads: list[int]
    empty_vmas: list[Vma]  # VMAs with no page in the images
    lazy_pages: int
    data_offset: int = 0

    @property
    def size(self) -> int:
        last = max((s.offset + s.filesz for s in self.segments if s.filesz), default=self.data_offset)
        return max(last, self.data_offset)

    @property
    def bytes_from_images(self) -> int:
        return sum(e.length for s in self.segments for e in s.extents)


# --- notes ------------------------------------------------------------------------


def _note(name: bytes, kind: int, desc: bytes) -> bytes:
    name += b"\0"
    return NHDR.pack(len(name), len(desc), kind) + _pad4(name) + _pad4(desc)


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _u32s(values, count: int) -> bytes:
    values = list(values)[:count]
    return struct.pack(f"<{count}I", *values, *([0] * (count - len(values))))


def prstatus(tid: int, proc: Process, regs, sighold: int) -> bytes:
    """NT_PRSTATUS of one thread: ids from pstree, registers in user_regs_struct order."""
    head = PRSTATUS_HEAD.pack(0, 0, 0, 0, 0, sighold, tid, proc.ppid, proc.pgid, proc.sid)
    gregs = USER_REGS.pack(*(getattr(regs, name) for name in X86_64_USER_REGS))
    return _note(b"CORE", NT_PRSTATUS, head + gregs + PRSTATUS_TAIL.pack(1))


def fxsave_area(fp) -> bytearray:
    """The 512-byte FXSAVE image of a thread's x87/SSE state (NT_FPREGSET, and the head of NT_X86_XSTATE)."""
    out = bytearray(FXSAVE_SIZE)
    FXSAVE_HEAD.pack_into(
        out,
        0,
        fp.cwd & 0xFFFF,
        fp.swd & 0xFFFF,
        fp.twd & 0xFFFF,
        fp.fop & 0xFFFF,
        fp.rip,
        fp.rdp,
        fp.mxcsr,
        fp.mxcsr_mask,
    )
    out[32:160] = _u32s(fp.st_space, 32)
    out[160:416] = _u32s(fp.xmm_space, 64)
    return out


def xsave_area(fp) -> bytes | None:
    """NT_X86_XSTATE: the standard-format XSAVE area, with XCR0 (the components the images carry) at byte 464.

    gdb picks its register description from that XCR0 and expects the area to be
    as long as the largest component it names (gdb's X86_XSTATE_SIZE).
    """
    if not fp.HasField("xsave"):
        return None
    xs = fp.xsave
    xcr0 = 0x3  # x87, SSE
    parts = []
    for name, fmt, offset, size, bits in XSAVE_COMPONENTS:
        values = list(getattr(xs, name))
        if not values:
            continue
        raw = struct.pack(f"<{len(values)}{fmt}", *values)[:size]
        parts.append((offset, raw))
        xcr0 |= bits
    if xcr0 & 0xE0:
        xcr0 |= 0xE4  # AVX-512 state comes with AVX (gdb knows no AVX-512 without it)
    end = max([XSAVE_HEADER + 64] + [off + size for _, _, off, size, bits in XSAVE_COMPONENTS if xcr0 & bits])
    out = bytearray(end)
    out[:FXSAVE_SIZE] = fxsave_area(fp)
    struct.pack_into("<Q", out, XCR0_OFFSET, xcr0)
    struct.pack_into("<QQ", out, XSAVE_HEADER, xs.xstate_bv & xcr0, 0)  # xstate_bv; xcomp_bv 0: standard format
    for offset, raw in parts:
        out[offset : offset + len(raw)] = raw
    return bytes(out)


def prpsinfo(proc: Process, core) -> bytes:
    state, sname = TASK_STATE_CHAR.get(proc.state, (0, b"R"))
    nice = core.thread_core.sched_nice if core.thread_core.HasField("sched_nice") else 0
    args = " ".join(proc.cmdline).encode("utf-8", "surrogateescape")[: PRARGSZ - 1]
    uid = proc.creds.uid if proc.creds else 0
    gid = proc.creds.gid if proc.creds else 0
    fname = proc.comm.encode("utf-8", "replace")[:15]
    desc = PRPSINFO.pack(
        state,
        sname,
        1 if state == 4 else 0,
        max(-128, min(127, nice)),
        core.tc.flags,
        uid,
        gid,
        proc.pid,
        proc.ppid,
        proc.pgid,
        proc.sid,
        fname,
        args,
    )
    return _note(b"CORE", NT_PRPSINFO, desc)


def auxv_note(saved_auxv) -> bytes:
    """NT_AUXV: the (type, value) pairs up to and with AT_NULL (CRIU keeps them without the final AT_NULL)."""
    words = list(saved_auxv)
    pairs = []
    for i in range(0, len(words) - 1, 2):
        if words[i] == 0:
            break
        pairs += words[i : i + 2]
    pairs += [0, 0]
    return _note(b"CORE", NT_AUXV, struct.pack(f"<{len(pairs)}Q", *pairs))


def is_file_backed(vma: Vma) -> bool:
    return bool(vma.status & (names.VMA_FILE_PRIVATE | names.VMA_FILE_SHARED)) and vma.path is not None


def file_note(vmas: list[Vma]) -> bytes:
    """NT_FILE (fs/binfmt_elf.c fill_files_note): count, page size, (start, end, page offset) each, then the names."""
    mapped = [(v, path) for v in vmas if (path := v.path) is not None]
    desc = struct.pack("<QQ", len(mapped), PAGE_SIZE)
    desc += b"".join(struct.pack("<QQQ", v.start, v.end, v.pgoff // PAGE_SIZE) for v, _ in mapped)
    desc += b"".join(path.encode("utf-8", "surrogateescape") + b"\0" for _, path in mapped)
    return _note(b"CORE", NT_FILE, desc)


def thread_notes(checkpoint: Checkpoint, proc: Process, tid: int) -> bytes:
    core = _core(checkpoint, tid)
    ti = core.thread_info
    tc = core.thread_core
    sighold = tc.blk_sigset if tc.HasField("blk_sigset") else core.tc.blk_sigset
    out = prstatus(tid, proc, ti.gpregs, sighold)
    out += _note(b"CORE", NT_FPREGSET, bytes(fxsave_area(ti.fpregs)))
    xstate = xsave_area(ti.fpregs)
    if xstate is not None:
        out += _note(b"LINUX", NT_X86_XSTATE, xstate)
    return out


def _core(checkpoint: Checkpoint, tid: int):
    name = f"core-{tid}.img"
    core = checkpoint.one(name) if name in checkpoint.files else None
    path = f"{checkpoint.path}/{name}"
    if core is None:
        raise InspectError(path, "missing: the registers of this thread are not in the checkpoint")
    arch = names.describe(names.CORE_MTYPE, core.mtype)
    if arch != "X86_64":
        raise InspectError(path, f"a {arch} thread: coredump writes x86_64 cores only")
    if not core.HasField("thread_info"):
        raise InspectError(path, "no x86_64 thread_info (registers)")
    if core.thread_info.gpregs.mode == 2:  # COMPAT: a 32-bit task
        raise InspectError(path, "a 32-bit (compat) task: coredump writes x86_64 cores only")
    return core


# --- segments ---------------------------------------------------------------------


def _shared_extents(checkpoint: Checkpoint, vma: Vma) -> Iterator[Extent]:
    """The pages of a shared anonymous (or memfd) mapping, from its object's pagemap, whichever process of the
    tree the dump took them from (the page reader hands them to the first process that maps the object)."""
    from .pages import Extent

    shmem = checkpoint.shmem_id(vma)
    pm = checkpoint.shmem_pagemap(shmem) if shmem is not None else None
    if pm is None:
        return
    first = vma.pgoff
    for run in pm.runs_in(first, first + vma.size):
        if not run.flags & names.PE_PRESENT:
            continue
        a, b = max(run.start, first), min(run.end, first + vma.size)
        yield Extent(
            vma.start + a - first,
            b - a,
            "shared",
            checkpoint.pages_file(pm.pages_id),
            run.file_offset + (a - run.start),
        )


def vma_extents(checkpoint: Checkpoint, reader, vma: Vma) -> list[Extent]:
    """Where the images hold the bytes of ``vma``, in address order (nothing is read)."""
    if vma.flags & 0x1 and vma.status & (names.VMA_ANON_SHARED | names.VMA_AREA_MEMFD):  # MAP_SHARED
        extents = list(_shared_extents(checkpoint, vma))
    else:
        extents = [e for e in reader.extents(vma.start, vma.end) if e.where != "shared"]
    _check_in_order(reader, vma, extents)
    return extents


def _check_in_order(reader, vma: Vma, extents: list[Extent]) -> None:
    """Runs that overlap would put two pages at one address and shift every later byte of the core.

    CRIU reads a pagemap forward only (criu/pagemap.c:146 seek_pagemap), so a
    restore could not use such a pagemap either: it is bad input, not a core.
    """
    at = vma.start
    for ext in extents:
        if ext.addr < at or ext.end > vma.end:
            why = f"overlap at 0x{ext.addr:x}" if ext.addr < at else f"reach past the VMA's end 0x{vma.end:x}"
            why += " (criu reads a pagemap forward, run after run)"
            raise InspectError(reader.pagemap.pagemap_path, f"pagemap runs of pid {reader.pid} {why}")
        at = ext.end


def vma_segments(vma: Vma, extents: list[Extent]) -> list[Segment]:
    """The PT_LOADs of one VMA.

    One segment, its file part reaching to the end of the last page the images
    hold (holes before it read as zeros, which anonymous memory the dump left
    out is). A file-backed VMA of which the images hold some pages is cut at
    every change between pages held and not: CRIU leaves out the pages of a
    private file mapping that were never written (criu/mem.c should_dump_page)
    and every page of a shared one, so those ranges get no bytes and gdb reads
    them from the file NT_FILE names, not as zeros.
    """
    if not extents:
        return [Segment(vma, vma.start, vma.size, 0)]
    if not is_file_backed(vma):
        last = extents[-1].end
        return [Segment(vma, vma.start, vma.size, last - vma.start, extents)]
    out: list[Segment] = []
    at = vma.start
    for ext in extents:
        if ext.addr > at:
            out.append(Segment(vma, at, ext.addr - at, 0))
        if out and out[-1].filesz and out[-1].start + out[-1].memsz == ext.addr:
            seg = out[-1]
            seg.memsz += ext.length
            seg.filesz += ext.length
            seg.extents.append(ext)
        else:
            out.append(Segment(vma, ext.addr, ext.length, ext.length, [ext]))
        at = ext.end
    if at < vma.end:
        out.append(Segment(vma, at, vma.end - at, 0))
    return out


# --- plan and write -----------------------------------------------------------------


def plan(checkpoint: Checkpoint, pid: int) -> CorePlan:
    """Lay out the core file of ``pid``: notes built, segments placed, no page read."""
    proc = checkpoint.process(pid)
    if proc is None:
        pids = ", ".join(str(p.pid) for p in checkpoint.processes)
        raise InspectError(checkpoint.shown_path, f"no process {pid} in this checkpoint (pids: {pids})")
    if proc.state in ("zombie", "dead"):
        raise InspectError(checkpoint.shown_path, f"process {pid} is a zombie: it has no memory or registers")
    main = _core(checkpoint, pid)
    mm_name = f"mm-{pid}.img"
    mm = checkpoint.one(mm_name) if mm_name in checkpoint.files else None
    if mm is None:
        raise InspectError(f"{checkpoint.path}/{mm_name}", "missing: the memory map of this process")
    _raise_own_problem(checkpoint, proc)
    _check_vmas(f"{checkpoint.path}/{mm_name}", proc.vmas)
    _check_ids(checkpoint, proc)
    threads = [pid] + [t for t in proc.threads if t != pid]  # the main thread first: gdb's current thread
    notes = prpsinfo(proc, main) + auxv_note(mm.mm_saved_auxv) + file_note(proc.vmas)
    notes += b"".join(thread_notes(checkpoint, proc, tid) for tid in threads)
    reader = checkpoint.page_reader(pid)
    reader.pagemap.require_disjoint()
    segments, empty = [], []
    for vma in proc.vmas:
        extents = vma_extents(checkpoint, reader, vma)
        if not extents:
            empty.append(vma)
        segments += vma_segments(vma, extents)
    lazy = sum(_lazy_only_pages(reader.pagemap, v) for v in proc.vmas)
    core_plan = CorePlan(pid, proc, notes, segments, threads, empty, lazy)
    _place(core_plan)
    return core_plan


def _check_ids(checkpoint: Checkpoint, proc: Process) -> None:
    """pstree.img holds uint32 ids; a core's are pid_t (signed 32 bits): a larger one is a damaged pstree."""
    ids = [("pid", proc.pid), ("ppid", proc.ppid), ("pgid", proc.pgid), ("sid", proc.sid)]
    for name, value in ids + [("thread", t) for t in proc.threads]:
        if not 0 <= value < 1 << 31:
            raise InspectError(f"{checkpoint.path}/pstree.img", f"{name} {value} of process {proc.pid} is not a pid")


def _lazy_only_pages(pagemap, vma: Vma) -> int:
    """Pages of ``vma`` the pagemap lists as lazy only (a lazy-pages server was to serve them): in no file.
    (CRIU 4.2 marks ordinary dumped pages PE_LAZY too, with PE_PRESENT: those are in the pages file.)"""
    n = 0
    for run in pagemap.runs_in(vma.start, vma.end):
        if not run.flags & (names.PE_PRESENT | names.PE_PARENT):
            n += (min(run.end, vma.end) - max(run.start, vma.start)) // PAGE_SIZE
    return n


def _check_vmas(path: str, vmas: list[Vma]) -> None:
    """A core's segments must be page-aligned, non-empty, in order and apart: a damaged mm image says otherwise."""
    previous_end = 0
    for i, v in enumerate(vmas):
        if v.start % PAGE_SIZE or v.end % PAGE_SIZE or not v.start < v.end <= 1 << 64 or v.start < previous_end:
            raise InspectError(
                path,
                f"VMA {i} 0x{v.start:x}-0x{v.end:x} is not a page-aligned range after the "
                f"previous VMA (ends 0x{previous_end:x})",
            )
        if v.pgoff % PAGE_SIZE:
            raise InspectError(path, f"VMA {i} 0x{v.start:x}-0x{v.end:x}: file offset {v.pgoff} is not page-aligned")
        previous_end = v.end


def _raise_own_problem(checkpoint: Checkpoint, proc: Process) -> None:
    """A core written from a damaged image would mislead gdb: the first problem the model met in an image
    this core is made of stops it (problems in other processes' images do not)."""
    import os
    import re

    own = {"files.img", "memfd.img", f"mm-{proc.pid}.img", f"pagemap-{proc.pid}.img"}
    own |= {f"core-{tid}.img" for tid in proc.threads}
    for exc in checkpoint.problems:
        name = os.path.basename(exc.path or "")
        if name in own or re.fullmatch(r"pages-\d+\.img|pagemap-shmem-\d+\.img", name):
            raise exc


def _phnum(plan: CorePlan) -> int:
    return len(plan.segments) + 1  # + PT_NOTE


def _place(plan: CorePlan) -> None:
    """File offsets: header, program headers, (a section header when there are PN_XNUM or more), notes, pages."""
    at = EHDR.size + _phnum(plan) * PHDR.size + (SHDR.size if _phnum(plan) >= PN_XNUM else 0)
    at += len(plan.notes)
    at += -at % PAGE_SIZE
    plan.data_offset = at
    for seg in plan.segments:
        seg.offset = at
        at += seg.filesz


def headers(plan: CorePlan) -> bytes:
    phnum = _phnum(plan)
    extended = phnum >= PN_XNUM
    phoff = EHDR.size
    shoff = phoff + phnum * PHDR.size if extended else 0
    ident = b"\x7fELF" + bytes([2, 1, EV_CURRENT, 0]) + bytes(8)  # 64-bit, little-endian, System V ABI
    out = [
        EHDR.pack(
            ident,
            ET_CORE,
            EM_X86_64,
            EV_CURRENT,
            0,
            phoff,
            shoff,
            0,
            EHDR.size,
            PHDR.size,
            PN_XNUM if extended else phnum,
            SHDR.size if extended else 0,
            1 if extended else 0,
            0,
        )
    ]
    notes_at = phoff + phnum * PHDR.size + (SHDR.size if extended else 0)
    out.append(PHDR.pack(PT_NOTE, 0, notes_at, 0, 0, len(plan.notes), 0, 4))
    for seg in plan.segments:
        out.append(PHDR.pack(PT_LOAD, seg.flags, seg.offset, seg.start, 0, seg.filesz, seg.memsz, PAGE_SIZE))
    if extended:  # section header 0 holds the real count (elf(5), PN_XNUM)
        out.append(SHDR.pack(0, 0, 0, 0, 0, 0, 0, phnum, 0, 0))
    out.append(plan.notes)
    return b"".join(out)


class _Output:
    """Writes forward only; with ``sparse`` (a new file of our own, at offset 0, not O_APPEND) zeros become holes,
    so the core of a large process costs the disk only what the images hold."""

    def __init__(self, fh: BinaryIO, sparse: bool):
        self.fh = fh
        self.pos = 0
        self.seekable = sparse

    def write(self, data) -> None:
        self.fh.write(data)
        self.pos += len(data)

    def skip_to(self, offset: int) -> None:
        gap = offset - self.pos
        if gap < 0:  # segments are placed in file order: going back would overwrite bytes already written
            raise RuntimeError(f"core layout: writing at {self.pos}, asked to go back to {offset}")
        if gap == 0:
            return
        if self.seekable:
            self.fh.seek(gap, 1)
            self.pos = offset
            return
        zeros = bytes(min(gap, COPY_CHUNK))
        while self.pos < offset:
            self.write(zeros[: offset - self.pos])

    def finish(self, size: int) -> None:
        self.skip_to(size)
        if self.seekable:
            self.fh.truncate(size)  # a final hole still counts toward the size


def write(plan: CorePlan, fh: BinaryIO, *, sparse: bool = False) -> None:
    """Stream the core file: headers and notes, then each segment's pages in bounded chunks.

    ``sparse``: ``fh`` is a new regular file positioned at 0; unheld pages are then seeked over, not written.
    """
    out = _Output(fh, sparse)
    out.write(headers(plan))
    copied = 0
    for seg in plan.segments:
        for ext in seg.extents:
            out.skip_to(seg.offset + ext.addr - seg.start)
            for at in range(0, ext.length, COPY_CHUNK):
                n = min(COPY_CHUNK, ext.length - at)
                out.write(ext.pages.slice(ext.offset + at, n))
                copied += n
                if copied >= RELEASE_EVERY:  # drop the mapped pages we passed, so RSS stays flat
                    ext.pages.release(0, ext.pages.size)
                    copied = 0
    out.finish(plan.size)
    for seg in plan.segments:
        for ext in seg.extents:
            ext.pages.release(0, ext.pages.size)
