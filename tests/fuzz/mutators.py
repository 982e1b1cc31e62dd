"""Mutators: each damages a copy of a real checkpoint in one way a hostile or broken input could.

A mutator takes a seeded ``random.Random`` and the directory of the copy,
changes it in place and returns what it did (one line, for reproducers), or
None when the checkpoint has nothing it applies to. Byte-level ones know
nothing of the format; structural ones go through the project's codec to find
entries and fields, so the damage lands where a parser looks.
"""

from __future__ import annotations

import os
import random
import socket
import struct
from collections.abc import Callable
from pathlib import Path

U32 = struct.Struct("<I")
Mutator = Callable[[random.Random, Path], "str | None"]


# --- picking files -------------------------------------------------------------


def _files(d: Path, pred=lambda p: True) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.is_file() and not p.is_symlink() and pred(p))


def _images(d: Path) -> list[Path]:
    return _files(d, lambda p: (p.name.endswith(".img") and not p.name.startswith("pages-")) or p.name == "stats-dump")


def _pick_image(rng: random.Random, d: Path) -> Path | None:
    imgs = _images(d)
    return rng.choice(imgs) if imgs else None


def _entries(path: Path):
    """(offset of the size field, payload size, message or None) of each entry the codec frames."""
    from inspector.codec.image import open_image
    from inspector.errors import InspectError

    try:
        img = open_image(path)
        if img.raw or not img.known:
            return img, []
        return img, list(img.entries)
    except InspectError:
        return None, []


def _pick_entries(rng, d: Path):
    """(file, image, entries) of a random image of ``d``; no entries when it has none the codec frames."""
    p = _pick_image(rng, d)
    img, entries = _entries(p) if p else (None, [])
    return p, img, entries


def _rewrite(path: Path, img, entries, payloads: list[bytes], extras: list[bytes] | None = None) -> None:
    out = bytearray(img.header)
    for i, payload in enumerate(payloads):
        out += U32.pack(len(payload)) + payload
        if extras is not None and i < len(extras):
            out += extras[i]
    out += img.trailing
    path.write_bytes(bytes(out))


# --- byte level ----------------------------------------------------------------


def bit_flips(rng, d):
    p = _pick_image(rng, d)
    if p is None or p.stat().st_size == 0:
        return None
    data = bytearray(p.read_bytes())
    flips = []
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(data))
        bit = rng.randrange(8)
        data[i] ^= 1 << bit
        flips.append(f"{i}.{bit}")
    p.write_bytes(bytes(data))
    return f"{p.name}: flip bits {', '.join(flips)}"


def overwrite_bytes(rng, d):
    p = _pick_image(rng, d)
    if p is None or p.stat().st_size == 0:
        return None
    data = bytearray(p.read_bytes())
    off = rng.randrange(len(data))
    n = min(rng.randint(1, 16), len(data) - off)
    fill = rng.choice([b"\xff", b"\x00", b"\x80", None])
    new = bytes(fill * n if fill else rng.randbytes(n))
    data[off : off + n] = new
    p.write_bytes(bytes(data))
    return f"{p.name}: overwrite {n} bytes at {off} with {new.hex()}"


def truncate(rng, d):
    p = _pick_image(rng, d) if rng.random() < 0.7 else _pick_pages(rng, d)
    if p is None:
        return None
    size = p.stat().st_size
    new = rng.choice([0, 1, 3, 4, 7, 8, rng.randrange(size + 1)])
    new = min(new, size)
    os.truncate(p, new)
    return f"{p.name}: truncate {size} -> {new} bytes"


def extend(rng, d):
    p = _pick_image(rng, d) if rng.random() < 0.7 else _pick_pages(rng, d)
    if p is None:
        return None
    n = rng.choice([1, 4, 5, 4096, 4097])
    with open(p, "ab") as fh:
        fh.write(rng.randbytes(n))
    return f"{p.name}: append {n} random bytes"


def _pick_pages(rng, d):
    pages = _files(d, lambda p: p.name.startswith("pages-"))
    return rng.choice(pages) if pages else None


# --- framing -------------------------------------------------------------------


def huge_entry_size(rng, d):
    p, img, entries = _pick_entries(rng, d)
    if not entries:
        return None
    e = rng.choice(entries)
    value = rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, len(e.payload) + 1, max(0, len(e.payload) - 1), 0])
    data = bytearray(p.read_bytes())
    data[e.offset : e.offset + 4] = U32.pack(value)
    p.write_bytes(bytes(data))
    return f"{p.name}: entry {e.index} size field at {e.offset} set to {value}"


def wrong_magic(rng, d):
    p = _pick_image(rng, d)
    others = [o for o in _images(d) if o != p]
    if p is None or not others:
        return None
    from inspector.codec.image import open_image
    from inspector.errors import InspectError

    donor = rng.choice(others)
    try:
        img, other = open_image(p), open_image(donor)
    except InspectError:
        return None
    if img.raw or other.raw or not img.header or not other.header:
        return None
    data = p.read_bytes()
    p.write_bytes(other.header + data[len(img.header) :])
    return f"{p.name}: header replaced by {donor.name}'s ({other.name})"


def shuffle_entries(rng, d):
    p, img, entries = _pick_entries(rng, d)
    if not entries:
        return None
    payloads, extras = [e.payload for e in entries], [e.extra for e in entries]
    how = rng.choice(["duplicate", "drop", "swap", "drop-all"])
    i = rng.randrange(len(entries))
    if how == "duplicate":
        payloads.insert(i, payloads[i])
        extras.insert(i, extras[i])
    elif how == "drop":
        del payloads[i], extras[i]
    elif how == "drop-all":
        payloads, extras = [], []
    else:
        if len(entries) < 2:
            return None
        j = rng.randrange(len(entries))
        payloads[i], payloads[j] = payloads[j], payloads[i]
        extras[i], extras[j] = extras[j], extras[i]
    _rewrite(p, img, entries, payloads, extras)
    return f"{p.name}: {how} entry {i} of {len(entries)}"


# --- fields --------------------------------------------------------------------

_EXTREMES = {
    "uint32": [0, 1, 2**31, 2**32 - 1],
    "uint64": [0, 2**32, 2**63, 2**64 - 1],
    "int32": [-1, -(2**31), 2**31 - 1],
    "int64": [-1, -(2**63), 2**63 - 1],
    "sint32": [-1, -(2**31)],
    "sint64": [-1, -(2**63)],
    "bool": [True, False],
    "string": ["", "../../../../etc/passwd", "a" * 5000, "nul\x00in", "\u202e"],
    "bytes": [b"", b"\xff" * 64],
}


def _repeated(fd) -> bool:
    is_repeated = getattr(fd, "is_repeated", None)  # protobuf 6+; older ones have only .label
    return bool(is_repeated) if is_repeated is not None else fd.label == fd.LABEL_REPEATED


def _scalar_fields(msg, path=""):
    """(message, field descriptor, dotted path) of every set scalar field, recursively."""
    from google.protobuf.descriptor import FieldDescriptor as F

    out = []
    for fd, value in msg.ListFields():
        here = f"{path}.{fd.name}" if path else fd.name
        if fd.type == F.TYPE_MESSAGE:
            items = value if _repeated(fd) else [value]
            for k, sub in enumerate(items[:8]):
                out += _scalar_fields(sub, f"{here}[{k}]" if _repeated(fd) else here)
        else:
            out.append((msg, fd, here))
    return out


def _type_name(fd) -> str:
    from google.protobuf.descriptor import FieldDescriptor as F

    return {
        F.TYPE_UINT32: "uint32",
        F.TYPE_FIXED32: "uint32",
        F.TYPE_UINT64: "uint64",
        F.TYPE_FIXED64: "uint64",
        F.TYPE_INT32: "int32",
        F.TYPE_SFIXED32: "int32",
        F.TYPE_ENUM: "int32",
        F.TYPE_INT64: "int64",
        F.TYPE_SFIXED64: "int64",
        F.TYPE_SINT32: "sint32",
        F.TYPE_SINT64: "sint64",
        F.TYPE_BOOL: "bool",
        F.TYPE_STRING: "string",
        F.TYPE_BYTES: "bytes",
    }.get(fd.type, "")


def extreme_field(rng, d):
    """One decoded field set to an extreme of its type, the entry re-encoded (valid protobuf, hostile value)."""
    p, img, entries = _pick_entries(rng, d)
    if not entries:
        return None
    e = rng.choice(entries)
    try:
        msg = e.message
    except Exception:
        return None
    fields = _scalar_fields(msg)
    if not fields:
        return None

    owner, fd, where = rng.choice(fields)
    values = _EXTREMES.get(_type_name(fd))
    if not values:
        return None
    value = rng.choice(values)
    try:
        if _repeated(fd):
            seq = getattr(owner, fd.name)
            if not len(seq):
                return None
            seq[rng.randrange(len(seq))] = value
        else:
            setattr(owner, fd.name, value)
        payload = msg.SerializeToString()
    except (ValueError, TypeError):
        return None
    payloads = [x.payload for x in entries]
    payloads[e.index] = payload
    _rewrite(p, img, entries, payloads, [x.extra for x in entries])
    return f"{p.name}: entry {e.index} {where} = {value!r:.40}"


def _edit_entries(d: Path, name: str, edit) -> str | None:
    p = d / name
    if not p.is_file():
        return None
    img, entries = _entries(p)
    from inspector.codec.image import expected_kind_for_name
    from inspector.errors import InspectError

    if not entries or img.name != expected_kind_for_name(name):  # an earlier mutation gave it another magic
        return None
    try:
        msgs = [e.message for e in entries]
    except InspectError:  # an earlier mutation broke it already
        return None
    what = edit(msgs)
    if what is None:
        return None
    _rewrite(p, img, entries, [m.SerializeToString() for m in msgs], [e.extra for e in entries])
    return f"{name}: {what}"


def pstree_shapes(rng, d):
    def edit(msgs):
        i = rng.randrange(len(msgs))
        how = rng.choice(["self-parent", "cycle", "duplicate", "pid0", "orphan", "huge-pid"])
        if how == "self-parent":
            msgs[i].ppid = msgs[i].pid
        elif how == "cycle":
            if len(msgs) < 2:
                msgs[0].ppid = msgs[0].pid
            else:
                j = (i + 1) % len(msgs)
                msgs[i].ppid, msgs[j].ppid = msgs[j].pid, msgs[i].pid
        elif how == "duplicate":
            msgs.append(msgs[i])
        elif how == "pid0":
            msgs[i].pid = 0
        elif how == "orphan":
            msgs[i].ppid = 999999
        else:
            msgs[i].pid = 2**31 - 1
        return f"{how} at entry {i}"

    return _edit_entries(d, "pstree.img", edit)


def pagemap_shapes(rng, d):
    maps = _files(d, lambda p: p.name.startswith("pagemap-"))
    if not maps:
        return None
    name = rng.choice(maps).name

    def edit(msgs):
        if len(msgs) < 2:
            return None
        i = rng.randrange(1, len(msgs))
        how = rng.choice(["unaligned", "half-page", "huge-count", "parent-flag", "lazy-flag", "past-end", "overlap"])
        m = msgs[i]
        if how == "unaligned":
            m.vaddr += 1
        elif how == "half-page":
            m.vaddr += 0x800
        elif how == "huge-count":
            m.nr_pages = 2**31
        elif how == "parent-flag":
            m.flags = 1  # PE_PARENT with no parent
        elif how == "lazy-flag":
            m.flags = 2
        elif how == "past-end":
            m.nr_pages += 1000
        else:
            m.vaddr = msgs[max(1, i - 1)].vaddr
        return f"{how} at entry {i}"

    return _edit_entries(d, name, edit)


# --- the directory -------------------------------------------------------------


def special_file(rng, d):
    """A directory, FIFO, socket or symlink (to a device, dangling, looping) where an image should be."""
    candidates = _images(d) + _files(d, lambda p: p.name.startswith("pages-"))
    if not candidates:
        return None
    p = rng.choice(candidates)
    how = rng.choice(["directory", "fifo", "socket", "dev-zero", "dev-null", "dangling", "loop", "self"])
    p.unlink()
    if how == "directory":
        p.mkdir()
    elif how == "fifo":
        os.mkfifo(p)
    elif how == "socket":
        s = socket.socket(socket.AF_UNIX)
        try:
            s.bind(str(p))
        finally:
            s.close()
    elif how == "dev-zero":
        p.symlink_to("/dev/zero")
    elif how == "dev-null":
        p.symlink_to("/dev/null")
    elif how == "dangling":
        p.symlink_to("no-such-file")
    elif how == "loop":
        p.symlink_to(p.name)
    else:
        p.symlink_to(".")
    return f"{p.name}: replaced by {how}"


def parent_link(rng, d):
    link = d / "parent"
    if link.is_symlink():
        link.unlink()
    elif link.exists():
        return None
    target = rng.choice([".", "..", "/", "parent", "../" + d.name, "/dev/null", "missing"])
    link.symlink_to(target)
    return f"parent -> {target}"


def junk_files(rng, d):
    n = rng.choice([10, 200, 2000])
    kind = rng.choice(["img", "other"])
    for i in range(n):
        (d / (f"junk-{i}.img" if kind == "img" else f"junk-{i}")).write_bytes(rng.randbytes(rng.randint(0, 8)))
    return f"{n} junk {'*.img ' if kind == 'img' else ''}files added"


def drop_image(rng, d):
    p = _pick_image(rng, d) if rng.random() < 0.8 else _pick_pages(rng, d)
    if p is None:
        return None
    p.unlink()
    return f"{p.name}: removed"


def predump_chain(rng, d):
    """Make ``d`` a dump on top of a pre-dump: ``parent -> ../orig`` (the untouched copy beside it), with
    some present runs moved to PE_PARENT and their bytes cut from the pages file, as criu --prev-images-dir
    writes them. A valid chain; another mutator may then damage it."""
    if os.path.lexists(d / "parent") or not (d.parent / "orig").is_dir():
        return None
    maps = _files(d, lambda p: p.name.startswith("pagemap-"))
    if not maps:
        return None
    pm = rng.choice(maps)
    img, entries = _entries(pm)
    if img is None or img.name != "PAGEMAP" or len(entries) < 2:
        return None
    from inspector.errors import InspectError

    try:
        head = entries[0].message
        msgs = [e.message for e in entries]
    except InspectError:
        return None
    pages = d / f"pages-{head.pages_id}.img"
    if not pages.is_file():
        return None
    data = bytearray(pages.read_bytes())
    offset, cuts, moved = 0, [], 0
    for m in msgs[1:]:
        count = m.nr_pages if m.HasField("nr_pages") else m.compat_nr_pages
        present = (m.flags & 4) if m.HasField("flags") else not m.in_parent
        if not present:
            continue
        if rng.random() < 0.4:
            cuts.append((offset, count * 4096))
            m.flags = 1  # PE_PARENT
            moved += count
        offset += count * 4096
    if not cuts:
        return None
    for off, n in reversed(cuts):
        del data[off : off + n]
    pages.write_bytes(bytes(data))
    _rewrite(pm, img, entries, [m.SerializeToString() for m in msgs], [e.extra for e in entries])
    (d / "parent").symlink_to("../orig")
    return f"{pm.name}: {moved} pages of {len(cuts)} runs moved into the parent (parent -> ../orig)"


MUTATORS: dict[str, tuple[Mutator, int]] = {
    "predump-chain": (predump_chain, 6),
    "bit-flips": (bit_flips, 12),
    "overwrite": (overwrite_bytes, 12),
    "truncate": (truncate, 8),
    "extend": (extend, 4),
    "entry-size": (huge_entry_size, 8),
    "wrong-magic": (wrong_magic, 4),
    "entries": (shuffle_entries, 8),
    "field": (extreme_field, 16),
    "pstree": (pstree_shapes, 4),
    "pagemap": (pagemap_shapes, 6),
    "special-file": (special_file, 4),
    "parent-link": (parent_link, 2),
    "junk-files": (junk_files, 1),
    "drop-image": (drop_image, 3),
}


def mutate(rng: random.Random, d: Path, tries: int = 8) -> tuple[str, str]:
    """Apply one mutator (picked by weight) that applies to ``d``, and now and then a second (archives last):
    (mutator name, what it did)."""
    names = [n for n in MUTATORS if n != "archive"]
    done: list[tuple[str, str]] = []
    for _ in range(2 if rng.random() < 0.2 else 1):
        for _ in range(tries):
            name = rng.choices(names + ["archive"], [MUTATORS[n][1] for n in names + ["archive"]])[0]
            what = MUTATORS[name][0](rng, d)
            if what is not None:
                done.append((name, what))
                break
        if done and done[-1][0] == "archive":
            break
    if not done:
        return "none", "no mutator applied"
    return "+".join(n for n, _ in done), "; ".join(w for _, w in done)


# --- archives ------------------------------------------------------------------
# An archive mutator packs the (unchanged) checkpoint with one hostile member, as ``d``'s sibling
# ``archive.tar`` or ``archive.tar.gz``; the harness then runs every command on that archive.


def _pack(d: Path, rng, extra) -> Path:
    import io
    import tarfile

    gz = rng.random() < 0.3
    arc = d.parent / ("archive.tar.gz" if gz else "archive.tar")
    with tarfile.open(arc, "w:gz" if gz else "w") as t:
        t.add(d, d.name)
        extra(t, io, tarfile)
    return arc


def archive_shapes(rng, d):
    how = rng.choice(
        [
            "traversal",
            "absolute",
            "symlink-out",
            "symlink-dir-out",
            "hardlink-out",
            "hardlink-missing",
            "device",
            "fifo",
            "deep",
            "many",
            "dir-over-file",
            "lying-size",
            "truncated",
            "corrupt",
            "parent-loop",
            "two-checkpoints",
        ]
    )
    name = d.name

    def add_file(t, io, tarfile, member: str, data: bytes = b"x", **kw):
        info = tarfile.TarInfo(member)
        info.size = len(data)
        for k, v in kw.items():
            setattr(info, k, v)
        t.addfile(info, io.BytesIO(data))

    def add_link(t, tarfile, member: str, kind, target: str):
        info = tarfile.TarInfo(member)
        info.type, info.linkname = kind, target
        t.addfile(info)

    def extra(t, io, tarfile):
        if how == "traversal":
            add_file(t, io, tarfile, f"{name}/../../evil.img")
        elif how == "absolute":
            add_file(t, io, tarfile, "/tmp/criu-inspect-fuzz-evil.img")
        elif how == "symlink-out":
            add_link(t, tarfile, f"{name}/escape.img", tarfile.SYMTYPE, "../../../../etc/passwd")
        elif how == "symlink-dir-out":
            add_link(t, tarfile, f"{name}/checkpoint", tarfile.SYMTYPE, "/tmp")
            add_file(t, io, tarfile, f"{name}/checkpoint/through.img")
        elif how == "hardlink-out":
            add_link(t, tarfile, f"{name}/hard.img", tarfile.LNKTYPE, "/etc/passwd")
        elif how == "hardlink-missing":
            add_link(t, tarfile, f"{name}/hard.img", tarfile.LNKTYPE, f"{name}/no-such.img")
        elif how in ("device", "fifo"):
            info = tarfile.TarInfo(f"{name}/special.img")
            info.type = tarfile.CHRTYPE if how == "device" else tarfile.FIFOTYPE
            info.devmajor, info.devminor = 1, 5
            t.addfile(info)
        elif how == "deep":
            add_file(t, io, tarfile, f"{name}/" + "d/" * rng.choice([20, 40, 200]) + "x.img")
        elif how == "many":
            info = tarfile.TarInfo()
            for i in range(rng.choice([500, 1500, 3000])):
                info.name = f"{name}/junk-{i}.img"
                t.addfile(info)
        elif how == "dir-over-file":
            info = tarfile.TarInfo(f"{name}/inventory.img")
            info.type = tarfile.DIRTYPE
            t.addfile(info)
        elif how == "parent-loop":
            add_link(t, tarfile, f"{name}/parent", tarfile.SYMTYPE, ".")
        elif how == "two-checkpoints":
            t.add(d, name + "-copy")

    arc = _pack(d, rng, extra)
    if how == "lying-size" and arc.suffix == ".tar":
        data = bytearray(arc.read_bytes())
        data[124:136] = b"77777777777\0"  # the first member's size field: 8 GiB
        arc.write_bytes(bytes(data))
    elif how == "truncated":
        size = arc.stat().st_size
        os.truncate(arc, rng.randrange(size))
    elif how == "corrupt":
        data = bytearray(arc.read_bytes())
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        arc.write_bytes(bytes(data))
    return f"{arc.name}: {how}"


MUTATORS["archive"] = (archive_shapes, 8)
