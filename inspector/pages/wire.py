"""A pagemap image read straight off the protobuf wire, into parallel arrays of runs.

The file is read in windows (it is small next to the pages), its u32-size
framing walked, and each entry's fields read off the wire: by numpy
whole-array operations where numpy is at hand and the layout is CRIU's usual
one, else byte by byte in Python. An entry the wire decoder does not expect
goes through protobuf, which decodes it or raises the codec's error.
"""

from __future__ import annotations

import os
from array import array
from types import ModuleType
from typing import Any

from ..codec.image import U32, Entry, Image, frame_window, frame_window_numpy, pread_exact
from ..errors import InspectError
from ..model.names import PAGE_SIZE, PE_PARENT, PE_PRESENT
from . import numpy_gate

# Four parallel arrays, one item a run: start address, page count, flags, offset in the pages file (or -1).
RunColumns = tuple["array[int]", "array[int]", "array[int]", "array[int]"]
# numpy is optional (numpy_gate) and reached as a module object: its arrays go untyped
NumpyArray = Any
# A chunk's fields as the numpy decoder reads them: {tag: (values, present)}, one item an entry.
ChunkFields = dict[int, tuple[NumpyArray, NumpyArray]]

# Entries decoded per step: bounds the numpy decoder's scratch arrays (some 10 MiB).
_CHUNK = 1 << 14
# Bytes of the pagemap read at a time (a million runs take some 16 MiB).
_WINDOW = 16 << 20


def effective_flags(msg: Any) -> int:  # PagemapEntry (pagemap.proto)
    """Flags of a pagemap entry, for images of any CRIU version.

    Old images say ``in_parent`` and no flags (meaning present); CRIU >= 4.2
    writes flags and the page count in field 5.
    """
    if msg.HasField("in_parent") and msg.in_parent:
        return (msg.flags if msg.HasField("flags") else 0) | PE_PARENT
    if not msg.HasField("flags"):
        return PE_PRESENT
    return msg.flags


def page_count(msg: Any) -> int:  # PagemapEntry (pagemap.proto)
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


def decode_pagemap(image: Image, fd: int) -> tuple[int, RunColumns]:
    """(pages_id, runs in file order) of pagemap ``image`` open as ``fd``, same as protobuf would give.

    The file is read in windows of at most ``_WINDOW`` bytes, so a huge broken
    copy costs what is parsed. Errors come in the codec's order: a framing
    error anywhere in the file before an entry that does not decode.
    """
    path = image.path
    kind = image.kind
    assert kind is not None and kind.module and kind.message and kind.head  # PAGEMAP's, from PageMap.from_image
    head_type, entry_type = (kind.module, kind.head), (kind.module, kind.message)
    try:
        file_size = os.fstat(fd).st_size
    except OSError as exc:
        raise InspectError(path, exc.strerror or str(exc)) from None
    pos = len(image.header)
    index = 0  # of the next entry in the image (0 is the head)
    pages_id = 0
    pending: InspectError | None = None
    starts, counts, flags, offsets = array("Q"), array("Q"), array("I"), array("q")
    np = numpy_gate.numpy_for((file_size - pos) // 16)  # an entry takes some 16 bytes
    file_offset = 0
    while pos < file_size:
        data = pread_exact(fd, min(_WINDOW, file_size - pos), pos, path)
        if np is not None:
            frames, sizes, used = frame_window_numpy(np, data, pos, file_size, path)
        else:
            frames, sizes, used = frame_window(data, pos, file_size, path)
        if not frames:  # one entry longer than the window
            (size,) = U32.unpack_from(data, 0)
            data = pread_exact(fd, 4 + size, pos, path)
            frames, sizes, used = array("Q", [0]), array("Q", [size]), 4 + size
        if pending is None:
            try:
                first = 0
                if index == 0:
                    head = Entry(0, pos, data[4 : 4 + sizes[0]], message_type=head_type, path=path)
                    pages_id = head.message.pages_id
                    first = 1
                for lo in range(first, len(frames), _CHUNK):
                    hi = min(lo + _CHUNK, len(frames))
                    decoded = None
                    if np is not None:
                        decoded = _decode_chunk_numpy(np, data, frames[lo:hi], sizes[lo:hi], file_offset)
                    if decoded is None:
                        decoded = _decode_chunk(data, pos, frames, sizes, lo, hi, index, file_offset, path, entry_type)
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
    return pages_id, (starts, counts, flags, offsets)


def _decode_chunk(
    data: bytes,
    base: int,
    frames: array[int],
    sizes: array[int],
    lo: int,
    hi: int,
    index0: int,
    file_offset: int,
    path: str,
    entry_type: tuple[str, str],
) -> tuple[RunColumns, int]:
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
            entry = Entry(index0 + frame, base + off, data[off + 4 : q], message_type=entry_type, path=path)
            msg = entry.message  # raises InspectError if protobuf cannot decode it either
            vaddr, flags, count = msg.vaddr, effective_flags(msg), page_count(msg)
        add_start(vaddr)
        add_count(count)
        add_flags(flags)
        if flags & PE_PRESENT:
            add_offset(checked_offset(path, file_offset, base + off))
            file_offset += count * PAGE_SIZE
        else:
            add_offset(-1)
    return (starts, counts, flags_a, offsets), file_offset


def _decode_chunk_numpy(
    np: ModuleType, data: bytes, frame_offsets: array[int], payload_sizes: array[int], file_offset: int
) -> tuple[RunColumns, int] | None:
    """The same entries decoded with whole-array operations, or None to leave them to ``_decode_chunk``.

    A payload of varint fields with one-byte tags is a run of varints that
    alternate tag, value; every byte below 0x80 ends one. Anything else (other
    wire types, long tags or varints, repeated fields, out-of-range values)
    returns None: the chunk is decoded entry by entry instead.
    """
    u64 = np.uint64
    frames = np.frombuffer(frame_offsets, dtype=u64).astype(np.int64)
    sizes = np.frombuffer(payload_sizes, dtype=u64).astype(np.int64)
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


def _uniform_fields(np: ModuleType, region: NumpyArray, sizes: NumpyArray, n: int) -> ChunkFields | None:
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


def _varint_fields(
    np: ModuleType, region: NumpyArray, frames: NumpyArray, sizes: NumpyArray, n: int
) -> ChunkFields | None:
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


def checked_offset(path: str, offset: int, at: int) -> int:
    if offset > _MAX_FILE_OFFSET:
        raise InspectError(
            path, f"present pages before this entry add up to {offset} bytes, more than any pages file", at
        )
    return offset
