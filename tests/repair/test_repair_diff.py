"""`diff` between a repair's input and output shows only the intended changes.

Each case runs the real command on a real corpus checkpoint that has the
problem, then compares input and output with the diff library (issue 6's
acceptance: the diff names exactly what the fix meant to change).
"""

from __future__ import annotations

from inspector.diff import DiffOptions, diff_checkpoints

from ..conftest import corpus_dir

VM_CAPBND = 0x1FFFEFFFFFF  # the corpus VM's bounding set: CAP_SYS_RESOURCE (24) dropped


def repaired(cli, tmp_path, name, *fixes, exit_code: int):
    """``exit_code``: 1 when the copy is still blocked for repair's default target, else 0."""
    src = corpus_dir(name)
    out = tmp_path / "out"
    args = ["repair", str(src), "-o", str(out)]
    for f in fixes:
        args += ["--fix", f]
    proc = cli(*args)
    assert proc.returncode == exit_code, proc.stderr
    return src, out


def only_changed_process(result, pid):
    assert result.inventory == [] and result.file_locks == [] and result.mounts == [] and result.images == []
    [proc] = [p for p in result.processes if p.status != "same"]
    assert (proc.pid, proc.status) == (pid, "changed")
    assert proc.vmas == [] and proc.pages_changed == 0  # no memory touched
    assert [t for t in proc.threads if t.status != "same"] == []  # no registers touched
    return proc


def changed_fds(proc):
    return [i for i in proc.fds if i.status != "same"]


def test_detach_tty_changes_only_the_three_stdio_fds(cli, tmp_path):
    src, out = repaired(cli, tmp_path, "unpriv-tty", "detach-tty", exit_code=0)
    r = diff_checkpoints(src, out)
    proc = only_changed_process(r, 23334)
    assert proc.changes == []
    fds = changed_fds(proc)
    assert [(i.key, i.status) for i in fds] == [("fd 0", "changed"), ("fd 1", "changed"), ("fd 2", "changed")]
    for item in fds:
        by_field = {c.field: (c.a, c.b) for c in item.changes}
        assert by_field["path"] == ("/dev/pts/0", "/dev/null")
        assert by_field["type"] == ("TTY", "REG")
        assert {c.field for c in item.changes} - {"flags", "path", "pos", "type"} == {
            "tty.gid",
            "tty.index",
            "tty.pgrp",
            "tty.sid",
            "tty.type",
            "tty.uid",
        }  # the tty is gone, nothing else
    flags = {i.key: {c.field: c.b for c in i.changes}["flags"] for i in fds}
    assert flags == {"fd 0": "O_RDONLY", "fd 1": "O_WRONLY|O_APPEND", "fd 2": "O_WRONLY|O_APPEND"}
    assert r.cgroups == []


def test_uid_and_bounding_set_change_only_the_creds(cli, tmp_path):
    src, out = repaired(cli, tmp_path, "plain-devnull", "uid=1001", f"bounding-set={VM_CAPBND:x}", exit_code=0)
    r = diff_checkpoints(src, out, DiffOptions())
    proc = only_changed_process(r, 14171)
    assert changed_fds(proc) == []
    got = {c.field: (c.a, c.b) for c in proc.changes}
    ids = ("uid", "gid", "euid", "egid", "suid", "sgid", "fsuid", "fsgid")
    assert got == {
        **{f"creds.{k}": (0, 1001) for k in ids},
        "creds.cap_eff": (f"0x{VM_CAPBND:x}", "0x0"),
        "creds.cap_prm": (f"0x{VM_CAPBND:x}", "0x0"),
        "creds.cap_bnd": (f"0x{VM_CAPBND:x}", "0x1ffffffffff"),  # bit 24 added: nothing to drop
    }


def test_cgroup_root_changes_only_the_cgroup_set(cli, tmp_path):
    src, out = repaired(cli, tmp_path, "cgroup", "cgroup-root", exit_code=1)
    r = diff_checkpoints(src, out)
    proc = only_changed_process(r, 17862)
    assert changed_fds(proc) == []
    assert {c.field.split(".")[0] for c in proc.changes} == {"cgroup"}
    assert {(c.field, c.a) for c in proc.changes} >= {("cgroup.pids", "/criutest"), ("cgroup.unified", "/criutest")}
    assert all(i.status == "removed" for i in r.cgroups)  # cgroup.img is gone


def test_no_fix_is_identical(cli, tmp_path):
    src, out = repaired(cli, tmp_path, "tree", exit_code=1)
    r = diff_checkpoints(src, out)
    assert r.identical


def test_scrub_secrets_changes_only_the_pages_holding_secrets(writable_copy, cli, tmp_path):
    """The secrets case (a real checkpoint with fake secrets written into its memory by
    decode -> change -> encode, see test_secrets.make_secrets_case): the diff finds page
    changes only where the secrets were, and exactly as many bytes as the secret values."""
    from inspector.model.checkpoint import Checkpoint
    from inspector.model.names import PAGE_SIZE
    from inspector.secrets import scan_process

    from ..checks.test_secrets import make_secrets_case

    src, pid, where = make_secrets_case(writable_copy)
    secrets = list(scan_process(Checkpoint(src), pid))
    out = tmp_path / "out"
    proc = cli("repair", str(src), "-o", str(out), "--fix", "scrub-secrets")
    assert proc.returncode == 1, proc.stderr  # scrubbing fixes no restore blocker of the copy
    r = diff_checkpoints(src, out)
    [p] = [x for x in r.processes if x.status != "same"]
    assert p.pid == pid and changed_fds(p) == []
    # the environment read from memory shows the scrubbed values, nothing else of the process changed
    assert p.changes and all(c.field.startswith("environ.") and c.b == "" for c in p.changes)
    touched_pages = {a - a % PAGE_SIZE for s in secrets for a in range(s.value_start, s.value_end)}
    assert p.pages_changed == len(touched_pages)
    # every differing byte lies in a secret value (zeroed bytes that were already zero do not differ)
    changed_bytes = sum(v.bytes_differ for v in p.vmas)
    value_bytes = sum(s.value_end - s.value_start for s in secrets)
    assert 0 < changed_bytes <= value_bytes
    for v in p.vmas:
        assert any(v.start <= s.value_start < v.end for s in secrets)
