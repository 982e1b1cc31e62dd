"""`decode` against crit on image kinds and field options the corpus lacks.

The corpus has no pipe or FIFO data, socket queues, SysV IPC, chunked ghost
files, named or IPv6 sockets, mounts, irmap cache or memfd images. These tests
BUILD such images (entries made with our message classes from pycriu's schema,
framed as CRIU frames them: magic, u32 size, payload, extra payload) and check
that our decode is crit's, text for text, plain and --pretty. A real image is
also changed and re-encoded (files.img of the unixsock checkpoint gets an
abstract socket name) so crit's quoted-printable name conversion is exercised.
"""

from __future__ import annotations

import base64
import json
import shutil
import struct
import subprocess

import pytest

from inspector.codec import schema
from inspector.codec.image import open_image

from ..conftest import CORPUS
from ..crit_ref import DRIVER, SYSTEM_PYTHON, crit_env, require_crit
from .test_decode_crit import as_crit_would, ours

U32 = struct.Struct("<I")


def msg(module: str, message: str, **values):
    """A message with ``values`` set and every other required field at its zero value."""
    m = schema.message_class(module, message)()
    for key, value in values.items():
        field = m.DESCRIPTOR.fields_by_name[key]
        if field.message_type is not None and not field.is_repeated:
            getattr(m, key).CopyFrom(value)
        elif field.is_repeated:
            getattr(m, key).extend(value)
        else:
            setattr(m, key, value)
    _fill_required(m)
    return m


def _fill_required(m) -> None:
    for field in m.DESCRIPTOR.fields:
        if not field.is_required:
            continue
        if field.message_type is not None:
            getattr(m, field.name).SetInParent()
            _fill_required(getattr(m, field.name))
        elif not m.HasField(field.name):
            if field.enum_type is not None:
                setattr(m, field.name, field.enum_type.values[0].number)
            else:
                setattr(m, field.name, field.default_value)


def write_image(path, magic: str, entries: list[tuple[object, bytes]], trailing: bytes = b"") -> None:
    head = U32.pack(schema.magic_value("IMG_SERVICE" if magic in schema.SERVICE_IMAGES else "IMG_COMMON"))
    out = bytearray(head + U32.pack(schema.magic_value(magic)))
    for message, extra in entries:
        payload = message.SerializeToString()
        out += U32.pack(len(payload)) + payload + extra
    out += trailing
    path.write_bytes(bytes(out))


def pad(data: bytes, align: int) -> bytes:
    return data + b"\0" * (-len(data) % align)


def ipc_desc(**kw):
    ids = dict(uid=1001, gid=1001, cuid=1001, cgid=1001)
    return msg("ipc_desc_pb2", "ipc_desc_entry", key=0x1234, mode=0o600, id=7, **ids, **kw)


def build_images(folder):
    """One file per case; returns their paths."""
    made = []

    def add(name, magic, entries, trailing=b""):
        path = folder / name
        write_image(path, magic, entries, trailing)
        made.append(path)

    data = b"hello, pipe\n" * 9  # more than 76 bytes: base64 breaks lines
    add(
        "pipes-data.img",
        "PIPES_DATA",
        [
            (msg("pipe_data_pb2", "pipe_data_entry", pipe_id=11, bytes=len(data), size=65536), data),
            (msg("pipe_data_pb2", "pipe_data_entry", pipe_id=12, bytes=0), b""),
        ],
    )
    add("fifo-data.img", "FIFO_DATA", [(msg("pipe_data_pb2", "pipe_data_entry", pipe_id=3, bytes=4), b"fifo")])
    add(
        "sk-queues.img",
        "SK_QUEUES",
        [
            (msg("sk_packet_pb2", "sk_packet_entry", id_for=5, length=3), b"abc"),
            (msg("sk_packet_pb2", "sk_packet_entry", id_for=6, length=10), bytes(range(10))),
        ],
    )
    shm = msg("ipc_shm_pb2", "ipc_shm_entry", desc=ipc_desc(), size=5)
    add("ipcns-shm-1.img", "IPCNS_SHM", [(shm, pad(b"shm!!", 4))])
    sems = struct.pack("<3H", 1, 2, 65535)
    add("ipcns-sem-1.img", "IPCNS_SEM", [(msg("ipc_sem_pb2", "ipc_sem_entry", desc=ipc_desc(), nsems=3), pad(sems, 8))])
    queue = b""
    for mtype, body in ((1, b"first message"), (42, b"x")):
        m = msg("ipc_msg_pb2", "ipc_msg", mtype=mtype, msize=len(body)).SerializeToString()
        queue += U32.pack(len(m)) + m + pad(body, 8)
    msq = msg("ipc_msg_pb2", "ipc_msg_entry", desc=ipc_desc(), qbytes=16384, qnum=2)
    add("ipcns-msg-1.img", "IPCNS_MSG", [(msq, queue)])
    add(
        "ghost-file-7.img",
        "GHOST_FILE",
        [
            (
                msg(
                    "ghost_file_pb2",
                    "ghost_file_entry",
                    uid=0,
                    gid=0,
                    mode=0o100644,
                    dev=(8 << 20) | 1,
                    ino=77,
                    rdev=(1 << 8) | 3,
                    chunks=True,
                    size=8192,
                ),
                b"",
            ),
            (msg("ghost_file_pb2", "ghost_chunk_entry", len=4, off=0), b"head"),
            (msg("ghost_file_pb2", "ghost_chunk_entry", len=3, off=4096), b"end"),
        ],
    )
    add(
        "ghost-file-8.img",
        "GHOST_FILE",
        [
            (msg("ghost_file_pb2", "ghost_file_entry", uid=1, gid=1, mode=0o100600, dev=(253 << 20) | 2), b""),
        ],
        trailing=b"whole file without chunks\n",
    )
    v6 = [0x000080FE, 0, 0x00000000, 0x01000000]  # fe80::1 as CRIU stores it (network order words)
    add(
        "files.img",
        "FILES",
        [
            (
                msg(
                    "fdinfo_pb2",
                    "file_entry",
                    type=5,
                    id=9,
                    isk=msg(
                        "sk_inet_pb2",
                        "inet_sk_entry",
                        id=9,
                        ino=1,
                        family=10,
                        type=1,
                        proto=6,
                        state=10,
                        src_port=80,
                        dst_port=0,
                        flags=0o4002,
                        backlog=5,
                        src_addr=v6,
                        dst_addr=[0, 0, 0, 0],
                    ),
                ),
                b"",
            ),
            (
                msg(
                    "fdinfo_pb2",
                    "file_entry",
                    type=5,
                    id=10,
                    isk=msg(
                        "sk_inet_pb2",
                        "inet_sk_entry",
                        id=10,
                        ino=2,
                        family=2,
                        type=2,
                        proto=17,
                        state=7,
                        src_port=53,
                        dst_port=0,
                        flags=2,
                        backlog=0,
                        src_addr=[0x0100007F],
                    ),
                ),
                b"",
            ),
        ],
    )
    add(
        "mountpoints-12.img",
        "MNTS",
        [
            (
                msg(
                    "mnt_pb2",
                    "mnt_entry",
                    fstype=1,
                    mnt_id=30,
                    root_dev=(259 << 20) | 3,
                    parent_mnt_id=1,
                    flags=0x21,
                    root="/",
                    mountpoint="/data",
                    source="/dev/nvme0n1p3",
                    options="rw",
                    shared_id=5,
                ),
                b"",
            ),
        ],
    )
    irmap = msg("fh_pb2", "irmap_cache_entry", dev=(8 << 8) | 1, inode=99, path="/etc/x")
    add("irmap-cache.img", "IRMAP_CACHE", [(irmap, b"")])
    add(
        "memfd.img",
        "MEMFD_INODE",
        [
            (
                msg(
                    "memfd_pb2",
                    "memfd_inode_entry",
                    name="memfd:buf",
                    uid=0,
                    gid=0,
                    size=4096,
                    shmid=3,
                    seals=0x1F | 0x40,
                    inode_id=4,
                ),
                b"",
            ),
        ],
    )
    add(
        "inotify-wd.img",
        "INOTIFY_WD",
        [
            (
                msg(
                    "fsnotify_pb2",
                    "inotify_wd_entry",
                    id=1,
                    i_ino=5,
                    mask=0xFFF,
                    ignored_mask=0,
                    s_dev=(8 << 20) | 2,
                    wd=1,
                    f_handle=msg("fh_pb2", "fh_entry", bytes=8, type=1, handle=[1, 2]),
                ),
                b"",
            ),
        ],
    )
    return made


def crit_decode(paths) -> dict:
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(DRIVER)],
        input="".join(f"{p}\n" for p in paths),
        capture_output=True,
        text=True,
        env=crit_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_built_images_decode_like_crit(tmp_path):
    require_crit()
    paths = build_images(tmp_path)
    # the re-encoded real image: an abstract, non-ASCII unix socket name
    src = CORPUS / "unixsock" / "files.img"
    image = open_image(shutil.copy(src, tmp_path / "files-named.img"))
    for entry in image.entries:
        if entry.message.HasField("usk"):
            m = entry.message
            m.usk.name = b"\0my=sock\xff\n"
            entry.set_message(m)
    assert any(e.dirty for e in image.entries)
    (tmp_path / "files-named.img").write_bytes(image.encode())
    paths.append(tmp_path / "files-named.img")

    crit = crit_decode(paths)
    for path in paths:
        for pretty in (False, True):
            code, out, stderr = crit[f"{path}|{'pretty' if pretty else 'plain'}"]
            assert code == 0, (path.name, stderr)
            got_code, got, err = ours(path, pretty)
            assert got_code == 0, err
            comparable, taken = as_crit_would(path, got, pretty)
            assert comparable == out, path.name
            assert taken == set()

    # a few values crit shows, read from our pretty output: they prove the options were applied
    def pretty(name):
        return json.loads(ours(tmp_path / name, True)[1])["entries"]

    assert pretty("ipcns-sem-1.img")[0]["extra"] == [1, 2, 65535]
    assert pretty("ipcns-msg-1.img")[0]["extra"][0] == {"mtype": 1, "msize": 13}
    ghost = pretty("ghost-file-7.img")
    assert (ghost[0]["dev"], ghost[0]["rdev"]) == ("8:1", "1:3") and "extra" not in ghost[0]
    assert [g["extra"] for g in ghost[1:]] == ["aGVhZA==\n", "ZW5k\n"]
    assert pretty("ghost-file-8.img")[0]["extra"] == "d2hvbGUgZmlsZSB3aXRob3V0IGNodW5rcwo=\n"
    sk6, sk4 = (e["isk"] for e in pretty("files.img"))
    assert (sk6["src_addr"], sk6["family"], sk6["state"]) == (["fe80::1"], "INET6", "LISTEN")
    assert (sk4["src_addr"], sk4["proto"]) == (["127.0.0.1"], "UDP")
    assert pretty("mountpoints-12.img")[0]["root_dev"] == "259:3"
    assert pretty("irmap-cache.img")[0]["dev"] == "8:1"
    seals = "F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | 0x40"
    assert pretty("memfd.img")[0]["seals"] == seals
    named = [e["usk"]["name"] for e in pretty("files-named.img") if "usk" in e]
    assert named and set(named) == {"=00my=3Dsock=FF\n"}


@pytest.mark.parametrize("magic", ["PIPES_DATA", "SK_QUEUES", "IPCNS_MSG"])
def test_lying_extra_size_is_one_line_error(tmp_path, magic, cli):
    """An entry that promises more extra bytes than the file holds: exit 2, one line."""
    entry = {
        "PIPES_DATA": msg("pipe_data_pb2", "pipe_data_entry", pipe_id=1, bytes=1 << 30),
        "SK_QUEUES": msg("sk_packet_pb2", "sk_packet_entry", id_for=1, length=1 << 30),
        "IPCNS_MSG": msg("ipc_msg_pb2", "ipc_msg_entry", desc=ipc_desc(), qbytes=1, qnum=3),
    }[magic]
    path = tmp_path / "lying.img"
    write_image(path, magic, [(entry, b"short")])
    proc = cli("decode", str(path))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"criu-inspect: error: {path}: ") and proc.stderr.count("\n") == 1
    assert "(offset " in proc.stderr


def test_signal_queue_image_holds_one_siginfo_per_entry(tmp_path):
    """signal-p-N.img / signal-s-N.img (SIGNAL magic): CRIU writes one siginfo_entry per
    queued signal. Built here with two raw 128-byte siginfo_t; crit 3.17 has no handler."""
    infos = [struct.pack("<3i", signo, 0, 0) + bytes(116) for signo in (10, 12)]
    path = tmp_path / "signal-p-42.img"
    write_image(path, "SIGNAL", [(msg("siginfo_pb2", "siginfo_entry", siginfo=i), b"") for i in infos])
    code, out, err = ours(path, False)
    assert code == 0, err
    data = json.loads(out)
    assert data["magic"] == "SIGNAL"
    decoded = [base64.b64decode(e["siginfo"]) for e in data["entries"]]
    assert [struct.unpack_from("<i", d)[0] for d in decoded] == [10, 12]
