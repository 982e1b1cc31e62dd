"""The page diff's array path (numpy over whole run arrays) agrees with the per-run path.

Cases are built from the real checkpoint ``pair-1`` (decode -> change ->
encode): its pagemap rewritten as one-page runs (a fragmented pagemap), some
pages changed, some dropped (present in A only), some added where A has none
(inside a VMA, and one outside every VMA), the entries written in reverse
order (so the pages file is in another order than the addresses), and a
pre-dump chain of it (tests/synth.py ``make_predump_chain``: every other run
moved into ``parent/``). Each pair is diffed three ways: the array path, the
per-run path with numpy, and the per-run path without numpy. The results
(counts, hunks, outside pages) and the bytes compared or skipped must be the
same, and match the slow oracle of tests/diff_expect.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspector.codec.image import frame_window, frame_window_numpy, open_image
from inspector.diff import DiffOptions, diff_checkpoints, driver, pagearrays, pagediff
from inspector.diff.comparators import vmas as vmas_comparator
from inspector.errors import InspectError
from inspector.model.names import PAGE_SIZE, PE_LAZY, PE_PRESENT
from inspector.pages import effective_flags, page_count

from ..diff_expect import page_contents, result_page_diff, vmas_of
from ..synth import make_predump_chain, write_image

PID = 24822


def rewrite_pages(ckpt: Path, runs: list[tuple[int, int, int]], contents: dict[int, bytes]) -> None:
    """pagemap-PID.img with exactly ``runs`` (vaddr, pages, flags), in that order, and pages-N.img
    holding the present ones' ``contents`` in the same order (as CRIU lays them out)."""
    pm = open_image(ckpt / f"pagemap-{PID}.img")
    template = pm.entries[1]
    entries = [pm.entries[0]]
    blob = bytearray()
    for vaddr, n, flags in runs:
        msg = type(template.message)()
        msg.CopyFrom(template.message)
        msg.vaddr, msg.nr_pages, msg.flags = vaddr, n, flags
        entry = type(template)(len(entries), 0, b"", message_type=template.message_type, path=template.path)
        entry.set_message(msg)
        entries.append(entry)
        if flags & PE_PRESENT:
            for i in range(n):
                blob += contents[vaddr + i * PAGE_SIZE]
    pm._entries = entries
    write_image(pm, ckpt / f"pagemap-{PID}.img")
    pages_id = pm.entries[0].message.pages_id
    (ckpt / f"pages-{pages_id}.img").write_bytes(bytes(blob))


def expected(a: Path, b: Path) -> tuple[dict, int]:
    """tests/diff_expect.py's oracle (every page read and compared byte by byte), plus the count of
    changed pages outside every VMA, which it does not expect."""
    pa, pb = page_contents(a, PID), page_contents(b, PID)
    spans = vmas_of(a, PID)
    out: dict = {}
    outside = 0
    for addr in sorted(set(pa) | set(pb)):
        x, y = pa.get(addr), pb.get(addr)
        if x == y:
            continue
        vma = next((v for v in spans if v[0] <= addr < v[1]), None)
        if vma is None:
            outside += 1
            continue
        slot = out.setdefault(vma, {"pages_changed": 0, "pages_differ": 0, "bytes_differ": 0})
        slot["pages_changed"] += 1
        if x is not None and y is not None:
            slot["pages_differ"] += 1
            slot["bytes_differ"] += sum(1 for i in range(PAGE_SIZE) if x[i] != y[i])
    return out, outside


def split_vma_at(ckpt: Path, addr: int) -> None:
    """mm-PID.img with the VMA holding ``addr`` cut in two there."""
    mm = open_image(ckpt / f"mm-{PID}.img")
    entry = mm.entries[0]
    msg = entry.message
    vmas = [type(v)() for v in msg.vmas]
    for new, old in zip(vmas, msg.vmas):
        new.CopyFrom(old)
    (v,) = [v for v in vmas if v.start < addr < v.end]
    tail = type(v)()
    tail.CopyFrom(v)
    v.end, tail.start = addr, addr
    tail.pgoff += addr - v.start
    del msg.vmas[:]
    msg.vmas.extend(sorted([*vmas, tail], key=lambda x: x.start))
    entry.set_message(msg)
    write_image(mm, ckpt / f"mm-{PID}.img")


def uncovered_pages(ckpt: Path) -> list[int]:
    """Page addresses inside a VMA that no pagemap run of ``ckpt`` mentions."""
    covered = set()
    for entry in open_image(ckpt / f"pagemap-{PID}.img").entries[1:]:
        msg = entry.message
        covered.update(msg.vaddr + i * PAGE_SIZE for i in range(page_count(msg)))
    out = []
    for start, end in vmas_of(ckpt, PID):
        out += [a for a in range(start, min(end, start + 64 * PAGE_SIZE), PAGE_SIZE) if a not in covered][:1]
    return out


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """{name: checkpoint dir}: the real pair-1 and fragmented variants of it."""
    import shutil

    from ..conftest import corpus_dir

    root = tmp_path_factory.mktemp("fastpath")
    real = corpus_dir("pair-1")
    out = {"real": real}
    pages = page_contents(real, PID)
    addrs = sorted(pages)
    assert len(addrs) == 45  # the real dump's present pages
    flags = {}  # of each page's run (the real dump marks 30 of them PE_PRESENT | PE_LAZY)
    for entry in open_image(real / f"pagemap-{PID}.img").entries[1:]:
        msg = entry.message
        flags.update((msg.vaddr + i * PAGE_SIZE, effective_flags(msg)) for i in range(page_count(msg)))
    assert len(set(flags.values())) > 1
    spare = uncovered_pages(real)
    assert len(spare) >= 3
    lazy_only = [(spare[2], 1, PE_LAZY)]  # no content anywhere: absent, as on side A

    def variant(name: str, runs, contents) -> Path:
        dest = root / name
        shutil.copytree(real, dest)
        for p in [dest, *dest.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o200)
        runs = runs + lazy_only
        rewrite_pages(dest, sorted(runs) if not name.endswith("reversed") else runs[::-1], contents)
        return dest

    # one-page runs, the same pages: only the layout changes
    out["split"] = variant("split", [(a, 1, flags[a]) for a in addrs], pages)
    # ...and 4 pages changed, 2 dropped, 2 added inside VMAs, 1 added outside every VMA
    changed = dict(pages)
    flipped = (0, 1, 2, 20, 21, 44)  # neighbours too, so one gathered chunk holds several
    changed_addrs = [addrs[i] for i in flipped]
    for k, i in enumerate(flipped):
        page = bytearray(changed[addrs[i]])
        for off in range(k * 100 + 5, k * 100 + 5 + 3 + k):
            page[off] ^= 0x5A
        changed[addrs[i]] = bytes(page)
    keep = [a for i, a in enumerate(addrs) if i not in (3, 30)]
    extra = spare[:2]
    outside = 0x10000
    assert all(not (s <= outside < e) for s, e in vmas_of(real, PID))
    for k, a in enumerate([*extra, outside]):
        changed[a] = bytes([k + 1]) * PAGE_SIZE
    runs = [(a, 1, flags.get(a, PE_PRESENT)) for a in keep + extra + [outside]]
    out["changed"] = variant("changed", runs, changed)
    out["changed-reversed"] = variant("changed-reversed", sorted(runs), changed)
    # ...and the VMA that holds a changed page split in two there (B's new VMA is added, but A's
    # VMA still covers the page: the page counts to A's, as VmaIndex says)
    out["changed-split-vma"] = variant("changed-split-vma", runs, changed)
    split_vma_at(
        out["changed-split-vma"], next(a for a in changed_addrs if any(s < a < e for s, e in vmas_of(real, PID)))
    )
    make_predump_chain(out["changed"], root / "changed-chain", PID)
    out["changed-chain"] = root / "changed-chain"
    make_predump_chain(out["split"], root / "split-chain", PID, every=3)
    out["split-chain"] = root / "split-chain"
    return out


class Paths:
    """Counts which path each process's page diff took, and the differ's statistics."""

    def __init__(self, monkeypatch, force_per_run: bool, chunk: int = pagediff.CHUNK):
        self.arrays = 0
        self.stats = None
        spy = self
        real_compare_chains = pagediff.PageDiffer.compare_chains

        def compare_chains(differ, ca, cb, index):
            done = real_compare_chains(differ, ca, cb, index)
            spy.arrays += done
            return done

        class Differ(pagediff.PageDiffer):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, chunk=chunk, **kwargs)

            def close(self):
                spy.stats = (self.bytes_compared, self.bytes_skipped_same_file)
                super().close()

        monkeypatch.setattr(pagediff.PageDiffer, "compare_chains", compare_chains)
        monkeypatch.setattr(driver, "PageDiffer", Differ)
        if force_per_run:
            monkeypatch.setattr(vmas_comparator.Chain, "prepare", classmethod(lambda cls, np, cp, pid: None))


def diff_three_ways(monkeypatch, a, b, max_hunks=9, chunk=pagediff.CHUNK):
    out = {}
    for way, numpy_on, per_run in (("arrays", True, False), ("per-run", True, True), ("python", False, True)):
        with monkeypatch.context() as m:
            paths = Paths(m, per_run, chunk)
            r = diff_checkpoints(a, b, DiffOptions(max_hunks=max_hunks, use_numpy=numpy_on))
            out[way] = (r, paths)
    assert out["arrays"][1].arrays == 1  # pid 24822 went through the array path
    assert out["per-run"][1].arrays == 0 and out["python"][1].arrays == 0
    return out


PAIRS = [
    ("real", "split"),
    ("real", "changed"),
    ("changed", "real"),
    ("real", "changed-reversed"),
    ("changed-reversed", "changed"),
    ("real", "changed-chain"),
    ("changed-chain", "real"),
    ("split-chain", "changed-chain"),
    ("changed-chain", "changed-chain"),
    ("changed", "changed-chain"),
    ("real", "changed-split-vma"),
    ("real", "split-chain"),
    ("changed-split-vma", "real"),
]


SIZES = {  # WINDOW_RUNS, SMALL_SPAN, chunk (pages)
    "default": (pagearrays.WINDOW_RUNS, pagediff.SMALL_SPAN // PAGE_SIZE, pagediff.CHUNK // PAGE_SIZE),
    "tiny-windows": (2, 3, 2),
    "small-chunks": (16, 3, 2),
    "odd-chunks": (16, 3, 3),
}


@pytest.mark.parametrize("sizes", list(SIZES))
@pytest.mark.parametrize("a,b", PAIRS, ids=[f"{a}-vs-{b}" for a, b in PAIRS])
def test_array_path_agrees_with_per_run_path(cases, monkeypatch, a, b, sizes):
    """Same counts, hunks and bytes compared/skipped on every pair. The small sizes make windows of
    a few runs, spans of 3 pages and more memcmp'd in chunks of 2 or 3 pages and shorter ones
    gathered as many pages at a time, so that windows, gathers and chunked spans all mix on these small dumps."""
    window_runs, small_span, chunk = SIZES[sizes]
    monkeypatch.setattr(pagearrays, "WINDOW_RUNS", window_runs)
    monkeypatch.setattr(pagediff, "SMALL_SPAN", small_span * PAGE_SIZE)
    got = diff_three_ways(monkeypatch, cases[a], cases[b], chunk=chunk * PAGE_SIZE)
    dicts = {way: r.to_dict() for way, (r, _) in got.items()}
    stats = {way: p.stats for way, (_, p) in got.items()}
    assert dicts["arrays"] == dicts["per-run"] == dicts["python"]
    assert stats["arrays"] == stats["per-run"] == stats["python"]
    r = got["arrays"][0]
    (p,) = [p for p in r.processes if p.pid == PID]
    assert (result_page_diff(p), p.pages_outside_vmas) == expected(cases[a], cases[b])
    same_dir = cases[a] == cases[b]
    assert (stats["arrays"][0] == 0) == same_dir  # a checkpoint against itself is skipped, never read


def test_the_cases_hold_what_they_say(cases, monkeypatch):
    """The changed variant against the real dump: 6 pages differ (3+4+...+8 bytes), 2 removed, 2 added
    in VMAs, 1 outside every VMA; hunks name the first differing bytes."""
    got = diff_three_ways(monkeypatch, cases["real"], cases["changed-chain"])
    r = got["arrays"][0]
    (p,) = [p for p in r.processes if p.pid == PID]
    assert sum(v.pages_differ for v in p.vmas) == 6
    assert sum(v.bytes_differ for v in p.vmas) == 3 + 4 + 5 + 6 + 7 + 8
    assert sum(v.pages_removed for v in p.vmas) == 2
    assert sum(v.pages_added for v in p.vmas) == 2
    assert p.pages_outside_vmas == 1
    hunks = [h for v in p.vmas for h in v.hunks]
    assert len(hunks) == 6
    assert [h.differing_bytes for h in hunks] == [3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize("sizes", list(SIZES))
@pytest.mark.parametrize("a,b", [("changed-reversed", "real"), ("real", "changed-chain")])
def test_hunk_budget_is_spent_in_address_order(cases, monkeypatch, a, b, sizes):
    """With a budget of 2 hunks every path keeps the same two: the lowest differing addresses."""
    window_runs, small_span, chunk = SIZES[sizes]
    monkeypatch.setattr(pagearrays, "WINDOW_RUNS", window_runs)
    monkeypatch.setattr(pagediff, "SMALL_SPAN", small_span * PAGE_SIZE)
    got = diff_three_ways(monkeypatch, cases[a], cases[b], max_hunks=2, chunk=chunk * PAGE_SIZE)
    hunks = {
        way: [(h.addr, h.a, h.b) for p in r.processes for v in p.vmas for h in v.hunks] for way, (r, _) in got.items()
    }
    assert len(hunks["arrays"]) == 2
    assert hunks["arrays"] == hunks["per-run"] == hunks["python"]
    assert hunks["arrays"] == sorted(hunks["arrays"])


def test_unusual_pagemaps_take_the_per_run_path(cases, tmp_path):
    """Overlapping runs: Chain.prepare declines, and the per-run path raises its own error."""
    import shutil

    from inspector.model.checkpoint import Checkpoint

    dest = tmp_path / "overlap"
    shutil.copytree(cases["split"], dest)
    pages = page_contents(cases["split"], PID)
    addrs = sorted(pages)
    rewrite_pages(dest, [(addrs[0], 1, PE_PRESENT), *((a, 1, PE_PRESENT) for a in addrs)], pages)  # page 0 twice
    assert pagearrays.Chain.prepare(np, Checkpoint(dest), PID) is None
    assert pagearrays.Chain.prepare(np, Checkpoint(cases["split"]), PID) is not None
    with pytest.raises(InspectError, match="overlap"):
        diff_checkpoints(cases["real"], dest)


def _framed(payload_sizes: list[int]) -> bytes:
    out = bytearray()
    for k, n in enumerate(payload_sizes):
        out += n.to_bytes(4, "little") + bytes([0x08 | (k & 1)] + [0x11] * (n - 1) if n else [])
    return bytes(out)


@pytest.mark.parametrize(
    "sizes,cut,file_extra",
    [
        ([10, 12, 11, 300, 9, 9], 0, 0),  # an entry too big for a one-byte guess
        ([10, 0, 12, 0, 0, 9], 0, 0),  # empty entries (four zero bytes)
        ([10, 12, 11, 9], 7, 0),  # the window ends inside an entry
        ([10, 12, 11, 9], 11, 0),  # ...inside its size
        ([10, 12], 0, 3),  # a truncated size at the end of the file
        ([10, 12], 0, 0),
    ],
)
def test_numpy_framing_agrees(sizes, cut, file_extra):
    """frame_window_numpy: the same frames, sizes and bytes used (or the same error) as frame_window."""
    data = _framed(sizes)
    data += b"\x01\x02\x03"[:file_extra]
    window = data[: len(data) - cut]
    base = 8
    results = []
    for frame in (
        lambda: frame_window(window, base, base + len(data), "x.img"),
        lambda: frame_window_numpy(np, window, base, base + len(data), "x.img"),
    ):
        try:
            results.append(frame())
        except InspectError as exc:
            results.append(exc.one_line())
    assert results[0] == results[1]


def test_numpy_framing_of_a_real_fragmented_pagemap(cases):
    path = cases["changed"] / f"pagemap-{PID}.img"
    data = path.read_bytes()
    head = len(open_image(path).header)
    want = frame_window(data[head:], head, len(data), str(path))
    assert len(want[0]) == len(open_image(path).entries) > 45
    assert frame_window_numpy(np, data[head:], head, len(data), str(path)) == want
    # an entry size too big for the file: the same error either way
    broken = data[head:] + (200).to_bytes(4, "little") + b"\x08"
    errors = []
    for frame in (frame_window, lambda *a: frame_window_numpy(np, *a)):
        with pytest.raises(InspectError) as exc:
            frame(broken, head, head + len(broken), str(path))
        errors.append(exc.value.one_line())
    assert errors[0] == errors[1]
    assert "larger than" in errors[0]


def _chunks_of(path: Path, per: int):
    """(region, frames, sizes) of each run of ``per`` entries of a pagemap, as _decode_chunk_numpy slices them."""
    data = path.read_bytes()
    head = len(open_image(path).header)
    frames, sizes, _ = frame_window(data[head:], head, len(data), str(path))
    fr = np.frombuffer(frames, dtype=np.uint64).astype(np.int64)[1:]
    sz = np.frombuffer(sizes, dtype=np.uint64).astype(np.int64)[1:]
    body = np.frombuffer(data[head:], dtype=np.uint8)
    for lo in range(0, len(fr), per):
        f, s = fr[lo : lo + per], sz[lo : lo + per]
        first = int(f[0])
        yield body[first : int(f[-1] + 4 + s[-1])], f - first, s


def test_same_layout_decoder_agrees_with_the_varint_decoder(cases, tmp_path):
    """pages._uniform_fields (entries of one size and layout as columns) gives the fields
    pages._varint_fields gives, on every chunk it takes: the fragmented pagemaps here, whose
    one-page entries share a layout, and real entries with a 2-byte count or another field order
    mixed in, which it must leave to the varint decoder."""
    import inspector.pages.wire as pages_mod

    path = cases["changed"] / f"pagemap-{PID}.img"
    img = open_image(path)
    head, *entries = img.entries
    mixed = tmp_path / "mixed.img"
    odd = []
    for k, e in enumerate(entries):
        msg = e.message
        compat = b"\x10" + _varint(msg.compat_nr_pages) if msg.HasField("compat_nr_pages") else b""
        if k % 7 == 3:  # the same size and varint ends, fields 4 and 5 swapped
            payload = (
                b"\x08" + _varint(msg.vaddr) + compat + b"\x28" + _varint(msg.nr_pages) + b"\x20" + _varint(msg.flags)
            )
            assert len(payload) == len(e.payload)
        elif k % 7 == 1:  # the same size and tag places, other varint ends: a 3-byte vaddr and field 6
            rest = e.payload[1 + len(_varint(msg.vaddr)) :]
            payload = b"\x08" + _varint(0x100000) + b"\x30" + _varint(0x100000) + rest
            assert len(payload) == len(e.payload) and msg.vaddr >= 1 << 42
        elif k % 7 == 5:  # 129 pages: a longer entry
            payload = b"\x08" + _varint(msg.vaddr) + compat + b"\x20" + _varint(msg.flags) + b"\x28\x81\x01"
        else:
            payload = e.payload
        odd.append(payload)
    mixed.write_bytes(img.header + b"".join(len(p).to_bytes(4, "little") + p for p in [head.payload, *odd]))
    taken = refused = 0
    for source in (path, mixed, cases["split-chain"] / f"pagemap-{PID}.img"):
        for per in (3, 8, 1000):
            for region, frames, sizes in _chunks_of(source, per):
                uniform = pages_mod._uniform_fields(np, region, sizes, len(frames))
                varint = pages_mod._varint_fields(np, region, frames, sizes, len(frames))
                assert varint is not None
                if uniform is None:
                    refused += 1
                    continue
                taken += 1
                assert uniform.keys() == varint.keys()
                for tag in uniform:
                    assert (uniform[tag][1] == varint[tag][1]).all()
                    assert (uniform[tag][0][varint[tag][1]] == varint[tag][0][varint[tag][1]]).all()
    assert taken > 10 and refused > 5


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if not value:
            return bytes(out + bytes([b]))
        out.append(b | 0x80)
