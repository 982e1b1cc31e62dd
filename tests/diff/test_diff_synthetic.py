"""Known changes, each reported exactly.

Every case starts from a real checkpoint of the corpus, copied (``writable_copy``),
decoded, changed in one known way and encoded again (or, for pages, bytes
flipped at known offsets of pages-N.img); the diff against the untouched
original must report that change and nothing else.
"""

from __future__ import annotations

import os

import pytest

from inspector.codec.image import open_image
from inspector.diff import DiffOptions, diff_checkpoints
from inspector.diff.result import human_bytes, summary_line
from inspector.model.checkpoint import Checkpoint
from inspector.model.names import PAGE_SIZE
from inspector.pages import effective_flags, page_count

from ..conftest import corpus_dir
from ..diff_expect import expected_page_diff, result_page_diff
from ..synth import write_image


def edit(path, change) -> None:
    """Decode image ``path``, let ``change(entry message)`` edit the entries it wants, encode it back."""
    img = open_image(path)
    for entry in img.entries:
        msg = entry.message
        if change(msg):
            entry.set_message(msg)
    write_image(img, path)


def only_changed(r):
    return [p for p in r.processes if p.status != "same"]


def test_fd_retargeted(writable_copy):
    """files.img: the regular file behind fd 2 of `plain` gets another name."""
    b = writable_copy("plain")

    def retarget(msg):
        if msg.HasField("reg") and msg.reg.name == "/tmp/criu-work/data/plain/err":
            msg.reg.name = "/tmp/criu-work/data/plain/err.moved"
            return True
        return False

    edit(b / "files.img", retarget)
    r = diff_checkpoints(corpus_dir("plain"), b)
    (p,) = only_changed(r)
    assert p.pid == 14055 and p.changes == [] and p.vmas == []
    (fd,) = [f for f in p.fds if f.status != "same"]
    assert (fd.key, fd.status) == ("fd 2", "changed")
    assert [(c.field, c.a, c.b) for c in fd.changes] == [
        ("path", "/tmp/criu-work/data/plain/err", "/tmp/criu-work/data/plain/err.moved")
    ]
    assert fd.info == {
        "retargeted": True,
        "path_a": "/tmp/criu-work/data/plain/err",
        "path_b": "/tmp/criu-work/data/plain/err.moved",
    }
    assert r.inventory == r.stats == r.timens == r.images == []
    assert summary_line(r) == "1 process changed, 1 fd retargeted"


def test_fd_position_changed_and_ignored(writable_copy):
    """files.img: the position of fd 1 (76 in the real dump) moves on; --ignore positions hides it."""
    b = writable_copy("plain")

    def seek(msg):
        if msg.HasField("reg") and msg.reg.name == "/tmp/criu-work/data/plain/out":
            assert msg.reg.pos == 76
            msg.reg.pos = 4096
            return True
        return False

    edit(b / "files.img", seek)
    r = diff_checkpoints(corpus_dir("plain"), b)
    (p,) = only_changed(r)
    (fd,) = [f for f in p.fds if f.status != "same"]
    assert fd.key == "fd 1" and not fd.info.get("retargeted")
    assert [(c.field, c.a, c.b, c.category) for c in fd.changes] == [("pos", 76, 4096, "positions")]
    assert summary_line(r) == "1 process changed, 1 fd changed"
    assert diff_checkpoints(corpus_dir("plain"), b, DiffOptions(ignore=frozenset({"positions"}))).identical


def test_vma_protection_changed(writable_copy):
    """mm-PID.img: one rw- anonymous VMA of pair-1 becomes read-only."""
    b = writable_copy("pair-1")
    target = 0x7F316F53C000

    def protect(msg):
        for v in msg.vmas:
            if v.start == target:
                assert v.prot == 3
                v.prot = 1
                return True
        return False

    edit(b / "mm-24822.img", protect)
    r = diff_checkpoints(corpus_dir("pair-1"), b)
    (p,) = only_changed(r)
    (v,) = p.vmas
    assert (v.start, v.end, v.status) == (target, 0x7F316F53F000, "changed")
    assert [(c.field, c.a, c.b) for c in v.changes] == [("prot", "rw-", "r--")]
    assert v.pages_changed == 0
    assert p.changes == [] and all(f.status == "same" for f in p.fds)
    assert summary_line(r) == "1 process changed, 1 VMA changed"


def test_vma_removed_takes_its_pages(writable_copy):
    """mm-PID.img: the heap VMA of pair-1 is dropped; its pages stay in the pagemap, outside any VMA of B."""
    b = writable_copy("pair-1")
    heap = 0x56027A17E000

    def drop_heap(msg):
        keep = [v for v in msg.vmas if v.start != heap]
        if len(keep) == len(msg.vmas):
            return False
        del msg.vmas[:]
        msg.vmas.extend(keep)
        return True

    edit(b / "mm-24822.img", drop_heap)
    r = diff_checkpoints(corpus_dir("pair-1"), b)
    (p,) = only_changed(r)
    (v,) = p.vmas
    assert (v.start, v.status, v.pages_changed) == (heap, "removed", 0)
    assert summary_line(r) == "1 process changed, 1 VMA removed"


def test_process_removed_and_added(writable_copy):
    """pstree.img of `tree`: the entry of child 15786 is taken out."""
    b = writable_copy("tree")

    img = open_image(b / "pstree.img")
    img._entries = [e for e in img.entries if e.message.pid != 15786]
    write_image(img, b / "pstree.img")
    r = diff_checkpoints(corpus_dir("tree"), b)
    assert {p.pid: p.status for p in r.processes} == {15783: "same", 15785: "same", 15787: "same", 15786: "removed"}
    # its memory goes with it: every page of it counts, in the VMAs that hold pages
    gone = Checkpoint(corpus_dir("tree")).process(15786)
    holding = sum(1 for v in gone.vmas if v.pages_present)
    (removed,) = [p for p in r.processes if p.status == "removed"]
    assert removed.pages_changed == gone.pages.present
    assert all(v.status == "removed" for v in removed.vmas) and len(removed.vmas) == len(gone.vmas)
    assert summary_line(r) == (
        f"1 process removed, {human_bytes(gone.pages.present * PAGE_SIZE)} of pages differ in {holding} VMAs"
    )
    r = diff_checkpoints(b, corpus_dir("tree"))
    assert {p.pid: p.status for p in r.processes} == {15783: "same", 15785: "same", 15787: "same", 15786: "added"}
    (added,) = [p for p in r.processes if p.status == "added"]
    assert added.comm == "tree" and added.pages_changed == gone.pages.present
    assert summary_line(r).startswith("1 process added, ")


def _page_vaddrs(ckpt, pid) -> list[int]:
    """Address of each page of pages-N.img, in file order, from the pagemap entries."""
    pm = open_image(ckpt / f"pagemap-{pid}.img")
    out = []
    for e in pm.entries[1:]:
        if effective_flags(e.message) & 4:
            out += [e.message.vaddr + i * PAGE_SIZE for i in range(page_count(e.message))]
    return out


@pytest.mark.parametrize("use_numpy", [True, False], ids=["numpy", "python"])
def test_known_pages_flipped(writable_copy, use_numpy):
    """pages-1.img of pair-1: 4 bytes flipped in 3 pages (file pages 0, 20 and 43)."""
    b = writable_copy("pair-1")
    flips = [0 * PAGE_SIZE + 100, 0 * PAGE_SIZE + 101, 20 * PAGE_SIZE + 5, 43 * PAGE_SIZE + 4095]
    data = bytearray((b / "pages-1.img").read_bytes())
    for off in flips:
        data[off] ^= 0x5A
    (b / "pages-1.img").write_bytes(bytes(data))

    vaddrs = _page_vaddrs(b, 24822)
    mm = open_image(b / "mm-24822.img").entries[0].message
    vma_of = {}
    for off in flips:
        addr = vaddrs[off // PAGE_SIZE]
        vma = next((v.start, v.end) for v in mm.vmas if v.start <= addr < v.end)
        slot = vma_of.setdefault(vma, {"pages": set(), "bytes": 0})
        slot["pages"].add(addr)
        slot["bytes"] += 1
    expected = {
        k: {"pages_changed": len(v["pages"]), "pages_differ": len(v["pages"]), "bytes_differ": v["bytes"]}
        for k, v in vma_of.items()
    }
    assert len(expected) == 3
    assert expected == expected_page_diff(corpus_dir("pair-1"), b, 24822)

    r = diff_checkpoints(corpus_dir("pair-1"), b, DiffOptions(use_numpy=use_numpy, max_hunks=10))
    (p,) = only_changed(r)
    assert result_page_diff(p) == expected
    assert r.summary()["pages_changed"] == 3 and r.summary()["bytes_differ"] == 4
    assert p.changes == [] and all(t.status == "same" for t in p.threads)
    # the hunks show the flipped bytes at their addresses
    hunks = {h.addr: h for v in p.vmas for h in v.hunks}
    first = vaddrs[0] + 96
    assert hunks[first].differing_bytes == 2
    a, bb = bytes.fromhex(hunks[first].a), bytes.fromhex(hunks[first].b)
    assert a[4] ^ bb[4] == 0x5A and a[5] ^ bb[5] == 0x5A and a[:4] == bb[:4]
    assert summary_line(r) == "1 process changed, 12 KiB of pages differ in 3 VMAs"


def test_pages_appear_and_disappear(writable_copy):
    """pagemap + pages of pair-1: the last present run (the stack's 4 pages) is dropped on side B."""
    b = writable_copy("pair-1")
    img = open_image(b / "pagemap-24822.img")
    last = img.entries[-1].message
    n = page_count(last)
    img._entries = img.entries[:-1]
    write_image(img, b / "pagemap-24822.img")
    size = os.path.getsize(b / "pages-1.img")
    with open(b / "pages-1.img", "r+b") as fh:
        fh.truncate(size - n * PAGE_SIZE)
    r = diff_checkpoints(corpus_dir("pair-1"), b)
    (p,) = only_changed(r)
    (v,) = p.vmas
    assert v.start <= last.vaddr < v.end
    assert (v.pages_removed, v.pages_added, v.pages_differ, v.pages_changed) == (n, 0, 0, n)
    r = diff_checkpoints(b, corpus_dir("pair-1"))
    (v,) = only_changed(r)[0].vmas
    assert (v.pages_added, v.pages_removed, v.pages_changed) == (n, 0, n)


def _renumber(ckpt, old: int, new: int) -> None:
    """The same process under another pid, as after a restore into a new pid namespace."""

    def swap(msg):
        msg.pid, msg.pgid, msg.sid = new, new, new
        msg.threads[:] = [new if t == old else t for t in msg.threads]
        return True

    edit(ckpt / "pstree.img", swap)
    for kind in ("core", "mm", "pagemap", "fs", "ids"):
        os.rename(ckpt / f"{kind}-{old}.img", ckpt / f"{kind}-{new}.img")


def test_match_tree_pairs_renumbered_processes(writable_copy):
    b = writable_copy("pair-1")
    _renumber(b, 24822, 31000)
    r = diff_checkpoints(corpus_dir("pair-1"), b, DiffOptions(match="tree"))
    assert r.identical
    assert [(p.pid, p.pid_b, p.status) for p in r.processes] == [(24822, 31000, "same")]
    r = diff_checkpoints(corpus_dir("pair-1"), b)  # by pid: another process
    assert sorted((p.pid, p.status) for p in r.processes) == [(24822, "removed"), (31000, "added")]
    assert summary_line(r).startswith("1 process added, 1 process removed")


def test_match_tree_on_real_redump():
    """tree (root dump) vs unpriv-tree (the same program, dumped by uid 1001): other pids, same shape."""
    r = diff_checkpoints(corpus_dir("tree"), corpus_dir("unpriv-tree"), DiffOptions(match="tree"))
    assert [p.status for p in r.processes] == ["changed"] * 4
    root = r.processes[0]
    assert root.pid == 15783 and root.pid_b != 15783
    uid = next(c for c in root.changes if c.field == "creds.uid")
    assert (uid.a, uid.b) == (0, 1001)
    by_pid = diff_checkpoints(corpus_dir("tree"), corpus_dir("unpriv-tree"))
    assert sorted(p.status for p in by_pid.processes) == ["added"] * 4 + ["removed"] * 4


def test_socket_state_and_address_changed(writable_copy):
    """files.img of `tcp`: the established TCP socket of fd 3 now closing, towards another port."""
    b = writable_copy("tcp")

    def move(msg):
        if msg.HasField("isk"):
            assert msg.isk.state == 1 and msg.isk.dst_port == 23456
            msg.isk.state, msg.isk.dst_port = 8, 23457
            return True
        return False

    edit(b / "files.img", move)
    r = diff_checkpoints(corpus_dir("tcp"), b)
    (p,) = only_changed(r)
    (fd,) = [f for f in p.fds if f.status != "same"]
    assert fd.key == "fd 3" and not fd.info.get("retargeted")
    assert [(c.field, c.a, c.b) for c in fd.changes] == [
        ("socket.dst", "127.0.0.1:23456", "127.0.0.1:23457"),
        ("socket.state", "ESTABLISHED", "CLOSE_WAIT"),
    ]
    assert p.changes == [] and p.vmas == []


def test_file_lock_changed(writable_copy):
    """filelocks.img of `flock`: the child's POSIX lock covers 200 bytes instead of 100."""
    b = writable_copy("flock")

    def grow(msg):
        if msg.pid == 15443:
            assert msg.len == 100
            msg.len = 200
            return True
        return False

    edit(b / "filelocks.img", grow)
    r = diff_checkpoints(corpus_dir("flock"), b)
    assert [p.status for p in r.processes] == ["same", "same"]
    (lock,) = r.file_locks
    assert (lock.key, lock.status) == ("POSIX lock of pid 15443 fd 4", "changed")
    assert [(c.field, c.a, c.b) for c in lock.changes] == [("len", 100, 200)]
    assert summary_line(r) == "1 file lock differs"


def test_cgroup_set_changed(writable_copy):
    """cgroup.img of `cgroup`: the pids controller path of the task's set moves."""
    b = writable_copy("cgroup")

    def move(msg):
        for s in msg.sets:
            for c in s.ctls:
                if c.name == "pids":
                    c.path = "/criutest2"
        return True

    edit(b / "cgroup.img", move)
    r = diff_checkpoints(corpus_dir("cgroup"), b)
    (p,) = only_changed(r)
    assert [(c.field, c.a, c.b) for c in p.changes] == [("cgroup.pids", "/criutest", "/criutest2")]
    (item,) = r.cgroups
    assert (item.key, [(c.field, c.a, c.b) for c in item.changes]) == (
        "cgroup set 2",
        [("pids", "/criutest", "/criutest2")],
    )


def test_process_fields_changed(writable_copy):
    """core-15785.img of `tree`: comm and uid change; pstree.img: 15786 moves to its own session."""
    b = writable_copy("tree")

    def rename(msg):
        msg.tc.comm = "tree-renamed"
        msg.thread_core.creds.uid = 1000
        return True

    def own_session(msg):
        if msg.pid == 15786:
            assert msg.sid == 15783
            msg.sid = 15786
            return True
        return False

    edit(b / "core-15785.img", rename)
    edit(b / "pstree.img", own_session)
    r = diff_checkpoints(corpus_dir("tree"), b)
    got = {p.pid: [(c.field, c.a, c.b) for c in p.changes] for p in only_changed(r)}
    assert got == {
        15785: [("comm", "tree", "tree-renamed"), ("creds.uid", 0, 1000)],
        15786: [("sid", 15783, 15786)],
    }
