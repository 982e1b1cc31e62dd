"""criu-inspect coredump on real checkpoints: the ELF core read back by a small struct parser of this test's own,
by readelf and by gdb, and held to the images (VMAs, registers, pstree, pages through the page reader)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from inspector.codec.image import open_image
from inspector.model.checkpoint import Checkpoint
from tests.conftest import corpus_dir, run_cli
from tests.synth import make_predump_chain, write_image

PT_LOAD, PT_NOTE = 1, 4
NT_PRSTATUS, NT_FPREGSET, NT_PRPSINFO, NT_AUXV, NT_FILE, NT_X86_XSTATE = 1, 2, 3, 6, 0x46494C45, 0x202
AT_NULL, AT_PAGESZ, AT_ENTRY, AT_EXECFN = 0, 6, 9, 31
VMA_FILE = (1 << 6) | (1 << 7)


# --- an ELF core reader written from elf(5) and the kernel's note layouts, not from the writer ---------------


def read_core(path: Path) -> dict:
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "not an ELF64 little-endian file"
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    (e_phoff,) = struct.unpack_from("<Q", data, 32)
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 54)
    phdrs = []
    for i in range(e_phnum):
        p_type, p_flags, p_offset, p_vaddr, _, p_filesz, p_memsz, p_align = struct.unpack_from(
            "<IIQQQQQQ", data, e_phoff + i * e_phentsize
        )
        phdrs.append(
            {
                "type": p_type,
                "flags": p_flags,
                "offset": p_offset,
                "vaddr": p_vaddr,
                "filesz": p_filesz,
                "memsz": p_memsz,
                "align": p_align,
            }
        )
    notes = []
    for ph in phdrs:
        if ph["type"] != PT_NOTE:
            continue
        at, end = ph["offset"], ph["offset"] + ph["filesz"]
        while at < end:
            namesz, descsz, kind = struct.unpack_from("<III", data, at)
            at += 12
            name = data[at : at + namesz].rstrip(b"\0")
            at += (namesz + 3) & ~3
            notes.append((name, kind, data[at : at + descsz]))
            at += (descsz + 3) & ~3
    return {"type": e_type, "machine": e_machine, "phdrs": phdrs, "notes": notes, "data": data}


def prstatus_fields(desc: bytes) -> dict:
    """struct elf_prstatus of x86_64: pids at 32, pr_reg (user_regs_struct) at 112."""
    pid, ppid, pgrp, sid = struct.unpack_from("<iiii", desc, 32)
    regs = struct.unpack_from("<27Q", desc, 112)
    names = [
        "r15",
        "r14",
        "r13",
        "r12",
        "rbp",
        "rbx",
        "r11",
        "r10",
        "r9",
        "r8",
        "rax",
        "rcx",
        "rdx",
        "rsi",
        "rdi",
        "orig_rax",
        "rip",
        "cs",
        "eflags",
        "rsp",
        "ss",
        "fs_base",
        "gs_base",
        "ds",
        "es",
        "fs",
        "gs",
    ]
    return {"pid": pid, "ppid": ppid, "pgrp": pgrp, "sid": sid, **dict(zip(names, regs))}


def write_core(tmp_path: Path, name: str, pid: int, *extra: str, images: Path | None = None) -> Path:
    out = tmp_path / f"core.{pid}"
    r = run_cli("coredump", str(images or corpus_dir(name)), "--pid", str(pid), "-o", str(out), *extra)
    assert r.returncode == 0, r.stderr
    return out


def pf_flags(prot: int) -> int:
    return (4 if prot & 1 else 0) | (2 if prot & 2 else 0) | (1 if prot & 4 else 0)


# --- segments and their bytes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name,pid", [("tree", 15783), ("jvm", 24426)])
def test_load_segments_cover_each_vma_with_its_flags_and_the_page_readers_bytes(tmp_path, name, pid):
    core = read_core(write_core(tmp_path, name, pid))
    assert (core["type"], core["machine"]) == (4, 62)  # ET_CORE, EM_X86_64
    cp = Checkpoint(corpus_dir(name))
    proc = cp.process(pid)
    loads = [p for p in core["phdrs"] if p["type"] == PT_LOAD]
    assert loads == sorted(loads, key=lambda p: p["vaddr"])
    at = 0
    for vma in proc.vmas:  # each VMA is covered by consecutive segments, end to end, with its protection
        covered = vma.start
        while covered < vma.end:
            seg = loads[at]
            assert seg["vaddr"] == covered and seg["flags"] == pf_flags(vma.prot), (hex(vma.start), seg)
            assert seg["filesz"] <= seg["memsz"] and seg["memsz"] % 4096 == 0
            covered += seg["memsz"]
            at += 1
        assert covered == vma.end
    assert at == len(loads)
    reader = cp.page_reader(pid)
    for seg in loads:
        if seg["filesz"]:
            got = core["data"][seg["offset"] : seg["offset"] + seg["filesz"]]
            assert got == reader.read(seg["vaddr"], seg["filesz"]), hex(seg["vaddr"])
    for vma in proc.vmas:  # every page the pagemap says was dumped lies in a segment's bytes
        for run in reader.pagemap.runs_in(vma.start, vma.end):
            if run.flags & 4:  # PE_PRESENT
                for page in range(max(run.start, vma.start), min(run.end, vma.end), 4096):
                    assert any(p["vaddr"] <= page < p["vaddr"] + p["filesz"] for p in loads), hex(page)


def test_file_mappings_get_bytes_only_where_the_images_have_pages(tmp_path):
    """A private file mapping partly written (the JVM's): the pages CRIU dumped carry bytes, the rest none, so gdb
    reads those from the file; anonymous memory stays one segment per VMA."""
    core = read_core(write_core(tmp_path, "jvm", 24426))
    loads = [p for p in core["phdrs"] if p["type"] == PT_LOAD]
    cp = Checkpoint(corpus_dir("jvm"))
    proc = cp.process(24426)
    pagemap = cp.page_reader(24426).pagemap
    partly = 0
    for vma in proc.vmas:
        segs = [p for p in loads if vma.start <= p["vaddr"] < vma.end]
        if not vma.status & VMA_FILE:
            assert len(segs) == 1
            continue
        with_bytes = {page for p in segs for page in range(p["vaddr"], p["vaddr"] + p["filesz"], 4096)}
        dumped = {
            page
            for run in pagemap.runs_in(vma.start, vma.end)
            if run.flags & 4
            for page in range(max(run.start, vma.start), min(run.end, vma.end), 4096)
        }
        assert with_bytes == dumped, vma.path
        assert all(p["filesz"] in (0, p["memsz"]) for p in segs)
        partly += 0 < len(dumped) < (vma.end - vma.start) // 4096
    assert partly >= 1 and len(loads) > len(proc.vmas)  # (the JVM has file mappings it wrote into here and there)


def test_vmas_without_pages_have_no_bytes_and_are_listed(tmp_path):
    out = tmp_path / "core"
    r = run_cli("coredump", str(corpus_dir("tree")), "--pid", "15783", "-o", str(out))
    assert r.returncode == 0, r.stderr
    cp = Checkpoint(corpus_dir("tree"))
    proc = cp.process(15783)
    empty = [v for v in proc.vmas if v.pages_present == 0]
    assert empty, "the tree's libc text has no dumped page"
    loads = {p["vaddr"]: p for p in read_core(out)["phdrs"] if p["type"] == PT_LOAD}
    for v in empty:
        assert loads[v.start]["filesz"] == 0 and loads[v.start]["memsz"] == v.end - v.start
        assert f"{v.start:x}-{v.end:x}" in r.stdout
    assert "/usr/lib/x86_64-linux-gnu/libc.so.6" in r.stdout
    assert f"{len(empty)} VMA(s) with no pages" in r.stdout


def test_readelf_reads_the_core(tmp_path):
    if shutil.which("readelf") is None:
        pytest.skip("readelf is not installed")
    out = write_core(tmp_path, "tree", 15783)
    cp = Checkpoint(corpus_dir("tree"))
    threads = cp.process(15783).threads
    headers = subprocess.run(["readelf", "-h", "-l", "-W", str(out)], capture_output=True, text=True, timeout=60)
    assert headers.returncode == 0 and not headers.stderr, headers.stderr
    assert "CORE (Core file)" in headers.stdout and "X86-64" in headers.stdout
    assert headers.stdout.count(" LOAD ") == sum(p["type"] == PT_LOAD for p in read_core(out)["phdrs"])
    notes = subprocess.run(["readelf", "-n", "-W", str(out)], capture_output=True, text=True, timeout=60)
    assert notes.returncode == 0, notes.stderr
    assert notes.stdout.count("NT_PRSTATUS") == len(threads) == 2
    assert notes.stdout.count("NT_FPREGSET") == 2 and notes.stdout.count("NT_X86_XSTATE") == 2
    for kind in ("NT_PRPSINFO", "NT_AUXV", "NT_FILE"):
        assert notes.stdout.count(kind) == 1, kind


# --- notes --------------------------------------------------------------------------------------------------


def test_one_prstatus_per_thread_with_the_images_registers_and_pstree_ids(tmp_path):
    # the tree: the root has 2 threads; c1 (15785) called setsid, c2 (15786) setpgid(0, 0) (MANIFEST.md)
    cp = Checkpoint(corpus_dir("tree"))
    for pid in (15783, 15785, 15786, 15787):
        proc = cp.process(pid)
        core = read_core(write_core(tmp_path, "tree", pid))
        status = [prstatus_fields(d) for n, k, d in core["notes"] if k == NT_PRSTATUS and n == b"CORE"]
        assert [s["pid"] for s in status] == [pid] + [t for t in proc.threads if t != pid]  # main thread first
        for s in status:
            regs = cp.one(f"core-{s['pid']}.img").thread_info.gpregs
            assert (s["rip"], s["rsp"], s["rbp"], s["orig_rax"], s["fs_base"]) == (
                regs.ip,
                regs.sp,
                regs.bp,
                regs.orig_ax,
                regs.fs_base,
            )
            assert (s["ppid"], s["pgrp"], s["sid"]) == (proc.ppid, proc.pgid, proc.sid)
            assert s["cs"] == 0x33 and s["ss"] == 0x2B  # x86_64 user code and stack segments
        if pid == 15785:
            assert status[0]["sid"] == 15785
        if pid == 15786:
            assert status[0]["pgrp"] == 15786
    assert len(cp.process(15787).threads) == 3


def test_every_thread_keeps_its_own_stack_pointer_inside_the_dumped_memory(tmp_path):
    core = read_core(write_core(tmp_path, "tree", 15787))
    loads = [p for p in core["phdrs"] if p["type"] == PT_LOAD]
    for _name, kind, desc in core["notes"]:
        if kind == NT_PRSTATUS:
            rsp = prstatus_fields(desc)["rsp"]
            seg = next(p for p in loads if p["vaddr"] <= rsp < p["vaddr"] + p["memsz"])
            assert rsp < seg["vaddr"] + seg["filesz"], "the top of each thread's stack is in the core"


def test_prpsinfo_auxv_and_file_notes(tmp_path):
    core = read_core(write_core(tmp_path, "tree", 15783))
    notes = {k: d for n, k, d in core["notes"] if k in (NT_PRPSINFO, NT_AUXV, NT_FILE)}
    state, sname = struct.unpack_from("<bc", notes[NT_PRPSINFO], 0)
    uid, gid, pid, ppid = struct.unpack_from("<IIii", notes[NT_PRPSINFO], 16)
    fname = notes[NT_PRPSINFO][40:56].rstrip(b"\0")
    psargs = notes[NT_PRPSINFO][56:136].rstrip(b"\0")
    assert (uid, gid, pid, fname) == (0, 0, 15783, b"tree")  # dumped by root (MANIFEST.md)
    assert psargs == b"/tmp/criu-work/bin/tree" and (state, sname) == (0, b"R")
    assert ppid == Checkpoint(corpus_dir("tree")).process(15783).ppid

    words = struct.unpack(f"<{len(notes[NT_AUXV]) // 8}Q", notes[NT_AUXV])
    auxv = dict(zip(words[0::2], words[1::2]))
    assert words[-2:] == (AT_NULL, 0) and auxv[AT_PAGESZ] == 4096
    # AT_EXECFN points into the stack: the core's own bytes there name the program
    loads = [p for p in core["phdrs"] if p["type"] == PT_LOAD and p["filesz"]]
    execfn = auxv[AT_EXECFN]
    seg = next(p for p in loads if p["vaddr"] <= execfn < p["vaddr"] + p["filesz"])
    at = seg["offset"] + execfn - seg["vaddr"]
    assert core["data"][at : core["data"].index(b"\0", at)] == b"/tmp/criu-work/bin/tree"
    cp = Checkpoint(corpus_dir("tree"))
    exe_text = [v for v in cp.process(15783).vmas if v.path == "/tmp/criu-work/bin/tree" and v.prot & 4]
    assert exe_text and exe_text[0].start <= auxv[AT_ENTRY] < exe_text[0].end

    desc = notes[NT_FILE]
    count, page_size = struct.unpack_from("<QQ", desc, 0)
    triples = [struct.unpack_from("<QQQ", desc, 16 + 24 * i) for i in range(count)]
    paths = desc[16 + 24 * count :].split(b"\0")[:count]
    mapped = [v for v in cp.process(15783).vmas if v.status & VMA_FILE]
    assert page_size == 4096 and count == len(mapped)
    assert triples == [(v.start, v.end, v.pgoff // 4096) for v in mapped]
    assert [p.decode() for p in paths] == [v.path for v in mapped]
    assert b"/usr/lib/x86_64-linux-gnu/libc.so.6" in paths


def test_fp_and_xsave_notes_carry_the_images_state(tmp_path):
    core = read_core(write_core(tmp_path, "tree", 15785))
    cp = Checkpoint(corpus_dir("tree"))
    fp = cp.one("core-15785.img").thread_info.fpregs
    fpregs = next(d for n, k, d in core["notes"] if k == NT_FPREGSET)
    xstate = next(d for n, k, d in core["notes"] if k == NT_X86_XSTATE and n == b"LINUX")
    assert len(fpregs) == 512
    cwd, swd, twd, fop, rip, rdp, mxcsr, mask = struct.unpack_from("<HHHHQQII", fpregs, 0)
    assert (cwd, swd, twd, fop, rip, rdp) == (fp.cwd, fp.swd, fp.twd, fp.fop, fp.rip, fp.rdp)
    assert (cwd, mxcsr, mask) == (fp.cwd, fp.mxcsr, fp.mxcsr_mask) == (0x37F, 0x1F80, 0x2FFFF)
    assert struct.unpack_from("<64I", fpregs, 160) == tuple(fp.xmm_space)
    assert xstate[:464] == fpregs[:464]
    (xcr0,) = struct.unpack_from("<Q", xstate, 464)
    (xstate_bv,) = struct.unpack_from("<Q", xstate, 512)
    assert xstate_bv == fp.xsave.xstate_bv == 0xA2
    # the dumping CPU had AVX-512 (opmask, ZMM state in the image): gdb's AVX-512 layout, 2688 bytes
    assert xcr0 == 0xE7 and len(xstate) == 2688
    assert struct.unpack_from("<8Q", xstate, 1088) == tuple(fp.xsave.opmask_reg)
    assert struct.unpack_from("<128Q", xstate, 1664) == tuple(fp.xsave.hi16_zmm)


def test_gdb_lists_every_thread_with_the_images_registers(tmp_path):
    if shutil.which("gdb") is None:
        pytest.skip("gdb is not installed")
    out = write_core(tmp_path, "tree", 15787)
    cp = Checkpoint(corpus_dir("tree"))
    threads = cp.process(15787).threads
    r = subprocess.run(
        ["gdb", "-nx", "-batch", "-ex", "info threads", "-ex", "thread apply all info registers rip", "-c", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    for tid in threads:
        assert f"LWP {tid}" in r.stdout
        rip = cp.one(f"core-{tid}.img").thread_info.gpregs.ip
        assert f"rip            0x{rip:x}" in r.stdout


# --- parent chains ----------------------------------------------------------------------------------------------


def test_pages_from_a_predump_parent_are_in_the_core(tmp_path):
    chain = make_predump_chain(corpus_dir("tree"), tmp_path / "child", 15783)
    assert chain["moved_pages"] > 0
    out = write_core(tmp_path, "tree", 15783, images=tmp_path / "child")
    core = read_core(out)
    original = Checkpoint(corpus_dir("tree")).page_reader(15783)  # the same memory before the split
    moved = 0
    for seg in core["phdrs"]:
        if seg["type"] == PT_LOAD and seg["filesz"]:
            got = core["data"][seg["offset"] : seg["offset"] + seg["filesz"]]
            assert got == original.read(seg["vaddr"], seg["filesz"])
            moved += sum(n for vaddr, n in chain["moved_runs"] if seg["vaddr"] <= vaddr < seg["vaddr"] + seg["filesz"])
    assert moved == chain["moved_pages"]


# --- output and errors ------------------------------------------------------------------------------------------


def test_stdout_stream_equals_the_file(tmp_path):
    out = write_core(tmp_path, "tree", 15785)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent.parent))
    r = subprocess.run(
        [os.sys.executable, "-m", "inspector", "coredump", str(corpus_dir("tree")), "--pid", "15785", "-o", "-"],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == out.read_bytes()
    assert b"wrote stdout: pid 15785" in r.stderr


def test_the_core_file_is_sparse(tmp_path):
    # 15787's two thread stacks are 8 MiB each, of which the images hold a few pages: the rest are holes
    out = write_core(tmp_path, "tree", 15787)
    st = out.stat()
    assert st.st_size > 16 << 20 and st.st_blocks * 512 < 2 << 20, (st.st_size, st.st_blocks)


def test_refuses_a_terminal(tmp_path):
    import pty

    master, slave = pty.openpty()
    try:
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent.parent))
        r = subprocess.run(
            [os.sys.executable, "-m", "inspector", "coredump", str(corpus_dir("plain")), "-o", "-"],
            stdout=slave,
            stderr=subprocess.PIPE,
            env=env,
            timeout=120,
            text=True,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "terminal" in r.stderr


def test_errors_are_one_line_exit_2(tmp_path):
    tree = str(corpus_dir("tree"))
    cases = [
        (["coredump", tree, "--pid", "999", "-o", str(tmp_path / "a")], "no process 999 in this checkpoint"),
        (["coredump", tree, "-o", str(tmp_path / "a")], "4 processes: say which with --pid"),
        (["coredump", tree, "--pid", "15783", "-o", str(tmp_path)], "a directory"),
        (["coredump", tree, "--pid", "15783", "-o", str(tmp_path / "no" / "core")], "its folder does not exist"),
        (["coredump", str(tmp_path), "--pid", "1", "-o", str(tmp_path / "a")], "not a CRIU checkpoint"),
    ]
    for args, reason in cases:
        r = run_cli(*args)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, (args, r.stderr)
        assert reason in r.stderr, (args, r.stderr)
    assert not (tmp_path / "a").exists()


def test_existing_output_is_kept_unless_forced(tmp_path):
    out = tmp_path / "core"
    out.write_bytes(b"precious")
    out.chmod(0o640)
    r = run_cli("coredump", str(corpus_dir("plain")), "-o", str(out))
    assert r.returncode == 2 and "already exists: give --force" in r.stderr
    assert out.read_bytes() == b"precious"
    r = run_cli("coredump", str(corpus_dir("plain")), "-o", str(out), "--force")
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:4] == b"\x7fELF"
    assert [p.name for p in tmp_path.iterdir()] == ["core"]  # no temporary file left
    assert out.stat().st_mode & 0o777 == 0o600  # a replaced file keeps its mode, less group/other: a core holds secrets
    new = tmp_path / "new-core"
    assert run_cli("coredump", str(corpus_dir("plain")), "-o", str(new)).returncode == 0
    assert new.stat().st_mode & 0o777 == 0o600  # memory holds secrets: 0600, as the kernel's cores


def test_another_architecture_is_refused(writable_copy, tmp_path):
    copy = writable_copy("plain")
    img = open_image(copy / "core-14055.img")
    entry = img.entries[0]
    msg = entry.message
    msg.mtype = 3  # AARCH64
    entry.set_message(msg)
    write_image(img, copy / "core-14055.img")
    r = run_cli("coredump", str(copy), "-o", str(tmp_path / "core"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "core-14055.img" in r.stderr and "AARCH64" in r.stderr and "x86_64 cores only" in r.stderr
    assert not (tmp_path / "core").exists()


def test_a_short_pages_file_is_an_error_and_leaves_no_file(writable_copy, tmp_path):
    copy = writable_copy("plain")
    pages = copy / "pages-1.img"
    with open(pages, "r+b") as fh:
        fh.truncate(pages.stat().st_size - 8192)
    outdir = tmp_path / "out"
    outdir.mkdir()
    r = run_cli("coredump", str(copy), "-o", str(outdir / "core"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "pages-1.img" in r.stderr, r.stderr
    assert list(outdir.iterdir()) == []  # the temporary file went too


def test_overlapping_pagemap_runs_are_an_error_not_a_shifted_core(writable_copy, tmp_path):
    """Two runs that overlap would write more bytes than the segment holds and shift every later segment:
    refused with one line naming the pagemap (a review found the core written, exit 0, with wrong bytes)."""
    from tests.checks.rule_fixtures import edit

    copy = writable_copy("plain")
    pid = Checkpoint(str(copy)).processes[0].pid
    entries = open_image(str(copy / f"pagemap-{pid}.img")).entries
    runs = [e.message for e in entries[1:]]
    i = next(k for k in range(len(runs) - 1) if runs[k].nr_pages >= 2)
    target = runs[i].vaddr + 4096  # the next run now starts inside run i
    moved = runs[i + 1].vaddr

    def move(m):
        if "vaddr" not in m.DESCRIPTOR.fields_by_name or m.vaddr != moved:
            return False  # the header, or another run
        m.vaddr = target

    edit(copy, f"pagemap-{pid}.img", move)
    r = run_cli("coredump", str(copy), "-o", str(tmp_path / "core"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert f"pagemap-{pid}.img" in r.stderr and f"run at 0x{target:x} overlaps the run before it" in r.stderr
    assert not (tmp_path / "core").exists()


def test_an_id_beyond_pid_t_is_an_error_naming_pstree(writable_copy, tmp_path):
    from tests.checks.rule_fixtures import edit

    copy = writable_copy("plain")
    edit(copy, "pstree.img", lambda m: setattr(m, "sid", 4294967295))
    r = run_cli("coredump", str(copy), "-o", str(tmp_path / "core"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "pstree.img" in r.stderr and "sid 4294967295" in r.stderr and "internal error" not in r.stderr
