"""The runs of one process's pagemap, kept as parallel arrays (8 bytes a field), not one object a run.

Each ``pagemap-PID.img`` lists runs of pages (vaddr, count, flags). Runs with
PE_PRESENT are stored back to back in ``pages-ID.img``; PE_PARENT runs live in
the pre-dump checkpoint behind the ``parent`` link; PE_LAZY-only runs are not
in any file (a lazy-pages server would serve them). ``PageMap.from_image``
decodes the image off the wire (``wire.decode_pagemap``);
``PageMap.from_entries`` is the protobuf path, kept as the reference.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import operator
import os
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple, overload

from ..codec.image import Image
from ..errors import InspectError
from ..model.names import PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT
from ..safeio import open_regular
from . import numpy_gate
from .wire import checked_offset, decode_pagemap, effective_flags, page_count

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


class Run(NamedTuple):
    """One pagemap run. A tuple, so a PageMap can hand out millions of them cheaply."""

    start: int
    nr_pages: int
    flags: int
    file_offset: int  # offset in the pages file (PE_PRESENT runs), else -1

    @property
    def end(self) -> int:
        return self.start + self.nr_pages * PAGE_SIZE


class RunArrays(NamedTuple):
    """A PageMap's runs as parallel numpy arrays (``PageMap.arrays``), read-only."""

    starts: NDArray[np.uint64]
    counts: NDArray[np.uint64]
    flags: NDArray[np.uint32]
    offsets: NDArray[np.int64]  # in the pages file (PE_PRESENT runs), else -1


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
    def _from_arrays(
        cls,
        pagemap_path: str,
        pages_id: int,
        starts: array[int],
        counts: array[int],
        flags: array[int],
        offsets: array[int],
    ) -> PageMap:
        pm = cls(pagemap_path, pages_id)
        pm._starts, pm._counts, pm._flags, pm._offsets = starts, counts, flags, offsets
        return pm

    @property
    def runs(self) -> RunList:
        return RunList(self)

    @property
    def arrays(self) -> RunArrays:
        """The runs as read-only numpy arrays over the PageMap's own storage (no copy): for whole-array
        work such as ``diff/pagearrays.py``, which must not change a PageMap others share."""
        import numpy as np

        arrays = RunArrays(
            np.frombuffer(self._starts, dtype=np.uint64),
            np.frombuffer(self._counts, dtype=np.uint64),
            np.frombuffer(self._flags, dtype=np.uint32),
            np.frombuffer(self._offsets, dtype=np.int64),
        )
        for column in arrays:
            column.flags.writeable = False
        return arrays

    @classmethod
    def from_image(cls, image: Image) -> PageMap:
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
            pages_id, columns = decode_pagemap(image, fd)
        finally:
            os.close(fd)
        return cls._sorted(image.path, pages_id, *columns)

    @classmethod
    def from_entries(cls, image: Image) -> PageMap:
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
                offsets.append(checked_offset(image.path, offset, entry.offset))
                offset += count * PAGE_SIZE
            else:
                offsets.append(-1)
        return cls._sorted(image.path, pages_id, starts, counts, flags_a, offsets)

    @classmethod
    def _sorted(
        cls, path: str, pages_id: int, starts: array[int], counts: array[int], flags: array[int], offsets: array[int]
    ) -> PageMap:
        """Runs by address (CRIU writes them so; a stable sort otherwise, as list.sort was)."""
        _check_aligned(path, starts)
        if not all(map(operator.le, starts, itertools.islice(starts, 1, None))):
            np = numpy_gate.numpy_for(len(starts))
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
        if self.disjoint:
            return
        ends = [s + c * PAGE_SIZE for s, c in zip(self._starts, self._counts)]
        at = next(i for i in range(1, len(ends)) if self._starts[i] < ends[i - 1])
        raise InspectError(
            self.pagemap_path,
            f"pagemap run at 0x{self._starts[at]:x} overlaps the run before it, "
            f"which ends at 0x{ends[at - 1]:x} (criu reads runs in address order)",
        )

    @functools.cached_property
    def disjoint(self) -> bool:
        """No run reaches into the next one (what CRIU writes; overlaps are bad input)."""
        np = numpy_gate.numpy_loaded(len(self._starts))
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
        if not self.disjoint:
            return _clipped_sum(starts, counts, flags, range(i, k), start, end)
        # runs strictly between the first and the last lie wholly inside [start, end)
        totals = _sum_by_flags(counts[i:k], flags[i:k])
        edges = (i,) if k - i == 1 else (i, k - 1)
        whole = _sum_by_flags(array("Q", map(counts.__getitem__, edges)), array("I", map(flags.__getitem__, edges)))
        clipped = _clipped_sum(starts, counts, flags, edges, start, end)
        present, lazy, parent = (t - w + c for t, w, c in zip(totals, whole, clipped))
        return present, lazy, parent


_make_run = functools.partial(tuple.__new__, Run)


def _sum_by_flags(counts: array[int], flags: array[int]) -> tuple[int, int, int]:
    """Pages (present, lazy, in_parent) of parallel count/flag arrays, summed in C."""
    np = numpy_gate.numpy_loaded(len(counts))
    if np is not None:
        c = np.frombuffer(counts, dtype=np.uint64)
        if int(c.max()) < (1 << 63) // len(c):  # the sums fit in 64 bits
            f = np.frombuffer(flags, dtype=np.uint32)
            present, lazy, parent = (int(c[(f & bit) != 0].sum()) for bit in (PE_PRESENT, PE_LAZY, PE_PARENT))
            return present, lazy, parent
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


def _clipped_sum(
    starts: array[int], counts: array[int], flags: array[int], indices: Iterable[int], start: int, end: int
) -> tuple[int, int, int]:
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


def _check_aligned(path: str, starts: array[int]) -> None:
    """CRIU's pagemap runs start on page boundaries (vaddr from the kernel's pagemap walk); others are damage."""
    np = numpy_gate.numpy_for(len(starts))
    if np is not None:
        bad = np.flatnonzero(np.frombuffer(starts, dtype=np.uint64) & np.uint64(PAGE_SIZE - 1))
        first = int(bad[0]) if len(bad) else None
    else:
        first = next((i for i, s in enumerate(starts) if s % PAGE_SIZE), None)
    if first is not None:
        raise InspectError(path, f"pagemap entry {first + 1}: vaddr 0x{starts[first]:x} is not page-aligned")


class RunList(Sequence[Run]):
    """A read-only view of a PageMap's runs as ``Run`` tuples, made on access."""

    __slots__ = ("_pm",)

    def __init__(self, pm: PageMap) -> None:
        self._pm = pm

    def __len__(self) -> int:
        return len(self._pm._starts)

    @overload
    def __getitem__(self, index: int) -> Run: ...

    @overload
    def __getitem__(self, index: slice) -> list[Run]: ...

    def __getitem__(self, index: int | slice) -> Run | list[Run]:
        pm = self._pm
        if isinstance(index, slice):
            return list(map(_make_run, zip(pm._starts[index], pm._counts[index], pm._flags[index], pm._offsets[index])))
        return Run(pm._starts[index], pm._counts[index], pm._flags[index], pm._offsets[index])

    def __iter__(self) -> Iterator[Run]:
        pm = self._pm
        return map(_make_run, zip(pm._starts, pm._counts, pm._flags, pm._offsets))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (RunList, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __repr__(self) -> str:
        return f"RunList({len(self)} runs)"
