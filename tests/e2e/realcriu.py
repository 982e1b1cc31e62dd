"""The real CRIU that judges the end-to-end tests, found in one place.

Order: ``$CRIU`` (a path), the side root ``scripts/setup`` installs
(``.criu/bin/criu``, Debian unstable's CRIU made to run on the host), then a
``criu`` on PATH or in /usr/sbin; the first whose ``--version`` is at least
4.2 wins (Debian 12's 3.17 cannot dump on current kernels). Where none can be
had, ``locate`` says why in one line, from what ``scripts/install-criu`` wrote
in ``.criu/unavailable``.

The unprivileged side needs a copy of that binary with file capabilities that
the test user can execute. ``scripts/setup`` makes one (``.criu/bin/criu-capped``);
when the clone lives where the test user cannot reach it (a private temp dir),
``capped_copy`` stages the binary with the libraries it loads in a world-readable
directory of the test session and sets the capabilities there.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MIN_VERSION = (4, 2)
REPO = Path(__file__).resolve().parents[2]
SIDE = REPO / ".criu"
TEST_USER = "criu-inspect-test"
# what an unprivileged criu needs: checkpoint/restore, ptrace of its own user's tasks, the network lock
FILE_CAPS = "cap_checkpoint_restore,cap_net_admin,cap_sys_ptrace=eip"
CRIU_PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int

    def setpriv(self, *, nnp: bool = False) -> list[str]:
        """The argv prefix that runs a command as this user (with its groups, optionally no_new_privs)."""
        groups = ["--init-groups"] if self.name else ["--clear-groups"]
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", *groups, *(["--no-new-privs"] if nnp else [])]


@dataclass(frozen=True)
class RealCriu:
    binary: Path  # run by root
    capped: Path  # the same CRIU with FILE_CAPS, executable by the test users
    version: tuple[int, ...]
    user: User  # the test user (created by scripts/setup)
    other: User  # another unprivileged user: a free uid with no passwd entry

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))


def version_of(binary: str | os.PathLike) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"Version:\s*(\d+(?:\.\d+)*)", out)
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


def candidates() -> list[Path]:
    if os.environ.get("CRIU"):
        return [Path(os.environ["CRIU"])]
    found = [SIDE / "bin" / "criu"]
    on_path = shutil.which("criu", path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin")
    if on_path:
        found.append(Path(on_path))
    return found


def locate() -> tuple[Path, tuple[int, ...]] | str:
    """(binary, version) of the first CRIU >= 4.2, or one line saying why there is none."""
    seen = []
    for path in candidates():
        if not path.exists():
            continue
        version = version_of(path)
        if version is not None and version >= MIN_VERSION:
            return path, version
        seen.append(f"{path} is {'.'.join(map(str, version)) if version else 'not runnable'}")
    why = (SIDE / "unavailable").read_text().strip() if (SIDE / "unavailable").is_file() else ""
    need = "no CRIU >= %d.%d" % MIN_VERSION
    if os.environ.get("CRIU"):
        need += f" at CRIU={os.environ['CRIU']}"
    return "; ".join([need, *seen, why or "run bash scripts/setup (as root) to install one"])


def test_user() -> User | None:
    try:
        pw = pwd.getpwnam(TEST_USER)
    except KeyError:
        return None
    return User(pw.pw_name, pw.pw_uid, pw.pw_gid)


def free_uid(start: int, taken: set[int] = frozenset()) -> int:
    """The first uid from ``start`` that no passwd entry (and no group) uses."""
    import grp

    used = {p.pw_uid for p in pwd.getpwall()} | {g.gr_gid for g in grp.getgrall()} | set(taken)
    uid = start
    while uid in used:
        uid += 1
    return uid


def runs_as(user: User, binary: Path) -> bool:
    """Whether ``user`` can execute ``binary`` with its file capabilities (a reachable path, caps set)."""
    try:
        r = subprocess.run([*user.setpriv(), str(binary), "--version"], capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    caps = subprocess.run(["getcap", str(binary)], capture_output=True, text=True).stdout
    return r.returncode == 0 and "cap_checkpoint_restore" in caps


def _loaded_libraries(binary: Path) -> list[Path]:
    """The shared objects ``binary`` loads, its interpreter included (ld.so's trace mode)."""
    out = subprocess.run(
        [str(binary)], env={"LD_TRACE_LOADED_OBJECTS": "1"}, capture_output=True, text=True, timeout=20
    ).stdout
    libs = []
    for line in out.splitlines():
        m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if m:
            libs.append(Path(m.group(1)))
    return libs


def capped_copy(binary: Path, dest: Path, user: User) -> Path:
    """A copy of ``binary`` with FILE_CAPS that ``user`` can run: setup's own where the user reaches it,
    else one staged in ``dest``."""
    made = SIDE / "bin" / "criu-capped"
    if binary == SIDE / "bin" / "criu" and made.exists() and runs_as(user, made):
        return made
    dest.mkdir(parents=True, exist_ok=True)
    dest.chmod(0o755)
    staged = dest / "criu-capped"
    shutil.copy2(binary, staged)
    interp = subprocess.run(["patchelf", "--print-interpreter", str(binary)], capture_output=True, text=True)
    system = interp.returncode != 0 or interp.stdout.strip().startswith(("/lib", "/lib64", "/usr/lib"))
    if not system:
        # a binary patched to use a side root's loader: take that loader and the libraries along
        lib = dest / "lib"
        lib.mkdir(exist_ok=True)
        loader = None
        for so in _loaded_libraries(binary):
            shutil.copy2(so.resolve(), lib / so.name)
            if so.name.startswith("ld-linux"):
                loader = lib / so.name
        if loader is None:
            raise RuntimeError(f"cannot find the loader of {binary}")
        patch = ["patchelf", "--set-interpreter", str(loader), "--force-rpath", "--set-rpath", str(lib), str(staged)]
        subprocess.run(patch, check=True)
        for p in [lib, *lib.iterdir()]:
            p.chmod(0o755)
    subprocess.run(["setcap", FILE_CAPS, str(staged)], check=True)
    if not runs_as(user, staged):
        raise RuntimeError(f"{user.name} cannot run the capped CRIU staged at {staged}")
    return staged


def prepare(stage: Path) -> RealCriu | str:
    """The RealCriu the tests and scripts/make-corpus use, or one line saying why there is none."""
    if os.geteuid() != 0:
        return "needs root (to start programs as the test users and set file capabilities)"
    found = locate()
    if isinstance(found, str):
        return found
    binary, version = found
    user = test_user()
    if user is None:
        return f"no test user {TEST_USER!r}: run bash scripts/setup (as root)"
    other_uid = free_uid(user.uid + 1)
    capped = capped_copy(binary, stage, user)
    return RealCriu(binary=binary, capped=capped, version=version, user=user, other=User("", other_uid, other_uid))
