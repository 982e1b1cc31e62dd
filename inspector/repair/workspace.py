"""The in-memory copy a repair edits: images, recorded changes, notes.

The workspace opens its own ``Image`` objects (never the ones a ``Checkpoint``
caches), so the model of the input stays a faithful picture of the input
while fixes edit. Every edit goes through a method here that records a
``Change`` (image, entry, field: old -> new); nothing is written until
``writer.write_output`` runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..codec.image import Entry, Image, open_image
from ..errors import InspectError
from ..model.checkpoint import Checkpoint


class FixRefused(Exception):
    """A fix cannot be applied safely to this checkpoint: nothing is changed."""

    def __init__(self, fix: str, reason: str):
        self.fix = fix
        self.reason = reason
        super().__init__(f"{fix}: {reason}")


@dataclass
class Change:
    """One edit: shown to the user and checked against the written output."""

    fix: str
    image: str  # file name in the checkpoint directory
    entry: str  # which entry, in words ("#0 fd 1", "new", "" for the whole file)
    field: str  # dotted field path, or "" for added/deleted entries and files
    old: object = None
    new: object = None
    action: str = "set"  # set | add-entry | delete-entry | delete-file | patch-pages | relink


@dataclass
class Note:
    """Something the user must know or do: a fix's consequence, a condition at restore time."""

    fix: str
    level: str  # "warning" (the process loses/changes something), "action" (do this at restore), "info"
    text: str


@dataclass
class PagesPatch:
    """Bytes to overwrite in a copy of pages-N.img (the input file is never touched)."""

    offset: int
    data: bytes
    what: str = ""


class Workspace:
    def __init__(self, path: str | os.PathLike):
        self.origin = os.fspath(path)  # what the user named: a directory or an archive
        self.checkpoint = Checkpoint(self.origin)  # the input as it is; read-only model for analysis
        self.path = self.checkpoint.path  # its images (an archive's, extracted for as long as the checkpoint lives)
        _ = self.checkpoint.pstree  # a directory without a process tree is no checkpoint to repair
        damage = self.checkpoint.validate()
        if damage:  # a copy of a damaged checkpoint would carry the damage on under a repaired name
            raise InspectError(
                damage[0].path,
                f"cannot repair a damaged checkpoint: {damage[0].reason}"
                + (f" (and {len(damage) - 1} more problems: criu-inspect show lists them)" if len(damage) > 1 else ""),
                damage[0].offset,
            )
        self._images: dict[str, Image] = {}
        self.changes: list[Change] = []
        self.notes: list[Note] = []
        self.deleted: set[str] = set()
        self.dirty: set[str] = set()  # images whose entries changed
        self.pages_patches: dict[str, list[PagesPatch]] = {}
        self.fix = ""  # the fix currently applying (labels its changes and notes)
        self.target_hints: dict = {}  # what fixes learnt of the restore target (e.g. bounding_set, uid)
        self.applied: list[str] = []  # the fixes applied, in order (for the repair record)

    # --- reading -------------------------------------------------------------
    @property
    def files(self) -> list[str]:
        return self.checkpoint.files

    def has(self, name: str) -> bool:
        return name in self.files and name not in self.deleted

    def image(self, name: str) -> Image:
        img = self._images.get(name)
        if img is None:
            if not self.has(name):
                raise InspectError(os.path.join(self.path, name), "missing")
            img = open_image(os.path.join(self.path, name))
            self._images[name] = img
        return img

    def opened(self) -> dict[str, Image]:
        return self._images

    def images_of_kind(self, kind: str) -> list[str]:
        """Names of the images of one kind (by magic), e.g. all FDINFO images."""
        out = []
        for name in self.files:
            if name in self.deleted or not name.endswith(".img"):
                continue
            full = os.path.join(self.path, name)
            if os.path.isdir(full):
                continue
            try:
                img = self.image(name)
            except InspectError:
                continue
            if img.name == kind:
                out.append(name)
        return out

    def task_ids(self) -> list[tuple[int, int]]:
        """(pid, tid) of every thread: each has its own core-TID.img with its creds."""
        out = []
        for entry in self.checkpoint.pstree:
            for tid in list(entry.threads) or [entry.pid]:
                out.append((entry.pid, tid))
        return out

    # --- editing -------------------------------------------------------------
    def set_field(self, name: str, entry: Entry, path: str, new, label: str = "") -> bool:
        """Set a (dotted) field of an entry's message; record old -> new. False if already equal."""
        msg = entry.message
        *parents, leaf = path.split(".")
        holder = msg
        for part in parents:
            holder = getattr(holder, part)
        old = getattr(holder, leaf)
        fdesc = holder.DESCRIPTOR.fields_by_name[leaf]
        if fdesc.is_repeated:
            old = list(old)
            if old == list(new):
                return False
            del getattr(holder, leaf)[:]
            getattr(holder, leaf).extend(new)
            new = list(new)
        else:
            was_set = holder.HasField(leaf) if fdesc.has_presence else True
            if old == new and was_set:
                return False
            if not was_set:
                old = None
            setattr(holder, leaf, new)
        entry.set_message(msg)
        self.dirty.add(name)
        if fdesc.enum_type is not None:  # show TTY -> REG, not 11 -> 1
            values = fdesc.enum_type.values_by_number
            old, new = (values[v].name if v in values else v for v in (old, new))
        self.changes.append(Change(self.fix, name, label or f"#{entry.index}", path, old, new))
        return True

    def add_entry(self, name: str, message, label: str, summary: str) -> Entry:
        img = self.image(name)
        entries = img.entries
        if entries:
            message_type = entries[-1].message_type
        else:
            kind = img.kind
            assert kind is not None and kind.module is not None and kind.message is not None  # img.entries parsed
            message_type = (kind.module, kind.message)
        entry = Entry(len(entries), -1, b"", message_type=message_type, path=img.path)
        entry.set_message(message)
        entries.append(entry)
        self.dirty.add(name)
        self.changes.append(Change(self.fix, name, label, "", None, summary, action="add-entry"))
        return entry

    def delete_entry(self, name: str, entry: Entry, label: str, summary: str) -> None:
        img = self.image(name)
        img.entries[:] = [e for e in img.entries if e is not entry]
        self.dirty.add(name)
        self.changes.append(Change(self.fix, name, label, "", summary, None, action="delete-entry"))

    def delete_image(self, name: str, why: str) -> None:
        if not self.has(name):
            return
        self.deleted.add(name)
        self.dirty.discard(name)
        self.changes.append(Change(self.fix, name, "", "", why, None, action="delete-file"))

    def patch_pages(self, name: str, offset: int, data: bytes, what: str, old_preview: str) -> None:
        self.pages_patches.setdefault(name, []).append(PagesPatch(offset, data, what))
        self.changes.append(
            Change(
                self.fix, name, f"offset {offset}", what, old_preview, f"{len(data)} zero bytes", action="patch-pages"
            )
        )

    def relocations(self) -> dict[str, str]:
        """Paths a relocate fix rewrote: as dumped -> as the output has them."""
        return {
            c.old: c.new
            for c in self.changes
            if c.fix == "relocate" and c.field.endswith("name") and isinstance(c.old, str) and isinstance(c.new, str)
        }

    def path_now(self, path: str) -> str:
        """A file path as the output will have it: renamed by an earlier relocate fix, else as dumped."""
        return self.relocations().get(path, path)

    def note(self, level: str, text: str) -> None:
        self.notes.append(Note(self.fix, level, text))

    def close(self) -> None:
        self.checkpoint.close()
