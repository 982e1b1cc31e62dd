"""One source of truth for the names of flags and enum values (kernel ABI facts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

PAGE_SIZE = 4096

PE_PARENT = 1 << 0
PE_LAZY = 1 << 1
PE_PRESENT = 1 << 2

PROT = [(0x1, "r"), (0x2, "w"), (0x4, "x")]

MAP_FLAGS = [(0x1, "MAP_SHARED"), (0x2, "MAP_PRIVATE"), (0x20, "MAP_ANON"), (0x100, "MAP_GROWSDOWN")]
MAP_ANON = 0x20

VMA_STATUS = [
    (1 << 0, "REGULAR"),
    (1 << 1, "STACK"),
    (1 << 2, "VSYSCALL"),
    (1 << 3, "VDSO"),
    (1 << 5, "HEAP"),
    (1 << 6, "FILE_PRIVATE"),
    (1 << 7, "FILE_SHARED"),
    (1 << 8, "ANON_SHARED"),
    (1 << 9, "ANON_PRIVATE"),
    (1 << 10, "SYSVIPC"),
    (1 << 11, "SOCKET"),
    (1 << 12, "VVAR"),
    (1 << 13, "AIORING"),
    (1 << 14, "MEMFD"),
    (1 << 31, "UNSUPP"),
]
VMA_FILE_PRIVATE = 1 << 6
VMA_FILE_SHARED = 1 << 7
VMA_ANON_SHARED = 1 << 8
VMA_ANON_PRIVATE = 1 << 9
VMA_AREA_SYSVIPC = 1 << 10
VMA_AREA_MEMFD = 1 << 14

OPEN_FLAGS = [
    (0o1, "O_WRONLY"),
    (0o2, "O_RDWR"),
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o10000, "O_DSYNC"),
    (0o20000, "FASYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
]
O_ACCMODE = 0o3
O_WRONLY, O_APPEND = 0o1, 0o2000
_ACCESS = {0: "r", 1: "w", 2: "rw", 3: "rw"}  # O_ACCMODE 3 is not a standard mode; Linux checks it as rw

SOCK_FAMILY = {1: "UNIX", 2: "INET", 10: "INET6", 16: "NETLINK", 17: "PACKET"}
SOCK_TYPE = {1: "STREAM", 2: "DGRAM", 3: "RAW", 5: "SEQPACKET", 10: "PACKET"}
TCP_STATE = {
    1: "ESTABLISHED",
    2: "SYN_SENT",
    3: "SYN_RECV",
    4: "FIN_WAIT1",
    5: "FIN_WAIT2",
    6: "TIME_WAIT",
    7: "CLOSE",
    8: "CLOSE_WAIT",
    9: "LAST_ACK",
    10: "LISTEN",
    11: "CLOSING",
}
IP_PROTO = {0: "IP", 6: "TCP", 17: "UDP", 136: "UDPLITE"}
# inventory.network_lock_method (criu --network-lock)
NETWORK_LOCK_METHOD = {0: "iptables", 1: "nftables", 2: "skip"}
# TCP states of a socket that has (or is getting) a peer: restored with TCP_REPAIR
TCP_CONNECTED_STATES = (
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "CLOSE_WAIT",
    "LAST_ACK",
    "CLOSING",
)
USK_EXTERN = 1 << 0

TASK_STATE = {1: "alive", 2: "dead", 3: "zombie", 6: "stopped"}
REMAP_TYPE = {0: "LINKED", 1: "GHOST", 2: "PROCFS"}  # remap-fpath.img remap_type

# x86_64 system calls a task is commonly blocked in (arch/x86/entry/syscalls/syscall_64.tbl)
X86_64_SYSCALLS = {
    0: "read",
    7: "poll",
    23: "select",
    34: "pause",
    35: "nanosleep",
    43: "accept",
    61: "wait4",
    128: "rt_sigtimedwait",
    130: "rt_sigsuspend",
    202: "futex",
    230: "clock_nanosleep",
    232: "epoll_wait",
    270: "pselect6",
    271: "ppoll",
    281: "epoll_pwait",
    288: "accept4",
    441: "epoll_pwait2",
}
EINTR = 4

# image field -> (first CRIU release that writes it, whether every dump since writes it), from CRIU's git
# history of images/*.proto and criu/image.c write_img_inventory() (first tag containing the change)
CRIU_FIELD_VERSIONS = {
    "ids.time_ns_id": ((3, 14), False),  # only on kernels with time namespaces
    "inventory.tcp_close": ((3, 15), False),  # only with --tcp-close
    "inventory.network_lock_method": ((3, 16), True),
    "creds.no_new_privs": ((3, 19), False),  # only when the task has it
    "inventory.dump_criu_run_id": ((4, 1), True),
    "inventory.plugins_entry": ((4, 1), False),
    "creds.cap_amb": ((4, 1), False),
    "inventory.allow_uprobes": ((4, 2), False),  # only with --allow-uprobes
    "pagemap.nr_pages": ((4, 2), True),  # the u64 count; field 2 stays 0
}
# x86 XSAVE state components (xstate_bv bits, arch/x86/include/asm/fpu/types.h) and the /proc/cpuinfo
# flag a CPU must show to hold each one
XFEATURES = {
    0: "x87",
    1: "SSE",
    2: "AVX",
    3: "MPX BNDREGS",
    4: "MPX BNDCSR",
    5: "AVX-512 opmask",
    6: "AVX-512 ZMM_Hi256",
    7: "AVX-512 Hi16_ZMM",
    9: "PKRU",
}
XFEATURE_FLAGS = {0: "fpu", 1: "sse", 2: "avx", 3: "mpx", 4: "mpx", 5: "avx512f", 6: "avx512f", 7: "avx512f", 9: "pku"}


def xfeature_names(mask: int) -> list[str]:
    return [name for bit, name in sorted(XFEATURES.items()) if mask >> bit & 1]


# core_entry.mtype (images/core.proto: enum march)
CORE_MTYPE = {
    0: "UNKNOWN",
    1: "X86_64",
    2: "ARM",
    3: "AARCH64",
    4: "PPC64",
    5: "S390",
    6: "MIPS",
    7: "LOONGARCH64",
    8: "RISCV64",
}

# file-lock.c: fl_flag / fl_type
FL_KIND = {1: "POSIX", 2: "FLOCK", 4: "DELEG", 8: "ACCESS", 32: "LEASE", 1024: "OFD"}
FL_LEASE = 32
LOCK_TYPES = {0: "READ", 1: "WRITE", 2: "UNLOCK", 32: "MAND", 64: "READ(mand)", 128: "WRITE(mand)", 192: "RW(mand)"}

# device numbers (linux/major.h): pty slaves /dev/pts/N, masters via /dev/ptmx
UNIX98_PTY_SLAVE_MAJOR = 136


def dev_major(dev: int) -> int:
    return (dev & 0xFFF00) >> 8


TTY_TYPE = {0: "UNKNOWN", 1: "PTY", 2: "CONSOLE", 3: "VT", 4: "CTTY", 5: "EXT_TTY", 6: "SERIAL"}

SECCOMP_MODE = {0: "disabled", 1: "strict", 2: "filter"}

CAPABILITIES = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
]
CAP_BY_NAME = {name: i for i, name in enumerate(CAPABILITIES)}
LAST_CAP = len(CAPABILITIES) - 1

NAMESPACES = ["pid", "net", "ipc", "uts", "mnt", "user", "cgroup", "time"]


def describe(table: Mapping[int, str], value: int) -> str:
    """The name ``table`` gives ``value``, or the number itself for a value it does not know."""
    return table.get(value, str(value))


def access_mode(open_flags: int | None) -> str:
    """'r', 'w' or 'rw': the access O_RDONLY, O_WRONLY or O_RDWR in ``open_flags`` asks for (None: 'r')."""
    return _ACCESS[(open_flags or 0) & O_ACCMODE]


def flag_names(value: int, table: list[tuple[int, str]]) -> list[str]:
    names = [name for bit, name in table if value & bit]
    rest = value
    for bit, _ in table:
        rest &= ~bit
    if rest:
        names.append(hex(rest))
    return names


def prot_string(prot: int) -> str:
    return "".join(ch if prot & bit else "-" for bit, ch in PROT)


def open_flags_string(flags: int) -> str:
    acc = flags & O_ACCMODE
    base = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR", 3: "O_ACCMODE"}[acc]
    rest = [n for n in flag_names(flags & ~O_ACCMODE, OPEN_FLAGS) if n not in ("O_WRONLY", "O_RDWR")]
    return "|".join([base, *rest])


def caps_from_words(words: Iterable[int]) -> int:
    """CRIU stores capability sets as u32 words, low word first."""
    value = 0
    for i, word in enumerate(words):
        value |= int(word) << (32 * i)
    return value


def cap_names(mask: int) -> list[str]:
    out = []
    bit = 0
    while mask >> bit:
        if mask >> bit & 1:
            out.append(CAPABILITIES[bit] if bit < len(CAPABILITIES) else f"cap{bit}")
        bit += 1
    return out


def full_cap_mask(last_cap: int = LAST_CAP) -> int:
    return (1 << (last_cap + 1)) - 1


def ip_address(words: Iterable[int], family: int) -> str:
    import ipaddress
    import struct

    values = list(words)
    if not values:
        return ""
    if family == 10 and len(values) == 4:
        return str(ipaddress.IPv6Address(struct.pack("<4I", *values)))
    return str(ipaddress.IPv4Address(struct.pack("<I", values[0])))
