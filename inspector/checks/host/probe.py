"""This machine, the one that will run ``criu restore``: what the --host rules ask of it.

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
import subprocess

from .elf import elf_build_id
from .filecaps import FileCaps, read_file_caps

CLONE3_SYSCALL = 435  # the same number on every architecture (unified syscall table)
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


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
        from ..targets import cpu_flags_of

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
        return read_file_caps(path)

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
