"""The page reader: real pages, and a pre-dump chain built from a real checkpoint."""

from __future__ import annotations

from inspector.model.checkpoint import Checkpoint
from inspector.model.names import PAGE_SIZE

from ..conftest import corpus_dir
from ..synth import make_predump_chain


def test_read_through_parent_chain_gives_identical_bytes(tmp_path):
    src = corpus_dir("tree")
    pid = 15787
    info = make_predump_chain(src, tmp_path / "tree", pid)
    assert info["moved_pages"] > 0

    orig = Checkpoint(src)
    chained = Checkpoint(tmp_path / "tree")
    assert chained.parent is not None
    assert chained.parent_chain() == [str(info["parent"].resolve())]
    # counts: moved pages now sit in the parent
    p = chained.process(pid)
    assert p.pages.in_parent == info["moved_pages"]
    assert p.pages.present + p.pages.in_parent == orig.process(pid).pages.present
    assert chained.check_pages_sizes() == []

    a, b = orig.page_reader(pid), chained.page_reader(pid)
    for vaddr, n in info["moved_runs"]:
        assert b.page(vaddr)[0] == "parent"
        assert b.read(vaddr, n * PAGE_SIZE) == a.read(vaddr, n * PAGE_SIZE)
    # every page with content resolves to the same bytes on both sides
    pages_a = {addr: data for addr, data, _ in a.iter_present()}
    pages_b = {addr: data for addr, data, _ in b.iter_present()}
    assert pages_a == pages_b
    # cmdline is still read right (its page may live in the parent now)
    assert p.cmdline == ["/tmp/criu-work/bin/tree"]
