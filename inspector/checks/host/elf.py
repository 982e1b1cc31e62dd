"""The GNU build-id of an ELF file on this machine: what ``criu restore --file-validation buildid`` compares.

Only the ELF header, the program header table and the PT_NOTE segments are
read, each bounded, so a hostile or huge file costs a few reads.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from ...errors import InspectError
from ...safeio import open_regular_file

ELF_MAGIC = b"\x7fELF"
ELF_HEADER_SIZE = 64  # the 64-bit header; a 32-bit one is shorter and fits in it
PT_NOTE = 4
NT_GNU_BUILD_ID = 3
MAX_PROGRAM_HEADERS = 256
MIN_PROGRAM_HEADER_SIZE = 32
MAX_NOTE_SEGMENT = 1 << 16


def elf_build_id(path: str) -> bytes | None:
    """The NT_GNU_BUILD_ID note of an ELF file (what criu compares), or None."""
    try:
        with open_regular_file(path) as fh:  # a FIFO or device on the host must not block or stream
            return _read_build_id(fh)
    except (OSError, InspectError, struct.error):
        return None


def _read_build_id(fh: BinaryIO) -> bytes | None:
    head = fh.read(ELF_HEADER_SIZE)
    if len(head) < ELF_HEADER_SIZE or head[:4] != ELF_MAGIC:
        return None
    is64 = head[4] == 2
    endian = "<" if head[5] == 1 else ">"
    if is64:
        (phoff,) = struct.unpack_from(endian + "Q", head, 32)
        phentsize, phnum = struct.unpack_from(endian + "HH", head, 54)
    else:
        (phoff,) = struct.unpack_from(endian + "I", head, 28)
        phentsize, phnum = struct.unpack_from(endian + "HH", head, 42)
    if phnum > MAX_PROGRAM_HEADERS or phentsize < MIN_PROGRAM_HEADER_SIZE:
        return None
    fh.seek(phoff)
    table = fh.read(phentsize * phnum)
    for offset, size in _note_segments(table, phentsize, phnum, endian, is64):
        if size > MAX_NOTE_SEGMENT:
            continue
        fh.seek(offset)
        build_id = _gnu_build_id(fh.read(size), endian)
        if build_id is not None:
            return build_id
    return None


def _note_segments(table: bytes, phentsize: int, phnum: int, endian: str, is64: bool) -> Iterator[tuple[int, int]]:
    """(file offset, size) of each PT_NOTE segment, in table order; stops at a truncated table."""
    for i in range(phnum):
        entry = table[i * phentsize : (i + 1) * phentsize]
        if len(entry) < phentsize:
            return
        (p_type,) = struct.unpack_from(endian + "I", entry, 0)
        if p_type != PT_NOTE:
            continue
        if is64:
            (offset,) = struct.unpack_from(endian + "Q", entry, 8)
            (size,) = struct.unpack_from(endian + "Q", entry, 32)
        else:
            (offset,) = struct.unpack_from(endian + "I", entry, 4)
            (size,) = struct.unpack_from(endian + "I", entry, 16)
        yield offset, size


def _gnu_build_id(notes: bytes, endian: str) -> bytes | None:
    """The descriptor of the first GNU build-id note among ``notes`` (one segment's bytes)."""
    pos = 0
    while pos + 12 <= len(notes):
        namesz, descsz, ntype = struct.unpack_from(endian + "III", notes, pos)
        name_end = pos + 12 + ((namesz + 3) & ~3)
        desc_end = name_end + ((descsz + 3) & ~3)
        if ntype == NT_GNU_BUILD_ID and notes[pos + 12 : pos + 12 + namesz].rstrip(b"\0") == b"GNU":
            return notes[name_end : name_end + descsz]
        pos = desc_end
    return None
