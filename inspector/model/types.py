"""Plain dataclasses of a checkpoint: no decoding, no rendering."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import names


@dataclass
class Creds:
    uid: int
    gid: int
    euid: int
    egid: int
    suid: int
    sgid: int
    fsuid: int
    fsgid: int
    cap_inh: int
    cap_prm: int
    cap_eff: int
    cap_bnd: int
    cap_amb: int
    secbits: int
    groups: list[int]
    no_new_privs: bool
    lsm_profile: str | None = None

    @property
    def ids(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("uid", "gid", "euid", "egid", "suid", "sgid", "fsuid", "fsgid")}


@dataclass
class Socket:
    family: str
    type: str
    state: str
    proto: str | None = None
    src: str | None = None  # "addr:port" or unix path
    dst: str | None = None
    src_port: int | None = None
    dst_port: int | None = None
    ino: int | None = None
    peer_ino: int | None = None
    external_peer: bool = False  # unix peer outside the dumped tree (USK_EXTERN)
    uflags: int = 0
    name: str | None = None


@dataclass
class FileLock:
    kind: str  # POSIX, FLOCK, OFD, LEASE...
    type: str  # READ / WRITE
    pid: int
    fd: int
    start: int
    length: int
    flag: int = 0


@dataclass
class TtyInfo:
    """A terminal as tty-info.img records it; every fd open on it shares one."""

    type: str  # PTY, CONSOLE, VT, CTTY, EXT_TTY, SERIAL (names.TTY_TYPE)
    index: int | None  # a pty's index (/dev/pts/N)
    sid: int
    pgrp: int
    uid: int | None
    gid: int | None
    rdev: int
    tty_info_id: int
    dev: int | None = None  # device of the tty's inode, part of criu's name for it
    termios: bool = False  # termios recorded (a hung-up pty slave has none)
    termios_locked: bool = False  # locked termios recorded: restored with TIOCSLCKTRMIOS

    @property
    def criu_name(self) -> str | None:
        """criu's name for the tty, the --inherit-fd resource: "tty[RDEV:DEV]" in hex (criu/tty.c tty_d_name())."""
        return None if self.dev is None else f"tty[{self.rdev:x}:{self.dev:x}]"

    def as_dict(self) -> dict[str, str | int | None]:
        """The fields ``show --json`` prints for an fd's tty."""
        return {
            "type": self.type,
            "index": self.index,
            "sid": self.sid,
            "pgrp": self.pgrp,
            "uid": self.uid,
            "gid": self.gid,
            "rdev": self.rdev,
            "tty_info_id": self.tty_info_id,
        }


@dataclass
class RegFile:
    """A regular file of files.img: what criu reopens by path at restore."""

    id: int
    name: str
    flags: int  # O_* it was open with
    pos: int
    size: int | None = None
    mode: int | None = None  # st_mode; None in images of a criu that did not record it


@dataclass
class Remap:
    """remap-fpath.img: an open file criu reaches other than by its path (deleted, or through /proc)."""

    orig_id: int  # the file as the task had it
    remap_id: int  # its linked copy (LINKED) or ghost-file image (GHOST)
    remap_type: int  # names.REMAP_TYPE

    @property
    def kind(self) -> str:
        return names.describe(names.REMAP_TYPE, self.remap_type)

    @property
    def ghost_image(self) -> str:
        """criu/image-desc.c: GHOST_FILE -> "ghost-file-%x" (the id in hex)."""
        return f"ghost-file-{self.remap_id:x}.img"


@dataclass
class GhostFile:
    """A deleted file's inode as ghost-file-N.img keeps it (criu re-creates the file from it)."""

    uid: int
    gid: int
    mode: int


@dataclass
class MemfdInode:
    """memfd.img: one memfd's inode (criu re-creates it with memfd_create() and chowns it back)."""

    inode_id: int
    name: str
    uid: int
    gid: int


@dataclass
class BpfMap:
    """A BPF map file of files.img (criu re-creates it with bpf(BPF_MAP_CREATE))."""

    file_id: int
    id: int
    name: str
    map_type: int
    max_entries: int


@dataclass
class InotifyWatch:
    s_dev: int
    i_ino: int
    by_handle_only: bool  # no path hint: criu reopens the inode with open_by_handle_at()


@dataclass
class FsnotifyGroup:
    """An inotify instance or fanotify group of files.img."""

    file_id: int
    kind: str  # "inotify" or "fanotify"
    watches: list[InotifyWatch] = field(default_factory=list)  # inotify
    marks: int = 0  # fanotify


@dataclass
class ExternalMount:
    """A mount criu restores from outside the checkpoint (mountpoints-N.img ext_key, or the legacy ext_mount)."""

    mnt_id: int
    mountpoint: str
    key: str  # the --external mnt[KEY]:PATH key; "" for a legacy ext_mount


@dataclass
class TaskFs:
    """fs-N.img: the file ids of a task's cwd and root."""

    cwd_id: int
    root_id: int


@dataclass
class InventoryFlags:
    """What inventory.img says about how the dump was taken and what the restore must match."""

    img_version: int
    fdinfo_per_id: bool
    root_cg_set: int | None  # None: not recorded
    root_ids: dict[str, int] | None  # criu's own namespace ids at dump ("pid_ns_id": ...); None: not recorded
    network_lock_method: str | None  # iptables, nftables, skip; None: not recorded (criu's default, iptables)
    plugins: list[str]
    tcp_close: bool
    allow_uprobes: bool


@dataclass
class Fd:
    fd: int
    type: str  # REG, PIPE, INETSK, UNIXSK, TTY, ...
    file_id: int
    flags: int  # fdinfo flags (FD_CLOEXEC)
    open_flags: int | None = None  # O_* of the open file
    path: str | None = None
    pos: int | None = None
    size: int | None = None
    mode: int | None = None
    deleted: bool = False  # ghost / unlinked
    pipe_id: int | None = None
    peer: str | None = None  # a unix socket's far end: "socket:[INO] (in the tree)" or "(outside the tree)"
    note: str | None = None  # why there is no target: "external file", "file entry missing from files.img"
    external: bool = False  # dumped with --external: criu did not save it, the restore must hand it in
    socket: Socket | None = None
    tty: TtyInfo | None = None
    locks: list[FileLock] = field(default_factory=list)
    memfd: bool = False


@dataclass
class Vma:
    start: int
    end: int
    prot: int
    flags: int
    status: int
    pgoff: int = 0
    shmid: int = 0
    path: str | None = None
    pages_present: int = 0
    pages_lazy: int = 0
    pages_in_parent: int = 0

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass
class PageCounts:
    present: int = 0
    lazy: int = 0
    in_parent: int = 0

    def add(self, other: PageCounts) -> None:
        self.present += other.present
        self.lazy += other.lazy
        self.in_parent += other.in_parent


@dataclass
class Process:
    pid: int
    ppid: int
    pgid: int
    sid: int
    threads: list[int]
    comm: str = ""
    state: str = "alive"
    creds: Creds | None = None
    seccomp_mode: str = "disabled"
    seccomp_filters: int = 0
    namespaces: dict[str, int] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    cwd: str | None = None
    root: str | None = None
    exe: str | None = None
    cg_set: int | None = None
    cgroups: list[dict] = field(default_factory=list)
    fds: list[Fd] = field(default_factory=list)
    vmas: list[Vma] = field(default_factory=list)
    pages: PageCounts = field(default_factory=PageCounts)
    cmdline: list[str] = field(default_factory=list)
    environ: list[str] = field(default_factory=list)
    mm: dict[str, int] = field(default_factory=dict)
    children: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def uid(self) -> int | None:
        return self.creds.uid if self.creds else None


@dataclass
class Cgroup:
    set_id: int
    controllers: list[dict]  # {"name":..., "path":...}


@dataclass
class Mount:
    mnt_id: int
    parent_mnt_id: int
    fstype: int
    mountpoint: str
    root: str
    source: str | None
    options: str | None
    ext: bool


@dataclass
class ImageInfo:
    """One file of the checkpoint directory, identified by its magic."""

    name: str
    kind: str  # magic name, raw kind, "UNKNOWN" or "OTHER"
    size: int
    known: bool
    entries: int | None = None
    problem: str | None = None


@dataclass
class RepairRecord:
    """What ``criu-inspect repair`` wrote into its output (criu-inspect-repair.json): the facts as dumped."""

    fixes: list[str]
    dumped_creds: dict[int, dict[str, int]]  # pid -> uid, gid, fsuid, fsgid of the main thread as dumped
    ghost_owners: dict[str, int]  # ghost-file-N.img -> the deleted file's owner as dumped
    relocated: dict[str, str]  # path a relocate fix wrote -> the path as dumped


@dataclass
class InterruptedCall:
    """A thread dumped inside a system call that it will see return EINTR once restored."""

    tid: int
    nr: int  # x86_64 system call number (orig_ax)
    name: str  # its name, or "syscall N"
    args: tuple[int, ...]  # the first three arguments (di, si, dx)


@dataclass
class CpuState:
    """What the images say about the CPU: the FPU state the threads used, and cpuinfo.img (--cpu-cap)."""

    xstate_bv: int  # union over the threads: state components in use at dump time (a lower bound)
    xsave_threads: int  # threads saved with an XSAVE area
    threads: int
    cpuinfo_xfeatures: int | None = None  # cpuinfo.img: the dumping CPU's xfeatures_mask (None: no image)
    cpuinfo_model: str | None = None
