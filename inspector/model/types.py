"""Plain dataclasses of a checkpoint: no decoding, no rendering."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    peer: str | None = None  # textual far end ("pipe:[N]", "socket peer", ...)
    socket: Socket | None = None
    tty: dict | None = None
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
    cpuinfo_xsave_size: int | None = None
    cpuinfo_model: str | None = None
