"""Where a checkpoint's image files are: the source layer (read-only).

Users hand criu-inspect what they have, not always a bare CRIU image
directory: a Podman/CRI-O container checkpoint directory (``checkpoint/`` next
to ``config.dump`` and ``spec.dump``), the archive ``podman container
checkpoint --export`` or the kubelet writes (the same tree as a tar, tar.gz or
tar.zst), an Open Liberty InstantOn server (``workarea/checkpoint/image/``).
``resolve(path)`` finds the image directory in each and reads the container
metadata that costs nothing (two small JSON files).

Archives are streamed once: only a checkpoint's members are written, to a
private temporary directory (pages files must be real files to be mmapped),
with every name, link and size checked before a byte lands on disk. The
directory is removed by ``cleanup()``, when the handle is collected, or at exit.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import tarfile
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .codec.image import CRIU_IMAGE_NAME
from .errors import InspectError, register_path_alias, unregister_path_alias
from .safeio import open_regular_file, stale_dirs

# files of a container checkpoint next to its checkpoint/ directory (podman, CRI-O, containerd)
CONTAINER_FILES = ("config.dump", "spec.dump", "network.status", "pod.dump", "pod.options", "checkpointed.pods")
IMAGE_DIR_NAMES = ("checkpoint", "pre-checkpoint")
# names CRIU writes in an images directory that do not end in .img
CRIU_OTHER_NAMES = ("stats-dump", "stats-restore", "irmap-cache", "parent", "dump.log", "pre-dump.log", "restore.log")
ROOTFS_DIFF = "rootfs-diff.tar"

MAX_METADATA_BYTES = 8 << 20  # config.dump/spec.dump are a few KiB; anything huge is not metadata
EXTRACT_PREFIX = "criu-inspect-"  # + pid + "-": a SIGKILLed run's extraction is found and removed by the next run
MAX_MEMBERS = 1_000_000  # headers read from one archive, whatever is extracted
# members extracted whose names CRIU does not write (plugins' images, junk): past this many they are counted, not
# written (creating 100,000 junk files costs ~15 s on ext4, and no checkpoint needs them)
MAX_FOREIGN_MEMBERS = 1000
MAX_MEMBER_DEPTH = 32  # directory levels of one member's name: checkpoint archives nest 2-4 deep
MAX_EXPANSION = 1000  # a compressed archive may expand to this many times its size (gzip's limit is ~1032)...
MIN_EXPANSION_BOUND = 4 << 30  # ...or to this, whichever is more: zstd packs a pre-touched, zeroed heap ~30000:1
FREE_SPACE_RESERVE = 64 << 20
MAX_SEARCH_DEPTH = 8  # how deep an extracted tree is searched for images
COPY_CHUNK = 1 << 20

ENV_MAX_EXTRACT = "CRIU_INSPECT_MAX_EXTRACT"


@dataclass
class Source:
    """A resolved checkpoint: where its images are, what holds them, and what the holder says."""

    origin: str  # the path as given
    images_dir: str  # the CRIU image directory (inside a temporary directory for an archive)
    kind: str = "images"  # layout: images, podman, crio, containerd, container, liberty
    archive: str | None = None  # tar, tar.gz, tar.zst, ... when origin is an archive
    images: str = ""  # images_dir relative to origin (inside the archive for one); "" when they are the same
    metadata: dict = field(default_factory=dict)  # container facts (engine, name, id, image, runtime, ...)
    extra_images: dict = field(default_factory=dict)  # image name -> path outside images_dir (podman's stats-dump)
    problems: list = field(default_factory=list)  # InspectError: metadata that could not be read
    archive_path: str | None = None  # the archive file (origin may name a member: ARCHIVE!/DIR)
    _tmp: str | None = None
    _finalizer: weakref.finalize | None = None

    def cleanup(self) -> None:
        """Remove the temporary directory an archive was extracted to (nothing for a directory)."""
        if self._finalizer is not None:
            self._finalizer()

    def shown(self, path: str) -> str:
        """A path under the temporary directory as the user knows it (``ARCHIVE!/member``)."""
        if self._tmp and path and (path == self._tmp or path.startswith(self._tmp + os.sep)):
            assert self.archive_path is not None  # set with _tmp, for an extracted archive
            rel = os.path.relpath(path, self._tmp)
            return self.archive_path if rel == "." else f"{self.archive_path}!/{rel}"
        return path

    def describe(self) -> str:
        """One line for the show header, e.g. 'podman container checkpoint (tar.zst archive)'."""
        what = {
            "images": "CRIU image directory",
            "podman": "Podman container checkpoint",
            "crio": "CRI-O container checkpoint",
            "containerd": "containerd container checkpoint",
            "container": "container checkpoint",
            "liberty": "Open Liberty InstantOn checkpoint",
        }.get(self.kind, self.kind)
        if self.archive:
            what += f" ({self.archive} archive)"
        if self.images:
            what += f", images in {self.images}/"
        return what

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "archive": self.archive,
            "images": self.images,
            "container": dict(self.metadata) if self.metadata else None,
        }


def resolve(path: str | os.PathLike) -> Source:
    """Find the images of what ``path`` names: a directory (of any known layout) or an archive."""
    origin = os.fspath(path)
    if not os.path.exists(origin):
        inside = _split_member(origin)
        if inside is not None:  # ARCHIVE!/DIR: one checkpoint of an archive that holds several
            archive, member = inside
            fmt = archive_format(archive)
            if fmt is None:
                raise InspectError(archive, "not a tar, tar.gz or tar.zst archive (in " + origin + ")")
            return _resolve_archive(archive, fmt, member=member, given=origin)
        raise InspectError(origin, "no such directory")
    if os.path.isdir(origin):
        return _resolve_dir(origin)
    fmt = archive_format(origin) if os.path.isfile(origin) else None  # a FIFO or device is never opened
    if fmt is None:
        raise InspectError(
            origin,
            "not a directory (expected a CRIU checkpoint directory, or a tar, tar.gz or tar.zst archive of one)",
        )
    return _resolve_archive(origin, fmt)


def _split_member(given: str) -> tuple[str, str] | None:
    """("chk.tar", "a/checkpoint") for "chk.tar!/a/checkpoint", the form errors name archive members in."""
    start = 0
    while (i := given.find("!/", start)) >= 0:
        if os.path.isfile(given[:i]):
            member = given[i + 2 :]
            parts = _member_parts(given[:i], member)
            return given[:i], "/".join(parts or [])
        start = i + 1
    return None


# --- directories -------------------------------------------------------------


def _has_images(d: str) -> bool:
    return os.path.isfile(os.path.join(d, "inventory.img")) or os.path.isfile(os.path.join(d, "pstree.img"))


def find_images_dir(d: str) -> tuple[str, str]:
    """(images directory, layout) for a directory a user points at; (d, "images") when nothing else fits.

    Only a few fixed places are looked at: a user pointing at / must not start a walk.
    """
    if _has_images(d):
        return d, "images"
    for name in IMAGE_DIR_NAMES:  # podman / CRI-O: checkpoint/ (or a pre-checkpoint export's pre-checkpoint/)
        sub = os.path.join(d, name)
        if _has_images(sub):
            return sub, "container"
    # Open Liberty InstantOn: <server>/workarea/checkpoint/image/
    for rel in ("image", os.path.join("checkpoint", "image"), os.path.join("workarea", "checkpoint", "image")):
        sub = os.path.join(d, rel)
        if _has_images(sub):
            return sub, "liberty"
    return d, "images"


def _resolve_dir(origin: str, *, tmp: str | None = None, archive: str | None = None) -> Source:
    images_dir, layout = find_images_dir(origin)
    return _classify(origin, images_dir, layout, archive=archive, tmp=tmp)


def _classify(origin: str, images_dir: str, layout: str, *, archive=None, tmp=None, base=None) -> Source:
    """Name the layout around ``images_dir`` and read the container metadata next to it."""
    base = base if base is not None else origin
    src = Source(origin=origin, images_dir=images_dir, archive=archive, archive_path=origin if tmp else None, _tmp=tmp)
    rel = os.path.relpath(images_dir, base)
    src.images = "" if rel == "." else rel
    parent = os.path.dirname(os.path.normpath(images_dir))
    if layout == "liberty" or (
        os.path.basename(os.path.normpath(images_dir)) == "image" and os.path.basename(parent) == "checkpoint"
    ):
        src.kind = "liberty"
        return src
    if os.path.basename(os.path.normpath(images_dir)) in IMAGE_DIR_NAMES and any(
        os.path.isfile(os.path.join(parent, f)) for f in CONTAINER_FILES + (ROOTFS_DIFF,)
    ):
        src.kind, src.metadata = _container_metadata(parent, src.problems)
        stats = os.path.join(parent, "stats-dump")  # podman has criu write it to the work dir, beside checkpoint/
        if not os.path.exists(os.path.join(images_dir, "stats-dump")) and os.path.isfile(stats):
            src.extra_images["stats-dump"] = stats
    return src


def _read_json(path: str, problems: list) -> dict | None:
    if not os.path.lexists(path):
        return None
    try:
        with open_regular_file(path) as fh:
            data = fh.read(MAX_METADATA_BYTES + 1)
    except InspectError as exc:
        problems.append(exc)
        return None
    except OSError as exc:
        problems.append(InspectError(path, exc.strerror or str(exc)))
        return None
    if len(data) > MAX_METADATA_BYTES:
        problems.append(
            InspectError(path, f"larger than {MAX_METADATA_BYTES >> 20} MiB: not read as container metadata")
        )
        return None
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(InspectError(path, f"not JSON: {exc}"))
        return None
    except RecursionError:  # [[[[... a few hundred thousand deep
        problems.append(InspectError(path, "not JSON that can be read: nested too deeply"))
        return None
    if not isinstance(value, dict):
        problems.append(InspectError(path, f"not a JSON object (a {type(value).__name__})"))
        return None
    return value


def _text(value) -> str | None:
    return value if isinstance(value, str) and value and not value.startswith("0001-01-01") else None


def _json_object(value: object) -> dict:
    """``value`` if it is a JSON object, else an empty one: metadata written by others may have any shape."""
    return value if isinstance(value, dict) else {}


def _container_metadata(d: str, problems: list) -> tuple[str, dict]:
    """Layout and facts from config.dump (podman's container config) and spec.dump (the OCI spec).

    The engine comes from the annotation ``io.container.manager`` (``libpod``,
    ``cri-o``) or containerd's ``io.kubernetes.cri.*`` annotations, as checkpointctl reads them.
    """
    config = _read_json(os.path.join(d, "config.dump"), problems) or {}
    spec = _read_json(os.path.join(d, "spec.dump"), problems) or {}
    ann = _json_object(spec.get("annotations"))
    manager = ann.get("io.container.manager")
    meta: dict = {}
    if manager == "libpod":
        kind, meta["engine"] = "podman", "Podman"
        meta["name"] = _text(config.get("name"))
    elif manager == "cri-o":
        kind, meta["engine"] = "crio", "CRI-O"
        name = None
        try:
            crio_meta = json.loads(ann.get("io.kubernetes.cri-o.Metadata") or "{}")
            name = crio_meta.get("name") if isinstance(crio_meta, dict) else None
        except (ValueError, TypeError, RecursionError):  # an annotation, not a fact we depend on
            pass
        meta["name"] = _text(name) or _text(ann.get("io.kubernetes.container.name")) or _text(config.get("name"))
        meta["pod"] = _text(ann.get("io.kubernetes.pod.name"))
        meta["namespace"] = _text(ann.get("io.kubernetes.pod.namespace"))
        meta["created"] = _text(ann.get("io.kubernetes.cri-o.Created"))
    elif any(k.startswith("io.kubernetes.cri.") for k in ann):
        kind, meta["engine"] = "containerd", "containerd"
        meta["name"] = _text(ann.get("io.kubernetes.cri.container-name")) or _text(config.get("name"))
        meta["pod"] = _text(ann.get("io.kubernetes.cri.sandbox-name"))
        meta["namespace"] = _text(ann.get("io.kubernetes.cri.sandbox-namespace"))
    else:
        kind, meta["engine"] = "container", _text(manager)
        meta["name"] = _text(config.get("name")) or _text(ann.get("io.kubernetes.container.name"))
    meta["id"] = _text(config.get("id"))
    meta["image"] = (
        _text(config.get("rootfsImageName"))
        or _text(ann.get("io.kubernetes.cri-o.ImageName"))
        or _text(ann.get("io.kubernetes.cri.image-name"))
        or _text(config.get("rootfsImage"))
    )
    meta["runtime"] = _text(config.get("runtime"))
    meta.setdefault("created", None)
    meta["created"] = meta["created"] or _text(config.get("createdTime"))
    meta["checkpointed"] = _text(config.get("checkpointedTime"))
    process = _json_object(spec.get("process"))
    args = process.get("args")
    meta["command"] = [a for a in args if isinstance(a, str)] if isinstance(args, list) else None
    diff = os.path.join(d, ROOTFS_DIFF)
    meta["rootfs_diff_bytes"] = os.path.getsize(diff) if os.path.isfile(diff) else None
    meta["files"] = sorted(
        f for f in CONTAINER_FILES + (ROOTFS_DIFF, "stats-dump") if os.path.exists(os.path.join(d, f))
    )
    return kind, {k: v for k, v in meta.items() if v is not None}


# --- archives ----------------------------------------------------------------


def archive_format(path: str) -> str | None:
    """tar, tar.gz, tar.zst, tar.xz or tar.bz2 from the file's first bytes (names lie); None otherwise."""
    try:
        with open_regular_file(path) as fh:
            head = fh.read(512)
    except OSError as exc:
        raise InspectError(path, exc.strerror or str(exc)) from None
    if head.startswith(b"\x1f\x8b"):
        return "tar.gz"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "tar.zst"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "tar.xz"
    if head.startswith(b"BZh"):
        return "tar.bz2"
    if len(head) == 512 and head[257:262] == b"ustar":
        return "tar"
    return None


def _is_checkpoint_member(parts: list[str]) -> bool:
    """A member a checkpoint needs: its image directories, CRIU's own files, the container metadata."""
    base = parts[-1]
    if any(p in IMAGE_DIR_NAMES for p in parts[:-1]):
        return True
    return base.endswith(".img") or base in CRIU_OTHER_NAMES or base in CONTAINER_FILES


def _criu_named(base: str) -> bool:
    return (
        bool(CRIU_IMAGE_NAME.match(base)) or base in CRIU_OTHER_NAMES or base in CONTAINER_FILES or base == ROOTFS_DIFF
    )


def _member_parts(archive: str, name: str) -> list[str] | None:
    """The member's path components; None for the archive root; refuses names that leave the archive."""
    if name.startswith("/") or "\x00" in name:
        raise InspectError(archive, f"member {name} escapes the archive (absolute path)")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InspectError(archive, f"member {name} escapes the archive")
    return parts or None


def _max_extract(archive: str, fmt: str, tmp: str) -> tuple[int, str]:
    """How many bytes this archive may write, and why that many."""
    size = os.path.getsize(archive)
    env = os.environ.get(ENV_MAX_EXTRACT)
    if env:
        limit, why = _parse_size(env), f"{ENV_MAX_EXTRACT}={env}"
    elif fmt == "tar":
        limit, why = size, "the archive's size"
    else:
        limit = max(size * MAX_EXPANSION, MIN_EXPANSION_BOUND)
        why = f"{MAX_EXPANSION} x the archive's {size} bytes, at least 4 GiB; set {ENV_MAX_EXTRACT} to allow more"
    try:
        st = os.statvfs(tmp)
        free = st.f_bavail * st.f_frsize - FREE_SPACE_RESERVE
    except OSError:
        free = limit
    if free < limit:
        limit, why = max(free, 0), f"free space in {os.path.dirname(tmp)}; set TMPDIR to a larger place"
    return limit, why


def _parse_size(text: str) -> int:
    """Bytes, or a number with K, M, G or T (powers of 1024): 64G, 512MiB."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    try:
        if t[-1:] in units:
            return int(float(t[:-1]) * units[t[-1]])
        return int(t)
    except ValueError:
        raise InspectError(None, f"{ENV_MAX_EXTRACT}={text}: not a size (bytes, or with K, M, G, T)") from None


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses long-name and pax headers that claim more than a header can honestly need:
    tarfile reads those into memory whole."""

    def _proc_member(self, tarfile_):
        if self.type in (
            tarfile.GNUTYPE_LONGNAME,
            tarfile.GNUTYPE_LONGLINK,
            tarfile.XHDTYPE,
            tarfile.XGLTYPE,
            tarfile.SOLARIS_XHDTYPE,
        ) and self.size > (1 << 20):
            raise tarfile.HeaderError(f"extended header of {self.size} bytes")
        return super()._proc_member(tarfile_)  # type: ignore[misc]  # tarfile's private hook, not in typeshed


def _open_tar(archive: str, fmt: str) -> tuple[tarfile.TarFile, _Closable]:
    """A tarfile over the archive, streamed (compressed) or seekable (plain tar: skipping is a seek)."""
    fh = open_regular_file(archive)
    try:
        if fmt == "tar":
            return tarfile.open(fileobj=fh, mode="r:", tarinfo=_BoundedTarInfo), fh
        if fmt == "tar.zst":
            try:
                import zstandard
            except ImportError:
                raise InspectError(
                    archive,
                    "zstd-compressed archive: install the Python package zstandard (pip install zstandard), "
                    "or decompress it first (zstd -d)",
                ) from None
            reader = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True, closefd=True)
            return tarfile.open(fileobj=reader, mode="r|", tarinfo=_BoundedTarInfo), reader
        # the stdlib's file classes bound what one read decompresses (tarfile's own r|gz does not)
        stream: io.BufferedIOBase
        if fmt == "tar.gz":
            import gzip

            stream = gzip.GzipFile(fileobj=fh, mode="rb")
        elif fmt == "tar.xz":
            import lzma

            stream = lzma.LZMAFile(fh, mode="rb")
        else:
            import bz2

            stream = bz2.BZ2File(fh, mode="rb")
        return tarfile.open(fileobj=stream, mode="r|", tarinfo=_BoundedTarInfo), _Closing(stream, fh)
    except InspectError:
        fh.close()
        raise
    except (tarfile.TarError, OSError, EOFError) as exc:
        fh.close()
        raise InspectError(archive, f"not a readable {fmt} archive: {exc}") from None


class _Closable(Protocol):
    def close(self) -> None: ...


class _Closing:
    """Closes several objects in order (the decompressing stream, then the file under it)."""

    def __init__(self, *objs: _Closable):
        self.objs = objs

    def close(self) -> None:
        for o in self.objs:
            o.close()


def _resolve_archive(origin: str, fmt: str, *, member: str = "", given: str | None = None) -> Source:
    for stale in stale_dirs(tempfile.gettempdir(), EXTRACT_PREFIX):  # what a SIGKILLed run left
        shutil.rmtree(stale, ignore_errors=True)
    tmp = os.path.realpath(tempfile.mkdtemp(prefix=f"{EXTRACT_PREFIX}{os.getpid()}-"))
    register_path_alias(tmp + os.sep, origin + "!/")
    try:
        info = _extract(origin, fmt, tmp)
        src = _pick(origin, fmt, tmp, info, member)
        src.origin = given or origin
    except BaseException:
        _remove_tree(tmp)
        raise
    # removed when the Source is collected (with the Checkpoint holding it) or at exit
    finalizer = src._finalizer = weakref.finalize(src, _remove_tree, tmp)
    _LIVE.difference_update([f for f in _LIVE if not f.alive])
    _LIVE.add(finalizer)
    return src


_LIVE: set[weakref.finalize] = set()  # finalizers of the extractions (a finalizer holds no reference to its Source)


def remove_extractions() -> None:
    """Remove every archive extraction this process still holds: a command's end (the CLI calls it), so
    nothing waits for the garbage collector, which reference cycles in a model can keep from running."""
    for fin in list(_LIVE):
        fin()
    _LIVE.clear()


def _remove_tree(tmp: str) -> None:
    unregister_path_alias(tmp + os.sep)
    shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class _Extracted:
    files: int = 0
    bytes: int = 0
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (path of the symlink, shown name, target)
    foreign: int = 0  # members with names CRIU does not write, extracted or not
    skipped: int = 0  # foreign members not extracted (past the bound)
    first_skipped: str = ""
    rootfs_diff: dict = field(default_factory=dict)  # dir of rootfs-diff.tar (relative) -> its size
    container_files_seen: bool = False


def _extract(archive: str, fmt: str, tmp: str) -> _Extracted:
    """Stream the archive once, writing the checkpoint's members under ``tmp``; every member checked first."""
    limit, why = _max_extract(archive, fmt, tmp)
    tar, closer = _open_tar(archive, fmt)
    job = _Extraction(archive, fmt, tmp, tar, limit, why)
    try:
        job.run()
    except InspectError:
        raise
    except tarfile.TarError as exc:
        raise InspectError(archive, f"archive is truncated or corrupt after {job.seen} members: {exc}") from None
    except (EOFError, OSError) as exc:
        if isinstance(exc, OSError) and exc.filename:
            raise InspectError(archive, f"cannot extract: {exc.strerror or exc}") from None
        raise InspectError(archive, f"archive is truncated or corrupt after {job.seen} members: {exc}") from None
    except _decompress_errors() as exc:
        raise InspectError(archive, f"cannot decompress ({fmt}) after {job.seen} members: {exc}") from None
    finally:
        tar.close()
        closer.close()
    real_tmp = os.path.realpath(tmp)
    for path, name, target in job.out.links:  # the final tree decides: chains of in-archive links can still leave it
        real = os.path.realpath(path)
        if os.path.commonpath([real, real_tmp]) != real_tmp:
            raise InspectError(archive, f"member {name} links outside the archive (to {target})")
    return job.out


class _Extraction:
    """One pass over an archive's members: which to write, and one handler per tar member type."""

    def __init__(self, archive: str, fmt: str, tmp: str, tar: tarfile.TarFile, limit: int, why: str):
        self.archive, self.fmt, self.tmp, self.tar = archive, fmt, tmp, tar
        self.limit, self.why = limit, why  # how many bytes may be written, and why that many
        self.real_size = os.path.getsize(archive)
        self.out = _Extracted()
        self.seen = 0  # headers read so far (the error messages count them)

    def run(self) -> None:
        while (member := self._next()) is not None:
            # tarfile keeps every header otherwise: memory would grow with the member count
            self.tar.members = []  # type: ignore[attr-defined]  # an attribute typeshed does not declare
            self.seen += 1
            if self.seen > MAX_MEMBERS:
                raise InspectError(self.archive, f"more than {MAX_MEMBERS} members: not a checkpoint archive")
            parts = _member_parts(self.archive, member.name)
            if parts is not None and self._wanted(member, parts):
                handler = _MEMBER_HANDLERS.get(member.type, _Extraction._unsupported)
                handler(self, member, parts, "/".join(parts))

    def _next(self) -> tarfile.TarInfo | None:
        try:
            return self.tar.next()
        except tarfile.HeaderError as exc:
            raise InspectError(self.archive, f"bad tar header after {self.seen} members: {exc}") from None
        except (tarfile.ReadError, EOFError, OSError) as exc:
            raise InspectError(
                self.archive, f"archive is truncated or corrupt after {self.seen} members: {exc}"
            ) from None

    def _wanted(self, member: tarfile.TarInfo, parts: list[str]) -> bool:
        """Note what the member says about the layout; is it one of the checkpoint's, to be extracted?"""
        out, name = self.out, "/".join(parts)
        if parts[-1] == ROOTFS_DIFF and member.isfile():
            out.rootfs_diff["/".join(parts[:-1])] = member.size
        if parts[-1] in CONTAINER_FILES:
            out.container_files_seen = True
        if not _is_checkpoint_member(parts):
            return False
        if len(parts) > MAX_MEMBER_DEPTH:
            raise InspectError(
                self.archive, f"member {name[:80]}... nests {len(parts)} levels deep: not a checkpoint archive"
            )
        if not member.isdir() and not _criu_named(parts[-1]):
            out.foreign += 1
            if out.foreign > MAX_FOREIGN_MEMBERS:
                out.skipped += 1
                out.first_skipped = out.first_skipped or name
                return False
        return True

    def _place(self, parts: list[str], name: str) -> str:
        """The member's path under tmp, its directories created (through no link)."""
        dest = os.path.join(self.tmp, *parts)
        _check_parent(self.archive, self.tmp, name, dest)
        return dest

    # --- one handler per member type ---------------------------------------------------------------------------
    def _directory(self, member: tarfile.TarInfo, parts: list[str], name: str) -> None:
        dest = os.path.join(self.tmp, *parts)
        _check_parent(self.archive, self.tmp, name, os.path.join(dest, "x"))  # creates dest itself too

    def _regular_file(self, member: tarfile.TarInfo, parts: list[str], name: str) -> None:
        dest = self._place(parts, name)
        if self.fmt == "tar" and member.offset_data + member.size > self.real_size:
            raise InspectError(
                self.archive,
                f"member {name} declares {member.size} bytes, more than the archive holds "
                f"({self.real_size - member.offset_data} left)",
            )
        if self.out.bytes + member.size > self.limit:
            raise InspectError(
                self.archive,
                f"member {name} declares {member.size} bytes: the checkpoint would exceed "
                f"{self.limit} bytes ({self.why})",
            )
        _write_member(self.archive, self.tar, member, name, dest)
        self.out.bytes += member.size
        self.out.files += 1

    def _symlink(self, member: tarfile.TarInfo, parts: list[str], name: str) -> None:
        dest = self._place(parts, name)
        target = member.linkname
        if target.startswith("/") or ".." in _lexical_escape(parts[:-1], target):
            raise InspectError(self.archive, f"member {name} links outside the archive (to {target})")
        _replace_ok(self.archive, name, dest)
        os.symlink(target, dest)
        self.out.links.append((dest, name, target))

    def _hard_link(self, member: tarfile.TarInfo, parts: list[str], name: str) -> None:
        dest = self._place(parts, name)
        target_parts = _member_parts(self.archive, member.linkname)
        if target_parts is None:
            raise InspectError(self.archive, f"member {name} is a hard link to the archive's root")
        src = os.path.join(self.tmp, *target_parts)
        if not os.path.isfile(src) or os.path.islink(src):
            raise InspectError(
                self.archive,
                f"member {name} is a hard link to {member.linkname}, which is not an extracted checkpoint file",
            )
        _check_parent(self.archive, self.tmp, "/".join(target_parts), src)
        _replace_ok(self.archive, name, dest)
        os.link(src, dest)
        self.out.files += 1

    # refused types: their directories are still checked first, so the first error an archive shows stays the same
    def _device(self, member: tarfile.TarInfo, parts: list[str], name: str) -> None:
        self._place(parts, name)
        raise InspectError(self.archive, f"member {name} is a device file")

    def _fifo(self, member: tarfile.TarInfo, parts: list[str], name: str) -> None:
        self._place(parts, name)
        raise InspectError(self.archive, f"member {name} is a FIFO")

    def _unsupported(self, member: tarfile.TarInfo, parts: list[str], name: str) -> None:
        self._place(parts, name)
        raise InspectError(self.archive, f"member {name} has tar type {member.type!r}, not a file, directory or link")


# tar member type -> handler; the same tests as TarInfo.isfile(), isdir(), issym(), islnk(), ischr(), isblk(), isfifo()
_MEMBER_HANDLERS: dict[bytes, Callable[[_Extraction, tarfile.TarInfo, list[str], str], None]] = {
    **{t: _Extraction._regular_file for t in tarfile.REGULAR_TYPES},
    tarfile.DIRTYPE: _Extraction._directory,
    tarfile.SYMTYPE: _Extraction._symlink,
    tarfile.LNKTYPE: _Extraction._hard_link,
    tarfile.CHRTYPE: _Extraction._device,
    tarfile.BLKTYPE: _Extraction._device,
    tarfile.FIFOTYPE: _Extraction._fifo,
}


def _decompress_errors() -> tuple:
    import lzma
    import zlib

    errors: list = [zlib.error, lzma.LZMAError, ValueError]  # ValueError: gzip/bz2's "invalid data stream"
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:
        pass
    return tuple(errors)


def _lexical_escape(dir_parts: list[str], target: str) -> list[str]:
    """The target's path from the archive root, lexically: a leading '..' means it leaves the archive."""
    stack: list[str] = list(dir_parts)
    for p in target.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if not stack:
                return [".."]
            stack.pop()
        else:
            stack.append(p)
    return stack


def _check_parent(archive: str, tmp: str, name: str, dest: str) -> None:
    """Create the member's directories, following no link: a member is never written through one."""
    cur = tmp
    for comp in os.path.relpath(os.path.dirname(dest), tmp).split(os.sep):
        if comp in ("", "."):
            continue
        cur = os.path.join(cur, comp)
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            os.mkdir(cur, 0o700)
            continue
        if stat.S_ISLNK(st.st_mode):
            raise InspectError(archive, f"member {name} goes through a link ({os.path.relpath(cur, tmp)})")
        if not stat.S_ISDIR(st.st_mode):
            raise InspectError(archive, f"member {name} is inside {os.path.relpath(cur, tmp)}, which is a file")


def _replace_ok(archive: str, name: str, dest: str) -> None:
    """A name seen twice (tar -r appends): the later one wins, as tar does, unless the first is a directory."""
    if os.path.lexists(dest):
        if os.path.isdir(dest) and not os.path.islink(dest):
            raise InspectError(archive, f"member {name} appears as a directory and as a file")
        os.unlink(dest)


def _write_member(archive: str, tar, member, name: str, dest: str) -> None:
    _replace_ok(archive, name, dest)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    written = 0
    with os.fdopen(fd, "wb") as out:
        data = tar.extractfile(member)
        while True:
            chunk = data.read(COPY_CHUNK)
            if not chunk:
                break
            written += len(chunk)
            out.write(chunk)
        out.flush()
        try:  # the member's time, as the archive recorded it (when criu wrote the image), not the extraction's
            os.utime(out.fileno(), (member.mtime, member.mtime))
        except (OSError, OverflowError, ValueError):
            pass
    if written != member.size:
        raise InspectError(archive, f"archive is truncated: member {name} has {written} of its {member.size} bytes")


def _pick(origin: str, fmt: str, tmp: str, info: _Extracted, member: str = "") -> Source:
    """The one checkpoint of the extracted tree (the head of a pre-dump chain), under ``member`` if named."""
    base = os.path.join(tmp, *member.split("/")) if member else tmp
    if member and not os.path.isdir(base):
        raise InspectError(f"{origin}!/{member}", "no such directory among the archive's checkpoint members")
    candidates = []
    for dirpath, dirnames, filenames in os.walk(base):
        depth = os.path.relpath(dirpath, base).count(os.sep)
        if depth >= MAX_SEARCH_DEPTH:
            dirnames[:] = []
        if "inventory.img" in filenames or "pstree.img" in filenames:
            candidates.append(dirpath)
    if not candidates and member:
        raise InspectError(f"{origin}!/{member}", "holds no CRIU checkpoint (no inventory.img or pstree.img)")
    if not candidates:
        if info.container_files_seen:
            raise InspectError(origin, "archive has no checkpoint/ directory (container metadata but no CRIU images)")
        raise InspectError(origin, "archive holds no CRIU checkpoint (no inventory.img or pstree.img in it)")
    parents = set()
    for c in candidates:
        link = os.path.join(c, "parent")
        if os.path.lexists(link) and os.path.realpath(link) != os.path.realpath(c):  # parent -> . : the reader says
            parents.add(os.path.realpath(link))
    heads = [c for c in candidates if os.path.realpath(c) not in parents]
    if not heads:  # every checkpoint is another's parent: the links go round
        names = ", ".join(os.path.relpath(c, tmp) + "/" for c in sorted(candidates))
        raise InspectError(origin, f"the parent links of its checkpoints form a loop ({names})")
    if len(heads) != 1:
        names = ", ".join(os.path.relpath(c, tmp) + "/" for c in sorted(heads or candidates))
        first = os.path.relpath(sorted(heads or candidates)[0], tmp)
        raise InspectError(
            origin, f"archive holds {len(heads or candidates)} checkpoints ({names}): name one, e.g. {origin}!/{first}"
        )
    images_dir = heads[0]
    layout = "liberty" if images_dir.endswith(os.path.join("checkpoint", "image")) else "images"
    src = _classify(origin, images_dir, layout, archive=fmt, tmp=tmp, base=base)
    if src.kind not in ("images", "liberty"):
        holder = os.path.relpath(os.path.dirname(images_dir), tmp)
        size = info.rootfs_diff.get("" if holder == "." else holder)
        if size is not None:
            src.metadata["rootfs_diff_bytes"] = size
            src.metadata["files"] = sorted(set(src.metadata.get("files", [])) | {ROOTFS_DIFF})
    if info.skipped:
        src.problems.append(
            InspectError(
                origin,
                f"{info.skipped} more members with names CRIU does not write "
                f"(e.g. {info.first_skipped}) were not extracted, past the first "
                f"{MAX_FOREIGN_MEMBERS}: not a checkpoint's files",
            )
        )
    return src
