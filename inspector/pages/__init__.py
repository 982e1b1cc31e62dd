"""A process's memory from its pagemap and pages files: decoded off the wire, read through mmaps.

``wire`` decodes ``pagemap-PID.img`` into parallel arrays of runs; ``pagemap``
holds them as ``PageMap`` (runs by address, page counts, a read-only numpy
view); ``reader`` maps the pages files (``PagesFile``) and reads a process's
bytes (``PageReader``), following pre-dump parents; ``numpy_gate`` decides
when numpy is worth its import. The names callers use are re-exported here.
"""

from __future__ import annotations

from .pagemap import PageMap, Run, RunArrays
from .reader import Extent, PagedCheckpoint, PageReader, PagesFile, pages_size_error
from .wire import effective_flags, page_count

__all__ = [
    "Extent",
    "PageMap",
    "PageReader",
    "PagedCheckpoint",
    "PagesFile",
    "Run",
    "RunArrays",
    "effective_flags",
    "page_count",
    "pages_size_error",
]
