"""Identical checkpoints are reported identical (exit 0): a checkpoint with itself,
with a byte-identical copy, and with a pre-dump chain built from it (pages
compared by resolved content, wherever they live)."""

from __future__ import annotations

import shutil

import pytest

from inspector.codec.image import open_image
from inspector.diff import DiffOptions, diff_checkpoints
from inspector.diff.pagediff import PageDiffer, resolved_extents
from inspector.model.checkpoint import Checkpoint
from inspector.model.names import PAGE_SIZE

from ..conftest import corpus_dir
from ..diff_expect import expected_page_diff, result_page_diff
from ..synth import make_predump_chain


@pytest.mark.parametrize("name", ["pair-1", "tree", "flock", "ghost", "tcp", "cgroup", "tty"])
def test_checkpoint_with_itself_is_identical(name, cli):
    path = str(corpus_dir(name))
    proc = cli("diff", path, path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[0] == "identical"
    assert proc.stderr == ""


def test_self_diff_takes_the_same_file_fast_path():
    path = corpus_dir("tree")
    differ_stats = {}
    import inspector.diff.driver as driver

    real = driver.PageDiffer

    class Spy(real):
        def close(self):
            differ_stats["compared"], differ_stats["skipped"] = self.bytes_compared, self.bytes_skipped_same_file
            super().close()

    driver.PageDiffer = Spy
    try:
        r = diff_checkpoints(path, path)
    finally:
        driver.PageDiffer = real
    assert r.identical
    total = sum(p.pages.present for p in Checkpoint(path).processes) * PAGE_SIZE
    assert differ_stats == {"compared": 0, "skipped": total}


def test_byte_identical_copy_is_identical_and_really_compared(tmp_path, cli):
    src = corpus_dir("tree")
    copy = tmp_path / "tree-copy"
    shutil.copytree(src, copy)
    proc = cli("diff", str(src), str(copy), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    import json

    doc = json.loads(proc.stdout)
    assert doc["identical"] is True
    assert [p["status"] for p in doc["processes"]] == ["same"] * 4
    assert all(p["vmas"] == [] for p in doc["processes"])
    # another inode: the bytes are compared, not skipped
    differ = PageDiffer()
    a, b = Checkpoint(src), Checkpoint(copy)
    differ.compare(resolved_extents(a, 15787), resolved_extents(b, 15787), [], lambda addr: _Sink())
    assert differ.bytes_compared == a.process(15787).pages.present * PAGE_SIZE
    assert differ.bytes_skipped_same_file == 0
    differ.close()


class _Sink:
    pages_differ = pages_added = pages_removed = bytes_differ = 0
    hunks: list = []


def test_predump_chain_is_identical_to_its_original(tmp_path):
    """A pre-dump chain built from a real checkpoint (tests/synth.py: every other present run of a
    process moved into parent/ and marked PE_PARENT) holds the same memory: identical."""
    src = corpus_dir("tree")
    pid = 15787
    info = make_predump_chain(src, tmp_path / "tree", pid)
    assert info["moved_pages"] > 0
    chained = tmp_path / "tree"
    assert Checkpoint(chained).process(pid).pages.in_parent == info["moved_pages"]
    for a, b in ((src, chained), (chained, src), (chained, chained)):
        r = diff_checkpoints(a, b)
        assert r.identical, [p.to_dict() for p in r.processes if p.status != "same"]


@pytest.mark.parametrize("use_numpy", [True, False], ids=["numpy", "python"])
def test_predump_chain_change_in_parent_is_found(tmp_path, use_numpy):
    """A byte flipped in the parent's pages file shows up as one differing page of the child."""
    src = corpus_dir("tree")
    pid = 15787
    info = make_predump_chain(src, tmp_path / "tree", pid)
    pages_id = open_image(info["parent"] / f"pagemap-{pid}.img").entries[0].message.pages_id
    parent_pages = info["parent"] / f"pages-{pages_id}.img"
    data = bytearray(parent_pages.read_bytes())
    data[PAGE_SIZE + 7] ^= 0xFF  # the second page held by the parent
    parent_pages.write_bytes(bytes(data))
    expected = expected_page_diff(src, tmp_path / "tree", pid)
    assert sum(v["pages_changed"] for v in expected.values()) == 1
    r = diff_checkpoints(src, tmp_path / "tree", DiffOptions(use_numpy=use_numpy))
    (p,) = [p for p in r.processes if p.status != "same"]
    assert p.pid == pid
    assert result_page_diff(p) == expected
    assert r.summary()["bytes_differ"] == 1


def test_pieces_sweep_both_sides_and_cuts():
    """The sweep behind the page diff, on hand-made extents: overlaps, holes, one-sided runs, VMA cuts."""
    from inspector.diff.pagediff import Extent, _pieces

    fa, fb = object(), object()
    xa = [Extent(0x1000, 0x4000, fa, 0), Extent(0x6000, 0x7000, fa, 0x3000)]
    xb = [Extent(0x2000, 0x3000, fb, 0), Extent(0x3000, 0x8000, fb, 0x1000)]
    got = [
        (lo, hi, ea is not None and ea.start, eb is not None and eb.start)
        for lo, hi, ea, eb in _pieces(xa, xb, [0x1800, 0x6800, 0x9000])
    ]
    assert got == [
        (0x1000, 0x1800, 0x1000, False),
        (0x1800, 0x2000, 0x1000, False),
        (0x2000, 0x3000, 0x1000, 0x2000),
        (0x3000, 0x4000, 0x1000, 0x3000),
        (0x4000, 0x6000, False, 0x3000),
        (0x6000, 0x6800, 0x6000, 0x3000),
        (0x6800, 0x7000, 0x6000, 0x3000),
        (0x7000, 0x8000, False, 0x3000),
    ]
    assert list(_pieces([], [], [0x1000])) == []


def test_differing_bytes_without_numpy():
    from inspector.diff.pagediff import count_differing_bytes

    a = bytes(range(256)) * 16
    b = bytearray(a)
    for i in (0, 1, 7, 8, 4095):
        b[i] ^= 0x80 if i % 2 else 0x01
    assert count_differing_bytes(a, bytes(b)) == 5
    assert count_differing_bytes(a, a) == 0
    assert count_differing_bytes(b"\x00" * 4096, b"\xff" * 4096) == 4096
