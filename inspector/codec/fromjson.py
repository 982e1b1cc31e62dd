"""crit-compatible JSON -> image bytes: the inverse of ``tojson`` (what ``crit encode`` does, checked).

The input is what ``decode`` prints, plain or ``--pretty``: ``{"magic": NAME,
"entries": [...]}``, each entry a message's fields by name plus, for some
kinds, an ``extra`` payload. Values are taken in either form decode writes
them: numbers or their pretty strings (``0x..`` hex, ``major:minor``,
``A | B | 0x..`` flags with pycriu's tables, socket dict names, IP addresses),
enums by name, bytes as base64 (quoted-printable for unix socket names).

Unlike crit's ``dict2pb`` (pycriu/images/pb2dict.py), which skips keys it does
not know and casts whatever it finds, every key must be a field of the
message, every value must have the field's type and fit its range, required
fields must be there, and an extra payload must be as long as the entry says:
a mistake is one ``InspectError`` naming the field's path
(``entries[3].tc.task_state``), never an image criu would refuse or misread.

Framing follows CRIU (criu/image.c:542 and img_write_magic at :570, as crit's
images.dump does): ``inventory.img`` has its magic alone, ``stats-*`` and
``irmap-cache`` start with IMG_SERVICE, every other image with IMG_COMMON;
then ``u32 size, payload, extra`` per entry.
"""

from __future__ import annotations

import array
import base64
import binascii
import json
import quopri
import socket
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from google.protobuf.descriptor import FieldDescriptor as FD
from google.protobuf.message import EncodeError

from ..errors import InspectError
from . import schema
from .image import RAW_NAME_PATTERNS, _round_up
from .tojson import _INT_TYPES, _Field, _plan, _pycriu_maps

U32 = struct.Struct("<I")

_INT_RANGES = {
    FD.TYPE_INT32: (-(1 << 31), (1 << 31) - 1),
    FD.TYPE_SINT32: (-(1 << 31), (1 << 31) - 1),
    FD.TYPE_SFIXED32: (-(1 << 31), (1 << 31) - 1),
    FD.TYPE_UINT32: (0, (1 << 32) - 1),
    FD.TYPE_FIXED32: (0, (1 << 32) - 1),
    FD.TYPE_INT64: (-(1 << 63), (1 << 63) - 1),
    FD.TYPE_SINT64: (-(1 << 63), (1 << 63) - 1),
    FD.TYPE_SFIXED64: (-(1 << 63), (1 << 63) - 1),
    FD.TYPE_UINT64: (0, (1 << 64) - 1),
    FD.TYPE_FIXED64: (0, (1 << 64) - 1),
}
_KERN_MINORBITS = 20  # dev_t as CRIU images hold it (tojson._dev)


class _Bad(Exception):
    """JSON that does not make an image; ``where`` is the path of the field at fault (``entries[0].tc.comm``)."""

    def __init__(self, where: str, what: str):
        super().__init__(f"{where}: {what}")


# --- JSON text -----------------------------------------------------------------


def _no_duplicate_keys(pairs):
    seen = dict(pairs)
    if len(seen) != len(pairs):
        keys: set = set()
        for key, _ in pairs:  # one pass: count() per key was quadratic (40,000 keys took 39 s)
            if key in keys:
                raise ValueError(f"key {key!r} appears twice in one object")
            keys.add(key)
    return seen


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def load_json(text: bytes | str, path: str | None) -> object:
    """Parse decode's JSON; a syntax error names its line and column, a repeated key is an error too."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InspectError(path, f"not UTF-8 text: byte 0x{text[exc.start]:02x}", exc.start) from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InspectError(path, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # from the hooks: no position from json, say what
        raise InspectError(path, f"not valid JSON for an image: {exc}") from None
    except RecursionError:
        raise InspectError(path, "not valid JSON for an image: nested too deeply") from None


# --- values ----------------------------------------------------------------------


class _Value(Exception):
    """A value that does not fit its field; the caller, which knows the path, turns it into ``_Bad``."""


def _describe(value) -> str:
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class _Slot:
    """What setting one field from JSON needs, worked out once per descriptor."""

    name: str
    number: int
    type: int
    repeated: bool
    field: Any  # the FieldDescriptor
    opts: _Field  # decode's view of the field: its (criu) options
    low: int = 0
    high: int = 0
    flags: dict[str, int] | None = None  # flag name -> bit, pycriu's table
    names: dict[str, int] | None = None  # dict name -> number (socket family, type, state, proto)
    enum: dict[str, int] | None = None  # enum value name -> number
    plain_int: bool = False  # a singular integer field


_slots_cache: dict[str, dict[str, _Slot]] = {}


def _slots(desc) -> dict[str, _Slot]:
    slots = _slots_cache.get(desc.full_name)
    if slots is None:
        plan = _plan(desc)
        slots = {}
        for field in desc.fields:
            f = plan[field.number]
            low = high = 0
            flags = names = enum = None
            if f.type in _INT_TYPES:
                low, high = _INT_RANGES[f.type]
                if f.flags:
                    flags_maps, _, _ = _pycriu_maps()
                    flags = dict(flags_maps.get(f.flags, ()))
                if f.dict_map:
                    _, dict_maps, _ = _pycriu_maps()
                    names = dict(dict_maps.get(f.dict_map, ({}, {}))[1].get(f.name, {}))
            elif f.type == FD.TYPE_ENUM:
                enum = {v.name: v.number for v in field.enum_type.values}
            plain_int = f.type in _INT_TYPES and not f.repeated
            slots[field.name] = _Slot(
                field.name, field.number, f.type, f.repeated, field, f, low, high, flags, names, enum, plain_int
            )
        _slots_cache[desc.full_name] = slots
    return slots


def _int_from_text(slot: _Slot, text: str) -> int:
    """The pretty forms decode writes for an integer: hex, major:minor, flags, dict names; or any Python literal."""
    s = text.strip()
    if slot.flags is not None:  # "A | B | 0x40", "0x0" below a hex message, "" for none
        value = 0
        for token in (t.strip() for t in s.split("|")) if s else ():
            bit = slot.flags.get(token)
            if bit is None:
                try:
                    bit = int(token, 0)
                except ValueError:
                    known = ", ".join(slot.flags) or "none"
                    raise _Value(f"unknown flag {token!r} (known: {known}; or a number)") from None
            value |= bit
        return value
    f = slot.opts
    if f.dev and ":" in s:
        major, _, minor = s.partition(":")
        if not (major.isdigit() and minor.isdigit()):
            raise _Value(f"expected major:minor, got {_describe(text)}")
        ma, mi = int(major), int(minor)
        if f.odev:  # glibc's dev_t layout, as tojson's os.major/os.minor read it
            return (mi & 0xFF) | ((ma & 0xFFF) << 8) | ((mi & ~0xFF) << 12) | ((ma & ~0xFFF) << 32)
        if mi >= 1 << _KERN_MINORBITS:
            raise _Value(f"minor {mi} does not fit in {_KERN_MINORBITS} bits")
        return ma << _KERN_MINORBITS | mi
    if slot.names is not None and s in slot.names:
        return slot.names[s]
    try:
        return int(s, 0)  # hex, and numbers written as text
    except ValueError:
        pass
    if slot.names is not None:
        known = ", ".join(slot.names) or "none"
        raise _Value(f"unknown name {_describe(text)} (known: {known}; or a number)")
    raise _Value(f"expected an integer, got {_describe(text)}")


def _scalar(slot: _Slot, value):
    """One JSON value as the Python value protobuf takes for this field."""
    t = slot.type
    if t in _INT_TYPES:
        kind = type(value)
        if kind is int:
            number = value
        elif kind is str:
            number = _int_from_text(slot, value)
        else:
            raise _Value(f"expected an integer, got {_describe(value)}")
        if not slot.low <= number <= slot.high:
            raise _Value(f"{number} is out of range for this field ({slot.low}..{slot.high})")
        return number
    if t == FD.TYPE_ENUM:
        assert slot.enum is not None  # _slots names the values of every enum field
        if type(value) is str:
            number = slot.enum.get(value)
            if number is None:
                known = ", ".join(slot.enum)
                raise _Value(f"unknown {slot.field.enum_type.name} value {_describe(value)} (known: {known})")
            return number
        if type(value) is int and value in slot.enum.values():
            return value
        raise _Value(f"expected a {slot.field.enum_type.name} name, got {_describe(value)}")
    if t == FD.TYPE_BOOL:
        if type(value) is not bool:
            raise _Value(f"expected true or false, got {_describe(value)}")
        return value
    if t == FD.TYPE_STRING:
        if type(value) is not str:
            raise _Value(f"expected a string, got {_describe(value)}")
        _encodable(value)
        return value
    if t == FD.TYPE_BYTES:
        if type(value) is not str:
            raise _Value(f"expected a base64 string, got {_describe(value)}")
        if slot.opts.conv == "unix_name":
            _encodable(value)
            return quopri.decodestring(value.encode("utf-8", "surrogateescape"))
        return _base64(value)
    if t in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        if type(value) not in (int, float):
            raise _Value(f"expected a number, got {_describe(value)}")
        return value
    raise _Value(f"field type {t} is not supported")


def _encodable(text: str) -> None:
    """decode writes bytes that are not UTF-8 as surrogates \\udc80-\\udcff; any other lone surrogate is no byte."""
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise _Value(f"character {text[exc.start]!r} at {exc.start} is not text (a lone surrogate)") from None


def _base64(value: str) -> bytes:
    try:  # decode writes MIME lines (base64.encodebytes): line breaks are fine, anything else is not
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise _Value("not valid base64") from None


def _looks_like_address(value) -> bool:
    return type(value) is str and ("." in value or ":" in value)


def _ip_words(text: str) -> list[int]:
    """An address as decode's pretty form shows it -> the words CRIU stores (network order, tojson._ip)."""
    try:
        addr = ip_address(text)
    except ValueError:
        raise _Value(f"not an IP address: {_describe(text)}") from None
    if isinstance(addr, IPv4Address):
        return [socket.htonl(int(addr))]
    assert isinstance(addr, IPv6Address)
    v = int(addr)
    return [socket.htonl((v >> shift) & 0xFFFFFFFF) for shift in (96, 64, 32, 0)]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _string_wire(number: int, values: list[str]) -> bytes:
    """Length-delimited records for string values that are not valid UTF-8 (decode keeps them surrogate-escaped).

    protobuf's setters refuse such text; parsing the wire form keeps every byte, as the image had it.
    """
    tag = _varint(number << 3 | 2)
    out = bytearray()
    for text in values:
        data = text.encode("utf-8", "surrogateescape")
        out += tag + _varint(len(data)) + data
    return bytes(out)


def _at(where: str, key: str, index: int | None = None) -> str:
    path = f"{where}.{key}" if where else key
    return path if index is None else f"{path}[{index}]"


def fill_message(msg, data, where: str) -> None:
    """Set ``msg``'s fields from decode's dict for it (either form); ``where`` names it in errors."""
    if type(data) is not dict:
        raise _Bad(where, f"expected an object with the fields of {msg.DESCRIPTOR.name}, got {_describe(data)}")
    slots = _slots(msg.DESCRIPTOR)
    raw_strings = []
    for key, value in data.items():
        slot = slots.get(key)
        if slot is None:
            raise _Bad(_at(where, key), f"no such field in {msg.DESCRIPTOR.name}")
        if slot.plain_int and type(value) is int and slot.low <= value <= slot.high:  # the common case, inline
            setattr(msg, key, value)
            continue
        if slot.repeated:
            if type(value) is not list:
                raise _Bad(_at(where, key), f"expected a list, got {_describe(value)}")
            target = getattr(msg, key)
            if slot.type == FD.TYPE_MESSAGE:
                for i, item in enumerate(value):
                    fill_message(target.add(), item, _at(where, key, i))
                continue
            i = 0
            try:
                if slot.opts.ipadd and len(value) == 1 and _looks_like_address(value[0]):
                    target.extend(_ip_words(value[0]))
                    continue
                items = []
                for item in value:
                    items.append(_scalar(slot, item))
            except _Value as exc:
                raise _Bad(_at(where, key, i), str(exc)) from None
            if slot.type == FD.TYPE_STRING and not all(map(_utf8, items)):
                raw_strings.append((slot.number, items))
            else:
                target.extend(items)
        elif slot.type == FD.TYPE_MESSAGE:
            sub = getattr(msg, key)
            sub.SetInParent()  # present even when empty, as in the image
            fill_message(sub, value, _at(where, key))
        else:
            try:
                item = _scalar(slot, value)
            except _Value as exc:
                raise _Bad(_at(where, key), str(exc)) from None
            if slot.type == FD.TYPE_STRING and not _utf8(item):
                raw_strings.append((slot.number, [item]))
            else:
                setattr(msg, key, item)
    for number, items in raw_strings:
        msg.MergeFromString(_string_wire(number, items))


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _serialize(msg, where: str) -> bytes:
    try:
        return msg.SerializeToString()
    except EncodeError:
        missing = ", ".join(msg.FindInitializationErrors())
        hint = ""
        if msg.DESCRIPTOR.name == "pagemap_entry" and missing == "compat_nr_pages":
            hint = (
                " (JSON from crit 3.17? its nr_pages is field 2, which CRIU 4.2 leaves at 0: the page counts are"
                " not in that JSON; decode the image with criu-inspect)"
            )
        raise _Bad(where, f"{msg.DESCRIPTOR.name} lacks required field(s) {missing}{hint}") from None


# --- extra payloads ----------------------------------------------------------------


def _payload(text, where: str) -> bytes:
    """An extra payload as decode writes it: base64 text (a missing one is empty)."""
    if text is None:
        return b""
    if type(text) is not str:
        raise _Bad(where, f"expected a base64 string, got {_describe(text)}")
    try:
        return _base64(text)
    except _Value as exc:
        raise _Bad(where, str(exc)) from None


def _exact(data: bytes, want: int, where: str, says: str) -> bytes:
    if len(data) != want:
        raise _Bad(where, f"{len(data)} bytes, but the entry's {says} says {want} (change one to match the other)")
    return data


def _extra_bytes(kind: str, msg, extra, where: str) -> bytes:
    """The bytes that follow an entry, from decode's ``extra`` (missing = empty), checked against the entry."""
    if kind == "tcp_stream":
        if extra is None:
            extra = {}
        if not isinstance(extra, dict):
            raise _Bad(where, f'expected {{"inq": base64, "outq": base64}}, got {_describe(extra)}')
        unknown = set(extra) - {"inq", "outq"}
        if unknown:
            raise _Bad(f"{where}.{min(unknown)}", "no such part of a TCP stream (inq, outq)")
        inq = _payload(extra.get("inq"), f"{where}.inq")
        outq = _payload(extra.get("outq"), f"{where}.outq")
        inq = _exact(inq, msg.inq_len, f"{where}.inq", "inq_len")
        return inq + _exact(outq, msg.outq_len, f"{where}.outq", "outq_len")
    if kind == "ipc_sem":
        values = [] if extra is None else extra
        if not isinstance(values, list):
            raise _Bad(where, f"expected a list of semaphore values, got {_describe(values)}")
        if len(values) != msg.nsems:
            raise _Bad(where, f"{len(values)} semaphore values, but the entry's nsems says {msg.nsems}")
        sems = array.array("H")
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 0xFFFF:
                raise _Bad(f"{where}[{i}]", f"expected an integer 0..65535, got {_describe(v)}")
            sems.append(v)
        data = sems.tobytes()
        return data + bytes(_round_up(len(data), 8) - len(data))  # criu/ipc_ns.c pads semaphores to 8 bytes
    if kind == "ipc_msg":
        return _ipc_messages(msg, [] if extra is None else extra, where)
    data = _payload(extra, where)
    if kind == "pipe_data":
        return _exact(data, msg.bytes, where, "bytes")
    if kind == "sk_queue":
        return _exact(data, msg.length, where, "length")
    if kind == "bpfmap_data":
        return _exact(data, msg.keys_bytes + msg.values_bytes, where, "keys_bytes + values_bytes")
    if kind == "ipc_shm":
        if msg.in_pagemaps:  # CRIU 4.2 puts the segment's pages in pagemap/pages images (criu/ipc_ns.c:407, 833)
            if data:
                raise _Bad(where, "in_pagemaps is true: the contents are in the pagemap and pages images, not here")
            return b""
        _exact(data, msg.size, where, "size")
        return data + bytes(_round_up(len(data), 4) - len(data))  # criu/ipc_ns.c pads a segment to 4 bytes
    raise _Bad(where, f"extra payload kind {kind} is not supported")


def _ipc_messages(entry_msg, extra, where: str) -> bytes:
    """A SysV queue: [message, base64 body, ...] -> u32 size, ipc_msg, body padded to 8, per message."""
    if not isinstance(extra, list) or len(extra) % 2:
        raise _Bad(where, "expected a list alternating message objects and base64 bodies")
    if len(extra) // 2 != entry_msg.qnum:
        raise _Bad(where, f"{len(extra) // 2} messages, but the entry's qnum says {entry_msg.qnum}")
    cls = schema.message_class("ipc_msg_pb2", "ipc_msg")
    out = bytearray()
    for i in range(0, len(extra), 2):
        m = cls()
        fill_message(m, extra[i], f"{where}[{i}]")
        payload = _serialize(m, f"{where}[{i}]")
        data = _exact(_payload(extra[i + 1], f"{where}[{i + 1}]"), m.msize, f"{where}[{i + 1}]", "msize")
        out += U32.pack(len(payload)) + payload + data + bytes(_round_up(len(data), 8) - len(data))
    return bytes(out)


# --- images --------------------------------------------------------------------


def header_for(kind: schema.ImageKind) -> bytes:
    """The magic(s) CRIU writes before the entries of this kind."""
    magic = U32.pack(schema.magic_value(kind.name))
    if kind.name == "INVENTORY":  # criu/image.c:572 img_write_magic: the inventory carries its own magic only
        return magic
    first = "IMG_SERVICE" if kind.name in schema.SERVICE_IMAGES else "IMG_COMMON"
    return U32.pack(schema.magic_value(first)) + magic


def _kind_of(doc) -> schema.ImageKind:
    if not isinstance(doc, dict):
        raise _Bad("(top level)", f'expected {{"magic": ..., "entries": [...]}}, got {_describe(doc)}')
    unknown = sorted(set(doc) - {"magic", "entries"})
    if unknown:
        raise _Bad(unknown[0], 'no such key in an image (only "magic" and "entries")')
    if "magic" not in doc:
        raise _Bad("magic", 'missing: the image kind, e.g. "CORE"')
    name = doc["magic"]
    if not isinstance(name, str):
        raise _Bad("magic", f"expected an image kind name, got {_describe(name)}")
    kind = schema.KINDS.get(name)
    if kind is None:
        raw = name in {k for _, k in RAW_NAME_PATTERNS}
        why = "raw images (pages, tarballs) have no entries to encode" if raw else "not an image kind decode writes"
        raise _Bad("magic", f"unknown image magic {_describe(name)}: {why}")
    if "entries" not in doc:
        raise _Bad("entries", "missing: the list of entries")
    if not isinstance(doc["entries"], list):
        raise _Bad("entries", f"expected a list, got {_describe(doc['entries'])}")
    return kind


def dict_to_image(doc) -> bytes:
    """decode's dict (plain or pretty) -> the image file's bytes. Raises ``_Bad`` naming the field."""
    kind = _kind_of(doc)
    out = bytearray(header_for(kind))
    entries = doc["entries"]
    if kind.extra == "ghost":
        return bytes(out + _ghost(kind, entries))
    module, message = _schema_of(kind)
    entry_cls = schema.message_class(module, message)
    head_cls = schema.message_class(module, kind.head) if kind.head else entry_cls  # pagemap_head first
    pack = U32.pack
    for i, item in enumerate(entries):
        where = f"entries[{i}]"
        msg = head_cls() if i == 0 else entry_cls()
        extra = None
        if isinstance(item, dict) and "extra" in item:
            if kind.extra is None:
                raise _Bad(f"{where}.extra", f"{kind.name} entries carry no extra payload")
            item = dict(item)
            extra = item.pop("extra")
        fill_message(msg, item, where)
        payload = _serialize(msg, where)
        out += pack(len(payload))
        out += payload
        if kind.extra is not None:
            out += _extra_bytes(kind.extra, msg, extra, f"{where}.extra")
    return bytes(out)


def _schema_of(kind: schema.ImageKind) -> tuple[str, str]:
    """(pb2 module, entry message) of a kind of ``schema.KINDS``, which lists only kinds with a schema."""
    assert kind.module is not None and kind.message is not None
    return kind.module, kind.message


def _ghost(kind: schema.ImageKind, entries: list) -> bytes:
    """ghost-file-N.img: the file entry, then either its contents (the rest of the file) or chunks with theirs."""
    if not entries:
        raise _Bad("entries", "a ghost file image needs its ghost_file_entry")
    out = bytearray()
    head = entries[0]
    contents = None
    if isinstance(head, dict) and "extra" in head:
        head = dict(head)
        contents = head.pop("extra")
    module, message = _schema_of(kind)
    gf = schema.message_class(module, message)()
    fill_message(gf, head, "entries[0]")
    payload = _serialize(gf, "entries[0]")
    out += U32.pack(len(payload)) + payload
    if not gf.chunks:  # criu/files-reg.c:898 dump_ghost_file: the contents follow the entry, to the end of the file
        if len(entries) > 1:
            raise _Bad("entries[1]", "a ghost file without chunks has one entry (set chunks to true for chunk entries)")
        return bytes(out + _payload(contents, "entries[0].extra"))
    if contents is not None:
        raise _Bad("entries[0].extra", "with chunks true the contents are in the chunk entries that follow")
    chunk_cls = schema.message_class(module, "ghost_chunk_entry")
    for i, item in enumerate(entries[1:], 1):
        where = f"entries[{i}]"
        extra = None
        if isinstance(item, dict) and "extra" in item:
            item = dict(item)
            extra = item.pop("extra")
        chunk = chunk_cls()
        fill_message(chunk, item, where)
        payload = _serialize(chunk, where)
        data = _exact(_payload(extra, f"{where}.extra"), chunk.len, f"{where}.extra", "len")
        out += U32.pack(len(payload)) + payload + data
    return bytes(out)


def encode_json(text: bytes | str, path: str | None) -> bytes:
    """decode's JSON text -> image bytes; any problem is one InspectError naming ``path`` and the field."""
    doc = load_json(text, path)
    try:
        return dict_to_image(doc)
    except _Bad as exc:
        raise InspectError(path, str(exc)) from None
    except RecursionError:
        raise InspectError(path, "nested too deeply for an image") from None
