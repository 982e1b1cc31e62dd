"""Bad input: one line on stderr, exit 2, no traceback, bounded memory.

Every broken case is built from a copy of a real corpus checkpoint (``tree``:
4 processes, 7 threads, CRIU 4.2) by cutting, re-framing or re-encoding one of
its real images; the failed dumps in ``_failed-dumps/`` are real negatives.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

from inspector.codec import schema
from inspector.codec.image import open_image
from inspector.model.checkpoint import Checkpoint

from ..conftest import CORPUS, corpus_dir, run_capped

U32 = struct.Struct("<I")
PID = 15787  # tree's c3: the child with 3 threads


def error_lines(result) -> list[str]:
    assert "Traceback" not in result.stderr, result.stderr
    return [ln for ln in result.stderr.splitlines() if ln.strip()]


def assert_one_error(result, path, *what: str, offset: int | None = None) -> str:
    """exit 2, exactly one stderr line `criu-inspect: error: PATH: what (offset N)`."""
    lines = error_lines(result)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith(f"criu-inspect: error: {path}"), line
    for w in what:
        assert w in line, line
    if offset is not None:
        assert line.endswith(f"(offset {offset})"), line
    return line


def entry_offsets(path: Path) -> list[tuple[int, int]]:
    """(offset of the size field, payload size) of each entry of a real image."""
    return [(e.offset, len(e.payload)) for e in open_image(path).entries]


# --- not a checkpoint at all -------------------------------------------------


def test_missing_directory(tmp_path, cli):
    missing = tmp_path / "no-such-checkpoint"
    assert_one_error(cli("show", str(missing)), missing, "no such directory")


def test_a_file_instead_of_a_directory(writable_copy, cli):
    f = writable_copy("tree") / "core-15783.img"
    assert_one_error(cli("show", str(f)), f, "not a directory")


def test_an_empty_directory(tmp_path, cli):
    assert_one_error(cli("show", str(tmp_path)), tmp_path, "not a CRIU checkpoint")


def failed_dump(name: str) -> Path:
    return CORPUS / "_failed-dumps" / name


def test_failed_dump_without_process_tree_is_not_a_checkpoint(cli):
    """Real criu 4.2 dump that failed before writing pstree.img or inventory.img: criu's reason is quoted."""
    d = failed_dump("flock-nolocksflag")
    for args in ((), ("--format", "json")):
        result = cli("show", str(d), *args)
        assert_one_error(
            result,
            d,
            "not a complete CRIU checkpoint: no inventory.img",
            "dump.log",
            "Some file locks are hold by dumping tasks",
        )
        assert result.stdout == ""


def test_failed_dump_with_process_tree_is_shown_as_incomplete(cli):
    """Real criu 4.2 dump that failed after pstree.img (tty without --shell-job): what it holds is
    shown, and the missing inventory.img is the one problem (exit 2)."""
    d = failed_dump("tty-noshelljob")
    result = cli("show", str(d))
    assert_one_error(result, d, "no inventory.img", "Found slave peer index 0 without correspond master peer")
    assert "14783" in result.stdout and "/dev/pts/0" in result.stdout
    result = cli("show", str(d), "--format", "json")
    line = assert_one_error(result, d, "no inventory.img")
    data = json.loads(result.stdout)
    assert data["inventory"] is None and [p["pid"] for p in data["processes"]] == [14783]
    assert data["problems"] == [line.removeprefix("criu-inspect: error: ")]


# --- framing -------------------------------------------------------------------


def test_truncated_entry_of_the_process_tree(writable_copy, cli):
    d = writable_copy("tree")
    img = d / "pstree.img"
    off, size = entry_offsets(img)[1]
    img.write_bytes(img.read_bytes()[: off + 4 + size // 2])  # cut the 2nd entry in half
    assert_one_error(cli("show", str(d)), img, "entry size", "larger than", offset=off)


def test_truncated_size_field(writable_copy, cli):
    d = writable_copy("tree")
    img = d / "pstree.img"
    off, size = entry_offsets(img)[-1]
    img.write_bytes(img.read_bytes() + b"\x07\x00")  # 2 stray bytes where a u32 size belongs
    end = off + 4 + size
    assert_one_error(cli("show", str(d)), img, "truncated entry", offset=end)


def test_lying_size_field_is_not_allocated(writable_copy):
    """Size field 0xfffffff0 in a 1 KiB file: checked against the file, never allocated.

    The command runs with its address space capped at 1.5 GiB; allocating the
    claimed 4 GiB would fail with MemoryError instead of the framing error.
    """
    d = writable_copy("tree")
    img = d / "pstree.img"
    data = bytearray(img.read_bytes())
    off, _ = entry_offsets(img)[0]
    data[off : off + 4] = U32.pack(0xFFFFFFF0)
    img.write_bytes(bytes(data))

    result = run_capped("show", str(d))
    assert_one_error(result, img, f"entry size {0xFFFFFFF0}", "larger than the", offset=off)


def test_wrong_magic_in_the_process_tree(writable_copy, cli):
    """pstree.img carrying the magic of an MM image: not decoded as whatever the magic says."""
    d = writable_copy("tree")
    img = d / "pstree.img"
    data = bytearray(img.read_bytes())
    data[4:8] = U32.pack(schema.magic_value("MM"))
    img.write_bytes(bytes(data))
    assert_one_error(cli("show", str(d)), img, "wrong magic", "PSTREE", "MM", offset=4)


def test_unknown_magic_in_the_process_tree(writable_copy, cli):
    d = writable_copy("tree")
    img = d / "pstree.img"
    data = bytearray(img.read_bytes())
    data[4:8] = U32.pack(0x0BADF00D)
    img.write_bytes(bytes(data))
    assert_one_error(cli("show", str(d)), img, "0x0badf00d", offset=4)


def test_empty_process_tree(writable_copy, cli):
    d = writable_copy("tree")
    (d / "pstree.img").write_bytes(b"")
    assert_one_error(cli("show", str(d)), d / "pstree.img", "too short", offset=0)


def test_garbage_protobuf_payload(writable_copy, cli):
    """A well-framed entry whose payload is not a pstree_entry (0xff: field 31, wire type 7)."""
    d = writable_copy("tree")
    img = d / "pstree.img"
    data = img.read_bytes()
    off, size = entry_offsets(img)[0]
    garbage = b"\xff" * size
    img.write_bytes(data[:off] + U32.pack(size) + garbage + data[off + 4 + size :])
    assert_one_error(cli("show", str(d)), img, "cannot decode pstree_entry", offset=off)


# --- pages -----------------------------------------------------------------------


def test_pages_file_shorter_than_its_pagemap(writable_copy, cli):
    d = writable_copy("tree")
    pages_id = open_image(d / f"pagemap-{PID}.img").entries[0].message.pages_id
    pages = d / f"pages-{pages_id}.img"
    size = pages.stat().st_size
    with open(pages, "r+b") as fh:
        fh.truncate(size - 4096)
    result = cli("show", str(d), "--format", "json")
    line = assert_one_error(result, pages, "shorter than its pagemap")
    assert f"size {size - 4096}" in line
    data = json.loads(result.stdout)  # the rest of the checkpoint is still shown
    assert [p["pid"] for p in data["processes"]] == [15783, 15785, 15786, 15787]
    assert data["problems"] == [line.removeprefix("criu-inspect: error: ")]


def test_pagemap_claiming_more_pages_than_exist(writable_copy, cli):
    """A pagemap run re-encoded with nr_pages = 2**40 (a lying count): reported, nothing allocated."""
    d = writable_copy("tree")
    pm_path = d / f"pagemap-{PID}.img"
    pm = open_image(pm_path)
    entry = pm.entries[-1]
    msg = entry.message
    msg.nr_pages = 1 << 40
    entry.set_message(msg)
    pm_path.write_bytes(pm.encode())
    pages_id = pm.entries[0].message.pages_id
    result = cli("show", str(d))
    assert_one_error(result, d / f"pages-{pages_id}.img", "shorter than its pagemap")
    assert "15787" in result.stdout


def test_empty_pages_file(writable_copy, cli):
    d = writable_copy("tree")
    pages_id = open_image(d / f"pagemap-{PID}.img").entries[0].message.pages_id
    pages = d / f"pages-{pages_id}.img"
    pages.write_bytes(b"")
    result = cli("show", str(d), "ps")
    # the cmdline of pid 15787 cannot be read either: its memory is gone
    lines = error_lines(result)
    assert result.returncode == 2
    assert all(ln.startswith(f"criu-inspect: error: {pages}") for ln in lines), lines
    assert any("shorter than its pagemap" in ln for ln in lines)
    assert "15787" in result.stdout and "15783" in result.stdout


# --- parent links ---------------------------------------------------------------


def test_parent_link_that_loops(writable_copy, cli):
    d = writable_copy("tree")
    os.symlink(".", d / "parent")
    result = cli("show", str(d))
    assert_one_error(result, d / "parent", "parent link loops")
    assert "15787" in result.stdout


def test_parent_link_loop_through_two_checkpoints(writable_copy, cli):
    a, b = writable_copy("tree", "a"), writable_copy("tree", "b")
    os.symlink("../b", a / "parent")
    os.symlink("../a", b / "parent")
    assert_one_error(cli("show", str(a)), b / "parent", "parent link loops")


def test_parent_link_that_dangles(writable_copy, cli):
    d = writable_copy("tree")
    os.symlink("../gone", d / "parent")
    assert_one_error(cli("show", str(d)), d / "parent", "dangles", "../gone")


def test_parent_link_that_leaves_the_tree(writable_copy, cli):
    d = writable_copy("tree")
    os.symlink("/etc", d / "parent")
    assert_one_error(cli("show", str(d), "--format", "json"), d / "parent", "leaves the checkpoint's folder")


def test_parent_link_to_a_directory_that_is_not_a_checkpoint(writable_copy, cli):
    d = writable_copy("tree")
    (d.parent / "junk").mkdir()
    os.symlink("../junk", d / "parent")
    assert_one_error(cli("show", str(d)), d.parent / "junk", "not a CRIU checkpoint")


# --- partly broken: show what could be read, list what could not ------------------


def test_show_partly_broken_directory(writable_copy, cli):
    """tree with mm-15787.img cut mid-entry and core-15786.img emptied: the other processes are shown."""
    d = writable_copy("tree")
    mm = d / f"mm-{PID}.img"
    off, size = entry_offsets(mm)[0]
    mm.write_bytes(mm.read_bytes()[: off + 4 + size - 10])
    core = d / "core-15786.img"
    core.write_bytes(b"")

    result = cli("show", str(d))
    lines = error_lines(result)
    assert result.returncode == 2
    assert len(lines) == 1, lines  # two broken files: one line names the first and counts the other
    assert lines[0].startswith(f"criu-inspect: error: {core}: too short")
    assert lines[0].endswith("(and 1 more problem: the report lists it)")
    out = result.stdout
    assert f"{mm}: entry size" in out and f"(offset {off})" in out
    assert "4 processes, 7 threads" in out
    assert "15783 tree" in out and "15785 tree" in out  # comm read from their cores
    assert "15786 ?  (pgid 15786 sid 15783 uid ?)" in out  # its core is the empty one
    assert "could not read" in out and str(mm) in out

    data = json.loads(cli("show", str(d), "--format", "json").stdout)
    by_pid = {p["pid"]: p for p in data["processes"]}
    assert by_pid[PID]["vmas"] == [] and by_pid[15783]["vmas"]
    # its page counts come from its intact pagemap, not from the broken mm
    assert by_pid[PID]["pages"]["present"] == Checkpoint(corpus_dir("tree")).process(PID).pages.present > 0
    assert by_pid[15786]["comm"] is None or by_pid[15786]["comm"] == ""
    assert by_pid[15785]["cmdline"] == ["/tmp/criu-work/bin/tree"]
    assert len(data["problems"]) == 2
    images = {i["name"]: i for i in data["images"]}
    assert images[core.name]["problem"] and images[mm.name]["problem"]
    assert images["mm-15783.img"]["problem"] is None


def test_wrong_magic_in_one_core(writable_copy, cli):
    """core-15786.img holding another image kind's magic: reported, that process shown without it."""
    d = writable_copy("tree")
    core = d / "core-15786.img"
    data = bytearray(core.read_bytes())
    data[4:8] = U32.pack(schema.magic_value("FS"))
    core.write_bytes(bytes(data))
    result = cli("show", str(d), "ps")
    assert_one_error(result, core, "wrong magic", "CORE", "FS", offset=4)
    assert "15786" in result.stdout


def test_unknown_magic_in_the_inventory(writable_copy, cli):
    d = writable_copy("tree")
    inv = d / "inventory.img"
    data = bytearray(inv.read_bytes())
    data[0:4] = U32.pack(0x0BADF00D)
    inv.write_bytes(bytes(data))
    result = cli("show", str(d))
    assert_one_error(result, inv, "0x0badf00d", offset=0)
    assert "15787" in result.stdout


def test_garbage_in_one_fdinfo(writable_copy, cli):
    d = writable_copy("tree")
    img = d / "fdinfo-2.img"
    data = img.read_bytes()
    off, size = entry_offsets(img)[0]
    img.write_bytes(data[:off] + U32.pack(size) + b"\xff" * size + data[off + 4 + size :])
    result = cli("show", str(d), "fds")
    assert_one_error(result, img, "cannot decode fdinfo_entry", offset=off)
    assert "fds of 15787" in result.stdout


def test_lying_extra_payload_length_in_tcp_stream(writable_copy, cli):
    """tcp-stream entry re-encoded with inq_len 2**31: the queue data it announces is not in the file.
    No view needs the image; show still frames it and lists it."""
    d = writable_copy("tcp")
    img_path = next(d.glob("tcp-stream-*.img"))
    img = open_image(img_path)
    entry = img.entries[0]
    msg = entry.message
    msg.inq_len = 1 << 31
    entry.set_message(msg)
    img_path.write_bytes(img.encode())
    end = entry.offset + 4 + len(msg.SerializeToString())
    for args in ((), ("--format", "json"), ("ps",)):
        result = cli("show", str(d), *args)
        assert_one_error(result, img_path, f"extra payload of {(1 << 31) + msg.outq_len} bytes", offset=end)
        assert "18411" in result.stdout


def test_huge_broken_image_is_not_read_whole(writable_copy):
    """core-15786.img grown to a sparse 3 GiB (its real entry, then a size field of 0xfffffff0):
    the framing error is found after reading a few bytes, under a 1.5 GiB address-space cap."""
    d = writable_copy("tree")
    core = d / "core-15786.img"
    data = core.read_bytes()
    with open(core, "r+b") as fh:
        fh.seek(len(data))
        fh.write(U32.pack(0xFFFFFFF0))
        fh.truncate(3 << 30)

    result = run_capped("show", str(d), "ps")
    assert_one_error(result, core, f"entry size {0xFFFFFFF0}", offset=len(data))
    assert "15786" in result.stdout and "15787" in result.stdout
