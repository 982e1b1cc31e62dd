"""Read a process's memory through its pagemap, never loading a pages file whole.

Each ``pagemap-PID.img`` lists runs of pages (vaddr, count, flags). Runs with
PE_PRESENT are stored back to back in ``pages-ID.img``; PE_PARENT runs live in
the pre-dump checkpoint behind the ``parent`` link; PE_LAZY-only runs are not
in any file (a lazy-pages server would serve them). Pages files are mmapped and
sliced, so memory use is bounded by what is asked for.

A pagemap is decoded in bulk: the file is read once (it is small next to the
pages), its u32-size framing walked, and each entry's fields read straight off
the protobuf wire into parallel arrays, by numpy whole-array operations where
numpy is at hand and the layout is CRIU's usual one, else byte by byte in
Python. ``PageMap.from_entries`` is the protobuf path, kept as the reference.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
import mmap
import operator
import os
import sys
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

from .codec.image import U32 as _U32
from .codec.image import Entry, frame_window, frame_window_numpy, pread_exact
from .errors import InspectError
from .model.names import PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT
from .safeio import open_regular, open_regular_file, regular_size

if TYPE_CHECKING:
    from .model.checkpoint import Checkpoint


class Run(NamedTuple):
    """One pagemap run. A tuple, so a PageMap can hand out millions of them cheaply."""

    start: int
    nr_pages: int
    flags: int
    file_offset: int  # offset in the pages file (PE_PRESENT runs), else -1

    @property
    def end(self) -> int:
        return self.start + self.nr_pages * PAGE_SIZE


class Extent(NamedTuple):
    """Pages with content that lie back to back in one pages file: [addr, addr+length) at file ``offset``."""

    addr: int
    length: int
    where: str  # present | parent (in a pre-dump's pages file) | shared (a shared anonymous mapping's object)
    pages: PagesFile
    offset: int

    @property
    def end(self) -> int:
        return self.addr + self.length


def _addr(ext: Extent) -> int:
    return ext.addr


def _in_file(addr: int, length: int, where: str, pf: PagesFile, offset: int, pm: PageMap) -> Iterator[Extent]:
    """The extent, if its pages file holds it; else the whole pages it does hold, then the file's error."""
    if offset + length > pf.size:
        inside = max(0, (pf.size - offset) // PAGE_SIZE * PAGE_SIZE)
        if inside:
            yield Extent(addr, inside, where, pf, offset)
        raise pages_size_error(pf.path, pf.size, pm.present_bytes)
    yield Extent(addr, length, where, pf, offset)


def effective_flags(msg) -> int:
    """Flags of a pagemap entry, for images of any CRIU version.

    Old images say ``in_parent`` and no flags (meaning present); CRIU >= 4.2
    writes flags and the page count in field 5.
    """
    if msg.HasField("in_parent") and msg.in_parent:
        return (msg.flags if msg.HasField("flags") else 0) | PE_PARENT
    if not msg.HasField("flags"):
        return PE_PRESENT
    return msg.flags


def page_count(msg) -> int:
    if msg.HasField("nr_pages"):
        return msg.nr_pages
    return msg.compat_nr_pages


class _Unexpected(Exception):
    """The wire decoder met something it leaves to protobuf (for one entry)."""


# pagemap_entry tags (field number << 3 | wire type 0): all five fields are varints
_TAG_VADDR, _TAG_COMPAT_NR_PAGES, _TAG_IN_PARENT, _TAG_FLAGS, _TAG_NR_PAGES = 0x08, 0x10, 0x18, 0x20, 0x28
_KNOWN_TAGS = (_TAG_VADDR, _TAG_COMPAT_NR_PAGES, _TAG_IN_PARENT, _TAG_FLAGS, _TAG_NR_PAGES)
_U64_LIMIT = 1 << 64
_U32_LIMIT = 1 << 32
_MAX_FILE_OFFSET = (1 << 63) - 1


def _skip_field(data: bytes, p: int, q: int, tag: int) -> int:
    """Position after the value of an unknown field (``tag`` read, ``p`` at its value)."""
    wire = tag & 7
    if tag >> 3 <= 5:  # a known field in another wire type, or field 0, or a non-minimal tag
        raise _Unexpected
    if wire == 0:
        for i in range(10):
            if p >= q:
                raise _Unexpected
            b = data[p]
            p += 1
            if b < 0x80:
                if i == 9 and b > 1:  # beyond 64 bits
                    raise _Unexpected
                return p
        raise _Unexpected
    if wire == 1:
        p += 8
    elif wire == 5:
        p += 4
    elif wire == 2:
        length, p = _read_varint(data, p, q, 63)
        p += length
    else:  # groups (3, 4) and the invalid wire types 6, 7
        raise _Unexpected
    if p > q:
        raise _Unexpected
    return p


def _read_varint(data: bytes, p: int, q: int, max_shift: int) -> tuple[int, int]:
    """A varint of at most ``max_shift // 7 + 1`` bytes within data[p:q] (the hot
    field loop of ``_decode_chunk`` keeps its own inlined copy for speed)."""
    value = shift = 0
    while True:
        if p >= q or shift > max_shift:
            raise _Unexpected
        b = data[p]
        p += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, p
        shift += 7


def _read_tag(data: bytes, p: int, q: int) -> tuple[int, int]:
    """A tag of more than one byte (field numbers >= 16, or a non-minimal encoding)."""
    tag, p = _read_varint(data, p, q, 28)
    if tag >= _U32_LIMIT:
        raise _Unexpected
    return tag, p


class PageMap:
    """The runs of one process, in address order, with their pages-file offsets.

    Runs are kept as four parallel arrays (8 bytes a field), not one object a
    run: a fragmented pagemap of a million runs costs some 28 MiB, not a
    gigabyte. ``runs`` is a sequence view that makes ``Run`` tuples on demand.
    """

    def __init__(self, pagemap_path: str, pages_id: int, runs: Iterable[Run] = ()):
        self.pagemap_path = pagemap_path
        self.pages_id = pages_id
        self._starts = array("Q")
        self._counts = array("Q")
        self._flags = array("I")
        self._offsets = array("q")
        for run in runs:
            self._starts.append(run.start)
            self._counts.append(run.nr_pages)
            self._flags.append(run.flags)
            self._offsets.append(run.file_offset)

    @classmethod
    def _from_arrays(cls, pagemap_path: str, pages_id: int, starts, counts, flags, offsets) -> PageMap:
        pm = cls(pagemap_path, pages_id)
        pm._starts, pm._counts, pm._flags, pm._offsets = starts, counts, flags, offsets
        return pm

    @property
    def runs(self) -> RunList:
        return RunList(self)

    @classmethod
    def from_image(cls, image) -> PageMap:
        """Decode pagemap-N.img straight from the wire, one read, no message per entry.

        Same runs as ``from_entries``. Entries the wire decoder does not expect
        (a corrupt varint, a known field in another wire type, a value out of
        its type's range) go through protobuf, which decodes them or raises the
        same InspectError as the codec. Images whose entries are already decoded
        (maybe edited, by repair) are read from those entries.
        """
        if image.name != "PAGEMAP" or image.raw or not image.known:
            return cls.from_entries(image)
        if image._entries is not None and any(entry.dirty for entry in image._entries):
            return cls.from_entries(image)
        fd = open_regular(image.path)
        try:
            return cls._from_wire(image, fd)
        finally:
            os.close(fd)

    @classmethod
    def from_entries(cls, image) -> PageMap:
        """Decode through protobuf messages, entry by entry (the reference path)."""
        entries = image.entries
        if not entries:
            raise InspectError(image.path, "pagemap has no header entry", 0)
        pages_id = entries[0].message.pages_id
        starts, counts, flags_a, offsets = array("Q"), array("Q"), array("I"), array("q")
        offset = 0
        for entry in entries[1:]:
            msg = entry.message
            flags = effective_flags(msg)
            count = page_count(msg)
            starts.append(msg.vaddr)
            counts.append(count)
            flags_a.append(flags)
            if flags & PE_PRESENT:
                offsets.append(_checked_offset(image.path, offset, entry.offset))
                offset += count * PAGE_SIZE
            else:
                offsets.append(-1)
        return cls._sorted(image.path, pages_id, starts, counts, flags_a, offsets)

    @classmethod
    def _sorted(cls, path, pages_id, starts, counts, flags, offsets) -> PageMap:
        """Runs by address (CRIU writes them so; a stable sort otherwise, as list.sort was)."""
        _check_aligned(path, starts)
        if not all(map(operator.le, starts, itertools.islice(starts, 1, None))):
            np = _numpy_for(len(starts))
            if np is not None:
                order = np.argsort(np.frombuffer(starts, dtype=np.uint64), kind="stable")
                starts, counts, flags, offsets = (
                    array(a.typecode, np.frombuffer(a, dtype=a.typecode)[order].tobytes())
                    for a in (starts, counts, flags, offsets)
                )
            else:
                order = sorted(range(len(starts)), key=starts.__getitem__)
                starts, counts, flags, offsets = (
                    array(a.typecode, map(a.__getitem__, order)) for a in (starts, counts, flags, offsets)
                )
        return cls._from_arrays(path, pages_id, starts, counts, flags, offsets)

    @classmethod
    def _from_wire(cls, image, fd: int) -> PageMap:
        """Read the file in windows of at most ``_WINDOW`` bytes, so a huge broken copy costs what is parsed.

        Errors come in the codec's order: a framing error anywhere in the file
        before an entry that does not decode.
        """
        path = image.path
        kind = image.kind
        try:
            file_size = os.fstat(fd).st_size
        except OSError as exc:
            raise InspectError(path, exc.strerror or str(exc)) from None
        pos = len(image.header)
        index = 0  # of the next entry in the image (0 is the head)
        pages_id = 0
        pending: InspectError | None = None
        starts, counts, flags, offsets = array("Q"), array("Q"), array("I"), array("q")
        np = _numpy_for((file_size - pos) // 16)  # an entry takes some 16 bytes
        file_offset = 0
        while pos < file_size:
            data = pread_exact(fd, min(_WINDOW, file_size - pos), pos, path)
            if np is not None:
                frames, sizes, used = frame_window_numpy(np, data, pos, file_size, path)
            else:
                frames, sizes, used = frame_window(data, pos, file_size, path)
            if not frames:  # one entry longer than the window
                (size,) = _U32.unpack_from(data, 0)
                data = pread_exact(fd, 4 + size, pos, path)
                frames, sizes, used = array("Q", [0]), array("Q", [size]), 4 + size
            if pending is None:
                try:
                    first = 0
                    if index == 0:
                        head = Entry(0, pos, data[4 : 4 + sizes[0]], message_type=(kind.module, kind.head), path=path)
                        pages_id = head.message.pages_id
                        first = 1
                    for lo in range(first, len(frames), _CHUNK):
                        hi = min(lo + _CHUNK, len(frames))
                        decoded = None
                        if np is not None:
                            decoded = _decode_chunk_numpy(np, data, frames[lo:hi], sizes[lo:hi], file_offset)
                        if decoded is None:
                            decoded = _decode_chunk(data, pos, frames, sizes, lo, hi, index, file_offset, path, kind)
                        (s, c, f, o), file_offset = decoded
                        starts += s
                        counts += c
                        flags += f
                        offsets += o
                except InspectError as exc:
                    pending = exc  # unless the framing further on is broken too
            index += len(frames)
            pos += used
        if index == 0:
            raise InspectError(path, "pagemap has no header entry", 0)
        if pending is not None:
            raise pending
        return cls._sorted(path, pages_id, starts, counts, flags, offsets)

    @functools.cached_property
    def page_totals(self) -> tuple[int, int, int]:
        """Pages (present, lazy, in_parent) of the whole pagemap, inside VMAs or not."""
        return _sum_by_flags(self._counts, self._flags)

    @property
    def present_bytes(self) -> int:
        return self.page_totals[0] * PAGE_SIZE

    def require_disjoint(self) -> None:
        """Raise when two runs overlap: bytes laid out by address (a core, a raw dump) would be ambiguous.

        CRIU writes runs in address order and reads them forward only
        (criu/pagemap.c:146 seek_pagemap), so such a pagemap is damaged.
        """
        if self._disjoint:
            return
        ends = [s + c * PAGE_SIZE for s, c in zip(self._starts, self._counts)]
        at = next(i for i in range(1, len(ends)) if self._starts[i] < ends[i - 1])
        raise InspectError(
            self.pagemap_path,
            f"pagemap run at 0x{self._starts[at]:x} overlaps the run before it, "
            f"which ends at 0x{ends[at - 1]:x} (criu reads runs in address order)",
        )

    @functools.cached_property
    def _disjoint(self) -> bool:
        """No run reaches into the next one (what CRIU writes; overlaps are bad input)."""
        np = _numpy_loaded(len(self._starts))
        if np is not None:
            starts = np.frombuffer(self._starts, dtype=np.uint64)
            counts = np.frombuffer(self._counts, dtype=np.uint64)
            if int(starts.max()) < 1 << 63 and int(counts.max()) < 1 << 40:  # no end wraps around in 64 bits
                return bool((starts[:-1] + counts[:-1] * np.uint64(PAGE_SIZE) <= starts[1:]).all())
        ends = map(operator.add, self._starts, map(operator.mul, self._counts, itertools.repeat(PAGE_SIZE)))
        return all(map(operator.le, ends, itertools.islice(self._starts, 1, None)))

    def _index_range(self, start: int, end: int) -> tuple[int, int]:
        """Indices [i, k) of the runs that overlap [start, end), in O(log runs)."""
        starts = self._starts
        i = bisect.bisect_right(starts, start) - 1
        if i < 0:
            i = 0
        k = bisect.bisect_left(starts, end, i)
        # only the first run can start before ``start``: it may end before it too
        if i < k and starts[i] + self._counts[i] * PAGE_SIZE <= start:
            i += 1
        return i, k

    def runs_in(self, start: int, end: int) -> Iterator[Run]:
        i, k = self._index_range(start, end)
        return map(_make_run, zip(self._starts[i:k], self._counts[i:k], self._flags[i:k], self._offsets[i:k]))

    def counts_in(self, start: int, end: int) -> tuple[int, int, int]:
        """Pages (present, lazy, in_parent) within [start, end).

        O(log runs) bisects plus sums over array slices done in C, so counting
        the pages of every VMA costs about one pass over the runs in all.
        """
        i, k = self._index_range(start, end)
        if i >= k:
            return 0, 0, 0
        starts, counts, flags = self._starts, self._counts, self._flags
        if not self._disjoint:
            return _clipped_sum(starts, counts, flags, range(i, k), start, end)
        # runs strictly between the first and the last lie wholly inside [start, end)
        totals = _sum_by_flags(counts[i:k], flags[i:k])
        edges = (i,) if k - i == 1 else (i, k - 1)
        whole = _sum_by_flags(array("Q", map(counts.__getitem__, edges)), array("I", map(flags.__getitem__, edges)))
        clipped = _clipped_sum(starts, counts, flags, edges, start, end)
        return tuple(t - w + c for t, w, c in zip(totals, whole, clipped))


_make_run = functools.partial(tuple.__new__, Run)


def _sum_by_flags(counts, flags) -> tuple[int, int, int]:
    """Pages (present, lazy, in_parent) of parallel count/flag arrays, summed in C."""
    np = _numpy_loaded(len(counts))
    if np is not None:
        c = np.frombuffer(counts, dtype=np.uint64)
        if int(c.max()) < (1 << 63) // len(c):  # the sums fit in 64 bits
            f = np.frombuffer(flags, dtype=np.uint32)
            return tuple(int(c[(f & bit) != 0].sum()) for bit in (PE_PRESENT, PE_LAZY, PE_PARENT))
    present = lazy = parent = 0
    values = set(flags)
    for value in values:
        n = sum(counts) if len(values) == 1 else sum(itertools.compress(counts, map(value.__eq__, flags)))
        if value & PE_PRESENT:
            present += n
        if value & PE_LAZY:
            lazy += n
        if value & PE_PARENT:
            parent += n
    return present, lazy, parent


def _clipped_sum(starts, counts, flags, indices, start: int, end: int) -> tuple[int, int, int]:
    """Pages of the runs at ``indices`` that fall within [start, end), run by run."""
    present = lazy = parent = 0
    for j in indices:
        s = starts[j]
        e = s + counts[j] * PAGE_SIZE
        if e <= start or s >= end:
            continue
        n = (min(e, end) - max(s, start)) // PAGE_SIZE
        f = flags[j]
        if f & PE_PRESENT:
            present += n
        if f & PE_LAZY:
            lazy += n
        if f & PE_PARENT:
            parent += n
    return present, lazy, parent


# Entries decoded per step: bounds the numpy decoder's scratch arrays (some 10 MiB).
_CHUNK = 1 << 14
# Bytes of the pagemap read at a time (a million runs take some 16 MiB).
_WINDOW = 16 << 20
# numpy costs some 80 ms to import: worth it only when already loaded or for big pagemaps.
NUMPY_MIN_ENTRIES = 50_000


def _numpy_loaded(n: int):
    """numpy, for sums and checks over ``n`` runs, if it is loaded already and ``n`` is worth it."""
    return sys.modules.get("numpy") if n >= max(_NUMPY_MIN_RUNS, 1) else None


_NUMPY_MIN_RUNS = 4096


def _numpy_for(entries: int):
    if entries < NUMPY_MIN_ENTRIES and "numpy" not in sys.modules:
        return None
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def _decode_chunk(
    data: bytes, base: int, frames, sizes, lo: int, hi: int, index0: int, file_offset: int, path: str, kind
):
    """Frames lo..hi-1 of ``data`` (the file from ``base``; frame 0 is entry ``index0``) decoded in Python.

    Returns ((starts, counts, flags, offsets), the next pages-file offset).
    """
    starts, counts, flags_a, offsets = array("Q"), array("Q"), array("I"), array("q")
    add_start, add_count, add_flags, add_offset = starts.append, counts.append, flags_a.append, offsets.append
    for frame in range(lo, hi):
        off = frames[frame]
        p = off + 4
        q = p + sizes[frame]
        vaddr = compat = nr_pages = flags = in_parent = 0
        has_flags = has_nr_pages = has_vaddr = has_compat = False
        try:
            while p < q:
                tag = data[p]
                p += 1
                if tag & 0x87:  # not a one-byte varint tag: another wire type or field >= 16
                    if tag >= 0x80:
                        tag, p = _read_tag(data, p - 1, q)
                    p = _skip_field(data, p, q, tag)
                    continue
                if p >= q:
                    raise _Unexpected
                b = data[p]
                p += 1
                if b < 0x80:
                    value = b
                else:
                    value = b & 0x7F
                    shift = 7
                    while True:
                        if p >= q or shift > 63:
                            raise _Unexpected
                        b = data[p]
                        p += 1
                        value |= (b & 0x7F) << shift
                        if b < 0x80:
                            break
                        shift += 7
                    if value >= _U64_LIMIT:
                        raise _Unexpected
                if tag == _TAG_VADDR:
                    vaddr = value
                    has_vaddr = True
                elif tag == _TAG_NR_PAGES:
                    nr_pages = value
                    has_nr_pages = True
                elif tag == _TAG_FLAGS:
                    if value >= _U32_LIMIT:
                        raise _Unexpected
                    flags = value
                    has_flags = True
                elif tag == _TAG_COMPAT_NR_PAGES:
                    if value >= _U32_LIMIT:
                        raise _Unexpected
                    compat = value
                    has_compat = True
                elif tag == _TAG_IN_PARENT:
                    in_parent = value
                elif tag == 0:
                    raise _Unexpected  # field number 0 is invalid
                # other varint fields are unknown: skipped
            if not (has_vaddr and has_compat):
                raise _Unexpected  # required by the schema: protobuf (below) says which is missing
            if in_parent:
                flags = (flags if has_flags else 0) | PE_PARENT
            elif not has_flags:
                flags = PE_PRESENT
            count = nr_pages if has_nr_pages else compat
        except _Unexpected:
            entry = Entry(
                index0 + frame, base + off, data[off + 4 : q], message_type=(kind.module, kind.message), path=path
            )
            msg = entry.message  # raises InspectError if protobuf cannot decode it either
            vaddr, flags, count = msg.vaddr, effective_flags(msg), page_count(msg)
        add_start(vaddr)
        add_count(count)
        add_flags(flags)
        if flags & PE_PRESENT:
            add_offset(_checked_offset(path, file_offset, base + off))
            file_offset += count * PAGE_SIZE
        else:
            add_offset(-1)
    return (starts, counts, flags_a, offsets), file_offset


def _decode_chunk_numpy(np, data: bytes, frames, sizes, file_offset: int):
    """The same entries decoded with whole-array operations, or None to leave them to ``_decode_chunk``.

    A payload of varint fields with one-byte tags is a run of varints that
    alternate tag, value; every byte below 0x80 ends one. Anything else (other
    wire types, long tags or varints, repeated fields, out-of-range values)
    returns None: the chunk is decoded entry by entry instead.
    """
    u64 = np.uint64
    frames = np.frombuffer(frames, dtype=u64).astype(np.int64)
    sizes = np.frombuffer(sizes, dtype=u64).astype(np.int64)
    n = len(frames)
    first, last = int(frames[0]), int(frames[-1] + 4 + sizes[-1])
    region = np.frombuffer(data, dtype=np.uint8, count=last - first, offset=first)
    fields = _uniform_fields(np, region, sizes, n)
    if fields is None:
        fields = _varint_fields(np, region, frames - first, sizes, n)
    if fields is None:
        return None
    compat, has_compat = fields[_TAG_COMPAT_NR_PAGES]
    if not (has_compat.all() and fields[_TAG_VADDR][1].all()):
        return None  # a required field missing: decoded entry by entry, which raises
    flag_values, has_flags = fields[_TAG_FLAGS]
    if len(compat) and max(int(compat.max()), int(flag_values.max())) >= _U32_LIMIT:
        return None
    in_parent = fields[_TAG_IN_PARENT][0] != 0
    nr_pages, has_nr_pages = fields[_TAG_NR_PAGES]
    flags = np.where(
        in_parent,
        np.where(has_flags, flag_values, 0) | PE_PARENT,
        np.where(has_flags, flag_values, PE_PRESENT),
    ).astype(np.uint32)
    counts = np.where(has_nr_pages, nr_pages, compat)
    is_present = (flags & PE_PRESENT) != 0
    if is_present.any() and int(counts[is_present].max()) >= _U32_LIMIT:  # keeps the sums below in 64 bits
        return None
    nbytes = np.where(is_present, counts, 0).astype(np.int64) * PAGE_SIZE
    total = int(nbytes.sum())
    if file_offset + total > _MAX_FILE_OFFSET:
        return None  # decoded entry by entry, which says where it goes wrong
    offsets = np.where(is_present, file_offset + np.cumsum(nbytes) - nbytes, -1).astype(np.int64)
    out = (
        array("Q", fields[_TAG_VADDR][0].tobytes()),
        array("Q", counts.astype(u64).tobytes()),
        array("I", flags.tobytes()),
        array("q", offsets.tobytes()),
    )
    return out, file_offset + total


def _uniform_fields(np, region, sizes, n: int):
    """{tag: (values, present)} when every entry of the chunk has the same size and the same layout
    (where each varint ends, which tag comes where), as a fragmented pagemap's mostly do: each
    field is then a few columns of one (entries x bytes) view, no per-varint arrays. Else None.
    """
    size = int(sizes[0])
    if not size or (sizes != size).any() or len(region) != n * (4 + size):
        return None
    u64 = np.uint64
    rows = region.reshape(n, 4 + size)[:, 4:]
    term = rows < 0x80
    if not (term == term[0]).all():
        return None
    ends = np.flatnonzero(term[0]).tolist()
    if not ends or ends[-1] != size - 1 or len(ends) % 2:
        return None
    starts = [0] + [e + 1 for e in ends[:-1]]
    fields = {}
    for j in range(0, len(starts), 2):
        at = starts[j]
        if ends[j] != at:  # a tag of more than one byte
            return None
        column = rows[:, at]
        tag = int(column[0])
        if tag & 7 or not tag or (column != tag).any():
            return None
        lo, hi = starts[j + 1], ends[j + 1] + 1
        if hi - lo > 9:
            return None
        if tag not in _KNOWN_TAGS:
            continue  # an unknown varint field: skipped
        if tag in fields:  # a field twice in one entry
            return None
        value = rows[:, lo] & np.uint8(0x7F)
        value = value.astype(u64)
        for k in range(1, hi - lo):
            value |= (rows[:, lo + k] & np.uint8(0x7F)).astype(u64) << u64(7 * k)
        fields[tag] = value, np.ones(n, dtype=bool)
    for tag in _KNOWN_TAGS:
        if tag not in fields:
            fields[tag] = np.zeros(n, dtype=u64), np.zeros(n, dtype=bool)
    return fields


def _varint_fields(np, region, frames, sizes, n: int):
    """{tag: (values, present)} of a chunk of any layout of one-byte tags and varints, or None.

    A payload of varint fields with one-byte tags is a run of varints that
    alternate tag, value; every byte below 0x80 ends one.
    """
    u64 = np.uint64
    keep = np.ones(len(region), dtype=bool)
    keep[(frames[:, None] + np.arange(4)).ravel()] = False  # the u32 sizes
    payload = region[keep]
    ends_at = np.cumsum(sizes)  # of each entry's payload, in ``payload``
    term = payload < 0x80
    nonempty = sizes > 0
    if not term[ends_at[nonempty] - 1].all():  # a varint runs past its entry: not the simple layout
        return None
    ends = np.flatnonzero(term)
    vstart = np.empty_like(ends)
    vstart[:1] = 0
    vstart[1:] = ends[:-1] + 1
    vlen = ends - vstart + 1
    if len(ends) and vlen.max() > 9:  # 9 bytes hold 63 bits: no overflow below
        return None
    shift = (np.arange(len(payload)) - np.repeat(vstart, vlen)) * 7
    parts = (payload & 0x7F).astype(u64) << shift.astype(u64)
    values = np.add.reduceat(parts, vstart) if len(vstart) else parts[:0]
    seg_entry = np.searchsorted(ends_at, vstart, side="right")  # which entry each varint is in
    if (np.bincount(seg_entry, minlength=n) & 1).any():
        return None
    tags, vals, entry_of = values[0::2], values[1::2], seg_entry[0::2]
    if (vlen[0::2] != 1).any() or (tags & 7).any() or not tags.all():
        return None
    fields = {}
    for tag in _KNOWN_TAGS:
        hit = tags == tag
        where = entry_of[hit]
        if len(where) > 1 and not (np.diff(where) > 0).all():  # a field twice in one entry
            return None
        value = np.zeros(n, dtype=u64)
        value[where] = vals[hit]
        present = np.zeros(n, dtype=bool)
        present[where] = True
        fields[tag] = value, present
    return fields


def _check_aligned(path: str, starts: array) -> None:
    """CRIU's pagemap runs start on page boundaries (vaddr from the kernel's pagemap walk); others are damage."""
    np = _numpy_for(len(starts))
    if np is not None:
        bad = np.flatnonzero(np.frombuffer(starts, dtype=np.uint64) & np.uint64(PAGE_SIZE - 1))
        first = int(bad[0]) if len(bad) else None
    else:
        first = next((i for i, s in enumerate(starts) if s % PAGE_SIZE), None)
    if first is not None:
        raise InspectError(path, f"pagemap entry {first + 1}: vaddr 0x{starts[first]:x} is not page-aligned")


def pages_size_error(path: str, size: int, present_bytes: int) -> InspectError:
    """The one message for a pages file whose size disagrees with its pagemap.

    Used by the size check and by reads past the end alike, so one short file
    is one problem, however many reads ran into it.
    """
    text = (
        f"size {size} does not match the pagemap's {present_bytes // PAGE_SIZE} present pages ({present_bytes} bytes)"
    )
    if size < present_bytes:
        text += ": pages file is shorter than its pagemap"
    return InspectError(path, text)


def _checked_offset(path: str, offset: int, at: int) -> int:
    if offset > _MAX_FILE_OFFSET:
        raise InspectError(
            path, f"present pages before this entry add up to {offset} bytes, more than any pages file", at
        )
    return offset


class RunList(Sequence):
    """A read-only view of a PageMap's runs as ``Run`` tuples, made on access."""

    __slots__ = ("_pm",)

    def __init__(self, pm: PageMap):
        self._pm = pm

    def __len__(self) -> int:
        return len(self._pm._starts)

    def __getitem__(self, index):
        pm = self._pm
        if isinstance(index, slice):
            return list(map(_make_run, zip(pm._starts[index], pm._counts[index], pm._flags[index], pm._offsets[index])))
        return Run(pm._starts[index], pm._counts[index], pm._flags[index], pm._offsets[index])

    def __iter__(self) -> Iterator[Run]:
        pm = self._pm
        return map(_make_run, zip(pm._starts, pm._counts, pm._flags, pm._offsets))

    def __eq__(self, other) -> bool:
        if isinstance(other, (RunList, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __repr__(self) -> str:
        return f"RunList({len(self)} runs)"


class PagesFile:
    """A read-only mmap of pages-ID.img, opened on first read."""

    def __init__(self, path: str):
        self.path = path
        self._map: mmap.mmap | None = None
        self.size = regular_size(path)

    def slice(self, offset: int, length: int) -> bytes:
        if offset + length > self.size:
            raise InspectError(
                self.path,
                f"pages file is shorter than its pagemap: needs {offset + length} bytes, has {self.size}",
                offset,
            )
        if self._map is None:
            self._map = self._mmap()
        return self._map[offset : offset + length]

    def view(self):
        if self._map is None and self.size:
            self._map = self._mmap()
        return self._map

    def _mmap(self) -> mmap.mmap:
        with open_regular_file(self.path) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size != self.size:
                raise InspectError(self.path, f"pages file changed size while being read ({self.size} -> {size} bytes)")
            try:
                return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError) as exc:
                raise InspectError(self.path, f"cannot map the pages file: {exc}") from None

    def release(self, offset: int, length: int) -> None:
        """Drop the page-table entries of [offset, offset+length) of the mapping (clean, shared: they refault).

        A scan that has passed a range calls this, so the mapped pages of a
        large pages file do not pile up in the process's RSS.
        """
        m = self._map
        lo = offset - offset % PAGE_SIZE
        if m is None or not hasattr(mmap, "MADV_DONTNEED") or length <= 0:
            return
        try:
            m.madvise(mmap.MADV_DONTNEED, lo, min(length + offset - lo, self.size - lo))
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None


class PageReader:
    """Bytes of one process's address range, following PE_PARENT into pre-dumps."""

    def __init__(self, checkpoint: Checkpoint, pid: int):
        self.checkpoint = checkpoint
        self.pid = pid
        self.pagemap = checkpoint.pagemap(pid)
        self._pages: PagesFile | None = None
        self._parent: PageReader | None = None

    @property
    def pages_file(self) -> PagesFile:
        if self._pages is None:
            self._pages = self.checkpoint.pages_file(self.pagemap.pages_id)
        return self._pages

    @property
    def parent(self) -> PageReader:
        if self._parent is None:
            parent = self.checkpoint.parent
            if parent is None:
                raise InspectError(
                    self.pagemap.pagemap_path, "pages are marked PE_PARENT but the checkpoint has no parent link"
                )
            self._parent = PageReader(parent, self.pid)
        return self._parent

    def _slice(self, offset: int, length: int) -> bytes:
        pf = self.pages_file
        if offset + length > pf.size:
            raise pages_size_error(pf.path, pf.size, self.pagemap.present_bytes)
        return pf.slice(offset, length)

    def page(self, addr: int) -> tuple[str, bytes | None]:
        """One page: (where, bytes). where is present/parent/shared/lazy/absent."""
        runs = list(self.pagemap.runs_in(addr, addr + PAGE_SIZE))
        if not runs:
            shared = next(self.shared_extents(addr, addr + PAGE_SIZE), None)
            if shared is not None:
                return "shared", shared.pages.slice(shared.offset, PAGE_SIZE)
            return "absent", None
        run = runs[0]
        if run.flags & PE_PRESENT:
            return "present", self._slice(run.file_offset + (addr - run.start), PAGE_SIZE)
        if run.flags & PE_PARENT:
            where, data = self.parent.page(addr)
            return ("parent" if data is not None else where), data
        return "lazy", None

    def read(self, start: int, length: int, fill: bytes | None = b"\0") -> bytes:
        """Bytes of [start, start+length). Missing pages are filled (or raise if fill is None)."""
        out = bytearray()
        addr = start
        end = start + length
        while addr < end:
            page_start = addr - addr % PAGE_SIZE
            chunk_end = min(end, page_start + PAGE_SIZE)
            where, data = self.page(page_start)
            if data is None:
                if fill is None:
                    raise InspectError(
                        self.pagemap.pagemap_path,
                        f"page 0x{page_start:x} of pid {self.pid} is {where}, not in the images",
                    )
                out += fill * (chunk_end - addr)
            else:
                out += data[addr - page_start : chunk_end - page_start]
            addr = chunk_end
        return bytes(out)

    def extents(self, start: int = 0, end: int = 1 << 64) -> Iterator[Extent]:
        """Where the bytes of every page with content in [start, end) lie: runs of one pages file, in address
        order, the process's shared anonymous memory included (``where`` "shared").

        Nothing is read: a scanner maps the file and scans the extents in place.
        A run that reaches past the end of its pages file yields its part inside
        the file, then raises the pages file's error.
        """
        return heapq.merge(self._own_extents(start, end), self.shared_extents(start, end), key=_addr)

    def shared_extents(self, start: int = 0, end: int = 1 << 64) -> Iterator[Extent]:
        """Extents of the shared anonymous VMAs this process is the first of the tree to map
        (``Checkpoint.shared_memory``): their pages are in pagemap-shmem-ID.img's pages file."""
        for vma, pm in self.checkpoint.shared_memory(self.pid):
            lo, hi = max(vma.start, start), min(vma.end, end)
            if lo >= hi:
                continue
            first = vma.pgoff + lo - vma.start  # offsets in the shared object
            for run in pm.runs_in(first, first + hi - lo):
                if not run.flags & PE_PRESENT:
                    continue
                a, b = max(run.start, first), min(run.end, first + hi - lo)
                yield from _in_file(
                    vma.start + a - vma.pgoff,
                    b - a,
                    "shared",
                    self.checkpoint.pages_file(pm.pages_id),
                    run.file_offset + (a - run.start),
                    pm,
                )

    def iter_shared(self, start: int = 0, end: int = 1 << 64) -> Iterator[tuple[int, bytes, str]]:
        """(address, page bytes, "shared") for every page of ``shared_extents``, in address order."""
        for ext in self.shared_extents(start, end):
            for at in range(0, ext.length, PAGE_SIZE):
                yield ext.addr + at, ext.pages.slice(ext.offset + at, PAGE_SIZE), "shared"

    def _own_extents(self, start: int, end: int) -> Iterator[Extent]:
        for run in self.pagemap.runs_in(start, end):
            lo, hi = max(run.start, start), min(run.end, end)
            if run.flags & PE_PRESENT:
                yield from _in_file(
                    lo, hi - lo, "present", self.pages_file, run.file_offset + (lo - run.start), self.pagemap
                )
            elif run.flags & PE_PARENT:
                for ext in self.parent._own_extents(lo, hi):  # (shared memory is not in any run)
                    yield ext._replace(where="parent")

    def iter_present(self, start: int = 0, end: int = 1 << 64) -> Iterator[tuple[int, bytes, str]]:
        """Yield (address, page bytes, where) for every page with content in [start, end)."""
        for run in self.pagemap.runs_in(start, end):
            lo, hi = max(run.start, start), min(run.end, end)
            if run.flags & PE_PRESENT:
                base = run.file_offset + (lo - run.start)
                n = (hi - lo) // PAGE_SIZE
                # read a run in bounded chunks
                step = 256
                for i in range(0, n, step):
                    k = min(step, n - i)
                    blob = self._slice(base + i * PAGE_SIZE, k * PAGE_SIZE)
                    for j in range(k):
                        yield lo + (i + j) * PAGE_SIZE, blob[j * PAGE_SIZE : (j + 1) * PAGE_SIZE], "present"
            elif run.flags & PE_PARENT:
                for addr, data, _ in self.parent.iter_present(lo, hi):
                    yield addr, data, "parent"
