"""criu-inspect memdump and inspector.memdump on real checkpoints of sample-images/.

The bytes are held to two references: the page reader (PageReader.page/read) and, for present pages,
the pages file sliced at offsets computed here from the pagemap entries decoded through protobuf.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from inspector import memdump
from inspector.codec.image import open_image
from inspector.memdump import (
    LAZY,
    NOT_DUMPED,
    PARENT,
    PRESENT,
    hex_lines,
    segments,
    select,
    write_raw,
)
from inspector.model.checkpoint import Checkpoint
from inspector.model.names import PAGE_SIZE, PE_LAZY, PE_PRESENT
from inspector.pages import effective_flags, page_count

from ..conftest import ROOT, corpus_dir
from ..synth import make_predump_chain, write_image

TREE_PID = 15787  # tree's c3: 3 threads, 27 VMAs
GHOST_PID = 19763  # ghost: private and shared file mappings


def run_bytes(*args: str, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    """The real command line, output kept as bytes (raw memory is not text)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CRIU_INSPECT_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=env,
        timeout=120,
        check=False,
    )


def present_pages_from_entries(directory: Path, pid: int) -> dict[int, bytes]:
    """Every present page of ``pid``: pagemap entries decoded one by one, pages file sliced in their order."""
    pm = open_image(directory / f"pagemap-{pid}.img")
    pages = (directory / f"pages-{pm.entries[0].message.pages_id}.img").read_bytes()
    out, offset = {}, 0
    for entry in pm.entries[1:]:
        msg = entry.message
        n = page_count(msg)
        if effective_flags(msg) & PE_PRESENT:
            for i in range(n):
                out[msg.vaddr + i * PAGE_SIZE] = pages[offset : offset + PAGE_SIZE]
                offset += PAGE_SIZE
    assert offset == len(pages)
    return out


def raw_of(cp, pid, areas, tmp_path: Path) -> bytes:
    path = tmp_path / "raw.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        write_raw(cp, pid, areas, fd, seekable=True)
    finally:
        os.close(fd)
    return path.read_bytes()


@pytest.mark.parametrize("name, pid", [("tree", TREE_PID), ("ghost", GHOST_PID), ("jvm", 24426)])
def test_raw_of_every_vma_is_the_page_readers_bytes(name, pid, tmp_path):
    directory = corpus_dir(name)
    cp = Checkpoint(directory)
    reader = cp.page_reader(pid)
    present = present_pages_from_entries(directory, pid)
    seen = 0
    for vma in cp.process(pid).vmas:
        if vma.end - vma.start > 64 << 20:  # jvm's reserved heap/class space: pages checked by the span test
            continue
        areas = select(cp, pid, vma_addr=vma.start)
        assert [(a.start, a.end) for a in areas] == [(vma.start, vma.end)]
        raw = raw_of(cp, pid, areas, tmp_path)
        assert len(raw) == vma.end - vma.start
        for addr in range(vma.start, vma.end, PAGE_SIZE):
            where, data = reader.page(addr)
            got = raw[addr - vma.start : addr - vma.start + PAGE_SIZE]
            if addr in present:
                assert where == "present" and got == present[addr] == data
                seen += 1
            else:
                assert data is None and got == bytes(PAGE_SIZE), hex(addr)
    assert seen == len(present)  # every present page lies in some VMA, and was compared


def test_cli_raw_range_and_prot_match_the_reader(tmp_path):
    cp = Checkpoint(corpus_dir("ghost"))
    vmas = cp.process(GHOST_PID).vmas
    rw = [v for v in vmas if v.prot == 3 and v.start >> 40 == 0x7F]  # the libraries' region: a few MiB
    lo, hi = rw[0].start + 100, rw[3].end - 7  # byte-exact clipping, from inside the first to inside the fourth
    out = tmp_path / "range.bin"
    r = run_bytes(
        "memdump",
        str(corpus_dir("ghost")),
        "--pid",
        str(GHOST_PID),
        "--range",
        f"{lo:x}-{hi:x}",
        "--prot",
        "rw",
        "--format",
        "raw",
        "-o",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    raw = out.read_bytes()
    assert len(raw) == hi - lo
    reader = cp.page_reader(GHOST_PID)
    for v in vmas:  # inside the selected VMAs: their bytes; elsewhere (other VMAs, gaps): zeros
        a, b = max(v.start, lo), min(v.end, hi)
        if a >= b:
            continue
        want = reader.read(a, b - a) if v.prot & 3 == 3 else bytes(b - a)
        assert raw[a - lo : b - lo] == want, hex(v.start)
    assert not list(tmp_path.glob(".criu-inspect-*"))  # the temporary file was renamed into place


def test_raw_range_starting_between_vmas_puts_its_start_at_offset_0(tmp_path):
    """--range A-B with A in a gap between VMAs: the file is B-A bytes and offset 0 is A, as the help says."""
    cp = Checkpoint(corpus_dir("tree"))
    vmas = sorted(cp.process(TREE_PID).vmas, key=lambda v: v.start)
    before, after = next((a, b) for a, b in zip(vmas, vmas[1:]) if b.start > a.end and b.pages_present)
    lo, hi = before.end + (after.start - before.end) // 2, after.end + PAGE_SIZE  # past the VMA's end, too
    out = tmp_path / "gap.bin"
    r = run_bytes(
        "memdump",
        str(corpus_dir("tree")),
        "--pid",
        str(TREE_PID),
        "--range",
        f"{lo:x}-{hi:x}",
        "--format",
        "raw",
        "-o",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    raw = out.read_bytes()
    assert len(raw) == hi - lo
    assert raw[: after.start - lo] == bytes(after.start - lo)  # the gap: zeros
    want = bytearray(hi - lo)  # every VMA the range touches, at its address minus A; zeros elsewhere
    for v in vmas:
        a, b = max(v.start, lo), min(v.end, hi)
        if a < b:
            want[a - lo : b - lo] = cp.page_reader(TREE_PID).read(a, b - a)
    assert raw == bytes(want) and raw[after.start - lo : after.end - lo] != bytes(after.end - after.start)


def test_a_damaged_mm_image_says_what_is_wrong_with_it(writable_copy):
    copy = writable_copy("plain")
    pid = Checkpoint(str(corpus_dir("plain"))).processes[0].pid
    mm = copy / f"mm-{pid}.img"
    mm.write_bytes(mm.read_bytes()[:700])
    r = run_bytes("memdump", str(copy), "--pid", str(pid))
    err = r.stderr.decode()
    assert r.returncode == 2 and err.count("\n") == 1 and f"mm-{pid}.img" in err, err
    assert "no memory mappings" not in err and "offset" in err


def test_raw_to_a_pipe_is_the_same_bytes_as_to_a_file(tmp_path):
    cp = Checkpoint(corpus_dir("tree"))
    stack = next(v for v in cp.process(TREE_PID).vmas if v.start <= cp.process(TREE_PID).mm["mm_start_stack"] < v.end)
    args = (
        "memdump",
        str(corpus_dir("tree")),
        "--pid",
        str(TREE_PID),
        "--vma",
        f"0x{stack.start + 5000:x}",
        "--format",
        "raw",
    )
    piped = run_bytes(*args)
    assert piped.returncode == 0, piped.stderr
    r = run_bytes(*args, "-o", str(tmp_path / "stack.bin"))
    assert r.returncode == 0 and r.stdout == b""
    assert (
        piped.stdout == (tmp_path / "stack.bin").read_bytes() == cp.page_reader(TREE_PID).read(stack.start, stack.size)
    )


def test_vma_address_selects_the_one_vma_that_holds_it():
    cp = Checkpoint(corpus_dir("ghost"))
    heap = next(v for v in cp.process(GHOST_PID).vmas if v.status & (1 << 5))
    areas = select(cp, GHOST_PID, vma_addr=heap.end - 1)
    assert [(a.vma.start, a.vma.end, a.label) for a in areas] == [(heap.start, heap.end, "[heap]")]


def test_prot_exact_and_at_least():
    cp = Checkpoint(corpus_dir("ghost"))
    vmas = cp.process(GHOST_PID).vmas
    assert [a.vma for a in select(cp, GHOST_PID, prot="r-x")] == [v for v in vmas if v.prot == 5]
    assert [a.vma for a in select(cp, GHOST_PID, prot="rw")] == [v for v in vmas if v.prot & 3 == 3]
    assert [a.vma for a in select(cp, GHOST_PID, prot="x")] == [v for v in vmas if v.prot & 4]


def parse_hex(lines: list[str]) -> dict[int, bytes]:
    """Rebuild memory from a hexdump -C listing ('*' repeats the previous line up to the next address)."""
    out: dict[int, bytes] = {}
    prev_addr = prev_row = None
    starred = False
    for line in lines:
        if line.startswith("#"):
            prev_addr, starred = None, False
            continue
        if line == "*":
            starred = True
            continue
        m = re.fullmatch(r"([0-9a-f]{16})(?:  (.{23})  (.{23})  \|(.{16})\|)?", line)
        assert m, line
        addr = int(m.group(1), 16)
        if starred:
            for a in range(prev_addr + 16, addr, 16):
                out[a] = prev_row
            starred = False
        if m.group(2) is None:  # hexdump's closing address after a '*'
            prev_addr = None
            continue
        cells = (m.group(2) + " " + m.group(3)).split(" ")
        row = bytes(int(c, 16) for c in cells if c.strip())
        first = next(i for i, c in enumerate(cells) if c.strip())
        out[addr + first] = row
        prev_addr, prev_row = addr, row
    return out


def test_hex_lines_are_the_real_bytes_and_collapse_repeats():
    cp = Checkpoint(corpus_dir("tree"))
    areas = select(cp, TREE_PID)
    lines = list(hex_lines(cp, TREE_PID, areas))
    assert "*" in lines  # zero-filled parts of real pages collapse
    rows = parse_hex(lines)
    reader = cp.page_reader(TREE_PID)
    present = present_pages_from_entries(corpus_dir("tree"), TREE_PID)
    assert sum(len(r) for r in rows.values()) == len(present) * PAGE_SIZE  # only pages with content are dumped
    for addr, row in rows.items():
        assert reader.read(addr, len(row)) == row, hex(addr)
    headers = [line for line in lines if re.match(r"# [0-9a-f]+-[0-9a-f]+ [r-][w-][x-][ps] ", line)]
    assert len(headers) == len(cp.process(TREE_PID).vmas)


def test_hex_says_why_pages_are_absent_and_counts_them():
    cp = Checkpoint(corpus_dir("ghost"))
    lines = list(hex_lines(cp, GHOST_PID, select(cp, GHOST_PID)))
    shared_file = next(v for v in cp.process(GHOST_PID).vmas if v.flags & 1 and v.status & (1 << 7))
    head = f"# {shared_file.start:x}-{shared_file.end:x} rw-s 64 KiB {shared_file.path}: 16 pages, 16 not dumped"
    i = lines.index(head)
    assert lines[i + 1].startswith(f"# {shared_file.start:x}-{shared_file.end:x}: 16 pages not dumped: a shared file")
    heap = next(v for v in cp.process(GHOST_PID).vmas if v.status & (1 << 5))
    n = heap.size // PAGE_SIZE
    header = next(line for line in lines if line.startswith(f"# {heap.start:x}-{heap.end:x} rw-p"))
    assert header.endswith(f"[heap]: {n} pages, {heap.pages_present} present, {n - heap.pages_present} not dumped")


def test_clipped_hex_starts_mid_row():
    cp = Checkpoint(corpus_dir("tree"))
    arg = cp.process(TREE_PID).mm["mm_arg_start"]
    lines = list(hex_lines(cp, TREE_PID, select(cp, TREE_PID, addr_range=(arg, arg + 40))))
    assert "(clipped from" in lines[0]
    rows = parse_hex(lines)
    got = b"".join(rows[a] for a in sorted(rows))
    assert got == cp.page_reader(TREE_PID).read(arg, 40)
    assert got.startswith(b"/tmp/criu-work/bin/tree\0")


def test_parent_chain_pages_are_read_from_the_parent_and_said_so(tmp_path):
    src = corpus_dir("tree")
    info = make_predump_chain(src, tmp_path / "child", TREE_PID)
    orig, child = Checkpoint(src), Checkpoint(tmp_path / "child")
    for area, same in zip(select(child, TREE_PID, prot="rw"), select(orig, TREE_PID, prot="rw"), strict=True):
        assert raw_of(child, TREE_PID, [area], tmp_path) == raw_of(orig, TREE_PID, [same], tmp_path)
    kinds = {}
    for area in select(child, TREE_PID):
        for seg in segments(child, TREE_PID, area):
            kinds[seg.where] = kinds.get(seg.where, 0) + seg.length // PAGE_SIZE
            if seg.where == PARENT:
                assert seg.depth == 1 and Path(seg.pages.path).parent == info["parent"]
    assert kinds[PARENT] == info["moved_pages"]
    assert kinds[PRESENT] == orig.process(TREE_PID).pages.present - info["moved_pages"]
    lines = list(hex_lines(child, TREE_PID, select(child, TREE_PID)))
    vaddr, n = info["moved_runs"][0]
    assert any(
        line.startswith(f"# {vaddr:x}-{vaddr + n * PAGE_SIZE:x}: {n} page") and "in the parent checkpoint" in line
        for line in lines
    )


def test_lazy_pages_are_said_lazy_and_zero(writable_copy, tmp_path):
    """A lazy-pages dump leaves PE_LAZY runs out of the pages file: made from a real image by turning its last
    present run lazy and cutting its pages off the end of the pages file."""
    d = writable_copy("plain")
    pid = 14055
    img = open_image(d / f"pagemap-{pid}.img")
    last = [e for e in img.entries[1:] if effective_flags(e.message) & PE_PRESENT][-1]
    msg = last.message
    n = page_count(msg)
    msg.flags = PE_LAZY
    last.set_message(msg)
    write_image(img, d / f"pagemap-{pid}.img")
    pages = d / f"pages-{img.entries[0].message.pages_id}.img"
    pages.write_bytes(pages.read_bytes()[: -n * PAGE_SIZE])
    cp = Checkpoint(d)
    areas = select(cp, pid, addr_range=(msg.vaddr, msg.vaddr + n * PAGE_SIZE))
    assert [s.where for s in segments(cp, pid, areas[0])] == [LAZY]
    assert raw_of(cp, pid, areas, tmp_path) == bytes(n * PAGE_SIZE)
    lines = list(hex_lines(cp, pid, areas))
    assert lines[
        1
    ] == f"# {msg.vaddr:x}-{msg.vaddr + n * PAGE_SIZE:x}: {n} page{'s' if n > 1 else ''} " + memdump.absent_reason(
        areas[0], LAZY
    )
    assert lines[1].split(": ")[1].endswith("lazy")
    assert not any(line[:1].isdigit() for line in lines)  # no byte of it is shown


def test_not_dumped_reason_for_anonymous_and_file_pages():
    cp = Checkpoint(corpus_dir("ghost"))
    by = {a.label: a for a in select(cp, GHOST_PID)}
    assert "never touched, or the zero page" in memdump.absent_reason(by["[heap]"], NOT_DUMPED)
    assert "/usr/lib/x86_64-linux-gnu/libc.so.6" in memdump.absent_reason(
        by["/usr/lib/x86_64-linux-gnu/libc.so.6"], NOT_DUMPED
    )
    assert "vvar" in memdump.absent_reason(by["[vvar]"], NOT_DUMPED)


@pytest.mark.parametrize(
    "args, says",
    [
        (["--pid", "1"], "no process 1 in this checkpoint (its pids: 19763)"),
        (["--pid", str(GHOST_PID), "--vma", "0x10"], "no VMA of pid 19763 contains 0x10"),
        (["--pid", str(GHOST_PID), "--vma", "zz"], "bad address 'zz'"),
        (["--pid", str(GHOST_PID), "--range", "7000-5000"], "empty range '7000-5000'"),
        (["--pid", str(GHOST_PID), "--range", "10-0x20"], "no memory of pid 19763 matches range 0xa-0x20"),
        (["--pid", str(GHOST_PID), "--prot", "rq"], "bad protection 'rq'"),
        (["--pid", str(GHOST_PID), "--prot", "wr-"], "three places"),
        (["--pid", str(GHOST_PID), "--format", "raw"], "the selection spans"),
        (["--pid", str(GHOST_PID), "--vma", "-5"], "bad address '-5'"),
        (
            ["--pid", str(GHOST_PID), "--range", "0x400000-401000"],
            "matches range 0x400000-0x401000",
        ),  # the end is hex too
    ],
)
def test_bad_selection_is_one_line_exit_2(args, says):
    r = run_bytes("memdump", str(corpus_dir("ghost")), *args)
    assert r.returncode == 2 and r.stdout == b""
    err = r.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("criu-inspect: error: ") and says in err, err


def test_raw_to_a_terminal_is_refused():
    master, slave = os.openpty()
    try:
        r = run_bytes(
            "memdump",
            str(corpus_dir("ghost")),
            "--pid",
            str(GHOST_PID),
            "--prot",
            "r-x",
            "--format",
            "raw",
            stdout=slave,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert r.returncode == 2 and b"not for a terminal" in r.stderr


def test_output_is_never_written_into_the_checkpoint(writable_copy, tmp_path):
    d = writable_copy("ghost")
    before = sorted(p.name for p in d.iterdir())
    r = run_bytes("memdump", str(d), "--pid", str(GHOST_PID), "--prot", "r-x", "-o", str(d / "pages-1.img"))
    assert r.returncode == 2 and b"inside the checkpoint being read" in r.stderr
    assert sorted(p.name for p in d.iterdir()) == before


def test_a_failed_dump_leaves_an_existing_output_alone(tmp_path):
    out = tmp_path / "keep.bin"
    out.write_bytes(b"mine")
    r = run_bytes("memdump", str(corpus_dir("ghost")), "--pid", "4", "--format", "raw", "-o", str(out))
    assert r.returncode == 2 and out.read_bytes() == b"mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.bin"]


def test_an_output_that_is_not_a_regular_file_is_refused(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    r = run_bytes("memdump", str(corpus_dir("ghost")), "--pid", str(GHOST_PID), "--prot", "r-x", "-o", str(fifo))
    assert r.returncode == 2 and b"not a regular file: a FIFO" in r.stderr, r.stderr
    assert fifo.is_fifo() and sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]


def test_hex_to_a_file_is_the_listing_on_stdout(tmp_path):
    args = ("memdump", str(corpus_dir("tree")), "--pid", str(TREE_PID), "--prot", "r-x")
    shown = run_bytes(*args)
    assert shown.returncode == 0, shown.stderr
    r = run_bytes(*args, "-o", str(tmp_path / "dump.txt"))
    assert r.returncode == 0 and (tmp_path / "dump.txt").read_bytes() == shown.stdout


def test_a_short_pages_file_is_one_line_and_leaves_no_output(writable_copy, tmp_path):
    d = writable_copy("tree")
    pages = d / "pages-4.img"  # pid 15787's
    with open(pages, "r+b") as fh:
        fh.truncate(pages.stat().st_size - PAGE_SIZE - 100)
    out = tmp_path / "out" / "c3.bin"
    out.parent.mkdir()
    stack = Checkpoint(corpus_dir("tree")).process(TREE_PID).mm["mm_start_stack"]
    r = run_bytes("memdump", str(d), "--pid", str(TREE_PID), "--vma", f"{stack:x}", "--format", "raw", "-o", str(out))
    assert r.returncode == 2, r.stderr
    err = r.stderr.decode()
    assert err.count("\n") == 1 and str(pages) in err and "shorter than its pagemap" in err, err
    assert list(out.parent.iterdir()) == []
    listing = run_bytes("memdump", str(d), "--pid", str(TREE_PID))  # the hex lines before the end, then the error
    assert listing.returncode == 2 and listing.stdout.startswith(b"# ") and listing.stderr.count(b"\n") == 1


def test_a_process_without_memory_images_is_one_line(writable_copy):
    d = writable_copy("tree")
    (d / f"pagemap-{TREE_PID}.img").unlink()
    r = run_bytes("memdump", str(d), "--pid", str(TREE_PID), "--prot", "r-x")
    assert r.returncode == 2 and f"pagemap-{TREE_PID}.img: missing".encode() in r.stderr, r.stderr


def test_without_pid_the_pids_are_named():
    r = run_bytes("memdump", str(corpus_dir("tree")))
    assert r.returncode == 2 and b"give --pid N, one of 15783, 15785, 15786, 15787" in r.stderr, r.stderr
