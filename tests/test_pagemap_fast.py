"""The bulk pagemap decoder (PageMap.from_image) against the protobuf path (PageMap.from_entries).

The corpus pagemaps are decoded both ways and must give the same runs. The
other cases are built by decode -> change -> encode of a real pagemap
(pair-1's pagemap-24822.img): entries rewritten the way CRIU < 4.2 wrote them
(count in field 2, in_parent, no flags), entries with unknown extra fields,
entries the wire decoder hands to protobuf (a known field in another wire type,
a non-minimal tag), a corrupt varint, a truncated entry, entries out of
address order. Each is written to a temp file and read back both ways.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

import inspector.pages as pages_mod
from inspector.codec.image import open_image
from inspector.errors import InspectError
from inspector.model.checkpoint import Checkpoint
from inspector.model.names import PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT
from inspector.pages import PageMap, Run

from .conftest import CORPUS, corpus_dir

REAL = ("pair-1", 24822)
ALL_PAGEMAPS = sorted(CORPUS.rglob("pagemap-*.img")) if CORPUS.is_dir() else []


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


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


@pytest.fixture
def protobuf_entries(monkeypatch):
    """Counts the entries the wire decoder handed to protobuf (the head is always one)."""
    made = []
    real_entry = pages_mod.Entry

    def counting(*args, **kwargs):
        made.append(args[0])
        return real_entry(*args, **kwargs)

    monkeypatch.setattr(pages_mod, "Entry", counting)
    return made


@pytest.mark.parametrize("path", ALL_PAGEMAPS, ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_corpus_pagemap_decodes_the_same_both_ways(path, protobuf_entries):
    fast, reference = _both(path)
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
        _varint(6 << 3 | 0) + _varint(2**64 - 1)  # varint, 10 bytes
        + _varint(7 << 3 | 2) + _varint(3) + b"abc"  # length-delimited
        + _varint(8 << 3 | 5) + b"\1\2\3\4"  # fixed32
        + _varint(9 << 3 | 1) + b"\1\2\3\4\5\6\7\x08"  # fixed64
        + _varint(1000 << 3 | 0) + _varint(300)  # a two-byte tag
    )  # fmt: skip
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
