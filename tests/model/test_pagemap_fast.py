"""The bulk pagemap decoder (PageMap.from_image) against the protobuf path (PageMap.from_entries).

Every pagemap of the corpus is decoded both ways and must give the same runs,
with each wire decoder (Python, numpy) and read windows down to a few bytes.
The other cases are built by decode -> change -> encode of a real pagemap
(pair-1's pagemap-24822.img, jvm's for mixed flags): entries rewritten the way
CRIU < 4.2 wrote them (count in field 2, in_parent, no flags), both counts
written, unknown extra fields of every wire type, entries the wire decoder
hands to protobuf (a known field in another wire type, a non-minimal tag,
out-of-range values), a field written twice, empty entries, a corrupt varint,
a truncated entry or size, entries out of address order, runs made to
overlap, and a sparse 3 GiB broken copy. Each is written to a temp file (or a
copy of a checkpoint) and read back.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from inspector.codec.fromjson import _varint  # the encoder's varint builds wire bytes by hand here
from inspector.codec.image import open_image
from inspector.errors import InspectError
from inspector.model.checkpoint import Checkpoint
from inspector.model.names import PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT
from inspector.pages import PageMap, Run, numpy_gate, wire

from ..conftest import CORPUS, corpus_dir, run_capped

REAL = ("pair-1", 24822)
ALL_PAGEMAPS = sorted(CORPUS.rglob("pagemap-*.img"))


def _real_pagemap() -> Path:
    name, pid = REAL
    return corpus_dir(name) / f"pagemap-{pid}.img"


def _both(path: Path) -> tuple[PageMap, PageMap]:
    return PageMap.from_image(open_image(path)), PageMap.from_entries(open_image(path))


def _runs(pm: PageMap) -> list[tuple[int, int, int, int]]:
    return [tuple(r) for r in pm.runs]


def _write(path: Path, header: bytes, payloads: list[bytes], tail: bytes = b"") -> Path:
    path.write_bytes(header + b"".join(struct.pack("<I", len(p)) + p for p in payloads) + tail)
    return path


@pytest.fixture(autouse=True, params=["python", "numpy", "numpy-one-chunk", "numpy-varint"])
def engine(request, monkeypatch):
    """Every test runs with each wire decoder: the Python one and the numpy one.

    Chunks of 5 entries (but for numpy-one-chunk) so runs and pages-file offsets
    are carried from chunk to chunk on these small pagemaps. numpy-varint never
    takes the numpy decoder's same-layout shortcut (``_uniform_fields``). With
    numpy, page sums and the overlap check use it whatever the run count.
    """
    if request.param == "python":
        monkeypatch.setattr(numpy_gate, "numpy_for", lambda entries: None)
    else:
        pytest.importorskip("numpy")
        monkeypatch.setattr(numpy_gate, "NUMPY_MIN_ENTRIES", 0)
        monkeypatch.setattr(numpy_gate, "NUMPY_MIN_RUNS", 0)  # page sums and the overlap check in numpy too
        import numpy  # noqa: F401  (they use it only once it is loaded)
    if request.param == "numpy-varint":
        monkeypatch.setattr(wire, "_uniform_fields", lambda *args: None)
    if request.param != "numpy-one-chunk":
        monkeypatch.setattr(wire, "_CHUNK", 5)
    return request.param


@pytest.fixture
def protobuf_entries(monkeypatch):
    """Counts the entries the wire decoder handed to protobuf (the head is always one)."""
    made = []
    real_entry = wire.Entry

    def counting(*args, **kwargs):
        made.append(args[0])
        return real_entry(*args, **kwargs)

    monkeypatch.setattr(wire, "Entry", counting)
    return made


@pytest.mark.parametrize("path", ALL_PAGEMAPS, ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_corpus_pagemap_decodes_the_same_both_ways(path, protobuf_entries, engine, monkeypatch):
    entry_by_entry = []
    real_chunk = wire._decode_chunk
    monkeypatch.setattr(wire, "_decode_chunk", lambda *a: entry_by_entry.append(a[3]) or real_chunk(*a))
    fast, reference = _both(path)
    if engine != "python":
        assert entry_by_entry == []  # real CRIU output is all the numpy decoder's simple layout
    assert fast.pages_id == reference.pages_id > 0
    assert _runs(fast) == _runs(reference)
    assert len(fast.runs) == len(open_image(path).entries) - 1 > 0
    assert protobuf_entries == [0]  # only the head went through protobuf: the entries were read off the wire
    assert fast.page_totals == reference.page_totals
    pages = path.parent / f"pages-{fast.pages_id}.img"
    assert fast.present_bytes == pages.stat().st_size  # the invariant, on real images


def test_real_values_of_a_corpus_pagemap():
    pm = PageMap.from_image(open_image(_real_pagemap()))
    first = pm.runs[0]
    # values as the entry's wire bytes say (08 80 80 a1 dc a5 c0 15 10 00 20 04 28 01: vaddr, field 2 = 0, flags 4, field 5 = 1)
    assert first == Run(0x56025B884000, 1, PE_PRESENT, 0)
    assert first.end == 0x56025B884000 + PAGE_SIZE
    offsets = [r.file_offset for r in pm.runs if r.flags & PE_PRESENT]
    assert offsets == sorted(offsets) and offsets[0] == 0
    assert pm.runs[-1] == list(pm.runs)[-1] and pm.runs[1:3] == list(pm.runs)[1:3]


def test_arrays_view_holds_the_runs_and_is_read_only():
    """``PageMap.arrays``, what the diff's whole-array path reads: the runs, column by column, not writable."""
    np = pytest.importorskip("numpy")
    pm = PageMap.from_image(open_image(_real_pagemap()))
    view = pm.arrays
    assert list(zip(*(column.tolist() for column in view))) == _runs(pm)
    assert [column.dtype for column in view] == [np.uint64, np.uint64, np.uint32, np.int64]
    for column in view:
        with pytest.raises(ValueError):
            column[0] = 0
    assert pm.runs[0] == Run(0x56025B884000, 1, PE_PRESENT, 0)  # unchanged


def test_old_style_entries_count_in_field_2_and_in_parent(tmp_path):
    """CRIU < 4.2 entries: count in compat field 2, no flags (present), in_parent for parent pages."""
    img = open_image(_real_pagemap())
    head, *entries = img.entries
    expect = []
    payloads = [head.payload]
    for i, entry in enumerate(entries):
        msg = type(entry.message)()
        msg.CopyFrom(entry.message)
        count = msg.nr_pages
        msg.ClearField("nr_pages")
        msg.ClearField("flags")
        msg.compat_nr_pages = count
        if i % 3 == 1:
            msg.in_parent = True
            flags = PE_PARENT
        elif i % 3 == 2 and count > 0:
            msg.in_parent = True
            msg.flags = PE_LAZY  # in_parent with flags: the flags plus PE_PARENT
            flags = PE_LAZY | PE_PARENT
        else:
            flags = PE_PRESENT
        expect.append((msg.vaddr, count, flags))
        payloads.append(msg.SerializeToString())
    path = _write(tmp_path / "pagemap-24822.img", img.header, payloads)
    fast, reference = _both(path)
    assert _runs(fast) == _runs(reference)
    assert [(r.start, r.nr_pages, r.flags) for r in fast.runs] == sorted(expect)
    assert sum(r.nr_pages for r in fast.runs) == sum(e.message.nr_pages for e in entries) > 0
    present = [r for r in fast.runs if r.flags & PE_PRESENT]
    assert all(r.file_offset == -1 for r in fast.runs if not r.flags & PE_PRESENT)
    assert [r.file_offset for r in present] == [
        sum(p.nr_pages for p in present[:k]) * PAGE_SIZE for k in range(len(present))
    ]


def test_field_5_wins_over_field_2(tmp_path):
    """Both counts written (field 2 = 7, field 5 = the real count): field 5 is the count."""
    img = open_image(_real_pagemap())
    head, *entries = img.entries
    payloads = [head.payload]
    for entry in entries:
        msg = type(entry.message)()
        msg.CopyFrom(entry.message)
        msg.compat_nr_pages = 7
        payloads.append(msg.SerializeToString())
    fast, reference = _both(_write(tmp_path / "pagemap-24822.img", img.header, payloads))
    assert _runs(fast) == _runs(reference)
    assert [r.nr_pages for r in fast.runs] == [e.message.nr_pages for e in entries]


def test_unknown_fields_are_skipped_on_the_wire(tmp_path, protobuf_entries):
    """Every entry gets unknown fields of every wire type appended (and one prepended)."""
    img = open_image(_real_pagemap())
    head, *entries = img.entries
    extra = (
        _varint(6 << 3 | 0)
        + _varint(2**64 - 1)  # varint, 10 bytes
        + _varint(7 << 3 | 2)
        + _varint(3)
        + b"abc"  # length-delimited
        + _varint(8 << 3 | 5)
        + b"\1\2\3\4"  # fixed32
        + _varint(9 << 3 | 1)
        + b"\1\2\3\4\5\6\7\x08"  # fixed64
        + _varint(1000 << 3 | 0)
        + _varint(300)  # a two-byte tag
    )
    payloads = [head.payload] + [_varint(15 << 3 | 0) + b"\x05" + e.payload + extra for e in entries]
    path = _write(tmp_path / "pagemap-24822.img", img.header, payloads)
    reference = PageMap.from_entries(open_image(path))
    protobuf_entries.clear()
    fast = PageMap.from_image(open_image(path))
    assert protobuf_entries == [0]
    assert _runs(fast) == _runs(reference) == _runs(PageMap.from_image(open_image(_real_pagemap())))


@pytest.mark.parametrize(
    "rewrite",
    [
        pytest.param(lambda p: p + _varint(4 << 3 | 5) + struct.pack("<I", 2), id="flags-as-fixed32"),
        pytest.param(lambda p: b"\x88\x00" + p[1:], id="non-minimal-vaddr-tag"),
        pytest.param(lambda p: p + b"\x20" + _varint(1 << 40), id="flags-beyond-u32"),
        pytest.param(lambda p: p + b"\x18" + b"\xff" * 9 + b"\x02", id="in-parent-beyond-64-bits"),
    ],
)
def test_unexpected_entries_go_through_protobuf(tmp_path, protobuf_entries, rewrite):
    """One entry is changed in a way the wire decoder leaves to protobuf; the result is protobuf's."""
    img = open_image(_real_pagemap())
    head, *entries = img.entries
    payloads = [head.payload] + [e.payload for e in entries]
    payloads[3] = rewrite(payloads[3])
    path = _write(tmp_path / "pagemap-24822.img", img.header, payloads)
    reference = PageMap.from_entries(open_image(path))
    protobuf_entries.clear()
    fast = PageMap.from_image(open_image(path))
    assert protobuf_entries == [0, 3]
    assert _runs(fast) == _runs(reference)


def test_corrupt_varint_is_an_inspect_error_at_the_entry(tmp_path):
    """An entry whose vaddr varint runs off its end: InspectError naming the file and the entry's offset."""
    img = open_image(_real_pagemap())
    head, *entries = img.entries
    payloads = [head.payload] + [e.payload for e in entries]
    payloads[2] = b"\x08" + b"\xff" * 5  # continuation bits to the end of the entry
    path = _write(tmp_path / "pagemap-24822.img", img.header, payloads)
    at = len(img.header) + sum(4 + len(p) for p in payloads[:2])
    with pytest.raises(InspectError) as fast:
        PageMap.from_image(open_image(path))
    with pytest.raises(InspectError) as reference:
        PageMap.from_entries(open_image(path))
    assert fast.value.path == str(path) and fast.value.offset == at
    assert "cannot decode pagemap_entry" in fast.value.reason
    assert fast.value.one_line() == reference.value.one_line()


@pytest.mark.parametrize("cut", [5, 2], ids=["inside-an-entry", "inside-a-size"])
def test_truncated_pagemap_is_an_inspect_error(tmp_path, cut):
    """The real pagemap cut short: in the last entry's payload, or two bytes into a size field."""
    real = _real_pagemap().read_bytes()
    img = open_image(_real_pagemap())
    last = img.entries[-1]
    data = real[: last.offset + 4 + cut] if cut > 4 else real + b"\0" * cut
    path = tmp_path / "pagemap-24822.img"
    path.write_bytes(data)
    with pytest.raises(InspectError) as fast:
        PageMap.from_image(open_image(path))
    with pytest.raises(InspectError) as reference:
        PageMap.from_entries(open_image(path))
    assert fast.value.one_line() == reference.value.one_line()
    if cut > 4:
        assert fast.value.offset == last.offset
        assert fast.value.reason == f"entry size {len(last.payload)} is larger than the {cut} bytes left in the file"
    else:
        assert fast.value.offset == len(real)
        assert fast.value.reason == "truncated entry: 2 bytes where a 4-byte size was expected"


def test_header_only_and_empty_pagemaps(tmp_path):
    img = open_image(_real_pagemap())
    head = img.entries[0]
    only_head = _write(tmp_path / "pagemap-1.img", img.header, [head.payload])
    fast = PageMap.from_image(open_image(only_head))
    assert fast.pages_id == head.message.pages_id and len(fast.runs) == 0 and fast.present_bytes == 0
    no_head = _write(tmp_path / "pagemap-2.img", img.header, [])
    with pytest.raises(InspectError) as err:
        PageMap.from_image(open_image(no_head))
    assert err.value.reason == "pagemap has no header entry" and err.value.offset == 0


def test_entries_out_of_order_are_sorted_with_file_order_offsets(tmp_path):
    """Entries reversed in the file: runs come out by address, pages-file offsets still follow file order."""
    img = open_image(_real_pagemap())
    head, *entries = img.entries
    path = _write(tmp_path / "pagemap-24822.img", img.header, [head.payload] + [e.payload for e in reversed(entries)])
    fast, reference = _both(path)
    assert _runs(fast) == _runs(reference)
    starts = [r.start for r in fast.runs]
    assert starts == sorted(starts)
    last_present = max((r for r in fast.runs if r.flags & PE_PRESENT), key=lambda r: r.start)
    assert last_present.file_offset == 0  # last by address, first in the file


def test_edited_entries_in_memory_are_honoured():
    """An image whose entries were decoded and edited (repair) is read from the edits, not the file."""
    img = open_image(_real_pagemap())
    entry = img.entries[1]
    msg = entry.message
    msg.flags = PE_LAZY
    entry.set_message(msg)
    pm = PageMap.from_image(img)
    assert pm.runs[0].flags == PE_LAZY and pm.runs[0].file_offset == -1


def _naive_counts(runs, start, end):
    out = [0, 0, 0]
    for r in runs:
        lo, hi = max(r.start, start), min(r.end, end)
        if hi > lo:
            for k, flag in enumerate((PE_PRESENT, PE_LAZY, PE_PARENT)):
                if r.flags & flag:
                    out[k] += (hi - lo) // PAGE_SIZE
    return tuple(out)


@pytest.mark.parametrize("name", ["pair-1", "jvm", "tree"])
def test_vma_page_counts_match_a_walk_of_every_run(name):
    cp = Checkpoint(corpus_dir(name))
    checked = 0
    for proc in cp.processes:
        runs = list(cp.pagemap(proc.pid).runs)
        for vma in proc.vmas:
            assert (vma.pages_present, vma.pages_lazy, vma.pages_in_parent) == _naive_counts(runs, vma.start, vma.end)
            checked += vma.pages_present
        assert proc.pages.present == sum(r.nr_pages for r in runs if r.flags & PE_PRESENT)
    assert checked > 0


def test_counts_and_runs_in_cut_runs_at_the_range():
    pm = PageMap("x", 1, [Run(0x1000, 4, PE_PRESENT, 0), Run(0x6000, 2, PE_LAZY, -1), Run(0x9000, 3, PE_PARENT, -1)])
    assert pm.counts_in(0x2000, 0xA000) == (3, 2, 1)
    assert [r.start for r in pm.runs_in(0x4000, 0x7000)] == [0x1000, 0x6000]
    assert list(pm.runs_in(0x5000, 0x6000)) == []
    assert pm.page_totals == (4, 2, 3) and pm.present_bytes == 4 * PAGE_SIZE


def _reference_runs_in(runs: list[Run], start: int, end: int) -> list[Run]:
    """The list-based runs_in PageMap had before the arrays (kept as the reference)."""
    import bisect

    i = max(bisect.bisect_right([r.start for r in runs], start) - 1, 0)
    out = []
    for run in runs[i:]:
        if run.start >= end:
            break
        if run.end > start:
            out.append(run)
    return out


def _reference_counts_in(runs: list[Run], start: int, end: int) -> tuple[int, int, int]:
    present = lazy = parent = 0
    for run in _reference_runs_in(runs, start, end):
        n = (min(run.end, end) - max(run.start, start)) // PAGE_SIZE
        present += n if run.flags & PE_PRESENT else 0
        lazy += n if run.flags & PE_LAZY else 0
        parent += n if run.flags & PE_PARENT else 0
    return present, lazy, parent


def _edges(runs: list[Run]) -> list[int]:
    points = {0, 1 << 64}
    for r in runs:
        points.update((r.start - PAGE_SIZE, r.start, r.start + PAGE_SIZE, r.end - PAGE_SIZE, r.end, r.end + 1))
    return sorted(points)


@pytest.mark.parametrize("overlap", [False, True], ids=["as-dumped", "runs-overlapping"])
def test_runs_in_and_counts_in_match_the_list_based_reference(tmp_path, overlap):
    """Every range between run edges (and a page either side) of jvm's real pagemap (121 runs, mixed flags).

    runs-overlapping: decode -> change -> encode, three entries made 40 pages longer
    so they reach over the runs after them (bad input the counts must still agree on).
    """
    src = corpus_dir("jvm") / "pagemap-24426.img"
    img = open_image(src)
    if overlap:
        for entry in img.entries[1:4]:
            msg = entry.message
            msg.nr_pages += 40
            entry.set_message(msg)
        src = tmp_path / "pagemap-24426.img"
        src.write_bytes(img.encode())
    pm = PageMap.from_image(open_image(src))
    runs = list(pm.runs)
    assert pm.disjoint is not overlap
    assert len({r.flags for r in runs}) > 1
    edges = _edges(runs)
    checked = 0
    for a in edges[::3]:
        for b in edges[1::4]:
            if b <= a:
                continue
            assert list(pm.runs_in(a, b)) == _reference_runs_in(runs, a, b), (hex(a), hex(b))
            assert pm.counts_in(a, b) == _reference_counts_in(runs, a, b), (hex(a), hex(b))
            checked += 1
    assert checked > 1000


def test_a_field_written_twice_counts_once_the_last_value(tmp_path):
    """Entries with flags and field 5 written a second time (PE_LAZY, 9 pages): protobuf keeps the last one."""
    img = open_image(_real_pagemap())
    head, *entries = img.entries
    payloads = [head.payload] + [e.payload + b"\x20" + _varint(PE_LAZY) + b"\x28\x09" for e in entries]
    fast, reference = _both(_write(tmp_path / "pagemap-24822.img", img.header, payloads))
    assert _runs(fast) == _runs(reference)
    assert {(r.flags, r.nr_pages, r.file_offset) for r in fast.runs} == {(PE_LAZY, 9, -1)}


def test_entries_without_the_required_fields_are_refused_by_both(tmp_path):
    """Zero-length payloads between real entries lack vaddr and compat_nr_pages, which protobuf-c's unpack
    requires (criu restore fails on them): both decoders say so, at the first such entry."""
    img = open_image(_real_pagemap())
    head, *entries = img.entries
    payloads = [head.payload]
    for e in entries:
        payloads += [e.payload, b""]
    path = _write(tmp_path / "pagemap-24822.img", img.header, payloads)
    with pytest.raises(InspectError) as fast:
        PageMap.from_image(open_image(path))
    with pytest.raises(InspectError) as reference:
        PageMap.from_entries(open_image(path))
    assert fast.value.one_line() == reference.value.one_line()
    assert "pagemap_entry lacks required field(s) vaddr, compat_nr_pages" in fast.value.reason
    assert fast.value.offset == len(img.header) + 4 + len(head.payload) + 4 + len(
        entries[0].payload
    )  # the first empty one


def test_corrupt_entry_and_truncated_tail_report_the_framing_first(tmp_path):
    """Both a corrupt varint (entry 2) and a short tail: the framing error wins, as the image codec has it."""
    img = open_image(_real_pagemap())
    head, *entries = img.entries
    payloads = [head.payload] + [e.payload for e in entries]
    payloads[2] = b"\x08\xff"
    path = _write(tmp_path / "pagemap-24822.img", img.header, payloads, tail=b"\x01")
    with pytest.raises(InspectError) as fast:
        PageMap.from_image(open_image(path))
    with pytest.raises(InspectError) as reference:
        PageMap.from_entries(open_image(path))
    assert fast.value.one_line() == reference.value.one_line()
    assert fast.value.reason.startswith("truncated entry: 1 bytes")


@pytest.mark.parametrize("window", [8, 50, 64, 1000])
@pytest.mark.parametrize("name", ["jvm", "tree"])
def test_small_read_windows_give_the_same_runs(monkeypatch, name, window):
    """The file read in windows of a few bytes: entries cut by a window's end (or longer than it) still decode."""
    monkeypatch.setattr(wire, "_WINDOW", window)
    for path in sorted(corpus_dir(name).glob("pagemap-*.img")):
        fast, reference = _both(path)
        assert fast.pages_id == reference.pages_id
        assert _runs(fast) == _runs(reference) and len(fast.runs) > 0


@pytest.mark.parametrize("window", [50, 1 << 24])
def test_framing_error_after_a_corrupt_entry_wins_across_windows(tmp_path, monkeypatch, window):
    """Entry 2 corrupt, a size larger than the file at the end: the framing error, as the codec reports it."""
    monkeypatch.setattr(wire, "_WINDOW", window)
    img = open_image(_real_pagemap())
    head, *entries = img.entries
    payloads = [head.payload] + [e.payload for e in entries]
    payloads[2] = b"\x08\xff"
    path = _write(tmp_path / "pagemap-24822.img", img.header, payloads, tail=struct.pack("<I", 1000) + b"\0" * 20)
    with pytest.raises(InspectError) as fast:
        PageMap.from_image(open_image(path))
    with pytest.raises(InspectError) as reference:
        PageMap.from_entries(open_image(path))
    assert fast.value.one_line() == reference.value.one_line()
    assert fast.value.reason == "entry size 1000 is larger than the 20 bytes left in the file"


def test_huge_broken_pagemap_is_not_read_whole(writable_copy):
    """pagemap-15787.img grown to a sparse 3 GiB (its real entries, then a size field of 0xfffffff0):
    `show` reports the framing error under a 1.5 GiB address-space cap, and still shows the other processes."""
    d = writable_copy("tree")
    pm = d / "pagemap-15787.img"
    data = pm.read_bytes()
    with open(pm, "r+b") as fh:
        fh.seek(len(data))
        fh.write(struct.pack("<I", 0xFFFFFFF0))
        fh.truncate(3 << 30)

    result = run_capped("show", str(d), "ps")
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert (
        lines[0]
        == f"criu-inspect: error: {pm}: entry size {0xFFFFFFF0} is larger than the {(3 << 30) - len(data) - 4} bytes left in the file (offset {len(data)})"
    )
    assert "15786" in result.stdout


def test_loaded_but_unedited_entries_still_take_the_wire_path(protobuf_entries):
    img = open_image(_real_pagemap())
    assert len(img.entries) > 1  # framed and kept, as `show` used to leave them
    pm = PageMap.from_image(img)
    assert protobuf_entries == [0]
    assert _runs(pm) == _runs(PageMap.from_entries(open_image(_real_pagemap())))


ENTRY_IMAGES = sorted(p for p in CORPUS.glob("*/*.img") if not p.name.startswith("pages-"))


def test_count_entries_frames_like_entries_without_keeping_them():
    """Every entry image of the corpus: the count framing alone gives is the number of entries."""
    counted = 0
    for path in ENTRY_IMAGES:
        img = open_image(path)
        if img.raw or not img.known:
            continue
        n = img.count_entries()
        assert n == len(open_image(path).entries), path
        counted += img.kind.extra is None and img._entries is None
    assert counted > 100


@pytest.mark.parametrize("tail", [b"\x07\x00", struct.pack("<I", 99) + b"\0" * 3], ids=["short-size", "long-entry"])
def test_count_entries_reports_the_framing_error_of_entries(tmp_path, tail):
    path = tmp_path / "pagemap-24822.img"
    path.write_bytes(_real_pagemap().read_bytes() + tail)
    with pytest.raises(InspectError) as counted:
        open_image(path).count_entries()
    with pytest.raises(InspectError) as framed:
        _ = open_image(path).entries
    assert counted.value.one_line() == framed.value.one_line()


def test_show_frames_a_pagemap_without_decoding_it_entry_by_entry(protobuf_entries):
    """image_infos (what `show` runs first) counts pagemap entries; the model then reads them off the wire."""
    cp = Checkpoint(corpus_dir("tree"))
    infos = {i.name: i for i in cp.image_infos()}
    assert infos["pagemap-15787.img"].entries == len(open_image(corpus_dir("tree") / "pagemap-15787.img").entries)
    assert cp.image("pagemap-15787.img")._entries is None
    proc = cp.process(15787)
    assert proc.pages.present * PAGE_SIZE == (corpus_dir("tree") / "pages-4.img").stat().st_size
    assert protobuf_entries == [0] * len(cp.processes)  # one head per pagemap, no entry
