"""Facts about this machine (the one that will run ``criu restore``), for the --host rules.

Everything is read from the live system (/proc, /sys, the file system, the
criu binary) when first asked and cached for one run. File paths of the
checkpoint can be resolved under another root (criu restore --root).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import re
import shutil
import stat
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import InspectError
from ..model import names
from ..safeio import open_regular_file

CLONE3_SYSCALL = 435  # the same number on every architecture (unified syscall table)
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")
VFS_CAP_REVISION_MASK = 0xFF000000
VFS_CAP_REVISION_1, VFS_CAP_REVISION_2, VFS_CAP_REVISION_3 = 0x01000000, 0x02000000, 0x03000000
VFS_CAP_FLAGS_EFFECTIVE = 0x000001


def parse_kernel_release(release: str) -> tuple[int, int, int]:
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", release)
    if not m:
        return (0, 0, 0)
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def parse_criu_version(text: str) -> tuple[int, ...] | None:
    m = re.search(r"Version:\s*(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not m:
        return None
    return tuple(int(g) for g in m.groups() if g is not None)


@dataclass(frozen=True)
class FileCaps:
    permitted: int
    inheritable: int
    effective: bool
    rootid: int | None = None

    def names(self) -> list[str]:
        return names.cap_names(self.permitted)


def decode_file_caps(raw: bytes) -> FileCaps | None:
    """struct vfs_cap_data / vfs_ns_cap_data, as stored in the security.capability xattr."""
    if len(raw) < 4:
        return None
    (magic,) = struct.unpack_from("<I", raw, 0)
    rev = magic & VFS_CAP_REVISION_MASK
    eff = bool(magic & VFS_CAP_FLAGS_EFFECTIVE)
    if rev == VFS_CAP_REVISION_1 and len(raw) >= 12:
        prm, inh = struct.unpack_from("<II", raw, 4)
        return FileCaps(prm, inh, eff)
    if rev in (VFS_CAP_REVISION_2, VFS_CAP_REVISION_3) and len(raw) >= 20:
        prm_lo, inh_lo, prm_hi, inh_hi = struct.unpack_from("<IIII", raw, 4)
        rootid = struct.unpack_from("<I", raw, 20)[0] if rev == VFS_CAP_REVISION_3 and len(raw) >= 24 else None
        return FileCaps(prm_lo | prm_hi << 32, inh_lo | inh_hi << 32, eff, rootid)
    return None


def elf_build_id(path: str) -> bytes | None:
    """The NT_GNU_BUILD_ID note of an ELF file (what criu compares), or None."""
    try:
        with open_regular_file(path) as fh:  # a FIFO or device on the host must not block or stream
            head = fh.read(64)
            if len(head) < 64 or head[:4] != b"\x7fELF":
                return None
            is64 = head[4] == 2
            endian = "<" if head[5] == 1 else ">"
            if is64:
                (phoff,) = struct.unpack_from(endian + "Q", head, 32)
                phentsize, phnum = struct.unpack_from(endian + "HH", head, 54)
            else:
                (phoff,) = struct.unpack_from(endian + "I", head, 28)
                phentsize, phnum = struct.unpack_from(endian + "HH", head, 42)
            if phnum > 256 or phentsize < 32:
                return None
            fh.seek(phoff)
            table = fh.read(phentsize * phnum)
            for i in range(phnum):
                ent = table[i * phentsize : (i + 1) * phentsize]
                if len(ent) < phentsize:
                    return None
                (p_type,) = struct.unpack_from(endian + "I", ent, 0)
                if p_type != 4:  # PT_NOTE
                    continue
                if is64:
                    (offset,) = struct.unpack_from(endian + "Q", ent, 8)
                    (size,) = struct.unpack_from(endian + "Q", ent, 32)
                else:
                    (offset,) = struct.unpack_from(endian + "I", ent, 4)
                    (size,) = struct.unpack_from(endian + "I", ent, 16)
                if size > 1 << 16:
                    continue
                fh.seek(offset)
                notes = fh.read(size)
                pos = 0
                while pos + 12 <= len(notes):
                    namesz, descsz, ntype = struct.unpack_from(endian + "III", notes, pos)
                    name_end = pos + 12 + ((namesz + 3) & ~3)
                    desc_end = name_end + ((descsz + 3) & ~3)
                    if ntype == 3 and notes[pos + 12 : pos + 12 + namesz].rstrip(b"\0") == b"GNU":  # NT_GNU_BUILD_ID
                        return notes[name_end : name_end + descsz]
                    pos = desc_end
    except (OSError, InspectError, struct.error):
        return None
    return None


class Host:
    """This machine, probed lazily."""

    def __init__(self, *, proc: str = "/proc", path_env: str | None = None, criu: str | None = None):
        self.proc = proc
        self.path_env = path_env if path_env is not None else os.environ.get("PATH", "")
        self.criu = criu  # the binary named by --criu, instead of the one found in PATH

    # --- processes ------------------------------------------------------------
    def pid_in_use(self, pid: int) -> bool:
        """Is there a process or thread with this id here? (/proc/N exists for thread ids too.)"""
        try:
            os.stat(os.path.join(self.proc, str(pid)))
            return True
        except FileNotFoundError:
            return False
        except OSError:
            return True

    def pid_owner(self, pid: int) -> str:
        try:
            with open(os.path.join(self.proc, str(pid), "comm")) as fh:
                return fh.read().strip()
        except OSError:
            return "?"

    @functools.cached_property
    def pid_max(self) -> int | None:
        return self._read_int(os.path.join(self.proc, "sys/kernel/pid_max"))

    # --- kernel ---------------------------------------------------------------
    @functools.cached_property
    def kernel_release(self) -> str:
        return os.uname().release

    @property
    def kernel_version(self) -> tuple[int, int, int]:
        return parse_kernel_release(self.kernel_release)

    @functools.cached_property
    def clone3(self) -> bool:
        """Does clone3() exist here (not ENOSYS, as under a seccomp profile that hides it)?

        Called with a size below CLONE_ARGS_SIZE_VER0, the kernel refuses with EINVAL before
        doing anything; a kernel or a filter without clone3 answers ENOSYS.
        """
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            ret = libc.syscall(CLONE3_SYSCALL, None, 0)
            err = ctypes.get_errno()
        except (OSError, AttributeError):
            return False
        return not (ret == -1 and err == errno.ENOSYS)

    @property
    def clone3_set_tid(self) -> bool:
        return self.clone3 and self.kernel_version >= (5, 5, 0)

    @property
    def ns_last_pid(self) -> str:
        return os.path.join(self.proc, "sys/kernel/ns_last_pid")

    @functools.cached_property
    def has_ns_last_pid(self) -> bool:
        return os.path.exists(self.ns_last_pid)

    @functools.cached_property
    def has_time_ns(self) -> bool:
        return os.path.exists(os.path.join(self.proc, "self/ns/time"))

    @functools.cached_property
    def cpu_flags(self) -> frozenset[str] | None:
        from .targets import cpu_flags_of

        try:
            return cpu_flags_of(os.path.join(self.proc, "cpuinfo"))
        except Exception:  # no /proc/cpuinfo, or no flags line (another architecture)
            return None

    # --- criu -----------------------------------------------------------------
    @functools.cached_property
    def criu_path(self) -> str | None:
        if self.criu:
            return self.criu if os.path.isfile(self.criu) and os.access(self.criu, os.X_OK) else None
        dirs = [d for d in self.path_env.split(os.pathsep) if d]
        dirs += [d for d in SBIN_DIRS if d not in dirs]
        return shutil.which("criu", path=os.pathsep.join(dirs))

    @functools.cached_property
    def criu_version_text(self) -> str | None:
        if self.criu_path is None:
            return None
        try:
            out = subprocess.run([self.criu_path, "--version"], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return (out.stdout + out.stderr).strip()

    @property
    def criu_version(self) -> tuple[int, ...] | None:
        return parse_criu_version(self.criu_version_text or "")

    def file_caps(self, path: str) -> FileCaps | None:
        try:
            raw = os.getxattr(path, "security.capability")
        except OSError:
            return None
        return decode_file_caps(raw)

    @functools.cached_property
    def self_status(self) -> dict[str, str]:
        out = {}
        try:
            with open(os.path.join(self.proc, "self/status")) as fh:
                for line in fh:
                    k, _, v = line.partition(":")
                    out[k] = v.strip()
        except OSError:
            pass
        return out

    def self_caps(self, which: str = "CapEff") -> int:
        try:
            return int(self.self_status.get(which, "0"), 16)
        except ValueError:
            return 0

    # --- files ----------------------------------------------------------------
    @staticmethod
    def host_path(path: str, root: str | None = None) -> str:
        """Where criu restore (--root ROOT) finds a path of the checkpoint on this machine."""
        return os.path.join(root, path.lstrip("/")) if root and root != "/" else path

    def stat(self, path: str, root: str | None = None) -> os.stat_result | None:
        try:
            return os.stat(self.host_path(path, root))
        except (OSError, ValueError):  # ValueError: a NUL byte in a path from an image
            return None

    def build_id(self, path: str, root: str | None = None) -> bytes | None:
        return elf_build_id(self.host_path(path, root))

    # --- cgroups --------------------------------------------------------------
    @functools.cached_property
    def cgroup2_mount(self) -> str | None:
        try:
            with open(os.path.join(self.proc, "self/mounts")) as fh:
                for line in fh:
                    parts = line.split()
                    if len(parts) >= 3 and parts[2] == "cgroup2":
                        return parts[1]
        except OSError:
            pass
        return None

    @functools.cached_property
    def own_cgroup2(self) -> str | None:
        try:
            with open(os.path.join(self.proc, "self/cgroup")) as fh:
                for line in fh:
                    if line.startswith("0::"):
                        return line[3:].strip()
        except OSError:
            pass
        return None

    @staticmethod
    def _read_int(path: str) -> int | None:
        try:
            with open(path) as fh:
                return int(fh.read().strip())
        except (OSError, ValueError):
            return None


_CURRENT: Host | None = None


def current_host() -> Host:
    """The Host the --host rules look at (one per process, so probes run once)."""
    global _CURRENT
    if _CURRENT is None:
        _CURRENT = Host()
    return _CURRENT


@dataclass
class RegFileUse:
    """A regular file criu will reopen by path, and who uses it."""

    path: str
    size: int | None
    mode: int | None
    build_id: bytes | None
    file_id: int
    users: list[tuple[int, int | None, str]]  # (pid, fd or None, what: "fd 1", "mapping at 0x...", "cwd", ...)


def reg_files(cp) -> Iterator[RegFileUse]:
    """Every regular-file entry the processes use (fds, file mappings, cwd, root, exe), once each.

    Ghost (deleted) files are left out: criu recreates them from the images.
    """
    uses: dict[int, RegFileUse] = {}

    def add(file_id: int | None, pid: int, fd: int | None, what: str) -> None:
        if file_id is None:
            return
        fe = cp.file_entry(file_id)
        if fe is None or not fe.HasField("reg"):
            return
        r = fe.reg
        if r.id in cp.remaps:
            return
        use = uses.get(r.id)
        if use is None:
            words = list(r.build_id)
            bid = struct.pack(f"<{len(words)}I", *words) if words else None
            use = uses[r.id] = RegFileUse(
                r.name, r.size if r.HasField("size") else None, r.mode if r.HasField("mode") else None, bid, r.id, []
            )
        use.users.append((pid, fd, what))

    for proc in cp.processes:
        for fd in proc.fds:
            if fd.type == "REG":
                add(fd.file_id, proc.pid, fd.fd, f"fd {fd.fd}")
        for vma in proc.vmas:
            if vma.status & (names.VMA_FILE_PRIVATE | names.VMA_FILE_SHARED) and not vma.status & names.VMA_AREA_MEMFD:
                add(vma.shmid, proc.pid, None, f"mapping at 0x{vma.start:x}")
        fs = cp._soft(cp.one, f"fs-{proc.pid}.img")
        if fs is not None:
            add(fs.cwd_id, proc.pid, None, "cwd")
            add(fs.root_id, proc.pid, None, "root")
        mm = cp._soft(cp.one, f"mm-{proc.pid}.img")
        if mm is not None and mm.HasField("exe_file_id"):
            add(mm.exe_file_id, proc.pid, None, "exe")
    return iter(uses.values())


def mode_string(mode: int) -> str:
    return f"0{mode:o} ({stat.filemode(mode)})"


@dataclass(frozen=True)
class HostSocket:
    proto: str  # TCP or UDP
    family: str  # INET or INET6
    addr: str
    port: int
    state: str  # LISTEN, ESTABLISHED, ... (TCP); BOUND (UDP)
    inode: int


_TCP_STATES = {
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


def _proc_net_addr(hexaddr: str) -> str:
    import ipaddress

    raw = bytes.fromhex(hexaddr)
    # /proc/net prints the address as host-order 32-bit words
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.IPv4Address(words) if len(words) == 4 else ipaddress.IPv6Address(words))


def parse_proc_net(text: str, proto: str, family: str) -> list[HostSocket]:
    out = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 10 or ":" not in parts[1]:
            continue
        hexaddr, hexport = parts[1].rsplit(":", 1)
        try:
            addr, port, st, inode = _proc_net_addr(hexaddr), int(hexport, 16), int(parts[3], 16), int(parts[9])
        except ValueError:
            continue
        state = _TCP_STATES.get(st, str(st)) if proto == "TCP" else "BOUND"
        out.append(HostSocket(proto, family, addr, port, state, inode))
    return out


def host_sockets(proc: str = "/proc") -> list[HostSocket]:
    """TCP and UDP sockets of this host's (this process's) network namespace."""
    out = []
    for name, proto, family in (
        ("tcp", "TCP", "INET"),
        ("tcp6", "TCP", "INET6"),
        ("udp", "UDP", "INET"),
        ("udp6", "UDP", "INET6"),
    ):
        try:
            with open(os.path.join(proc, "net", name)) as fh:
                out.extend(parse_proc_net(fh.read(), proto, family))
        except OSError:
            continue
    return out
