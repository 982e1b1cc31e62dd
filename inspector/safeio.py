"""Opening input files so that hostile ones cannot hang or stream forever.

A FIFO where an image should be blocks a plain ``open()`` until a writer
comes (never); a symlink to ``/dev/zero`` reads forever; a directory raises
IsADirectoryError deep inside a reader. Every input file is opened here:
non-blocking, then ``fstat``-ed, and anything but a regular file is one
InspectError naming the file.
"""

from __future__ import annotations

import os
import stat

from .errors import InspectError

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def open_regular(path: str) -> int:
    """A read-only fd of ``path``, which must be a regular file (symlinks to one are fine)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InspectError(path, os_reason(exc)) from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:
        os.close(fd)
        raise InspectError(path, os_reason(exc)) from None
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InspectError(path, f"not a regular file: {file_kind(mode)}")
    return fd


def open_regular_file(path: str):
    """``open(path, "rb")`` for input files: a binary file object over ``open_regular``."""
    return os.fdopen(open_regular(path), "rb")


def regular_size(path: str) -> int:
    """The size of a regular input file (a directory, FIFO or device is an InspectError)."""
    fd = open_regular(path)
    try:
        return os.fstat(fd).st_size
    finally:
        os.close(fd)
