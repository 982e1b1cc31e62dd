"""Write a repaired copy: a temporary directory beside OUT, renamed into place at the end.

Every image goes through the codec (``Image.encode``): untouched ones come
out byte for byte as they were (checked here, a mismatch is a codec bug and
aborts the write). Every other file is copied (``copy_file_range``: a reflink
where the filesystem has them, an in-kernel copy otherwise), so nothing done to
OUT (the ``chown -R`` of an unprivileged restore, criu's --auto-dedup) can
reach the input; ``link=True`` hard-links unchanged pages and large files
instead, where the filesystem allows. The input directory is only ever read.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field

from ..errors import InspectError
from ..model.checkpoint import RECORD_NAME
from ..safeio import rename_noreplace, stale_dirs
from . import record
from .workspace import Workspace

COPY_CHUNK = 1 << 20
# with link=True, unchanged raw data (pages) and other files at least this large are hard-linked
LINK_MIN_SIZE = 64 * 1024


@dataclass
class WriteResult:
    out: str
    written: list[str] = field(default_factory=list)  # re-encoded images (changed or not)
    changed: list[str] = field(default_factory=list)  # images whose bytes differ from the input
    linked: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    symlinks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what the user must know of the copy (text and JSON alike)


def check_output_path(src: str, out: str, force: bool) -> None:
    """Refuse an OUT that is the input, inside it, contains it, or exists (without --force).

    What a SIGKILLed repair to OUT left is cleaned first, so a put-back OUT counts as existing.
    """
    sweep_stale(out)
    src_real = os.path.realpath(src)
    out_real = os.path.realpath(out)
    if out_real == src_real or out_real.startswith(src_real + os.sep):
        raise InspectError(out, "the output must not be the input checkpoint or inside it (inputs are read-only)")
    if src_real.startswith(out_real + os.sep):
        raise InspectError(out, "the output contains the input checkpoint; choose another place")
    if os.path.lexists(out) and not force:
        raise InspectError(out, "already exists (pass --force to replace it)")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise InspectError(out, f"its directory {parent} does not exist")


def write_output(ws: Workspace, out: str | os.PathLike, *, force: bool = False, link: bool = False) -> WriteResult:
    out = os.path.normpath(os.fspath(out))  # "out/" names the same directory as "out"
    check_output_path(ws.origin, out, force)
    parent = os.path.dirname(os.path.abspath(out))
    prefix = f".{os.path.basename(out)}.repair-{os.getpid()}-"
    result = WriteResult(out)
    tmp = None
    try:
        try:
            tmp = tempfile.mkdtemp(prefix=prefix, dir=parent)
        except OSError as exc:
            raise InspectError(out, f"cannot write beside it in {parent}: {exc.strerror or exc}") from None
        _fill(ws, tmp, result, link)
        if ws.applied:
            record.write(tmp, record.build(ws, ws.applied))
        src_mode = stat.S_IMODE(os.stat(ws.path).st_mode)
        os.chmod(tmp, src_mode | stat.S_IRWXU)
        _move_into_place(tmp, out, force)
        if result.linked:
            result.warnings.append(
                f"{', '.join(result.linked)} {'is a hard link' if len(result.linked) == 1 else 'are hard links'} "
                "to the input's: a chown/chmod of the output, or criu restore --auto-dedup, changes the input too "
                "(--link asked for them; without it repair writes copies)"
            )
    except OSError as exc:  # ENOSPC, EDQUOT, EROFS, a /proc or /sys path: one line naming OUT and the cause
        _remove_partial(parent, prefix, tmp)
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        raise InspectError(
            out, f"cannot write the repaired copy: {exc.strerror or exc}{where}; nothing was written"
        ) from None
    except BaseException:
        _remove_partial(parent, prefix, tmp)
        raise
    return result


def _remove_partial(parent: str, prefix: str, tmp: str | None) -> None:
    """Remove this run's partial copy; a signal between mkdtemp's mkdir and its return leaves it unnamed."""
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
        return
    for name in os.listdir(parent):
        if name.startswith(prefix):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)


def sweep_stale(out: str) -> None:
    """Clean what a SIGKILLed repair to ``out`` left beside it (signals it can catch clean up at once).

    ``.OUT.repair-PID-*`` is a partial copy: removed. ``.OUT.old-PID-*`` is the OUT a ``--force``
    run moved aside: removed if the new OUT got into place, moved back to OUT if it did not.
    """
    parent = os.path.dirname(os.path.abspath(out))
    base = os.path.basename(out)
    for stale in stale_dirs(parent, f".{base}.repair-"):
        shutil.rmtree(stale, ignore_errors=True)
    for old in stale_dirs(parent, f".{base}.old-"):
        if os.path.lexists(out):
            shutil.rmtree(old, ignore_errors=True)
        else:
            try:
                rename_noreplace(old, out)
            except OSError:
                pass


def _fill(ws: Workspace, tmp: str, result: WriteResult, link: bool) -> None:
    from ..codec.image import open_image

    for name in ws.files:
        src = os.path.join(ws.path, name)
        dst = os.path.join(tmp, name)
        if name in ws.deleted:
            result.deleted.append(name)
            continue
        if name == RECORD_NAME and ws.applied:
            continue  # an earlier repair's record: the new one carries it on
        if os.path.islink(src):
            result.symlinks.append(_copy_symlink(ws.path, src, dst, tmp, link))
            continue
        if os.path.isdir(src):
            shutil.copytree(src, dst, symlinks=True)
            result.copied.append(name + "/")
            continue
        if name in ws.pages_patches:
            _copy_file(src, dst)
            _patch(dst, ws.pages_patches[name])
            result.patched.append(name)
            continue
        img = ws.opened().get(name)
        if img is None and (name.endswith(".img") or name.startswith("stats-")):
            try:
                img = open_image(src)
            except InspectError:
                img = None
        if img is not None and not img.raw and img.known:
            data = img.encode()  # raises InspectError on a broken image: no repair of what cannot be read
            if name not in ws.dirty:
                with open(src, "rb") as fh:
                    if fh.read() != data:
                        raise InspectError(src, "re-encoding an untouched image changed its bytes (a codec bug)")
            else:
                result.changed.append(name)
            _write_bytes(dst, data, src)
            result.written.append(name)
            continue
        if link and (img is not None and img.raw or os.path.getsize(src) >= LINK_MIN_SIZE):
            try:
                os.link(src, dst)
                result.linked.append(name)
                continue
            except OSError:
                pass  # another filesystem, or protected_hardlinks: copy instead
        _copy_file(src, dst)
        result.copied.append(name)


def _write_bytes(dst: str, data: bytes, like: str) -> None:
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IMODE(os.stat(like).st_mode) | stat.S_IWUSR)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _copy_file(src: str, dst: str) -> None:
    """A copy with copy_file_range(): the kernel shares extents (reflink) where the filesystem can."""
    with open(src, "rb") as fin:
        mode = stat.S_IMODE(os.fstat(fin.fileno()).st_mode) | stat.S_IWUSR
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fout:
            size = os.fstat(fin.fileno()).st_size
            done = 0
            try:
                while done < size:
                    n = os.copy_file_range(fin.fileno(), fout.fileno(), size - done, done, done)
                    if n == 0:
                        break
                    done += n
            except OSError:  # not on this pair of filesystems (EXDEV on old kernels, ENOSYS): plain copy
                fin.seek(done)
                fout.seek(done)
            shutil.copyfileobj(fin, fout, COPY_CHUNK)  # whatever copy_file_range did not do (e.g. a file that grew)


def _patch(dst: str, patches) -> None:
    size = os.path.getsize(dst)
    with open(dst, "r+b") as fh:
        for p in patches:
            if p.offset < 0 or p.offset + len(p.data) > size:
                raise InspectError(dst, f"patch of {len(p.data)} bytes at {p.offset} is outside the file", p.offset)
            fh.seek(p.offset)
            fh.write(p.data)


def _copy_symlink(src_dir: str, src: str, dst: str, tmp: str, link: bool = False) -> str:
    """Keep a (parent) link pointing at the same checkpoint from the new place.

    A link that would still reach it from the output's folder is kept as it is.
    Otherwise the pre-dump chain is embedded: ``OUT/parent`` becomes a directory
    of copies (hard links with ``link``) of the parent's files, recursively,
    because a parent link that leaves the checkpoint's folder is refused when
    the output is read (it could point anywhere).
    """
    target = os.readlink(src)
    text = f"{os.path.basename(src)} -> {target}"
    resolved = os.path.realpath(os.path.join(src_dir, target))
    out_folder = os.path.realpath(os.path.dirname(tmp))
    reaches = not os.path.isabs(target) and os.path.realpath(os.path.join(tmp, target)) == resolved
    inside = os.path.commonpath([resolved, out_folder]) == out_folder
    if reaches and inside:
        os.symlink(target, dst)
        return text
    if os.path.basename(src) == "parent" and os.path.isdir(resolved):
        _embed_checkpoint(resolved, dst, link)
        return f"{text} (embedded as a directory: the link would leave the output's folder)"
    os.symlink(resolved, dst)
    return f"{text} (now {resolved})"


def _embed_checkpoint(src_dir: str, dst: str, link: bool) -> None:
    os.mkdir(dst)
    for name in sorted(os.listdir(src_dir)):
        src = os.path.join(src_dir, name)
        out = os.path.join(dst, name)
        if os.path.islink(src):
            _copy_symlink(src_dir, src, out, dst, link)
        elif os.path.isdir(src):
            shutil.copytree(src, out, symlinks=True)
        else:
            try:
                if not link:
                    raise OSError
                os.link(src, out)
            except OSError:
                _copy_file(src, out)


def _move_into_place(tmp: str, out: str, force: bool) -> None:
    if not force or not os.path.lexists(out):
        try:
            rename_noreplace(tmp, out)
        except FileExistsError:  # created while we wrote (another repair?): theirs stays, ours goes
            raise InspectError(
                out,
                "appeared while this repair was writing (another repair to the same place?): "
                "left as it is; nothing was written (pass --force to replace it)",
            ) from None
        return
    aside = tempfile.mkdtemp(
        prefix=f".{os.path.basename(out)}.old-{os.getpid()}-", dir=os.path.dirname(os.path.abspath(out))
    )
    os.rmdir(aside)
    os.rename(out, aside)
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(aside, out)
        raise
    try:  # OUT is in place: the old one goes (if this fails, the next repair to OUT sweeps it: its pid is ours)
        if os.path.isdir(aside) and not os.path.islink(aside):
            shutil.rmtree(aside)
        else:
            os.unlink(aside)
    except OSError:
        pass
