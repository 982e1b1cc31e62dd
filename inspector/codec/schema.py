"""Schema registry: image magic -> message class, from pycriu's descriptors.

pycriu's generated modules describe the format as CRIU 3.17 knew it. Images
written by newer CRIU carry more fields (CRIU 4.2 moved the pagemap page count
to a u64 field 5 and leaves field 2 at 0). Rather than copy CRIU's ``.proto``
files, we take pycriu's serialized file descriptors, add the fields newer CRIU
writes (their numbers and types are facts of the image format), and build the
message classes in a private descriptor pool. Fields we do not know stay as
protobuf unknown fields, so nothing is lost on a round trip.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from . import pycriu_loader

FDP = descriptor_pb2.FieldDescriptorProto

# --- fields added after CRIU 3.17 -------------------------------------------
# (proto file, message, field name, number, type, label, type_name)
_OPT, _REP = FDP.LABEL_OPTIONAL, FDP.LABEL_REPEATED
NEWER_FIELDS: list[tuple[str, str, str, int, int, int, str | None]] = [
    ("pagemap.proto", "pagemap_entry", "nr_pages", 5, FDP.TYPE_UINT64, _OPT, None),
    ("creds.proto", "creds_entry", "no_new_privs", 18, FDP.TYPE_UINT32, _OPT, None),
    ("creds.proto", "creds_entry", "cap_amb", 19, FDP.TYPE_UINT32, _REP, None),
    ("inventory.proto", "inventory_entry", "plugins_entry", 12, FDP.TYPE_MESSAGE, _OPT, ".plugins_entry"),
    ("inventory.proto", "inventory_entry", "dump_criu_run_id", 13, FDP.TYPE_STRING, _OPT, None),
    ("inventory.proto", "inventory_entry", "allow_uprobes", 14, FDP.TYPE_BOOL, _OPT, None),
    ("core.proto", "thread_core_entry", "cg_set", 16, FDP.TYPE_UINT32, _OPT, None),
    ("cgroup.proto", "cg_controller_entry", "is_threaded", 3, FDP.TYPE_BOOL, _OPT, None),
    ("core-x86.proto", "user_x86_xsave_entry", "cet", 9, FDP.TYPE_MESSAGE, _OPT, ".user_x86_cet_entry"),
    ("sk-inet.proto", "ip_opts_entry", "ttl", 7, FDP.TYPE_UINT32, _OPT, None),
    ("sk-inet.proto", "inet_sk_entry", "tcp_opts", 20, FDP.TYPE_MESSAGE, _OPT, ".tcp_opts_entry"),
]
# Messages newer CRIU added, needed by the fields above.
NEWER_MESSAGES: dict[str, list[tuple[str, str, list[tuple[str, int, int, int]]]]] = {
    "inventory.proto": [("plugins_entry", "", [("plugins", 12, FDP.TYPE_STRING, _REP)])],
    "core-x86.proto": [
        ("user_x86_cet_entry", "", [("cet", 1, FDP.TYPE_UINT64, _OPT), ("ssp", 2, FDP.TYPE_UINT64, _OPT)])
    ],
    "sk-inet.proto": [
        (
            "tcp_opts_entry",
            "",
            [
                ("nodelay", 1, FDP.TYPE_BOOL, _OPT),
                ("cork", 2, FDP.TYPE_BOOL, _OPT),
                ("keepcnt", 3, FDP.TYPE_UINT32, _OPT),
                ("keepidle", 4, FDP.TYPE_UINT32, _OPT),
                ("keepintvl", 5, FDP.TYPE_UINT32, _OPT),
            ],
        )
    ],
}
# CRIU 4.2 calls pagemap field 2 "compat_nr_pages" and uses field 5 for the count.
RENAMED_FIELDS = {("pagemap.proto", "pagemap_entry", 2): "compat_nr_pages"}
NEWER_ENUM_VALUES = [("fdinfo.proto", "fd_types", "PIDFD", 20)]


@dataclass(frozen=True)
class ImageKind:
    """How one kind of image is laid out."""

    name: str  # pycriu's magic name, e.g. "PAGEMAP"
    module: str | None  # pycriu pb2 module holding the entry message
    message: str | None  # entry message name
    extra: str | None = None  # kind of payload following each entry, if any
    head: str | None = None  # message of a first entry that differs (pagemap)


# magic name -> layout. A format fact table: which message each image holds.
_KINDS = [
    ImageKind("INVENTORY", "inventory_pb2", "inventory_entry"),
    ImageKind("CORE", "core_pb2", "core_entry"),
    ImageKind("IDS", "core_pb2", "task_kobj_ids_entry"),
    ImageKind("CREDS", "creds_pb2", "creds_entry"),
    ImageKind("UTSNS", "utsns_pb2", "utsns_entry"),
    ImageKind("TIMENS", "timens_pb2", "timens_entry"),
    ImageKind("PIDNS", "pidns_pb2", "pidns_entry"),
    ImageKind("IPC_VAR", "ipc_var_pb2", "ipc_var_entry"),
    ImageKind("FS", "fs_pb2", "fs_entry"),
    ImageKind("GHOST_FILE", "ghost_file_pb2", "ghost_file_entry", extra="ghost"),
    ImageKind("MM", "mm_pb2", "mm_entry"),
    ImageKind("CGROUP", "cgroup_pb2", "cgroup_entry"),
    ImageKind("TCP_STREAM", "tcp_stream_pb2", "tcp_stream_entry", extra="tcp_stream"),
    ImageKind("STATS", "stats_pb2", "stats_entry"),
    ImageKind("PAGEMAP", "pagemap_pb2", "pagemap_entry", head="pagemap_head"),
    ImageKind("PSTREE", "pstree_pb2", "pstree_entry"),
    ImageKind("REG_FILES", "regfile_pb2", "reg_file_entry"),
    ImageKind("NS_FILES", "ns_pb2", "ns_file_entry"),
    ImageKind("EVENTFD_FILE", "eventfd_pb2", "eventfd_file_entry"),
    ImageKind("EVENTPOLL_FILE", "eventpoll_pb2", "eventpoll_file_entry"),
    ImageKind("EVENTPOLL_TFD", "eventpoll_pb2", "eventpoll_tfd_entry"),
    ImageKind("SIGNALFD", "signalfd_pb2", "signalfd_entry"),
    ImageKind("TIMERFD", "timerfd_pb2", "timerfd_entry"),
    ImageKind("INOTIFY_FILE", "fsnotify_pb2", "inotify_file_entry"),
    ImageKind("INOTIFY_WD", "fsnotify_pb2", "inotify_wd_entry"),
    ImageKind("FANOTIFY_FILE", "fsnotify_pb2", "fanotify_file_entry"),
    ImageKind("FANOTIFY_MARK", "fsnotify_pb2", "fanotify_mark_entry"),
    ImageKind("VMAS", "vma_pb2", "vma_entry"),
    ImageKind("PIPES", "pipe_pb2", "pipe_entry"),
    ImageKind("FIFO", "fifo_pb2", "fifo_entry"),
    ImageKind("SIGACT", "sa_pb2", "sa_entry"),
    ImageKind("NETLINK_SK", "sk_netlink_pb2", "netlink_sk_entry"),
    ImageKind("REMAP_FPATH", "remap_file_path_pb2", "remap_file_path_entry"),
    ImageKind("MNTS", "mnt_pb2", "mnt_entry"),
    ImageKind("TTY_FILES", "tty_pb2", "tty_file_entry"),
    ImageKind("TTY_INFO", "tty_pb2", "tty_info_entry"),
    ImageKind("TTY_DATA", "tty_pb2", "tty_data_entry"),
    ImageKind("RLIMIT", "rlimit_pb2", "rlimit_entry"),
    ImageKind("TUNFILE", "tun_pb2", "tunfile_entry"),
    ImageKind("EXT_FILES", "ext_file_pb2", "ext_file_entry"),
    ImageKind("IRMAP_CACHE", "fh_pb2", "irmap_cache_entry"),
    ImageKind("FILE_LOCKS", "file_lock_pb2", "file_lock_entry"),
    ImageKind("FDINFO", "fdinfo_pb2", "fdinfo_entry"),
    ImageKind("UNIXSK", "sk_unix_pb2", "unix_sk_entry"),
    ImageKind("INETSK", "sk_inet_pb2", "inet_sk_entry"),
    ImageKind("PACKETSK", "packet_sock_pb2", "packet_sock_entry"),
    ImageKind("ITIMERS", "timer_pb2", "itimer_entry"),
    ImageKind("POSIX_TIMERS", "timer_pb2", "posix_timer_entry"),
    ImageKind("NETDEV", "netdev_pb2", "net_device_entry"),
    ImageKind("PIPES_DATA", "pipe_data_pb2", "pipe_data_entry", extra="pipe_data"),
    ImageKind("FIFO_DATA", "pipe_data_pb2", "pipe_data_entry", extra="pipe_data"),
    ImageKind("SK_QUEUES", "sk_packet_pb2", "sk_packet_entry", extra="sk_queue"),
    ImageKind("IPCNS_SHM", "ipc_shm_pb2", "ipc_shm_entry", extra="ipc_shm"),
    ImageKind("IPCNS_SEM", "ipc_sem_pb2", "ipc_sem_entry", extra="ipc_sem"),
    ImageKind("IPCNS_MSG", "ipc_msg_pb2", "ipc_msg_entry", extra="ipc_msg"),
    ImageKind("NETNS", "netdev_pb2", "netns_entry"),
    ImageKind("USERNS", "userns_pb2", "userns_entry"),
    ImageKind("SECCOMP", "seccomp_pb2", "seccomp_entry"),
    ImageKind("AUTOFS", "autofs_pb2", "autofs_entry"),
    ImageKind("FILES", "fdinfo_pb2", "file_entry"),
    ImageKind("CPUINFO", "cpuinfo_pb2", "cpuinfo_entry"),
    ImageKind("MEMFD_FILE", "memfd_pb2", "memfd_file_entry"),
    ImageKind("MEMFD_INODE", "memfd_pb2", "memfd_inode_entry"),
    ImageKind("BPFMAP_FILE", "bpfmap_file_pb2", "bpfmap_file_entry"),
    ImageKind("BPFMAP_DATA", "bpfmap_data_pb2", "bpfmap_data_entry", extra="bpfmap_data"),
    ImageKind("APPARMOR", "apparmor_pb2", "apparmor_entry"),
    ImageKind("BINFMT_MISC", "binfmt_misc_pb2", "binfmt_misc_entry"),
    ImageKind("SIGNAL", "siginfo_pb2", "siginfo_entry"),  # signal-[sp]-N.img: one siginfo per entry
]
KINDS: dict[str, ImageKind] = {k.name: k for k in _KINDS}

# The two "first" magics of image format v1.1, and the images with one magic only.
SERVICE_IMAGES = ("STATS", "IRMAP_CACHE")


class _Registry:
    """A private descriptor pool filled lazily from pycriu's files, patched."""

    def __init__(self) -> None:
        self.pool = descriptor_pool.DescriptorPool()
        self._added: set[str] = set()  # proto file names in the pool
        self._modules: set[str] = set()  # pycriu modules whose file is in the pool
        self._classes: dict[str, type[Message]] = {}
        self._every_class: list[type[Message]] = []  # see _keep_classes
        self._add_file_proto(descriptor_pb2.FileDescriptorProto.FromString(descriptor_pb2.DESCRIPTOR.serialized_pb))

    def _add_file_proto(self, proto: descriptor_pb2.FileDescriptorProto) -> None:
        self.pool.Add(proto)
        self._added.add(proto.name)
        self._keep_classes(self.pool.FindFileByName(proto.name).message_types_by_name.values())

    def _keep_classes(self, descriptors: Iterable[Any]) -> None:
        """Hold every message class of the pool, nested ones included, for the life of the process.

        upb makes the class of a nested message (``core.tc``'s ``task_core_entry``)
        on first access and lets it die with its last instance. When such a class
        ends up in a garbage cycle, the collector's ``tp_clear`` nulls its
        descriptor while the class is still in upb's object cache, and the
        process dies in ``PyUpb_Descriptor_GetDef(NULL)`` (protobuf 7.36
        python/message.c:2160 clears, :1955 dereferences; seen as SIGSEGV in
        the fuzz campaign). Classes that are always reachable are never
        collected. 181 classes, about 3 ms, paid only for the files a run loads.
        """
        for desc in descriptors:
            self._every_class.append(message_factory.GetMessageClass(desc))
            self._keep_classes(desc.nested_types)

    def _ensure_module(self, module_name: str) -> None:
        """Add pycriu's file ``module_name`` (and its imports), patched, to the pool."""
        if module_name in self._modules:
            return
        proto = descriptor_pb2.FileDescriptorProto.FromString(pycriu_loader.serialized_file(module_name))
        if proto.name not in self._added:
            for dep in proto.dependency:
                if dep not in self._added:
                    self._ensure_module(_module_for_file(dep))
            _patch(proto)
            self._add_file_proto(proto)
        self._modules.add(module_name)

    def message_class(self, module_name: str, message: str) -> type[Message]:
        key = f"{module_name}:{message}"
        cls = self._classes.get(key)
        if cls is None:
            self._ensure_module(module_name)
            desc = self.pool.FindMessageTypeByName(message)
            cls = message_factory.GetMessageClass(desc)
            self._classes[key] = cls
        return cls

    def enum_names(self, module_name: str, enum: str) -> dict[int, str]:
        self._ensure_module(module_name)
        desc = self.pool.FindEnumTypeByName(enum)
        return {v.number: v.name for v in desc.values}


def _module_for_file(file_name: str) -> str:
    if file_name == "google/protobuf/descriptor.proto":
        return "google.protobuf.descriptor_pb2"
    return file_name.removesuffix(".proto").replace("-", "_") + "_pb2"


def _patch(proto: descriptor_pb2.FileDescriptorProto) -> None:
    for name, _package, fields in NEWER_MESSAGES.get(proto.name, []):
        if any(m.name == name for m in proto.message_type):
            continue
        msg = proto.message_type.add(name=name)
        for fname, number, ftype, label in fields:
            msg.field.add(name=fname, number=number, type=ftype, label=label)
    by_name = {m.name: m for m in proto.message_type}
    for (file_name, message, number), new_name in RENAMED_FIELDS.items():
        if file_name == proto.name and message in by_name:
            for field in by_name[message].field:
                if field.number == number:
                    field.name = new_name
                    field.json_name = _json_name(new_name)
    for file_name, message, fname, number, ftype, label, type_name in NEWER_FIELDS:
        if file_name != proto.name or message not in by_name:
            continue
        msg = by_name[message]
        if any(f.number == number for f in msg.field):
            continue  # pycriu already knows it (a newer pycriu)
        field = msg.field.add(name=fname, number=number, type=ftype, label=label, json_name=_json_name(fname))
        if type_name:
            field.type_name = type_name
    for file_name, enum, vname, number in NEWER_ENUM_VALUES:
        if file_name != proto.name:
            continue
        for e in proto.enum_type:
            if e.name == enum and not any(v.number == number for v in e.value):
                e.value.add(name=vname, number=number)


def _json_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


@functools.cache
def _criu_options_reader() -> tuple[type[Message], Any]:
    """The pool's FieldOptions class and its ``criu`` extension (opts.proto).

    The descriptors' ``GetOptions()`` come back as the stock FieldOptions,
    which knows nothing of an extension that lives in our private pool; the
    pool's own FieldOptions class parses the same bytes with it resolved.
    """
    reg = registry()
    reg._ensure_module("opts_pb2")
    ext = reg.pool.FindExtensionByName("criu")
    cls = message_factory.GetMessageClass(reg.pool.FindMessageTypeByName("google.protobuf.FieldOptions"))
    return cls, ext


def criu_field_options(field):
    """The ``(criu)`` options of a field (hex, ipadd, flags, dev, odev, dict, conv), or None."""
    if not field.has_options:
        return None
    cls, ext = _criu_options_reader()
    opts = cls.FromString(field.GetOptions().SerializeToString())
    if not opts.HasExtension(ext):
        return None
    return opts.Extensions[ext]


@functools.cache
def registry() -> _Registry:
    return _Registry()


def message_class(module_name: str, message: str) -> type[Message]:
    return registry().message_class(module_name, message)


def kind_by_magic(value: int) -> ImageKind | None:
    name = pycriu_loader.magic_module().by_val.get(value)
    if name is None:
        return None
    return KINDS.get(name, ImageKind(name, None, None))


def magic_value(name: str) -> int:
    return pycriu_loader.magic_module().by_name[name]


@functools.cache
def fd_type_names() -> dict[int, str]:
    return registry().enum_names("fdinfo_pb2", "fd_types")
