"""show mem: the per-process memory-size table, held to sums computed here from the decoded images."""

from __future__ import annotations

import json

import pytest

from inspector.codec.image import open_image
from inspector.memsizes import memory_sizes
from inspector.model.checkpoint import Checkpoint
from inspector.model.names import PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT
from inspector.pages import effective_flags, page_count

from ..conftest import CORPUS_NAMES, corpus_dir
from ..synth import make_predump_chain

FILE_BACKED = (
    (1 << 6) | (1 << 7) | (1 << 14)
)  # VMA_FILE_PRIVATE, VMA_FILE_SHARED, VMA_AREA_MEMFD (criu/include/image.h)


def pagemap_pages(directory, pid) -> dict[str, int]:
    """Pages of each kind straight from pagemap-PID.img's entries (protobuf, one by one)."""
    out = {"present": 0, "in_parent": 0, "lazy": 0, "marked_lazy": 0}
    path = directory / f"pagemap-{pid}.img"
    if not path.exists():
        return out
    for entry in open_image(path).entries[1:]:
        flags, n = effective_flags(entry.message), page_count(entry.message)
        out["present"] += n if flags & PE_PRESENT else 0
        out["in_parent"] += n if flags & PE_PARENT and not flags & PE_PRESENT else 0
        out["lazy"] += n if flags & PE_LAZY and not flags & (PE_PRESENT | PE_PARENT) else 0
        out["marked_lazy"] += n if flags & PE_LAZY else 0
    return out


def mm_vmas(directory, pid) -> list:
    path = directory / f"mm-{pid}.img"
    return list(open_image(path).entries[0].message.vmas) if path.exists() else []


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_sums_agree_with_the_images(name):
    directory = corpus_dir(name)
    cp = Checkpoint(directory)
    rows, total = memory_sizes(cp)
    assert [r.pid for r in rows] == [e.message.pid for e in open_image(directory / "pstree.img").entries]
    for r in rows:
        vmas = mm_vmas(directory, r.pid)
        assert r.vmas == len(vmas)
        assert r.size == sum(v.end - v.start for v in vmas)
        # checkpointctl memparse's "Shared memory size": the VMAs with MAP_SHARED in their flags
        assert r.shared == sum(v.end - v.start for v in vmas if v.flags & 1)
        assert r.private + r.shared == r.size
        assert r.file_backed == sum(v.end - v.start for v in vmas if v.status & FILE_BACKED)
        assert r.file_backed + r.anonymous == r.size
        want = pagemap_pages(directory, r.pid)  # the corpus's runs all lie inside VMAs
        p = r.pages
        assert (p.present, p.in_parent, p.lazy, p.marked_lazy) == (
            want["present"],
            want["in_parent"],
            want["lazy"],
            want["marked_lazy"],
        )
        assert p.total == r.size // PAGE_SIZE
        assert p.present + p.in_parent + p.lazy + p.shmem + p.not_dumped == p.total
        if r.vmas:  # (a zombie has no memory images) present pages x page size == the pages file's size
            pages_id = open_image(directory / f"pagemap-{r.pid}.img").entries[0].message.pages_id
            assert p.present * PAGE_SIZE == (directory / f"pages-{pages_id}.img").stat().st_size
    assert total.size == sum(r.size for r in rows) and total.pages.present == sum(r.pages.present for r in rows)


def test_in_parent_counts_the_pages_moved_to_a_predump(tmp_path):
    info = make_predump_chain(corpus_dir("tree"), tmp_path / "child", 15787)
    before = {r.pid: r for r in memory_sizes(Checkpoint(corpus_dir("tree")))[0]}
    after = {r.pid: r for r in memory_sizes(Checkpoint(tmp_path / "child"))[0]}
    moved = info["moved_pages"]
    assert moved > 0
    assert after[15787].pages.in_parent == moved
    assert after[15787].pages.present == before[15787].pages.present - moved
    assert after[15787].pages.not_dumped == before[15787].pages.not_dumped
    assert after[15783].pages == before[15783].pages  # the other processes did not change


def test_cli_json_and_text(cli):
    r = cli("show", str(corpus_dir("tree")), "mem", "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["version"] == 1 and data["page_size"] == PAGE_SIZE
    assert [p["pid"] for p in data["processes"]] == [15783, 15785, 15786, 15787]
    assert data["total"]["pages"]["present"] == sum(p["pages"]["present"] for p in data["processes"])
    assert data["total"]["size"] == sum(p["size"] for p in data["processes"])
    only = json.loads(
        cli("show", str(corpus_dir("tree")), "--view", "mem", "--pid", "15785", "--format", "json").stdout
    )
    assert [p["pid"] for p in only["processes"]] == [15785]
    t = cli("show", str(corpus_dir("tree")), "mem")
    assert t.returncode == 0, t.stderr
    lines = t.stdout.splitlines()
    assert lines[1].split()[:3] == ["pid", "comm", "VMAs"]
    assert [line.split()[0] for line in lines[2:7]] == ["15783", "15785", "15786", "15787", "total"]
    # 15785: 28 present pages (pagemap) = 112 KiB
    assert lines[3].split()[2] == "23" and "112 KiB" in lines[3]
