"""Framing of CRIU image files: magics, u32-sized entries, extra payloads.

An image file is ``[IMG_COMMON|IMG_SERVICE] MAGIC { u32 SIZE, PAYLOAD [EXTRA] }``
(``inventory.img`` has only its own magic). Payloads are protobuf messages;
some kinds carry raw bytes after an entry (pipe data, socket queues, TCP
streams, ghost file contents, SysV IPC). Raw images (``pages-N.img``, tmpfs
tarballs, ip tables dumps) have no magic at all.

Entries keep their original bytes and are decoded only when asked, so an
untouched image is written back byte for byte.
"""

from __future__ import annotations

import os
import re
import struct
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError, Message

from ..errors import InspectError
from ..safeio import open_regular, open_regular_file
from . import schema

U32 = struct.Struct("<I")

# Files that hold raw data with no magic, by name.
RAW_NAME_PATTERNS = [
    (re.compile(r"^pages-\d+\.img$"), "PAGES"),
    (re.compile(r"^tmpfs-dev-\d+\.tar\.gz\.img$"), "TMPFS_DEV"),
    (re.compile(r"^tmpfs-\d+\.tar\.gz\.img$"), "TMPFS"),
    (re.compile(r"^(ifaddr|route6?|rule)-\d+\.img$"), "IP_DUMP"),
    (re.compile(r"^(ip6?tables|nftables)-\d+\.img$"), "IPTABLES"),
    (re.compile(r"^netns-ct-\d+\.img$"), "NETNS_CT"),
    (re.compile(r"^bpfmap-data-\d+\.img$"), "BPFMAP_DATA_RAW"),
]


# The file names CRIU writes (criu/image-desc.c's imgset_template, CRIU 4.2): "%u"/"%lu"-numbered, "%x"-numbered,
# and plain ones. Plugins add their own (amdgpu-*.img): a name outside this list is not wrong, only unknown.
_NUMBERED = (
    "fdinfo pagemap pagemap-shmem core ids mm vmas sigacts itimers posix-timers creds utsns ipcns-var "
    "ipcns-shm ipcns-msg ipcns-sem fs mountpoints netdev netns ifaddr route route6 rule iptables ip6tables "
    "nftables autofs binfmt-misc rlimit pages pages-shmem signal-s signal-p userns netns-ct netns-exp timens "
    "pidns tmpfs tmpfs-dev"
).split()
_PLAIN = (
    "inventory reg-files ext-files ns-files eventfd eventpoll eventpoll-tfd signalfd inotify inotify-wd fanotify "
    "fanotify-mark pipes pipes-data fifo fifo-data pstree unixsk inetsk packetsk netlinksk sk-queues remap-fpath "
    "memfd binfmt-misc tty tty-info tty-data filelocks tunfile cgroup timerfd cpuinfo seccomp files bpfmap-file "
    "bpfmap-data apparmor pidfd"
).split()
CRIU_IMAGE_NAME = re.compile(
    r"^(?:(?:{})-\d+(?:\.tar\.gz)?\.img|(?:ghost-file|tcp-stream)-[0-9a-f]+\.img|(?:{})\.img|stats-\w+|irmap-cache)$".format(
        "|".join(map(re.escape, sorted(_NUMBERED, key=len, reverse=True))),
        "|".join(map(re.escape, sorted(_PLAIN, key=len, reverse=True))),
    )
)


def raw_kind_for_name(name: str) -> str | None:
    for pattern, kind in RAW_NAME_PATTERNS:
        if pattern.match(name):
            return kind
    return None


# The kind CRIU writes under each file name (image-desc.c's names), for the
# images the model reads: a file whose magic disagrees is a wrong image, not
# something to decode as whatever its magic claims.
NAMED_KINDS = [
    (re.compile(r"^inventory\.img$"), "INVENTORY"),
    (re.compile(r"^core-\d+\.img$"), "CORE"),
    (re.compile(r"^mm-\d+\.img$"), "MM"),
    (re.compile(r"^pagemap-\d+\.img$"), "PAGEMAP"),
    (re.compile(r"^pstree\.img$"), "PSTREE"),
    (re.compile(r"^files\.img$"), "FILES"),
    (re.compile(r"^fdinfo-\d+\.img$"), "FDINFO"),
    (re.compile(r"^fs-\d+\.img$"), "FS"),
    (re.compile(r"^ids-\d+\.img$"), "IDS"),
    (re.compile(r"^seccomp\.img$"), "SECCOMP"),
    (re.compile(r"^timens-\d+\.img$"), "TIMENS"),
    (re.compile(r"^stats-(dump|restore)$"), "STATS"),
    (re.compile(r"^tty-info\.img$"), "TTY_INFO"),
    (re.compile(r"^filelocks\.img$"), "FILE_LOCKS"),
    (re.compile(r"^cgroup\.img$"), "CGROUP"),
    (re.compile(r"^remap-fpath\.img$"), "REMAP_FPATH"),
    (re.compile(r"^mountpoints-\d+\.img$"), "MNTS"),
    (re.compile(r"^ghost-file-[0-9a-f]+\.img$"), "GHOST_FILE"),
    (re.compile(r"^tcp-stream-[0-9a-f]+\.img$"), "TCP_STREAM"),
]


def expected_kind_for_name(name: str) -> str | None:
    """The kind a file of this name must hold, or None if the name says nothing."""
    for pattern, kind in NAMED_KINDS:
        if pattern.match(name):
            return kind
    return None


def _round_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align


_CLASSES: dict[tuple[str, str], type[Message]] = {}  # (module, message) -> class: one lookup per kind, not per entry


@dataclass
class Entry:
    """One entry: its offset (of the size field), payload bytes and extra bytes."""

    index: int
    offset: int
    payload: bytes
    extra: bytes = b""
    message_type: tuple[str, str] | None = None  # (pb2 module, message)
    _message: Message | None = field(default=None, repr=False)
    dirty: bool = False
    path: str = ""

    @property
    def message(self) -> Message:
        if self._message is None:
            if self.message_type is None:
                raise InspectError(self.path, "entry of an unknown kind cannot be decoded", self.offset)
            cls = _CLASSES.get(self.message_type)
            if cls is None:
                cls = _CLASSES[self.message_type] = schema.message_class(*self.message_type)
            msg = cls()
            try:
                msg.ParseFromString(self.payload)
            except DecodeError as exc:
                raise InspectError(self.path, f"cannot decode {self.message_type[1]}: {exc}", self.offset) from None
            if not msg.IsInitialized():  # protobuf-c's unpack refuses it, so criu restore would
                missing = ", ".join(msg.FindInitializationErrors())
                raise InspectError(self.path, f"{self.message_type[1]} lacks required field(s) {missing}", self.offset)
            self._message = msg
        return self._message

    def set_message(self, msg: Message) -> None:
        """Replace the payload with an edited message (repair)."""
        self._message = msg
        self.dirty = True

    def encoded_payload(self) -> bytes:
        if self.dirty and self._message is not None:
            return self._message.SerializeToString()
        return self.payload


@dataclass
class Image:
    """A decoded-on-demand image file."""

    path: str
    name: str  # kind: magic name (e.g. "PAGEMAP"), raw kind ("PAGES"), or "UNKNOWN"
    header: bytes  # the magic bytes as found
    size: int
    kind: schema.ImageKind | None = None
    magic: int | None = None
    raw: bool = False
    _entries: list[Entry] | None = field(default=None, repr=False)
    trailing: bytes = b""  # bytes after the last entry that belong to no entry (ghost data)
    ghost_chunks: bool = False

    @property
    def magic_offset(self) -> int:
        """Where the kind's magic sits (after IMG_COMMON/IMG_SERVICE when there is one)."""
        return 4 if len(self.header) == 8 else 0

    @property
    def known(self) -> bool:
        return self.kind is not None and self.kind.message is not None

    @property
    def entries(self) -> list[Entry]:
        if self._entries is None:
            self._entries = list(_parse_entries(self))
        return self._entries

    def count_entries(self) -> int:
        """How many entries the image holds, its framing checked as ``entries`` checks it.

        Images without extra payloads are framed from their u32 sizes alone,
        in windows, so a pagemap of a million runs costs no Entry objects.
        """
        kind = self.kind
        if self._entries is not None or self.raw or kind is None or kind.message is None or kind.extra is not None:
            return len(self.entries)
        fd = open_regular(self.path)
        try:
            self.size = os.fstat(fd).st_size
            pos, count = len(self.header), 0
            while pos < self.size:
                window = pread_exact(fd, min(_FileBytes.WHOLE, self.size - pos), pos, self.path)
                frames, sizes, used = frame_window(window, pos, self.size, self.path)
                if not frames:  # one entry longer than the window: its size is all framing needs
                    used = 4 + U32.unpack_from(window, 0)[0]
                    count += 1
                count += len(frames)
                pos += used
            return count
        finally:
            os.close(fd)

    def encode(self) -> bytes:
        """The image's bytes: original framing, edited payloads re-serialized."""
        if self.raw:
            with open_regular_file(self.path) as fh:
                return fh.read()
        out = bytearray(self.header)
        for entry in self.entries:
            payload = entry.encoded_payload()
            out += U32.pack(len(payload))
            out += payload
            out += entry.extra
        out += self.trailing
        return bytes(out)


class _FileBytes:
    """An image file's bytes, sliced like ``bytes``.

    Images are small and read whole; one larger than ``WHOLE`` (a huge
    pagemap, or a broken copy) is read piecewise, so it costs what is parsed
    before an error, not its size. Pages files never come through here.
    """

    WHOLE = 16 << 20

    def __init__(self, path: str):
        self.path = path
        self._fd = open_regular(path)
        try:
            self.size = os.fstat(self._fd).st_size
            self._whole = self._pread(0, self.size) if self.size <= self.WHOLE else None
        except BaseException:
            os.close(self._fd)
            raise

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, span: slice) -> bytes:
        start = span.start or 0
        stop = self.size if span.stop is None else min(span.stop, self.size)
        if self._whole is not None:
            return self._whole[start:stop]
        return self._pread(start, stop - start)

    def u32(self, off: int) -> int:
        if self._whole is not None:
            return U32.unpack_from(self._whole, off)[0]
        return U32.unpack_from(self[off : off + 4])[0]

    def _pread(self, off: int, length: int) -> bytes:
        return pread_exact(self._fd, length, off, self.path)

    def close(self) -> None:
        os.close(self._fd)


def pread_exact(fd: int, length: int, off: int, path: str) -> bytes:
    """``length`` bytes of ``fd`` from ``off``: the one read loop of the package (pread may return less
    than asked; a file that ends early or cannot be read is an InspectError naming ``path``)."""
    chunks = []
    while length > 0:
        try:
            chunk = os.pread(fd, min(length, 1 << 30), off)
        except OSError as exc:
            raise InspectError(path, exc.strerror or str(exc), off) from None
        if not chunk:
            raise InspectError(path, "file shrank while being read", off)
        chunks.append(chunk)
        off += len(chunk)
        length -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def frame_window(data: bytes, base: int, file_size: int, path: str, start: int = 0) -> tuple[array, array, int]:
    """The entries wholly inside ``data`` (the file's bytes from ``base``): offsets, payload sizes, bytes used.

    The framing is checked as the image codec checks it, against the file: an
    entry cut by the end of ``data`` but not by the end of the file is left to
    the next window. ``start``: where in ``data`` the first entry begins.
    """
    n = len(data)
    frames, sizes = array("Q"), array("Q")
    add_frame, add_size = frames.append, sizes.append
    unpack_size = U32.unpack_from
    off = start
    while off < n:
        left = file_size - base - off
        if n - off < 4:
            if left < 4:
                raise InspectError(path, f"truncated entry: {left} bytes where a 4-byte size was expected", base + off)
            break
        (size,) = unpack_size(data, off)
        if size > left - 4:
            raise InspectError(
                path, f"entry size {size} is larger than the {left - 4} bytes left in the file", base + off
            )
        if off + 4 + size > n:
            break
        add_frame(off)
        add_size(size)
        off += 4 + size
    return frames, sizes, off


def frame_window_numpy(np, data: bytes, base: int, file_size: int, path: str) -> tuple[array, array, int]:
    """``frame_window`` for many small entries (a pagemap's), mostly by whole-array operations.

    Entries of fewer than 256 bytes start with a size of three zero bytes
    after the first: every such place is taken as a guess, and the guesses
    that chain from the start (each entry ending where the next guess begins)
    are entries for certain. ``frame_window`` reads on from the first place
    the chain breaks (a bigger entry, a guess inside a payload, the end of
    ``data``), so the result, errors included, is the same.
    """
    n = len(data)
    if n < 8:
        return frame_window(data, base, file_size, path)
    d = np.frombuffer(data, dtype=np.uint8)
    guess = np.flatnonzero((d[1 : n - 2] == 0) & (d[2 : n - 1] == 0) & (d[3:] == 0))
    if not len(guess) or guess[0] != 0:
        return frame_window(data, base, file_size, path)
    after = guess + 4 + d[guess]  # where each guessed entry ends
    broken = np.flatnonzero(guess[1:] != after[:-1])
    m = int(broken[0]) + 1 if len(broken) else len(guess)
    if int(after[m - 1]) > n:  # the last one is cut by the end of data
        m -= 1
    if not m:
        return frame_window(data, base, file_size, path)
    end = int(after[m - 1])
    frames = array("Q", guess[:m].astype(np.uint64).tobytes())
    sizes = array("Q", d[guess[:m]].astype(np.uint64).tobytes())
    more_frames, more_sizes, used = frame_window(data, base, file_size, path, start=end)
    frames += more_frames
    sizes += more_sizes
    return frames, sizes, used


def open_image(path: str | os.PathLike) -> Image:
    """Identify an image file by its magic (and raw ones by name)."""
    path = os.fspath(path)
    base = os.path.basename(path)
    with open_regular_file(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        raw_kind = raw_kind_for_name(base)
        if raw_kind is not None:
            return Image(path, raw_kind, b"", size, raw=True)
        try:
            head = fh.read(8)
        except OSError as exc:
            raise InspectError(path, exc.strerror or str(exc)) from None
    if len(head) < 4:
        raise InspectError(path, f"too short for an image header ({len(head)} bytes)", 0)
    first = U32.unpack_from(head, 0)[0]
    common = schema.magic_value("IMG_COMMON")
    service = schema.magic_value("IMG_SERVICE")
    if first in (common, service):
        if len(head) < 8:
            raise InspectError(path, "truncated image header: second magic missing", 4)
        value = U32.unpack_from(head, 4)[0]
        header = head[:8]
    else:
        # inventory.img (and images of format v1.0) carry a single magic
        value = first
        header = head[:4]
    kind = schema.kind_by_magic(value)
    if kind is None:
        return Image(path, "UNKNOWN", header, size, magic=value)
    return Image(path, kind.name, header, size, kind=kind, magic=value)


def _parse_entries(image: Image) -> Iterator[Entry]:
    if image.raw:
        raise InspectError(image.path, f"{image.name} is raw data, not entries")
    kind = image.kind
    if kind is None:
        raise InspectError(image.path, f"unknown image magic 0x{image.magic or 0:08x}", image.magic_offset)
    if kind.message is None:
        raise InspectError(image.path, f"no schema for image kind {kind.name} in the installed pycriu", 0)
    data = _FileBytes(image.path)
    try:
        yield from _frame(image, kind, data)
    finally:
        data.close()


def _frame(image: Image, kind: schema.ImageKind, data: _FileBytes) -> Iterator[Entry]:
    if len(data) != image.size:
        image.size = len(data)
    module, message = kind.module, kind.message
    assert module is not None and message is not None  # _parse_entries refused a kind without a schema
    off = len(image.header)
    index = 0
    end = len(data)
    while off < end:
        if kind.extra == "ghost" and index > 0 and not image.ghost_chunks:
            image.trailing = data[off:]
            return
        if end - off < 4:
            raise InspectError(image.path, f"truncated entry: {end - off} bytes where a 4-byte size was expected", off)
        size = data.u32(off)
        if size > end - off - 4:
            raise InspectError(
                image.path, f"entry size {size} is larger than the {end - off - 4} bytes left in the file", off
            )
        msg_name = message
        if kind.head and index == 0:
            msg_name = kind.head
        elif kind.extra == "ghost" and index > 0:
            msg_name = "ghost_chunk_entry"
        entry = Entry(index, off, data[off + 4 : off + 4 + size], message_type=(module, msg_name), path=image.path)
        off += 4 + size
        extra_len = _extra_length(image, kind, entry, data, off)
        if extra_len:
            if extra_len > end - off:
                raise InspectError(
                    image.path, f"extra payload of {extra_len} bytes is larger than the {end - off} bytes left", off
                )
            entry.extra = data[off : off + extra_len]
            off += extra_len
        if index == 0 and kind.extra == "ghost":
            image.ghost_chunks = bool(entry.message.chunks)
        yield entry
        index += 1


def _extra_length(image: Image, kind: schema.ImageKind, entry: Entry, data: _FileBytes, off: int) -> int:
    extra = kind.extra
    if extra is None:
        return 0
    if extra == "ghost":
        if entry.index == 0:
            return 0
        return entry.message.len
    msg = entry.message
    if extra == "pipe_data":
        return msg.bytes
    if extra == "sk_queue":
        return msg.length
    if extra == "tcp_stream":
        return msg.inq_len + msg.outq_len
    if extra == "bpfmap_data":
        return msg.keys_bytes + msg.values_bytes
    if extra == "ipc_shm":
        return _round_up(msg.size, 4)
    if extra == "ipc_sem":
        return _round_up(msg.nsems * 2, 8)
    if extra == "ipc_msg":
        cls = schema.message_class("ipc_msg_pb2", "ipc_msg")
        pos = off
        for _ in range(msg.qnum):
            if len(data) - pos < 4:
                raise InspectError(image.path, "truncated SysV message queue payload", pos)
            size = data.u32(pos)
            if size > len(data) - pos - 4:
                raise InspectError(image.path, f"message size {size} exceeds the file", pos)
            m = cls()
            try:
                m.ParseFromString(data[pos + 4 : pos + 4 + size])
            except DecodeError as exc:
                raise InspectError(image.path, f"cannot decode ipc_msg: {exc}", pos) from None
            pos += 4 + size + _round_up(m.msize, 8)
        return pos - off
    raise InspectError(image.path, f"unsupported extra payload kind {extra}", off)
