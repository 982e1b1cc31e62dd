"""safeio.write_atomic, the writer of every -o: what it refuses, what it leaves, the modes it gives."""

from __future__ import annotations

import ctypes
import errno
import os
import stat

import pytest

from inspector import safeio
from inspector.errors import InspectError


def _temporaries(folder) -> list[str]:
    return [n for n in os.listdir(folder) if n.startswith(".criu-inspect-")]


def test_new_file_replaced_file_and_refusals(tmp_path):
    out = tmp_path / "out"
    safeio.write_atomic(str(out), lambda fh: fh.write(b"one"))
    assert out.read_bytes() == b"one" and stat.S_IMODE(out.stat().st_mode) == 0o666 & ~_umask()
    with pytest.raises(InspectError, match="already exists: give --force"):
        safeio.write_atomic(str(out), lambda fh: fh.write(b"two"), replace=False)
    out.chmod(0o640)
    safeio.write_atomic(str(out), lambda fh: fh.write(b"two"))
    assert out.read_bytes() == b"two" and stat.S_IMODE(out.stat().st_mode) == 0o640  # a replaced file keeps its mode
    safeio.write_atomic(str(out), lambda fh: fh.write(b"three"), private=True)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # memory contents: never readable by others
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InspectError, match="not a regular file: a FIFO"):
        safeio.write_atomic(str(fifo), lambda fh: fh.write(b"x"))
    with pytest.raises(InspectError, match="its folder does not exist"):
        safeio.write_atomic(str(tmp_path / "no" / "out"), lambda fh: fh.write(b"x"))
    assert _temporaries(tmp_path) == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / "out"
    out.write_bytes(b"precious")

    def fail(fh):
        fh.write(b"half")
        raise InspectError("in.img", "damaged")

    with pytest.raises(InspectError, match="damaged"):
        safeio.write_atomic(str(out), fail)
    assert out.read_bytes() == b"precious" and _temporaries(tmp_path) == []


def test_no_replace_works_without_hard_links_or_renameat2(tmp_path, monkeypatch):
    """A filesystem with neither (some FUSE mounts): the name is claimed with O_EXCL, then renamed over."""

    class NoRenameat2:
        def __init__(self, *args, **kwargs):
            pass

    def no_link(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(ctypes, "CDLL", NoRenameat2)
    monkeypatch.setattr(os, "link", no_link)
    out = tmp_path / "out.img"
    safeio.write_atomic(str(out), lambda fh: fh.write(b"image"), replace=False)
    assert out.read_bytes() == b"image" and _temporaries(tmp_path) == []
    with pytest.raises(InspectError, match="already exists"):
        safeio.write_atomic(str(out), lambda fh: fh.write(b"other"), replace=False)
    assert out.read_bytes() == b"image" and _temporaries(tmp_path) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
