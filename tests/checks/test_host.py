"""Host preflight (check --host / preflight) on this machine.

Cases are real corpus checkpoints, some changed by decode -> change -> encode
(pstree pids, files.img paths and build-ids), said so in each test. The host
is the real one: its /proc, its files, its criu; only CRI102/CRI104 also use a
Host with fixed answers to reach the branches this machine cannot show.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from inspector.checks.base import Target
from inspector.checks.host import Host, current_host, reg_files
from inspector.checks.host.elf import elf_build_id
from inspector.checks.host.filecaps import decode_file_caps
from inspector.checks.rules import (
    host_cgroup,
    host_criu,
    host_file_access,
    host_files,
    host_kernel,
    host_pid_control,
    host_pids,
    host_ports,
)
from inspector.codec.image import open_image
from inspector.model.checkpoint import Checkpoint
from tests.conftest import corpus_dir
from tests.synth import write_image

PLAIN_PID = 14055
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"


def rewrite_pid(cp_dir: Path, old: int, new: int) -> None:
    """pstree.img: the task's pid (and its pgid/sid/threads when equal) becomes ``new``; per-pid images renamed."""
    img = open_image(cp_dir / "pstree.img")
    for entry in img.entries:
        m = entry.message
        for field in ("pid", "pgid", "sid", "ppid"):
            if getattr(m, field) == old:
                setattr(m, field, new)
        threads = [new if t == old else t for t in m.threads]
        del m.threads[:]
        m.threads.extend(threads)
        entry.set_message(m)
    write_image(img, cp_dir / "pstree.img")
    for path in list(cp_dir.iterdir()):
        if path.name.endswith(f"-{old}.img"):
            path.rename(cp_dir / path.name.replace(f"-{old}.img", f"-{new}.img"))


def rewrite_thread(cp_dir: Path, pid: int, old_tid: int, new_tid: int) -> None:
    img = open_image(cp_dir / "pstree.img")
    for entry in img.entries:
        m = entry.message
        if m.pid == pid:
            threads = [new_tid if t == old_tid else t for t in m.threads]
            del m.threads[:]
            m.threads.extend(threads)
            entry.set_message(m)
    write_image(img, cp_dir / "pstree.img")


def rewrite_files(cp_dir: Path, change) -> None:
    """Apply ``change(reg_entry)`` to every regular-file entry of files.img."""
    img = open_image(cp_dir / "files.img")
    for entry in img.entries:
        m = entry.message
        if m.HasField("reg") and change(m.reg):
            entry.set_message(m)
    write_image(img, cp_dir / "files.img")


def stage_root(cp_dir: Path, root: Path) -> dict[str, Path]:
    """Recreate, under ``root``, every file the checkpoint reopens as it was at dump time (size, mode);
    files that exist on this host outside the scenario's $WORK (/usr/lib/..., /dev/null) are symlinked.
    This is what restoring with criu restore --root ROOT needs."""
    root.mkdir(exist_ok=True)
    root.chmod(0o755)
    made = {}
    for use in sorted(reg_files(Checkpoint(cp_dir)), key=lambda u: u.path):
        if use.path == "/":
            continue
        dest = root / use.path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not use.path.startswith("/tmp/criu-work"):
            dest.symlink_to(use.path)
        elif stat.S_ISDIR(use.mode):
            dest.mkdir(exist_ok=True)
        else:
            dest.write_bytes(b"x" * (use.size or 0))
        if use.path.startswith("/tmp/criu-work"):
            dest.chmod(use.mode & 0o7777)
        made[use.path] = dest
    return made


def ids_in_use(cp) -> list[int]:
    return [t for p in cp.processes for t in dict.fromkeys([p.pid, *p.threads]) if os.path.exists(f"/proc/{t}")]


# --- CRI101 pids -----------------------------------------------------------------


def test_untouched_checkpoint_pids_flagged_only_if_really_in_use():
    cp = Checkpoint(corpus_dir("plain"))
    findings = list(host_pids.check(cp, Target()))
    assert [f.details["id"] for f in findings] == ids_in_use(cp)
    if not ids_in_use(cp):  # the usual case: nothing here runs as 14055
        assert findings == []


def test_pid_in_use_is_flagged(writable_copy):
    """pstree rewritten (decode -> change -> encode) to this test's own pid, which is surely in use."""
    cp_dir = writable_copy("plain")
    me = os.getpid()
    rewrite_pid(cp_dir, PLAIN_PID, me)
    cp = Checkpoint(cp_dir)
    assert cp.root.pid == me and cp.root.comm == "ticker"  # the rest of the model still reads
    findings = list(host_pids.check(cp, Target()))
    assert len(findings) == 1
    f = findings[0]
    assert (f.code, f.severity, f.pid, f.details["id"], f.details["thread"]) == ("CRI101", "error", me, me, False)
    assert f.criu_error == f"Can't fork for {me}: File exists"
    assert f.details["held_by"] == Path(f"/proc/{me}/comm").read_text().strip()


def test_thread_id_in_use_is_flagged(writable_copy):
    """A thread id of the root task of `tree` rewritten to this test's pid."""
    cp_dir = writable_copy("tree")
    cp = Checkpoint(cp_dir)
    root = cp.root
    other = next(t for t in root.threads if t != root.pid)
    rewrite_thread(cp_dir, root.pid, other, os.getpid())
    findings = list(host_pids.check(Checkpoint(cp_dir), Target()))
    assert [(f.pid, f.details["id"], f.details["thread"]) for f in findings] == [(root.pid, os.getpid(), True)]
    assert "thread id" in findings[0].message


def test_pid_above_pid_max_is_refused_with_einval(writable_copy):
    """pstree rewritten to this host's pid_max itself: no namespace of it can hand that id out."""
    cp_dir = writable_copy("plain")
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    rewrite_pid(cp_dir, PLAIN_PID, pid_max)
    [f] = list(host_pids.check(Checkpoint(cp_dir), Target()))
    assert f.details == {"ids": [pid_max], "pid_max": pid_max}
    assert f.criu_error == f"Can't fork for {pid_max}: Invalid argument" and "%d" not in f.criu_error
    assert "EINVAL" in f.message and "in use" not in f.message
    assert "new pid namespace" not in f.fix and f"above {pid_max}" in f.fix
    assert "%d" not in host_pids.RULE.criu_error


def test_preflight_cli_flags_pid_in_use(writable_copy, cli):
    cp_dir = writable_copy("plain")
    rewrite_pid(cp_dir, PLAIN_PID, os.getpid())
    r = cli("preflight", str(cp_dir), "--select", "CRI101", "--format", "json")
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert data["verdict"] == "blocked"
    assert [(f["code"], f["pid"]) for f in data["findings"]] == [("CRI101", os.getpid())]


# --- CRI105 files -----------------------------------------------------------------


def test_untouched_checkpoint_files_match_a_restored_tree(tmp_path):
    """The untouched corpus checkpoint against a root that has its files as at dump time: nothing to flag."""
    cp = Checkpoint(corpus_dir("plain"))
    root = tmp_path / "root"
    stage_root(Path(cp.path), root)
    assert list(host_files.check(cp, Target(root=str(root)))) == []


def test_untouched_checkpoint_here_flags_what_is_missing():
    """On this machine $WORK (/tmp/criu-work) does not exist: criu would fail on those paths, the rest is fine."""
    cp = Checkpoint(corpus_dir("plain"))
    if os.path.exists("/tmp/criu-work"):
        pytest.skip("/tmp/criu-work exists on this machine")
    findings = list(host_files.check(cp, Target()))
    assert sorted(f.details["path"] for f in findings) == [
        "/tmp/criu-work",
        "/tmp/criu-work/bin/ticker",
        "/tmp/criu-work/data/plain/err",
        "/tmp/criu-work/data/plain/out",
    ]
    # libc, ld.so, /dev/null and / exist here with the dumped size, mode and build-id


def test_missing_file_is_flagged(writable_copy, tmp_path):
    """files.img rewritten (decode -> change -> encode): fd 1's path points at a file that is not there."""
    cp_dir = writable_copy("plain")
    root = tmp_path / "root"
    stage_root(cp_dir, root)
    rewrite_files(
        cp_dir,
        lambda r: (
            r.name == "/tmp/criu-work/data/plain/out" and setattr(r, "name", "/tmp/criu-work/data/plain/gone") is None
        ),
    )
    cp = Checkpoint(cp_dir)
    assert cp.processes[0].fds[1].path == "/tmp/criu-work/data/plain/gone"
    findings = list(host_files.check(cp, Target(root=str(root))))
    assert len(findings) == 1
    f = findings[0]
    assert (f.code, f.pid, f.fd, f.image) == ("CRI105", PLAIN_PID, 1, "files.img")
    assert f.message.startswith("/tmp/criu-work/data/plain/gone (pid 14055: fd 1) does not exist here")
    assert f.criu_error == "Can't open file /tmp/criu-work/data/plain/gone on restore: No such file or directory"


def test_missing_file_flagged_without_root(writable_copy, tmp_path):
    """Same rewrite to an absolute path under the test's tmp dir, looked up on this host directly."""
    cp_dir = writable_copy("plain")
    gone = str(tmp_path / "nothing-here" / "out")
    rewrite_files(cp_dir, lambda r: r.name == "/tmp/criu-work/data/plain/out" and setattr(r, "name", gone) is None)
    findings = [f for f in host_files.check(Checkpoint(cp_dir), Target()) if f.details["path"] == gone]
    assert len(findings) == 1 and findings[0].fd == 1


def test_size_and_mode_differences(tmp_path):
    cp = Checkpoint(corpus_dir("plain"))
    root = tmp_path / "root"
    made = stage_root(Path(cp.path), root)
    made["/tmp/criu-work/data/plain/out"].write_bytes(b"0123456789")
    made["/tmp/criu-work/data/plain/err"].chmod(0o600)
    findings = {f.details["path"]: f for f in host_files.check(cp, Target(root=str(root)))}
    assert sorted(findings) == ["/tmp/criu-work/data/plain/err", "/tmp/criu-work/data/plain/out"]
    assert (
        findings["/tmp/criu-work/data/plain/out"].criu_error
        == "File /tmp/criu-work/data/plain/out has bad size 10 (expect 76)"
    )
    assert (
        findings["/tmp/criu-work/data/plain/err"].criu_error
        == "File /tmp/criu-work/data/plain/err has bad mode 0100600 (expect 0100644)"
    )
    assert "--skip-file-rwx-check" in findings["/tmp/criu-work/data/plain/err"].fix
    # criu restore --skip-file-rwx-check ignores the rwx bits
    skipped = [f.details["path"] for f in host_files.check(cp, Target(root=str(root), skip_file_rwx_check=True))]
    assert skipped == ["/tmp/criu-work/data/plain/out"]


def test_build_id_mismatch(writable_copy):
    """libc's build-id in files.img changed (decode -> change -> encode); this host's libc keeps its own."""
    cp_dir = writable_copy("plain")
    cp = Checkpoint(cp_dir)
    libc = next(u for u in reg_files(cp) if u.path == LIBC)
    host_id = elf_build_id(LIBC)
    if host_id is None or host_id != libc.build_id:
        pytest.skip("this host's libc is not the one the corpus was dumped with")
    assert not [f for f in host_files.check(cp, Target()) if f.details["path"] == LIBC]

    def flip(r):
        if r.name != LIBC:
            return False
        words = list(r.build_id)
        words[0] ^= 0xFFFFFFFF
        del r.build_id[:]
        r.build_id.extend(words)
        return True

    rewrite_files(cp_dir, flip)
    cp = Checkpoint(cp_dir)
    findings = [f for f in host_files.check(cp, Target()) if f.details["path"] == LIBC]
    assert len(findings) == 1
    assert findings[0].criu_error == f"File {LIBC} has bad build-ID"
    assert findings[0].details["build_id"] == host_id.hex()
    # criu restore --file-validation filesize does not compare build-ids
    assert not [f for f in host_files.check(cp, Target(file_validation="filesize")) if f.details["path"] == LIBC]


# --- CRI102 / CRI103 / CRI104 / CRI106 ------------------------------------------------


class FixedHost(Host):
    """A host whose kernel facts are given (for branches this machine cannot show)."""

    def __init__(self, *, kernel="6.1.0", clone3=True, ns_last_pid=True, time_ns=True):
        super().__init__()
        self.kernel_release = kernel
        self.clone3 = clone3
        self.has_ns_last_pid = ns_last_pid
        self.has_time_ns = time_ns


def test_pid_control_on_this_host_and_without_clone3():
    cp = Checkpoint(corpus_dir("plain"))
    host = current_host()
    assert host.clone3 and host.kernel_version >= (5, 5, 0)  # this VM: 6.18, clone3 allowed
    assert list(host_pid_control.check(cp, Target())) == []
    blocked = list(host_pid_control.check(cp, Target(), host=FixedHost(clone3=False, ns_last_pid=False)))
    assert len(blocked) == 1 and "does not exist" in blocked[0].message and blocked[0].severity == "error"
    old = FixedHost(kernel="5.4.0", clone3=True, ns_last_pid=True)
    assert list(host_pid_control.check(cp, Target(kind="root"), host=old)) == []
    unpriv = list(host_pid_control.check(cp, Target(), host=old))
    assert len(unpriv) == 1 and "CAP_SYS_ADMIN before kernel 5.9" in unpriv[0].message


def test_kernel_rule():
    cp = Checkpoint(corpus_dir("plain"))
    assert list(host_kernel.check(cp, Target())) == []  # 6.18 with time namespaces
    old = list(host_kernel.check(cp, Target(), host=FixedHost(kernel="5.4.0", time_ns=False)))
    assert [f.severity for f in old] == ["error", "warning"]
    assert "CAP_CHECKPOINT_RESTORE" in old[0].message and "timens-0.img" in old[1].message


def test_criu_binary_of_this_host():
    """This VM has Debian's criu 3.17 in /usr/sbin; the corpus was dumped by criu 4.2."""
    cp = Checkpoint(corpus_dir("plain"))
    host = current_host()
    if host.criu_path is None or host.criu_version is None:
        pytest.skip("no criu here")
    findings = list(host_criu.check(cp, Target(kind="root")))
    too_old = [f for f in findings if "older than the criu" in f.message]
    assert bool(too_old) == (host.criu_version < (4, 0))


@pytest.fixture
def fake_criu(tmp_path):
    """A `criu` in its own PATH dir that says it is 4.2, with real file capabilities set by setcap."""
    setcap = shutil.which("setcap") or "/usr/sbin/setcap"
    if os.geteuid() != 0 or not os.path.exists(setcap):
        pytest.skip("needs root and setcap")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    criu = bindir / "criu"
    criu.write_text("#!/bin/sh\necho 'Version: 4.2'\n")
    criu.chmod(0o755)
    r = subprocess.run([setcap, "cap_checkpoint_restore,cap_net_admin=eip", str(criu)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"setcap failed here: {r.stderr.strip()}")
    return criu


def test_criu_file_capabilities_vs_target(fake_criu):
    cp = Checkpoint(corpus_dir("plain"))
    host = Host(path_env=str(fake_criu.parent))
    assert host.criu_path == str(fake_criu) and host.criu_version == (4, 2)
    caps = host.file_caps(str(fake_criu))
    assert caps.names() == ["NET_ADMIN", "CHECKPOINT_RESTORE"] and caps.effective
    assert list(host_criu.check(cp, Target(uid=1001, caps=frozenset({"NET_ADMIN"})), host=host)) == []
    more = list(host_criu.check(cp, Target(uid=1001, caps=frozenset({"NET_ADMIN", "SYS_PTRACE"})), host=host))
    assert [(f.severity, f.details["missing"]) for f in more] == [("warning", ["SYS_PTRACE"])]
    subprocess.run(["setcap", "-r", str(fake_criu)], check=True)
    none = list(host_criu.check(cp, Target(uid=1001), host=Host(path_env=str(fake_criu.parent))))
    assert len(none) == 1 and none[0].severity == "error" and "no file capabilities" in none[0].message


def test_decode_file_caps_revisions():
    # VFS_CAP_REVISION_2 with the effective flag: cap_checkpoint_restore (40) and cap_net_admin (12)
    raw = (
        (0x02000001).to_bytes(4, "little")
        + (1 << 12).to_bytes(4, "little")
        + b"\0" * 4
        + (1 << 8).to_bytes(4, "little")
        + b"\0" * 4
    )
    caps = decode_file_caps(raw)
    assert caps.names() == ["NET_ADMIN", "CHECKPOINT_RESTORE"] and caps.effective and caps.rootid is None
    assert decode_file_caps(b"\x00\x00") is None


def test_cgroup_delegation():
    """`cgroup` was dumped in v2 cgroup /criutest; on this host that cgroup is not the restoring user's."""
    cp = Checkpoint(corpus_dir("cgroup"))
    host = current_host()
    if host.cgroup2_mount is None:
        pytest.skip("no cgroup2 here")
    findings = list(host_cgroup.check(cp, Target(uid=1001)))
    assert [f.details["path"] for f in findings] == ["/criutest"]
    assert findings[0].details["uid"] == 1001 and findings[0].details["owner"] != 1001
    assert list(host_cgroup.check(cp, Target(uid=1001, manage_cgroups="ignore"))) == []
    assert list(host_cgroup.check(cp, Target(kind="root"))) == []
    assert list(host_cgroup.check(Checkpoint(corpus_dir("plain")), Target(uid=1001))) == []  # no cgroup.img


def test_preflight_cli_on_untouched_checkpoint(tmp_path, cli):
    """preflight = check --host: the untouched checkpoint with its files in place (--root) has no pid or
    file finding; the run also reports this host's criu when it cannot restore these images."""
    src = corpus_dir("plain")
    root = tmp_path / "root"
    stage_root(src, root)
    r = cli("preflight", str(src), "--root", str(root), "--target", "root", "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    data = json.loads(r.stdout)
    codes = [f["code"] for f in data["findings"]]
    assert "CRI105" not in codes
    assert ("CRI101" in codes) == bool(ids_in_use(Checkpoint(src)))
    assert {"CRI101", "CRI102", "CRI103", "CRI104", "CRI105", "CRI106"} <= set(data["rules"])
    # without --host (check) the host rules do not run
    r = cli("check", str(src), "--target", "root", "--format", "json")
    assert not {c for c in json.loads(r.stdout)["rules"] if c.startswith("CRI10")}


# --- CRI107 real access on this host ----------------------------------------------------


def test_file_access_as_the_restoring_user(tmp_path):
    """`plain` restored unprivileged failed on "Can't open file $WORK/data/plain/out on restore: Permission
    denied" (MANIFEST): with its files staged as root's, as on the dump host, CRI107 says the same; once they
    belong to uid 1001 it does not."""
    if os.geteuid() != 0:
        pytest.skip("needs root to stage root-owned files and chown them")
    cp = Checkpoint(corpus_dir("plain"))
    root = tmp_path / "root"
    made = stage_root(Path(cp.path), root)
    target = Target(uid=1001, root=str(root))
    findings = list(host_file_access.check(cp, target))
    assert [(f.fd, f.details["path"]) for f in findings] == [
        (1, "/tmp/criu-work/data/plain/out"),
        (2, "/tmp/criu-work/data/plain/err"),
    ]
    assert findings[0].criu_error == "Can't open file /tmp/criu-work/data/plain/out on restore: Permission denied"
    assert "owned by uid 0 gid 0 with mode 0644" in findings[0].message
    for p in ("/tmp/criu-work/data/plain/out", "/tmp/criu-work/data/plain/err"):
        os.chown(made[p], 1001, 1001)
    assert list(host_file_access.check(cp, target)) == []
    assert list(host_file_access.check(cp, Target(uid=1001, root=str(root), caps=frozenset({"DAC_OVERRIDE"})))) == []
    # a directory on the way that uid 1001 cannot search
    (root / "tmp" / "criu-work" / "data").chmod(0o700)
    blocked = list(host_file_access.check(cp, target))
    assert {f.details["denied"] for f in blocked} == {str(root / "tmp" / "criu-work" / "data")}


def test_ghost_directory_must_be_writable(tmp_path):
    """`ghost` unprivileged failed on "Can't create ghost regfile: Permission denied" (MANIFEST)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to stage root-owned files")
    cp = Checkpoint(corpus_dir("ghost"))
    root = tmp_path / "root"
    made = stage_root(Path(cp.path), root)
    for p, dest in made.items():
        if p.startswith("/tmp/criu-work/data/ghost/"):
            os.chown(dest, 1001, 1001)  # the mapped file is the user's: only the ghost's directory is not
    findings = list(host_file_access.check(cp, Target(uid=1001, root=str(root))))
    assert [f.criu_error for f in findings] == ["Can't create ghost regfile: Permission denied"]
    assert findings[0].details["denied"] == str(root / "tmp" / "criu-work" / "data" / "ghost")
    os.chown(root / "tmp" / "criu-work" / "data" / "ghost", 1001, 1001)
    assert list(host_file_access.check(cp, Target(uid=1001, root=str(root)))) == []


def test_tree_in_its_own_pid_namespace_is_not_flagged(writable_copy):
    """pstree rewritten to this test's pid, and ids-N.img (decode -> change -> encode) given a pid namespace
    other than criu's (inventory root_ids): criu restores such a tree into a new pid namespace."""
    cp_dir = writable_copy("plain")
    me = os.getpid()
    rewrite_pid(cp_dir, PLAIN_PID, me)
    assert len(list(host_pids.check(Checkpoint(cp_dir), Target()))) == 1
    img = open_image(cp_dir / f"ids-{me}.img")
    msg = img.entries[0].message
    msg.pid_ns_id = 99
    img.entries[0].set_message(msg)
    write_image(img, cp_dir / f"ids-{me}.img")
    cp = Checkpoint(cp_dir)
    assert host_pids.own_pid_namespace(cp)
    assert list(host_pids.check(cp, Target())) == []


# --- CRI108 ports ---------------------------------------------------------------------------------


def _rewrite_isk(cp_dir: Path, **fields) -> None:
    """files.img of `tcp` (decode -> change -> encode): its one INET socket gets new field values."""
    img = open_image(cp_dir / "files.img")
    for entry in img.entries:
        m = entry.message
        if m.HasField("isk"):
            for k, v in fields.items():
                setattr(m.isk, k, v)
            entry.set_message(m)
    write_image(img, cp_dir / "files.img")


def test_untouched_tcp_checkpoint_ports():
    """`tcp` holds an established client socket 127.0.0.1:47414 -> :23456; only flagged (with
    --tcp-established) if this host has a socket on 127.0.0.1:47414."""
    from inspector.checks.host import host_sockets

    cp = Checkpoint(corpus_dir("tcp"))
    busy = any(s.proto == "TCP" and s.port == 47414 and s.addr == "127.0.0.1" for s in host_sockets())
    assert len(list(host_ports.check(cp, Target(tcp_established=True)))) == int(busy)
    assert list(host_ports.check(cp, Target())) == []  # without --tcp-established criu does not rebind it


def test_listening_port_in_use_is_flagged(writable_copy):
    """The `tcp` socket rewritten to LISTEN on 127.0.0.1:P, where this test listens."""
    import socket

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        cp_dir = writable_copy("tcp")
        _rewrite_isk(cp_dir, state=10, src_port=port, dst_port=0)
        cp = Checkpoint(cp_dir)
        sock = cp.processes[0].fds[3].socket
        assert (sock.state, sock.src) == ("LISTEN", f"127.0.0.1:{port}")
        findings = list(host_ports.check(cp, Target()))
        assert [(f.code, f.pid, f.fd, f.details["port"]) for f in findings] == [("CRI108", 18411, 3, port)]
        assert findings[0].criu_error == "Can't bind inet socket (id 6): Address already in use"
    # the port is free again: nothing to flag
    assert list(host_ports.check(Checkpoint(cp_dir), Target())) == []


def test_established_local_port_in_use_is_flagged(writable_copy):
    """The `tcp` client's local port rewritten to the local port of a live connection of this test."""
    import socket

    with socket.socket() as srv, socket.socket() as cli_sock:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        cli_sock.connect(srv.getsockname())
        local_port = cli_sock.getsockname()[1]
        cp_dir = writable_copy("tcp")
        _rewrite_isk(cp_dir, src_port=local_port)
        cp = Checkpoint(cp_dir)
        assert list(host_ports.check(cp, Target())) == []
        findings = list(host_ports.check(cp, Target(tcp_established=True)))
        assert [f.details["port"] for f in findings] == [local_port]
        assert findings[0].criu_error == "Can't bind inet socket back: Address already in use"


def test_udp_port_in_use_is_flagged(writable_copy):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("0.0.0.0", 0))
        port = udp.getsockname()[1]
        cp_dir = writable_copy("tcp")
        _rewrite_isk(cp_dir, type=2, proto=17, state=7, src_port=port, dst_port=0)
        findings = list(host_ports.check(Checkpoint(cp_dir), Target()))
        assert [(f.details["port"], f.details["host_addr"]) for f in findings] == [(port, "0.0.0.0")]
