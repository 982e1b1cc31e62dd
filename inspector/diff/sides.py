"""The two sides of a diff, loaded up front so a bad input is blamed on its side.

Everything structural is decoded here, inside ``Side.guard()``: an
``InspectError`` from side A comes out as ``A: FILE: what``. A side whose
model has problems (a broken image, a pages file shorter than its pagemap) is
refused: a diff against half a checkpoint would report noise.
"""

from __future__ import annotations

import contextlib
import os
import re

from ..errors import InspectError
from ..model.checkpoint import Checkpoint


class SideError(InspectError):
    """An InspectError tagged with the side (A or B) it came from."""

    def __init__(self, label: str, inner: InspectError):
        self.label = label
        self.inner = inner
        super().__init__(inner.path, inner.reason, inner.offset)

    def one_line(self) -> str:
        return f"{self.label}: {self.inner.one_line()}"


class Side:
    def __init__(self, label: str, path: str | os.PathLike):
        self.label = label
        self.path = os.fspath(path)
        with self.guard():
            self.cp = Checkpoint(self.path)
            self._load()

    @contextlib.contextmanager
    def guard(self):
        try:
            yield
        except SideError:
            raise
        except InspectError as exc:
            raise SideError(self.label, exc) from None
        except OSError as exc:
            raise SideError(self.label, InspectError(exc.filename or self.path, exc.strerror or str(exc))) from None

    def _load(self) -> None:
        cp = self.cp
        if "pstree.img" not in cp.files:
            raise InspectError(os.path.join(cp.path, "pstree.img"), "missing: not a complete checkpoint")
        _ = cp.pstree
        self.processes = cp.processes
        self.by_pid = {p.pid: p for p in self.processes}
        _ = cp.inventory
        _ = cp.file_locks
        _ = cp.cgroups
        self.mounts = cp.mounts()
        cp.check_pages_sizes()
        cp.parent_chain()  # a broken or looping parent link is an error now, not halfway through the page diff
        if cp.problems:
            self._raise_problems()
        self.cores = {}
        for p in self.processes:
            for tid in p.threads:
                self.cores[tid] = cp.one(f"core-{tid}.img")
            for name in (f"mm-{p.pid}.img", f"fs-{p.pid}.img"):
                cp.one(name)

    def _raise_problems(self) -> None:
        cp = self.cp
        if cp.problems:
            first = cp.problems[0]
            more = len(cp.problems) - 1
            if more:
                raise InspectError(
                    first.path, f"{first.reason} (and {more} more problem{'s' if more > 1 else ''})", first.offset
                )
            raise first

    def one(self, name: str):
        with self.guard():
            return self.cp.one(name)

    def image_names(self) -> list[str]:
        """Image files of the checkpoint (logs and other files are not part of its state)."""
        out = []
        for name in self.cp.files:
            if name.endswith(".img") or re.fullmatch(r"stats-(dump|restore)", name):
                if os.path.isfile(os.path.join(self.cp.path, name)):  # cp.path: the images, wherever they sit
                    out.append(name)
        return out

    def close(self) -> None:
        try:
            self.cp.close()
        except BufferError:  # a view of a pages map outlived an error; the map goes with the process
            pass
