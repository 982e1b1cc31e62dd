"""One test (at least) per rule, on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

from inspector.checks.base import Target
from inspector.checks.engine import run_checks
from inspector.codec.image import open_image
from inspector.model import names
from tests.conftest import corpus_dir

UNPRIV = Target(kind="unprivileged", uid=1001, caps=frozenset({"NET_ADMIN", "SYS_PTRACE"}))
ROOT = Target(kind="root")


def unpriv(**kw) -> Target:
    base = dict(kind="unprivileged", uid=1001, caps=frozenset({"NET_ADMIN", "SYS_PTRACE"}))
    base.update(kw)
    return Target(**base)


def found(path, target, code, severity=None):
    report = run_checks(Path(path), target, select=[code])
    return [f for f in report.findings if f.code == code and (severity is None or f.severity == severity)]


def edit(directory: Path, image: str, change) -> None:
    """Decode ``image``, let ``change(message)`` edit each entry (return False to leave it), encode it back."""
    img = open_image(directory / image)
    for entry in img.entries:
        msg = entry.message
        if change(msg) is not False:
            entry.set_message(msg)
    (directory / image).write_bytes(img.encode())


# --- tty and sessions -------------------------------------------------------------------------


def test_cri001_tty_needs_shell_job_and_terminal():
    tty = corpus_dir("unpriv-tty")
    bare = found(tty, unpriv(), "CRI001", "error")
    assert bare and bare[0].pid == 23334 and bare[0].details["fds"] == [0, 1, 2]
    assert "without correspond master peer" in bare[0].criu_error
    no_term = found(tty, unpriv(shell_job=True), "CRI001", "error")
    assert no_term and "Don't have tty to inherit session from" in no_term[0].criu_error
    assert not found(tty, unpriv(shell_job=True, terminal=True), "CRI001")
    assert not found(corpus_dir("plain"), unpriv(), "CRI001")


def test_cri002_tty_owner():
    got = found(corpus_dir("tty"), unpriv(shell_job=True, terminal=True), "CRI002", "error")
    assert got and got[0].details["tty_uid"] == 0
    assert got[0].criu_error == "tty: Can't setup uid 0 gid 0 on 0x4: Operation not permitted"
    assert not found(corpus_dir("tty"), unpriv(shell_job=True, terminal=True, caps=frozenset({"CHOWN"})), "CRI002")
    assert not found(corpus_dir("unpriv-tty"), unpriv(shell_job=True, terminal=True), "CRI002")
    assert not found(corpus_dir("tty"), Target(kind="root", shell_job=True, terminal=True), "CRI002")


def test_cri002_pty_master_is_not_a_blocker():
    """tmux holds its pane's master, recorded as uid 0 gid 0 (the ptmx node's): it restored unprivileged."""
    from inspector.model.checkpoint import Checkpoint

    cp = Checkpoint(corpus_dir("tmux"))
    ttys = {(fd.path, fd.tty.uid, fd.tty.gid) for p in cp.processes for fd in p.fds if fd.tty is not None}
    assert ttys == {("/dev/ptmx", 0, 0), ("/dev/pts/0", 1001, 1001)}
    assert not found(corpus_dir("tmux"), unpriv(), "CRI002")
    # the same tree restored by another user: the pane's slave (1001's) is still that user's to chown
    other = found(corpus_dir("tmux"), unpriv(uid=1002), "CRI002", "error")
    assert [(f.details["tty_uid"], f.details["fds"]) for f in other] == [(1001, [0, 1, 2])]


def test_cri003_foreign_session_and_tree_inside():
    sj = corpus_dir("shelljob-foreign-sid")
    got = found(sj, ROOT, "CRI003", "error")
    assert got and got[0].pid == 16254 and got[0].details == {"sid": 16252, "pgid": 16252}
    assert not found(sj, Target(kind="root", shell_job=True), "CRI003")
    # tree: c1 has its own session, c2 its own group, all inside the tree: nothing to flag
    assert not found(corpus_dir("tree"), ROOT, "CRI003")


def test_cri003_child_session_led_from_outside(writable_copy):
    """tree copy, pstree.img decoded, child 15785's sid set to 999 (not dumped), encoded again."""
    d = writable_copy("tree")
    edit(d, "pstree.img", lambda m: setattr(m, "sid", 999) if m.pid == 15785 else False)
    # criu/pstree.c prepare_pstree_ids(): a helper task with pid 999 recreates the session, then exits
    got = found(d, Target(kind="root", shell_job=True), "CRI003", "warning")
    assert [(f.pid, f.details) for f in got] == [(15785, {"sid": 999})] and "helper task with pid 999" in got[0].message


# --- cgroups, credentials ---------------------------------------------------------------------


def test_cri004_cgroups():
    cg = corpus_dir("cgroup")
    err = found(cg, UNPRIV, "CRI004", "error")
    assert err and "pids:/criutest" in err[0].details["cgroups"] and ".criu.cgyard" in err[0].criu_error
    assert found(cg, unpriv(manage_cgroups="ignore"), "CRI004", "warning")
    assert not found(cg, unpriv(manage_cgroups="ignore"), "CRI004", "error")
    assert found(cg, ROOT, "CRI004", "info")
    assert not found(corpus_dir("plain"), UNPRIV, "CRI004")  # no cgroup.img
    # criu/cgroup.c prepare_cgroup_sfd(): every mode but ignore builds the yard; with --cgroup-yard DIR criu
    # mounts no tmpfs itself, so the finding drops to a warning about what the yard must hold
    for mode in ("none", "props", "soft", "full", "strict"):
        assert found(cg, unpriv(manage_cgroups=mode), "CRI004", "error"), mode
    yard = found(cg, unpriv(cgroup_yard="/run/criu-yard"), "CRI004")
    assert {f.severity for f in yard} == {"warning"} and "--cgroup-yard /run/criu-yard" in yard[0].message


def test_cri005_uids():
    got = found(corpus_dir("plain-devnull"), UNPRIV, "CRI005", "error")
    assert got and got[0].pid == 14171 and got[0].details["ids"]["uid"] == 0
    assert not found(corpus_dir("plain-devnull"), unpriv(caps=frozenset({"SETUID", "SETGID"})), "CRI005")
    assert not found(corpus_dir("unpriv-plain"), UNPRIV, "CRI005")


def test_cri005_gid_only(writable_copy):
    """unpriv-plain copy, core-20458.img decoded, gid/egid/sgid set to 2000, encoded again."""
    d = writable_copy("unpriv-plain")

    def change(core):
        c = core.thread_core.creds
        c.gid = c.egid = c.sgid = 2000

    edit(d, "core-20458.img", change)
    got = found(d, UNPRIV, "CRI005", "error")
    assert got and "setresgid" in got[0].message and "group ID" in got[0].criu_error


def test_cri006_capabilities_not_held(writable_copy):
    """unpriv-plain copy, core-20458.img decoded, CAP_NET_RAW added to the permitted set, encoded again."""
    d = writable_copy("unpriv-plain")
    bit = names.CAP_BY_NAME["NET_RAW"]

    def change(core):
        core.thread_core.creds.cap_prm[0] |= 1 << bit

    edit(d, "core-20458.img", change)
    got = found(d, UNPRIV, "CRI006", "error")
    assert got and got[0].details["missing"] == ["NET_RAW"]
    assert not found(d, unpriv(caps=frozenset({"NET_RAW"})), "CRI006")
    assert not found(corpus_dir("unpriv-plain"), UNPRIV, "CRI006")


def test_cri007_bounding_set():
    err = found(corpus_dir("unpriv-plain"), UNPRIV, "CRI007", "error")
    assert (
        err
        and err[0].criu_error == "Unable to drop capability 24: -1"
        and err[0].details["dropped"] == ["SYS_RESOURCE"]
    )
    nnp = found(corpus_dir("unpriv-plain-nnp"), UNPRIV, "CRI007")
    assert nnp and {f.severity for f in nnp} == {"info"}
    assert not found(corpus_dir("unpriv-plain"), unpriv(caps=frozenset({"SETPCAP"})), "CRI007")
    assert not found(corpus_dir("unpriv-plain"), ROOT, "CRI007")


# --- files ------------------------------------------------------------------------------------


def test_cri008_files_the_user_cannot_reopen():
    got = found(corpus_dir("plain"), UNPRIV, "CRI008", "error")
    assert {(f.fd, f.details["path"]) for f in got} == {
        (1, "/tmp/criu-work/data/plain/out"),
        (2, "/tmp/criu-work/data/plain/err"),
    }
    assert all(f.details["access"] == "w" for f in got)
    ghost = found(corpus_dir("ghost"), UNPRIV, "CRI008", "error")
    assert any(f.details["path"].endswith("mapped.bin") and f.details["access"] == "rw" for f in ghost)
    # the same kind of file, dumped by its owner uid 1001 and restored by uid 1001: fine
    assert not found(corpus_dir("unpriv-plain"), UNPRIV, "CRI008")
    assert not found(corpus_dir("plain"), ROOT, "CRI008")
    assert not found(corpus_dir("plain"), unpriv(caps=frozenset({"DAC_OVERRIDE"})), "CRI008")


def test_cri009_ghost_file():
    got = found(corpus_dir("ghost"), UNPRIV, "CRI009", "error")
    assert got and got[0].fd == 3 and got[0].details["ghost_path"] == "/tmp/criu-work/data/ghost/ghost.txt.cr.1.ghost"
    assert {f.severity for f in found(corpus_dir("ghost"), ROOT, "CRI009")} == {"info"}
    assert not found(corpus_dir("plain"), UNPRIV, "CRI009")


def test_cri017_pipe_end_outside_tree(writable_copy):
    """plain-devnull copy: fd 1/2 (file id 5) turned into the write end of pipe 4242 by decoding files.img and
    fdinfo-2.img, changing the entry type and payload, and encoding them again."""
    d = writable_copy("plain-devnull")

    def to_pipe(fe):
        if fe.id != 5:
            return False
        fown = type(fe.reg.fown)()
        fown.CopyFrom(fe.reg.fown)
        fe.ClearField("reg")
        fe.type = fe.DESCRIPTOR.fields_by_name["type"].enum_type.values_by_name["PIPE"].number
        fe.pipe.id, fe.pipe.pipe_id, fe.pipe.flags = 5, 4242, 1
        fe.pipe.fown.CopyFrom(fown)

    edit(d, "files.img", to_pipe)
    edit(d, "fdinfo-2.img", lambda fi: setattr(fi, "type", 2) if fi.id == 5 else False)
    got = found(d, UNPRIV, "CRI017", "warning")
    assert got and got[0].details == {"pipe": "pipe:[4242]", "missing_end": "read"}
    assert not found(d, unpriv(inherit_fds=("fd[1]:pipe:[4242]",)), "CRI017")
    assert not found(corpus_dir("plain-devnull"), UNPRIV, "CRI017")


def test_cri020_linked_remap(writable_copy):
    """ghost copy, remap-fpath.img decoded, remap_type GHOST changed to LINKED, encoded again."""
    d = writable_copy("ghost")
    edit(d, "remap-fpath.img", lambda m: setattr(m, "remap_type", 0))
    got = found(d, UNPRIV, "CRI020", "warning")
    assert got and got[0].details["remap"] == "LINKED" and got[0].details["path"].endswith("ghost.txt")
    assert not found(corpus_dir("ghost"), UNPRIV, "CRI020")


def _file5_to_memfd77(fe):
    """files.img edit: file id 5 (fds 1, 2 of plain-devnull) becomes a memfd of inode 77."""
    if fe.id != 5:
        return False
    fown = type(fe.reg.fown)()
    fown.CopyFrom(fe.reg.fown)
    fe.ClearField("reg")
    fe.type = fe.DESCRIPTOR.fields_by_name["type"].enum_type.values_by_name["MEMFD"].number
    fe.memfd.id, fe.memfd.flags, fe.memfd.pos, fe.memfd.inode_id = 5, 2, 0, 77
    fe.memfd.fown.CopyFrom(fown)


def test_cri021_memfd(writable_copy):
    """plain-devnull copy: file id 5 (fds 1, 2) turned into a memfd by decode -> change -> encode of files.img;
    no memfd-inode image exists, so its contents are missing from the checkpoint."""
    d = writable_copy("plain-devnull")

    edit(d, "files.img", _file5_to_memfd77)
    got = found(d, UNPRIV, "CRI021")
    assert got and got[0].severity == "error" and "memfd:77" in got[0].message
    assert not found(corpus_dir("plain-devnull"), UNPRIV, "CRI021")


def _memfd_copy(writable_copy, owner_uid: int):
    """plain-devnull copy: files.img decoded, file id 5 (fds 1, 2) made a memfd of inode 77, encoded again; plus
    the memfd.img CRIU writes for it (image-desc.c: MEMFD_INODE -> "memfd"), framed as CRIU frames it."""
    from tests.codec.test_decode_crit_synth import msg, write_image

    d = writable_copy("plain-devnull", f"memfd-uid{owner_uid}")

    edit(d, "files.img", _file5_to_memfd77)
    inode = msg(
        "memfd_pb2",
        "memfd_inode_entry",
        name="jit",
        uid=owner_uid,
        gid=owner_uid,
        size=4096,
        shmid=9,
        seals=1,
        inode_id=77,
    )
    write_image(d / "memfd.img", "MEMFD_INODE", [(inode, b"")])
    return d


def test_cri021_memfd_image_and_owner(writable_copy):
    """With memfd.img present the memfd is only reported (info); a memfd of uid 0 cannot be fchown()ed back by
    an unprivileged restorer (memfd.c, memfd_open_inode_nocache: cr_fchown), so it is an error then."""
    own = _memfd_copy(writable_copy, 1001)
    assert {f.severity for f in found(own, UNPRIV, "CRI021")} == {"info"}
    roots = _memfd_copy(writable_copy, 0)
    got = found(roots, UNPRIV, "CRI021", "error")
    assert got and got[0].details["uid"] == 0 and got[0].pid == 14171
    assert got[0].criu_error == "Can't change uid 0 gid 0 of memfd:jit: Operation not permitted"
    assert {f.severity for f in found(roots, ROOT, "CRI021")} == {"info"}
    assert {f.severity for f in found(roots, unpriv(caps=frozenset({"CHOWN"})), "CRI021")} == {"info"}


# --- locks ------------------------------------------------------------------------------------


def test_cri010_file_locks_lost_without_flag():
    got = found(corpus_dir("unpriv-flock"), UNPRIV, "CRI010", "error")
    assert {(f.pid, f.details["kind"]) for f in got} == {(21166, "FLOCK"), (21168, "POSIX")}
    assert not found(corpus_dir("unpriv-flock"), unpriv(file_locks=True), "CRI010")
    assert not found(corpus_dir("plain"), UNPRIV, "CRI010")
    # sqlite3 in an exclusive transaction: its POSIX locks on the database (the e2e lock probe failed
    # after a restore without --file-locks)
    got = found(corpus_dir("sqlite-lock"), UNPRIV, "CRI010", "error")
    assert got and {f.details["kind"] for f in got} == {"POSIX"}
    assert all(f.details["path"].endswith("/sqlite/app.db") for f in got)
    assert not found(corpus_dir("sqlite-lock"), unpriv(file_locks=True), "CRI010")


def test_cri011_lease(writable_copy):
    """flock copy, filelocks.img decoded, the flock of pid 15441 turned into a write lease
    (fl_flag FL_LEASE), encoded again."""
    d = writable_copy("flock")
    edit(d, "filelocks.img", lambda m: setattr(m, "flag", names.FL_LEASE) if m.pid == 15441 else False)
    got = found(d, unpriv(file_locks=True), "CRI011", "error")
    assert got and got[0].pid == 15441 and got[0].fd == 3 and got[0].details["assumed_owner"] == 0
    assert not found(d, Target(kind="root", file_locks=True), "CRI011")
    assert not found(corpus_dir("flock"), unpriv(file_locks=True), "CRI011")
    # criu/file-lock.c: leases are taken only with --file-locks, after setfsuid(owner) (CAP_SETUID suffices)
    assert not found(d, unpriv(), "CRI011")
    assert not found(d, unpriv(file_locks=True, caps=frozenset({"SETUID"})), "CRI011")
    assert got[0].criu_error == "Can't set lease: Permission denied"


# --- network ----------------------------------------------------------------------------------


def test_cri012_tcp_connection():
    tcp = corpus_dir("tcp")
    got = found(tcp, UNPRIV, "CRI012", "error")
    assert got and got[0].fd == 3 and got[0].details["dst"] == "127.0.0.1:23456"
    assert got[0].criu_error == "inet: Connected TCP socket in image"
    no_admin = found(tcp, unpriv(caps=frozenset(), tcp_established=True), "CRI012", "error")
    assert no_admin and no_admin[0].criu_error == "Can't turn TCP repair mode ON: Operation not permitted"
    closed = found(tcp, unpriv(tcp_close=True), "CRI012")
    assert [f.severity for f in closed] == ["warning"] and "next write fails (EPIPE)" in closed[0].message
    assert {f.severity for f in found(tcp, Target(kind="root", tcp_established=True), "CRI012")} == {"info"}


def test_cri013_inventory_tcp_close(writable_copy):
    """plain-devnull copy, inventory.img decoded, tcp_close set (as a --tcp-close dump does), encoded again."""
    d = writable_copy("plain-devnull")
    edit(d, "inventory.img", lambda inv: setattr(inv, "tcp_close", True))
    got = found(d, ROOT, "CRI013", "error")
    assert got and got[0].criu_error == "Need to set the --tcp-close options."
    assert {f.severity for f in found(d, Target(kind="root", tcp_close=True), "CRI013")} == {"info"}
    assert not found(corpus_dir("plain-devnull"), ROOT, "CRI013")


def test_cri014_listening_on_port_80(writable_copy):
    """tcp copy, files.img decoded, the connected socket made a LISTEN socket on port 80, encoded again."""
    d = writable_copy("tcp")

    def listen80(fe):
        if not fe.HasField("isk"):
            return False
        fe.isk.state, fe.isk.src_port, fe.isk.dst_port = 10, 80, 0
        del fe.isk.dst_addr[:]

    edit(d, "files.img", listen80)
    got = found(d, unpriv(tcp_established=True), "CRI014", "error")
    assert got and got[0].details == {"port": 80, "state": "LISTEN"}
    assert got[0].criu_error.startswith("Can't bind inet socket (id ") and got[0].criu_error.endswith(
        "Permission denied"
    )
    assert not found(d, unpriv(caps=frozenset({"NET_BIND_SERVICE"})), "CRI014")
    assert not found(d, ROOT, "CRI014")
    assert not found(d, UNPRIV, "CRI012")  # a listening socket is no connection
    assert not found(corpus_dir("tcp"), unpriv(tcp_established=True), "CRI014")  # port 47414


def test_cri015_network_lock(writable_copy):
    """tcp (real, iptables lock) and a copy whose inventory.img network_lock_method was decoded and set
    to nftables (1) and to skip (2), encoded again."""
    tcp = corpus_dir("tcp")
    got = found(tcp, unpriv(tcp_established=True), "CRI015", "warning")
    # criu/net.c network_unlock() is void: a failed unlock is logged, the restore goes on
    assert not found(tcp, unpriv(tcp_established=True), "CRI015", "error")
    assert got and got[0].details["method"] == "iptables"
    assert not found(tcp, Target(kind="root", tcp_established=True), "CRI015")
    assert not found(tcp, unpriv(tcp_close=True), "CRI015")
    d = writable_copy("tcp")
    edit(d, "inventory.img", lambda inv: setattr(inv, "network_lock_method", 1))
    assert not found(d, unpriv(tcp_established=True), "CRI015")  # nftables + CAP_NET_ADMIN
    nft = found(d, unpriv(tcp_established=True, caps=frozenset()), "CRI015", "warning")
    # the fix fits what the image records: it was dumped with nftables already
    assert nft and "--network-lock" not in nft[0].fix and "CAP_NET_ADMIN" in nft[0].fix
    edit(d, "inventory.img", lambda inv: setattr(inv, "network_lock_method", 2))
    assert not found(d, unpriv(tcp_established=True, caps=frozenset()), "CRI015")


def test_cri016_unix_peer_outside(writable_copy):
    us = corpus_dir("unixsock")
    err = found(us, ROOT, "CRI016", "error")
    assert err and err[0].details["peer"] == "/tmp/criu-work/data/unixsock-peer/dgram.sock"
    assert "Can't connect" in err[0].criu_error and "check --host" in err[0].message
    # --ext-unix-sk does not help: CRIU 4.2.1 fails to reconnect to a peer that is gone either way (e2e)
    assert found(us, Target(kind="root", ext_unix_sk=True), "CRI016", "error")
    # on this host (--host), under --root: nothing bound there -> error; a bound datagram peer -> info
    with tempfile.TemporaryDirectory(prefix="cri016-") as root:  # short: a socket path has 108 bytes
        peer = Path(root, "tmp/criu-work/data/unixsock-peer/dgram.sock")
        here = Target(kind="root", on_this_host=True, root=root)
        assert "nothing is bound" in found(us, here, "CRI016", "error")[0].message
        peer.parent.mkdir(parents=True)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as bound:
            bound.bind(str(peer))
            assert {f.severity for f in found(us, here, "CRI016")} == {"info"}
    d = writable_copy("unixsock")
    edit(d, "files.img", lambda fe: setattr(fe.usk, "type", 1) if fe.HasField("usk") and fe.usk.peer else False)
    assert found(d, Target(kind="root", ext_unix_sk=True), "CRI016", "error")  # stream: decoded, SOCK_STREAM, encoded


# --- security, namespaces, inventory ----------------------------------------------------------


def test_cri018_seccomp(writable_copy):
    """unpriv-plain / unpriv-plain-nnp copies, core-N.img decoded, seccomp_mode set to filter (2) or strict (1),
    encoded again. criu installs filters before the task's own no_new_privs is back, so nnp does not help."""
    d = writable_copy("unpriv-plain")
    edit(d, "core-20458.img", lambda c: setattr(c.thread_core, "seccomp_mode", 2))
    got = found(d, UNPRIV, "CRI018", "error")
    assert got and got[0].details["mode"] == "filter" and got[0].details["no_new_privs"] is False
    assert got[0].criu_error == "seccomp: SECCOMP_SET_MODE_FILTER returned -13 on tid 20458"
    assert not found(d, ROOT, "CRI018", "error")
    assert not found(d, unpriv(caps=frozenset({"SYS_ADMIN"})), "CRI018", "error")
    n = writable_copy("unpriv-plain-nnp")
    edit(n, "core-20817.img", lambda c: setattr(c.thread_core, "seccomp_mode", 2))
    assert found(n, UNPRIV, "CRI018", "error")
    edit(n, "core-20817.img", lambda c: setattr(c.thread_core, "seccomp_mode", 1))
    assert {f.severity for f in found(n, UNPRIV, "CRI018")} == {"info"}  # strict mode needs no privilege
    assert not found(corpus_dir("unpriv-plain"), UNPRIV, "CRI018")


def test_cri019_foreign_namespace(writable_copy):
    """tree copy, ids-15785.img decoded, net_ns_id changed to a namespace of its own, encoded again."""
    d = writable_copy("tree")
    edit(d, "ids-15785.img", lambda ids: setattr(ids, "net_ns_id", 99))
    got = found(d, UNPRIV, "CRI019", "error")
    assert got and got[0].pid == 15785 and got[0].details["namespaces"] == ["net"]
    assert {f.severity for f in found(d, ROOT, "CRI019")} == {"info"}
    assert not found(corpus_dir("tree"), UNPRIV, "CRI019")
    assert got[0].criu_error == ""  # net is unshare()d after the fork, not in clone()'s flags


def test_cri019_container_root_task(writable_copy):
    """plain copy, inventory.img decoded, root_ids (criu's own namespaces at dump) given other pid, mnt and user
    namespace ids, encoded again: the root task then ran in namespaces of its own, as in a container
    checkpoint, and criu restore clones it with CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUSER (get_clone_mask())."""
    d = writable_copy("plain")

    def foreign(inv):
        inv.root_ids.pid_ns_id, inv.root_ids.mnt_ns_id, inv.root_ids.user_ns_id = 901, 902, 903

    edit(d, "inventory.img", foreign)
    got = found(d, UNPRIV, "CRI019", "error")
    assert got and got[0].pid == 14055 and got[0].details["namespaces"] == ["pid", "mnt", "user"]
    assert got[0].criu_error == "Can't fork for 14055: Operation not permitted"
    assert found(d, unpriv(caps=frozenset({"SYS_ADMIN"})), "CRI019", "error")  # user ns: SETUID/SETGID too
    assert not found(d, unpriv(caps=frozenset({"SYS_ADMIN", "SETUID", "SETGID"})), "CRI019", "error")
    assert {f.severity for f in found(d, ROOT, "CRI019")} == {"info"}
    assert not found(corpus_dir("plain"), UNPRIV, "CRI019")


def test_cri022_inventory(writable_copy):
    """plain-devnull copy, inventory.img decoded, img_version set to 3, encoded again; and a copy without it."""
    d = writable_copy("plain-devnull")
    edit(d, "inventory.img", lambda inv: setattr(inv, "img_version", 3))
    got = found(d, ROOT, "CRI022", "error")
    assert got and got[0].criu_error == "Not supported images version 3"
    (d / "inventory.img").unlink()
    assert found(d, ROOT, "CRI022", "error")
    assert not found(corpus_dir("plain-devnull"), ROOT, "CRI022")


def test_cri023_plugins(writable_copy):
    """pair-1 copy, inventory.img decoded, amdgpu_plugin added to plugins_entry, encoded again."""
    d = writable_copy("pair-1")
    edit(d, "inventory.img", lambda inv: inv.plugins_entry.plugins.append("amdgpu_plugin"))
    got = found(d, UNPRIV, "CRI023", "warning")
    assert got and got[0].criu_error == "Missing required plugin: amdgpu_plugin"
    assert not found(corpus_dir("pair-1"), UNPRIV, "CRI023")  # empty plugins_entry


def test_cri024_uprobes(writable_copy):
    """pair-2 copy, inventory.img decoded, allow_uprobes set, encoded again."""
    d = writable_copy("pair-2")
    edit(d, "inventory.img", lambda inv: setattr(inv, "allow_uprobes", True))
    assert found(d, UNPRIV, "CRI024", "error")
    assert {f.severity for f in found(d, unpriv(allow_uprobes=True), "CRI024")} == {"info"}
    assert not found(corpus_dir("pair-2"), UNPRIV, "CRI024")


def test_cri025_raw_socket(writable_copy):
    """tcp copy, files.img decoded, the TCP socket turned into a raw ICMP socket (SOCK_RAW), encoded again."""
    d = writable_copy("tcp")

    def to_raw(fe):
        if not fe.HasField("isk"):
            return False
        fe.isk.type, fe.isk.proto, fe.isk.state, fe.isk.dst_port, fe.isk.src_port = 3, 1, 7, 0, 0

    edit(d, "files.img", to_raw)
    got = found(d, UNPRIV, "CRI025", "error")
    assert got and got[0].fd == 3
    assert not found(d, unpriv(caps=frozenset({"NET_RAW"})), "CRI025")
    assert not found(corpus_dir("tcp"), UNPRIV, "CRI025")


def test_cri008_working_directory(writable_copy):
    """plain-devnull copy, files.img decoded, the mode of its cwd (/tmp/criu-work, file id 6) set to 0700,
    encoded again: criu reopens the cwd by path, so uid 1001 cannot."""
    d = writable_copy("plain-devnull")
    edit(d, "files.img", lambda fe: setattr(fe.reg, "mode", 0o40700) if fe.id == 6 else False)
    got = found(d, UNPRIV, "CRI008", "error")
    assert [(f.details["path"], f.details["mode"]) for f in got] == [("/tmp/criu-work", "0700")]
    assert not found(corpus_dir("plain-devnull"), UNPRIV, "CRI008")


def test_cri002_tty_group_tty_is_fine_other_owner_is_not(writable_copy):
    """unpriv-tty copy, tty-info.img decoded, the tty's gid set to 5 (tty, as devpts gives every pty)
    and then its uid set to 1002, encoded again each time."""
    d = writable_copy("unpriv-tty")
    edit(d, "tty-info.img", lambda t: setattr(t, "gid", 5))
    assert not found(d, unpriv(shell_job=True, terminal=True), "CRI002")
    edit(d, "tty-info.img", lambda t: setattr(t, "uid", 1002))
    got = found(d, unpriv(shell_job=True, terminal=True), "CRI002", "error")
    assert got and got[0].criu_error == "tty: Can't setup uid 1002 gid 5 on 0x4: Operation not permitted"


def test_cri022_failed_dump_has_no_inventory():
    """A real failed dump from the corpus (_failed-dumps/tty-noshelljob): images but no inventory.img."""
    d = corpus_dir("_failed-dumps/tty-noshelljob")
    got = found(d, ROOT, "CRI022", "error")
    assert got and "did not finish" in got[0].fix


def test_cri006_root_task_with_setuid_still_needs_its_capabilities():
    """plain-devnull (root task, full capabilities): CAP_SETUID gets past the ids, not past capset()."""
    got = found(corpus_dir("plain-devnull"), unpriv(caps=frozenset({"SETUID", "SETGID"})), "CRI006", "error")
    assert got and "SYS_ADMIN" in got[0].details["missing"] and "CHECKPOINT_RESTORE" not in got[0].details["missing"]
    assert not found(corpus_dir("plain-devnull"), UNPRIV, "CRI006")  # CRI005 already blocks


def test_cri017_external_file_needs_inherit_fd(writable_copy):
    """plain-devnull copy: file id 5 (fds 1, 2) turned into an external file (FileEntry EXT, as criu dump
    --external writes) by decode -> change -> encode of files.img."""
    d = writable_copy("plain-devnull")

    def to_ext(fe):
        if fe.id != 5:
            return False
        fown = type(fe.reg.fown)()
        fown.CopyFrom(fe.reg.fown)
        fe.ClearField("reg")
        fe.type = fe.DESCRIPTOR.fields_by_name["type"].enum_type.values_by_name["EXT"].number
        fe.ext.id = 5
        fe.ext.fown.CopyFrom(fown)

    edit(d, "files.img", to_ext)
    got = found(d, UNPRIV, "CRI017", "error")
    assert sorted(f.fd for f in got) == [1, 2]
    handed = found(d, unpriv(inherit_fds=("fd[1]:pipe:[1]", "fd[2]:pipe:[1]")), "CRI017")
    assert not handed


def test_cri007_no_new_privs_does_not_excuse_a_held_capability(writable_copy):
    """unpriv-plain-nnp copy, core-20817.img decoded, CAP_SYS_RESOURCE (missing from its bounding set) added to
    its permitted set, encoded again: criu forgives the failed drop only for capabilities the task does not hold."""
    d = writable_copy("unpriv-plain-nnp")
    edit(
        d,
        "core-20817.img",
        lambda c: c.thread_core.creds.cap_prm.__setitem__(0, c.thread_core.creds.cap_prm[0] | 1 << 24),
    )
    got = found(d, UNPRIV, "CRI007", "error")
    assert got and got[0].criu_error == "Unable to drop capability 24: -1" and "permitted" in got[0].message


def test_cri005_fsuid_alone(writable_copy):
    """unpriv-plain copy, core-20458.img decoded, only fsuid changed to 0, encoded again."""
    d = writable_copy("unpriv-plain")
    edit(d, "core-20458.img", lambda c: setattr(c.thread_core.creds, "fsuid", 0))
    got = found(d, UNPRIV, "CRI005", "error")
    assert got and got[0].criu_error == "Unable to set fsuid"


def test_cri001_hung_up_slave_needs_no_terminal(writable_copy):
    """unpriv-tty copy, tty-info.img decoded, termios/termios_locked/winsize cleared (a hung-up pty, as criu
    dumps a slave whose master was closed), encoded again: criu restores it with a fake master."""
    d = writable_copy("unpriv-tty")

    def hang_up(t):
        for name in ("termios", "termios_locked", "winsize"):
            t.ClearField(name)

    edit(d, "tty-info.img", hang_up)
    assert not found(d, unpriv(), "CRI001")


def test_cri005_cri006_thread_with_other_creds(writable_copy):
    """unpriv-tree copy, core-21503.img (a thread of pid 21501) decoded, its creds set to uid/euid/suid/fsuid 0
    with CAP_NET_RAW permitted and effective, encoded again. The restorer gives every thread its own creds
    (criu/pie/restorer.c: restore_creds() in __export_restore_thread()), so that thread alone fails."""
    d = writable_copy("unpriv-tree")

    def root_thread(core):
        c = core.thread_core.creds
        c.uid = c.euid = c.suid = c.fsuid = 0
        c.cap_prm[0] |= 1 << names.CAP_BY_NAME["NET_RAW"]
        c.cap_eff[0] |= 1 << names.CAP_BY_NAME["NET_RAW"]

    edit(d, "core-21503.img", root_thread)
    got = found(d, UNPRIV, "CRI005", "error")
    assert [(f.pid, f.image) for f in got] == [(21501, "core-21503.img")] and "thread 21503" in got[0].message
    assert not found(corpus_dir("unpriv-tree"), UNPRIV, "CRI005")
    caps = found(d, unpriv(caps=frozenset({"SETUID", "NET_ADMIN", "SYS_PTRACE"})), "CRI006", "error")
    assert caps and caps[0].details["tid"] == 21503 and caps[0].details["missing"] == ["NET_RAW"]
    assert not found(d, ROOT, "CRI005") and not found(d, ROOT, "CRI006")


def test_cri006_inheritable_only_is_a_warning_without_setpcap(writable_copy):
    """unpriv-plain copy, core-20458.img decoded, CAP_NET_BIND_SERVICE put in the inheritable set only (as older
    container runtimes filled it), encoded again. capset() takes inheritable bits from the restorer's own
    inheritable | permitted set, or any with CAP_SETPCAP (kernel cap_capset()), so this is a warning."""
    d = writable_copy("unpriv-plain")
    edit(
        d,
        "core-20458.img",
        lambda core: core.thread_core.creds.cap_inh.__setitem__(
            0, core.thread_core.creds.cap_inh[0] | 1 << names.CAP_BY_NAME["NET_BIND_SERVICE"]
        ),
    )
    got = found(d, UNPRIV, "CRI006")
    assert [(f.severity, f.details["missing"]) for f in got] == [("warning", ["NET_BIND_SERVICE"])]
    assert not found(d, unpriv(caps=frozenset({"SETPCAP", "NET_ADMIN", "SYS_PTRACE"})), "CRI006")


def test_cri009_ghost_ids_are_hex(writable_copy):
    """ghost copy: remap-fpath.img decoded, the ghost's remap_id set to 26, encoded again, and
    ghost-file-1.img renamed to ghost-file-1a.img: CRIU names ghost images "ghost-file-%x" (image-desc.c) and
    the re-created file "%s.cr.%x.ghost" (files-reg.c ghost_path()), both in hex."""
    d = writable_copy("ghost")
    edit(d, "remap-fpath.img", lambda r: setattr(r, "remap_id", 26))
    (d / "ghost-file-1.img").rename(d / "ghost-file-1a.img")
    got = found(d, UNPRIV, "CRI009", "error")
    assert got and got[0].image == "ghost-file-1a.img" and got[0].details["owner"] == 0
    assert got[0].details["ghost_path"].endswith(".cr.1a.ghost")


def test_cri017_external_tty_handed_in_by_its_key(writable_copy):
    """unpriv-tty copy, tty-info.img decoded, the pty made an external tty (type EXT_TTY, dev 0x1d, as a
    container console dumped with --external tty[rdev:dev] is), encoded again. criu restore wants it handed in
    as --inherit-fd fd[N]:tty[RDEV:DEV] (hex), N being criu's own fd, not the task's."""
    d = writable_copy("unpriv-tty")

    def external(info):
        info.type = info.DESCRIPTOR.fields_by_name["type"].enum_type.values_by_name["EXT_TTY"].number
        info.dev = 0x1D

    edit(d, "tty-info.img", external)
    got = found(d, unpriv(shell_job=True, terminal=True), "CRI017", "error")
    assert got and {f.details["resource"] for f in got} == {"tty[8800:1d]"}
    handed = unpriv(shell_job=True, terminal=True, inherit_fds=("fd[7]:tty[8800:1d]",))
    assert not found(d, handed, "CRI017", "error")


def test_cri001_tty_handed_in_with_inherit_fd():
    """unpriv-tty (real): its pty slave is criu's tty[8800:1a] (rdev 0x8800, dev 0x1a in tty-info.img;
    criu/tty.c tty_d_name()). Handed in with --inherit-fd fd[N]:tty[8800:1a] it needs no --shell-job."""
    tty = corpus_dir("unpriv-tty")
    assert found(tty, UNPRIV, "CRI001", "error")
    assert not found(tty, unpriv(inherit_fds=("fd[0]:tty[8800:1a]",)), "CRI001")
    assert found(tty, unpriv(inherit_fds=("fd[0]:tty[8800:1b]",)), "CRI001", "error")  # another terminal


def test_cri005_supplementary_groups_of_another_user(writable_copy):
    """unpriv-plain copy (uid 1001), core-20458.img decoded, supplementary group 27 added to [1001], encoded
    again; restored by uid 1002 (same gid) holding CAP_SETUID only: the ids can be switched, but
    criu/pie/restorer.c restore_creds() calls setgroups() when the restorer's groups differ
    ("Can't setgroups([%zu gids]): %d"), which needs CAP_SETGID: a warning, the restorer's groups being unknown."""
    d = writable_copy("unpriv-plain")
    edit(d, "core-20458.img", lambda core: core.thread_core.creds.groups.append(27))
    other = unpriv(uid=1002, gid=1001, caps=frozenset({"SETUID", "SETPCAP"}))
    got = found(d, other, "CRI005")
    assert [(f.severity, f.details["groups"]) for f in got] == [("warning", [1001, 27])]
    assert got[0].criu_error == "Can't setgroups([2 gids]): -1"
    assert not found(d, unpriv(uid=1002, gid=1001, caps=frozenset({"SETUID", "SETGID"})), "CRI005")
    assert not found(d, unpriv(uid=1001), "CRI005")  # the same user: same groups, setgroups() skipped
