"""Image -> crit-compatible JSON (``crit decode`` / ``crit show`` conventions).

crit turns an image into ``{"magic": NAME, "entries": [...]}``: one dict per
entry with the message's set fields in field-number order, enums as their
names, bytes as base64 (MIME line breaks, as ``base64.encodebytes``), and an
``extra`` key for the raw payload that follows some entries. With ``pretty``
it also honours the ``(criu)`` field options of CRIU's schema: ``hex`` (also
for every field below a hex message), ``dev``/``odev`` as ``major:minor``,
``flags`` as ``A | B | 0x..`` with the flag tables of the installed pycriu,
``dict`` names and ``ipadd`` addresses. pycriu's own converter cannot run on
protobuf 7 (it reads ``FieldDescriptor.label``), and our classes live in a
private pool, so this module walks the descriptors itself; the flag tables
are pycriu's, loaded from its ``pb2dict``, so names match the installed crit.

Fields CRIU 4.2 added appear under their 4.2 names (crit 3.17 drops them).
"""

from __future__ import annotations

import array
import base64
import json
import os
import quopri
import socket
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from google.protobuf.descriptor import FieldDescriptor as FD
from google.protobuf.message import DecodeError

from ..errors import InspectError
from . import pycriu_loader, schema
from .image import Entry, Image, _round_up

_INT_TYPES = frozenset(
    {
        FD.TYPE_FIXED64,
        FD.TYPE_FIXED32,
        FD.TYPE_SFIXED64,
        FD.TYPE_SFIXED32,
        FD.TYPE_INT64,
        FD.TYPE_UINT64,
        FD.TYPE_SINT64,
        FD.TYPE_INT32,
        FD.TYPE_UINT32,
        FD.TYPE_SINT32,
    }
)
_KERN_MINORBITS = 20  # dev_t as the kernel encodes it in CRIU images


@dataclass(frozen=True)
class _Field:
    """What converting one field needs, worked out once per descriptor."""

    name: str
    type: int
    repeated: bool
    hex: bool = False
    ipadd: bool = False
    dev: bool = False
    odev: bool = False
    flags: str = ""
    dict_map: str = ""  # the (criu) option "dict": which of pycriu's dict_maps names the values
    conv: str = ""
    enum_names: dict[int, str] | None = None


_plans: dict[str, dict[int, _Field]] = {}


def _plan(desc) -> dict[int, _Field]:
    plan = _plans.get(desc.full_name)
    if plan is None:
        plan = {}
        for field in desc.fields:
            opts = schema.criu_field_options(field)
            kwargs = {}
            if opts is not None:
                kwargs = dict(
                    hex=opts.hex,
                    ipadd=opts.ipadd,
                    dev=opts.dev,
                    odev=opts.odev,
                    flags=opts.flags,
                    dict_map=opts.dict,
                    conv=opts.conv,
                )
            enum_names = None
            if field.type == FD.TYPE_ENUM:
                enum_names = {v.number: v.name for v in field.enum_type.values}
            plan[field.number] = _Field(field.name, field.type, field.is_repeated, enum_names=enum_names, **kwargs)
        _plans[desc.full_name] = plan
    return plan


def _pycriu_maps():
    module = pycriu_loader.pb2dict_module()
    return module.flags_maps, module.dict_maps, module.map_flags


def _b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


def _dev(f: _Field, value: int) -> str:
    if f.odev:
        return "%d:%d" % (os.major(value), os.minor(value))
    return "%d:%d" % (value >> _KERN_MINORBITS, value & ((1 << _KERN_MINORBITS) - 1))


def _scalar(f: _Field, value, pretty: bool, is_hex: bool):
    t = f.type
    if t in _INT_TYPES:
        if not pretty:
            return int(value)
        if is_hex or f.hex:
            return f"0x{value:x}"
        if f.dev:
            return _dev(f, value)
        if f.flags:
            flags_maps, _, map_flags = _pycriu_maps()
            table = flags_maps.get(f.flags)
            return f"0x{value:x}" if table is None else map_flags(value, table)
        if f.dict_map:
            _, dict_maps, _ = _pycriu_maps()
            names = dict_maps.get(f.dict_map, ({}, {}))[0].get(f.name, {})
            return names.get(value, int(value))
        return int(value)
    if t == FD.TYPE_BOOL:
        return bool(value)
    if t == FD.TYPE_STRING:  # a string that is not UTF-8 comes back as bytes: keep every byte, escaped
        return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value
    if t == FD.TYPE_BYTES:
        if f.conv == "unix_name":
            return quopri.encodestring(value).decode("ascii")
        return _b64(value)
    if t == FD.TYPE_ENUM:
        assert f.enum_names is not None  # _plan names the values of every enum field
        name = f.enum_names.get(value)
        return name if name is not None else int(value)
    return value  # float/double: no CRIU image field has one; keep the number


def _ip(values) -> str | None:
    if len(values) == 1:
        return IPv4Address(socket.ntohl(values[0])).compressed
    if len(values) == 4:
        v = 0
        for word in values:
            v = v << 32 | socket.ntohl(word)
        return IPv6Address(v).compressed
    return None


def message_to_dict(msg, pretty: bool = False, is_hex: bool = False) -> dict:
    """One protobuf message as crit's pb2dict makes it (set fields, number order)."""
    plan = _plan(msg.DESCRIPTOR)
    out: dict[str, Any] = {}
    for field, value in msg.ListFields():
        f = plan[field.number]
        hex_below = is_hex or f.hex
        if f.repeated:
            if pretty and f.ipadd:
                addr = _ip(value)
                if addr is not None:
                    out[f.name] = [addr]
                    continue
            if f.type == FD.TYPE_MESSAGE:
                out[f.name] = [message_to_dict(v, pretty, hex_below) for v in value]
            else:
                out[f.name] = [_scalar(f, v, pretty, is_hex) for v in value]
        elif f.type == FD.TYPE_MESSAGE:
            out[f.name] = message_to_dict(value, pretty, hex_below)
        else:
            out[f.name] = _scalar(f, value, pretty, is_hex)
    return out


def _extra(image: Image, kind: str, entry: Entry) -> object:
    data = entry.extra
    msg = entry.message
    if kind == "tcp_stream":
        return {"inq": _b64(data[: msg.inq_len]), "outq": _b64(data[msg.inq_len : msg.inq_len + msg.outq_len])}
    if kind == "ipc_sem":
        sems = array.array("H")
        sems.frombytes(data[: msg.nsems * 2])
        return sems.tolist()
    if kind == "ipc_shm":
        return _b64(data[: msg.size])
    if kind == "ipc_msg":
        return _ipc_messages(image, entry)
    return _b64(data)  # pipe/fifo data, socket queues, bpf map data


def _ipc_messages(image: Image, entry: Entry) -> list:
    cls = schema.message_class("ipc_msg_pb2", "ipc_msg")
    out: list = []
    data, pos = entry.extra, 0
    for _ in range(entry.message.qnum):
        (size,) = struct.unpack_from("<I", data, pos)
        m = cls()
        try:
            m.ParseFromString(data[pos + 4 : pos + 4 + size])
        except DecodeError as exc:
            raise InspectError(image.path, f"cannot decode ipc_msg: {exc}", entry.offset) from None
        pos += 4 + size
        out.append(message_to_dict(m))
        out.append(_b64(data[pos : pos + m.msize]))
        pos += _round_up(m.msize, 8)
    return out


def image_to_dict(image: Image, pretty: bool = False) -> dict:
    """An image file as crit's ``{"magic", "entries"}`` dict."""
    if image.raw:
        raise InspectError(image.path, f"{image.name} image holds raw data, not entries: nothing to decode")
    if image.kind is None:
        raise InspectError(image.path, f"unknown image magic 0x{image.magic or 0:08x}", len(image.header) - 4)
    if not image.known:
        raise InspectError(image.path, f"no schema for image kind {image.name} in the installed pycriu")
    entries = []
    kind = image.kind.extra
    for entry in image.entries:
        d = message_to_dict(entry.message, pretty)
        if kind == "ghost":
            if entry.index > 0:
                d["extra"] = _b64(entry.extra)
        elif kind is not None:
            d["extra"] = _extra(image, kind, entry)
        entries.append(d)
    if kind == "ghost" and entries and not image.ghost_chunks:
        entries[0]["extra"] = _b64(image.trailing)  # the file's contents follow the one entry
    return {"magic": image.name, "entries": entries}


def image_json(image: Image, pretty: bool = False) -> str:
    """The JSON text crit prints for ``image`` (without the final newline)."""
    return json.dumps(image_to_dict(image, pretty), indent=4 if pretty else None)
