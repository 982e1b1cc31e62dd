"""What the checker works with: a restore target, a rule, a finding.

Rules know nothing of the CLI: they take a Checkpoint (the model) and a
Target (where and how it will be restored) and yield Findings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from ..model.checkpoint import Checkpoint

# a finding's weight; the strings are what every report prints
Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
# the restoring uid assumed for an unprivileged restore of a tree that ran as root, when no --uid is given
ASSUMED_NONROOT_UID = 65534
# what a container's root (uid 0 in a user namespace, --target unprivileged --uid 0) holds: the default
# capability set of Podman, Docker and containerd, over the ids mapped into its namespace
CONTAINER_ROOT_CAPS = frozenset(
    {
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "NET_BIND_SERVICE",
        "NET_RAW",
        "SYS_CHROOT",
        "MKNOD",
        "AUDIT_WRITE",
        "SETFCAP",
    }
)
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class Target:
    """Where the checkpoint will be restored, and with which criu options."""

    kind: str = "unprivileged"  # "unprivileged" (criu restore --unprivileged) or "root"
    uid: int | None = None  # restoring user; None: the uid the dumped processes ran as
    gid: int | None = None
    caps: frozenset[str] = frozenset()  # capabilities the restorer holds beyond CHECKPOINT_RESTORE
    terminal: bool = False  # criu runs on a terminal it can hand to a --shell-job tree
    shell_job: bool = False
    file_locks: bool = False
    tcp_established: bool = False
    tcp_close: bool = False
    ext_unix_sk: bool = False
    manage_cgroups: str | None = None  # criu --manage-cgroups MODE (ignore, none, props, soft, full, strict)
    cgroup_yard: str | None = None  # criu restore --cgroup-yard DIR: controllers mounted there beforehand
    inherit_fds: tuple[str, ...] = ()  # criu --inherit-fd fd[N]:RES specs
    externals: tuple[str, ...] = ()  # criu --external specs, e.g. mnt[KEY]:PATH
    bounding_set: int | None = None  # restorer's CapBnd; None: a full set
    allow_uprobes: bool = False  # criu restore --allow-uprobes
    skip_file_rwx_check: bool = False  # criu restore --skip-file-rwx-check (mode checks ignore rwx bits)
    file_validation: str = "buildid"  # criu restore --file-validation buildid|filesize
    root: str | None = None  # criu restore --root DIR: where the checkpoint's paths are looked up
    criu: str | None = None  # the criu binary that will restore (host checks; None: criu in PATH)
    on_this_host: bool = False  # the restore runs on this machine (check --host): rules may look at it
    cpu_flags: frozenset[str] | None = None  # --target-cpu FILE: the flags of the restoring CPU's /proc/cpuinfo

    @property
    def privileged(self) -> bool:
        return self.kind == "root"

    @property
    def container_root(self) -> bool:
        """--target unprivileged --uid 0: root of a user namespace (a container's root), not the host's."""
        return not self.privileged and self.uid == 0

    def has_cap(self, name: str) -> bool:
        return (
            self.privileged
            or name in self.caps
            or name == "CHECKPOINT_RESTORE"
            or (self.container_root and name in CONTAINER_ROOT_CAPS)
        )


@dataclass
class Finding:
    code: str
    title: str
    category: str
    severity: Severity
    message: str
    fix: str
    pid: int | None = None
    fd: int | None = None
    vma_start: int | None = None
    image: str | None = None  # image file the finding is read from (SARIF location)
    criu_error: str | None = None  # what criu would print
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """One rule: a module in inspector/checks/rules/ defines ``RULE = Rule(...)``.

    ``check(checkpoint, target)`` yields Findings; its page is the template
    checks/rules/docs/<code>.md filled with these fields (checks/docs.py).
    ``host`` rules need the restoring machine (--host).
    """

    code: str
    title: str
    category: str
    severity: Severity  # default severity for findings of this rule
    rationale: str
    fix: str
    check: Callable[[Checkpoint, Target], Iterable[Finding]]
    criu_error: str | None = None
    host: bool = False


@dataclass
class CheckReport:
    """The result of one check run: what a renderer (text/json/sarif/junit) takes."""

    checkpoint: str
    target: Target
    findings: list[Finding]
    rules: list[Rule]  # the rules that ran
    suppressed: list[tuple[Finding, str]] = field(default_factory=list)  # (finding, reason)
    problems: list[str] = field(default_factory=list)  # images that could not be read
    warnings: list[str] = field(default_factory=list)  # e.g. a suppression that matches no finding
    fail_on: str = "error"
    # the restoring uid the rules assumed: the tree ran as root and an unprivileged target named no --uid
    assumed_uid: int | None = None
    max_per_rule: int | None = None  # text output: at most this many entries per rule (JSON keeps all)

    @property
    def verdict(self) -> str:
        if any(f.severity == "error" for f in self.findings):
            return "blocked"
        return "unknown" if self.problems else "restorable"  # never "restorable" on facts it could not read

    @property
    def failed(self) -> bool:
        if self.fail_on == "never":  # report-only (dashboards): findings never fail the gate
            return False
        rank = SEVERITY_RANK[self.fail_on]
        return any(SEVERITY_RANK[f.severity] >= rank for f in self.findings)
