"""Each repair fix on a real corpus checkpoint that has the problem.

After the repair the changed fields read back as intended (decoded from the
written images), only the intended images differ from the input (compared
byte by byte), and the input is unchanged (hashed before and after).
"""

from __future__ import annotations

import os

from inspector.model import names
from inspector.model.checkpoint import RECORD_NAME, Checkpoint

from ..conftest import corpus_dir
from ..repair_helpers import decoded, differing_files, dir_hashes

VM_CAPBND = 0x1FFFEFFFFFF  # the corpus VM's bounding set: CAP_SYS_RESOURCE (24) dropped
FULL = names.full_cap_mask()


def repair(cli, name, out, *fix_args, extra=()):
    src = corpus_dir(name)
    before = dir_hashes(src)
    args = ["repair", str(src), "-o", str(out)]
    for f in fix_args:
        args += ["--fix", f]
    proc = cli(*args, *extra)
    assert dir_hashes(src) == before, "the input checkpoint changed"
    return src, proc


def assert_check_no_longer_reports(src, out, codes, **target):
    """The checker (rules CRIxxx) finds each code on the input and none of them on the output."""
    from inspector.checks.base import Target
    from inspector.checks.engine import run_checks

    t = Target(**target)
    before = {f.code for f in run_checks(Checkpoint(src), t).findings}
    after = {f.code for f in run_checks(Checkpoint(out), t).findings}
    assert set(codes) <= before, f"the input should show {codes}, shows {sorted(before)}"
    assert not set(codes) & after, f"still reported after the repair: {sorted(set(codes) & after)}"
    return after


def creds_of(out, tid):
    return decoded(out, f"core-{tid}.img")[0].thread_core.creds


def test_detach_tty_unpriv_tty(cli, tmp_path):
    out = tmp_path / "out"
    src, proc = repair(cli, "unpriv-tty", out, "detach-tty")
    assert proc.returncode == 0, proc.stderr
    files = decoded(out, "files.img")
    assert not [f for f in files if f.HasField("tty")], "every TTY entry must go"
    by_id = {f.id: f for f in files}
    assert "/dev/pts/0" not in [f.reg.name for f in files if f.HasField("reg")]
    fdinfo = {fi.fd: fi for fi in decoded(out, "fdinfo-2.img")}
    assert sorted(fdinfo) == [0, 1, 2]
    stdin, stdout, stderr = (by_id[fdinfo[n].id] for n in (0, 1, 2))
    assert fdinfo[0].type == fdinfo[1].type == fdinfo[2].type == 1  # REG
    assert (stdin.reg.name, stdin.reg.flags) == ("/dev/null", 0)
    assert (stdout.reg.name, stdout.reg.flags) == ("/dev/null", names.O_WRONLY | names.O_APPEND)
    assert fdinfo[1].id == fdinfo[2].id != fdinfo[0].id
    for reg in (stdin.reg, stdout.reg):  # no mode, no size: CRIU checks neither
        assert not reg.HasField("mode") and not reg.HasField("size")
    assert not (out / "tty-info.img").exists()
    assert differing_files(src, out) == ({"files.img", "fdinfo-2.img"}, {"tty-info.img"}, {RECORD_NAME})
    # the model of the output: plain files, no tty
    cp = Checkpoint(out)
    assert [(f.fd, f.type, f.path) for f in cp.root.fds] == [
        (0, "REG", "/dev/null"),
        (1, "REG", "/dev/null"),
        (2, "REG", "/dev/null"),
    ]
    assert cp.problems == []
    assert "must exist when `criu restore` runs" in proc.stdout
    assert "restore still needs --shell-job" not in proc.stdout  # its task is its own session leader
    assert_check_no_longer_reports(src, out, ["CRI001"], uid=1001)
    assert "check (unprivileged): blocked -> restorable" in proc.stdout


def test_detach_tty_path_uid_and_bounding_set_make_root_tty_unprivileged(cli, tmp_path):
    out = tmp_path / "out"
    src, proc = repair(cli, "tty", out, "detach-tty=/var/log/ticker.out", "uid=1001", f"bounding-set={VM_CAPBND:x}")
    assert proc.returncode == 0, proc.stderr
    files = {f.id: f for f in decoded(out, "files.img")}
    fdinfo = {fi.fd: fi for fi in decoded(out, "fdinfo-2.img")}
    assert files[fdinfo[1].id].reg.name == "/var/log/ticker.out"
    assert files[fdinfo[0].id].reg.name == "/dev/null"
    c = creds_of(out, 14783)
    assert [c.uid, c.gid, c.euid, c.egid, c.suid, c.sgid, c.fsuid, c.fsgid] == [1001] * 8
    for key in ("cap_prm", "cap_eff", "cap_inh", "cap_amb"):
        assert list(getattr(c, key)) == [0, 0], key
    # the image lacked CAP_SYS_RESOURCE, as does the restorer: widened to the full set
    assert names.caps_from_words(c.cap_bnd) == FULL
    assert differing_files(src, out) == (
        {"files.img", "fdinfo-2.img", "core-14783.img"},
        {"tty-info.img"},
        {RECORD_NAME},
    )
    assert "/var/log/ticker.out must exist" in proc.stdout
    assert "loses 40 capabilities" in proc.stdout
    after = assert_check_no_longer_reports(
        src, out, ["CRI001", "CRI002", "CRI005", "CRI007"], uid=1001, bounding_set=VM_CAPBND
    )
    assert not after


def test_uid_plain_devnull(cli, tmp_path):
    out = tmp_path / "out"
    src, proc = repair(cli, "plain-devnull", out, "uid=1001:1002")
    assert proc.returncode == 1, proc.stderr
    c = creds_of(out, 14171)
    assert [c.uid, c.euid, c.suid, c.fsuid] == [1001] * 4
    assert [c.gid, c.egid, c.sgid, c.fsgid] == [1002] * 4
    assert names.caps_from_words(c.cap_prm) == names.caps_from_words(c.cap_eff) == 0
    assert names.caps_from_words(c.cap_bnd) == VM_CAPBND  # untouched without bounding-set
    assert differing_files(src, out) == ({"core-14171.img"}, set(), {RECORD_NAME})
    # each reopened file is reported, with the access the new user needs
    assert "/dev/null must be writable by 1001:1002" in proc.stdout
    assert "/tmp/criu-work/bin/ticker must be readable by 1001:1002" in proc.stdout
    assert_check_no_longer_reports(src, out, ["CRI005"], uid=1001, gid=1002)


def test_uid_rewrites_tty_info_when_the_tty_is_kept(cli, tmp_path):
    out = tmp_path / "out"
    src, proc = repair(cli, "tty", out, "uid=1001")
    assert proc.returncode == 1, proc.stderr
    info = decoded(out, "tty-info.img")[0]
    assert (info.uid, info.gid) == (1001, 1001)
    assert decoded(src, "tty-info.img")[0].uid == 0
    assert differing_files(src, out) == ({"core-14783.img", "tty-info.img"}, set(), {RECORD_NAME})
    # the tty stays (and still needs --shell-job), but its owner is now the restorer
    after = assert_check_no_longer_reports(src, out, ["CRI002", "CRI005"], uid=1001, shell_job=True, terminal=True)
    assert "CRI001" not in after


def test_bounding_set_unpriv_plain(cli, tmp_path):
    out = tmp_path / "out"
    src, proc = repair(cli, "unpriv-plain", out, f"bounding-set=0x{VM_CAPBND:x}")
    assert proc.returncode == 0, proc.stderr
    c = creds_of(out, 20458)
    assert names.caps_from_words(decoded(src, "core-20458.img")[0].thread_core.creds.cap_bnd) == VM_CAPBND
    assert names.caps_from_words(c.cap_bnd) == FULL
    assert len(c.cap_bnd) == 2
    assert not c.no_new_privs
    assert differing_files(src, out) == ({"core-20458.img"}, set(), {RECORD_NAME})
    assert_check_no_longer_reports(src, out, ["CRI007"], uid=1001, bounding_set=VM_CAPBND)


def test_bounding_set_refuses_when_the_restorer_has_a_bit_the_image_lacks(cli, tmp_path):
    out = tmp_path / "out"
    # a restorer with a full bounding set would have to drop CAP_SYS_RESOURCE (24)
    src, proc = repair(cli, "unpriv-plain", out, f"bounding-set={FULL:x}")
    assert proc.returncode == 2
    assert "SYS_RESOURCE" in proc.stderr and "--fix no-new-privs" in proc.stderr
    assert "nothing was written" in proc.stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir()], "no temporary directory may be left behind"


def test_no_new_privs_explicit(cli, tmp_path):
    out = tmp_path / "out"
    src, proc = repair(cli, "unpriv-plain", out, "no-new-privs")
    assert proc.returncode == 0, proc.stderr
    assert creds_of(out, 20458).no_new_privs == 1
    assert differing_files(src, out) == ({"core-20458.img"}, set(), {RECORD_NAME})
    assert "execve" in proc.stdout
    from inspector.checks.base import Target
    from inspector.checks.engine import run_checks

    # CRI007 stays, as a warning-free info: criu only warns for a no_new_privs task
    after = [f for f in run_checks(Checkpoint(out), Target(uid=1001)).findings if f.code == "CRI007"]
    assert after and all(f.severity == "info" for f in after)


def test_no_new_privs_refuses_when_already_set(cli, tmp_path):
    _, proc = repair(cli, "unpriv-plain-nnp", tmp_path / "out", "no-new-privs")
    assert proc.returncode == 2 and "already has no_new_privs" in proc.stderr


def test_cgroup_root(cli, tmp_path):
    out = tmp_path / "out"
    src, proc = repair(cli, "cgroup", out, "cgroup-root")
    assert proc.returncode == 1, proc.stderr
    assert not (out / "cgroup.img").exists()
    inv = decoded(out, "inventory.img")[0]
    core = decoded(out, "core-17862.img")[0]
    assert decoded(src, "core-17862.img")[0].thread_core.cg_set == 2
    assert core.thread_core.cg_set == inv.root_cg_set == 1
    assert differing_files(src, out) == ({"core-17862.img"}, {"cgroup.img"}, {RECORD_NAME})
    assert "pids.max=64" in proc.stdout and "--manage-cgroups=ignore" in proc.stdout
    assert_check_no_longer_reports(src, out, ["CRI004"])


def test_cgroup_root_refuses_an_unprivileged_dump(cli, tmp_path):
    _, proc = repair(cli, "unpriv-plain", tmp_path / "out", "cgroup-root")
    assert proc.returncode == 2 and "no cgroup.img" in proc.stderr


def test_detach_tty_refuses_without_a_tty(cli, tmp_path):
    out = tmp_path / "out"
    _, proc = repair(cli, "plain", out, "detach-tty")
    assert proc.returncode == 2
    assert "no tty" in proc.stderr
    assert not out.exists()


def test_relocate_ghost(cli, tmp_path):
    out = tmp_path / "out"
    src, proc = repair(cli, "ghost", out, "relocate=/tmp/criu-work:/opt/app")
    assert proc.returncode == 1, proc.stderr
    before = {f.id: f.reg.name for f in decoded(src, "files.img") if f.HasField("reg")}
    after = {f.id: f.reg.name for f in decoded(out, "files.img") if f.HasField("reg")}
    assert before.keys() == after.keys()
    for fid, name in before.items():
        expected = "/opt/app" + name[len("/tmp/criu-work") :] if name.startswith("/tmp/criu-work") else name
        assert after[fid] == expected
    assert after[7] == "/opt/app/data/ghost/ghost.txt"  # the ghost's name (remap orig_id 7)
    cp = Checkpoint(out)
    assert cp.root.exe == "/opt/app/bin/ghost" and cp.root.cwd == "/opt/app"
    assert any(v.path == "/opt/app/data/ghost/mapped.bin" for v in cp.root.vmas)
    assert differing_files(src, out) == ({"files.img"}, set(), {RECORD_NAME})


def test_relocate_refuses_when_nothing_is_under_old(cli, tmp_path):
    _, proc = repair(cli, "ghost", tmp_path / "out", "relocate=/srv/nothing:/opt/app")
    assert proc.returncode == 2 and "nothing to relocate" in proc.stderr


def test_dry_run_writes_nothing(cli, tmp_path):
    out = tmp_path / "out"
    src, proc = repair(cli, "unpriv-tty", out, "detach-tty", extra=("--dry-run",))
    assert proc.returncode == 0, proc.stderr
    assert "dry run" in proc.stdout and "fdinfo-2.img #0 fd 0 id: 4 ->" in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_force(cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep").write_text("x")
    _, proc = repair(cli, "unpriv-plain", out, "no-new-privs")
    assert proc.returncode == 2 and "already exists" in proc.stderr
    assert (out / "keep").exists()
    _, proc = repair(cli, "unpriv-plain", out, "no-new-privs", extra=("--force",))
    assert proc.returncode == 0, proc.stderr
    assert not (out / "keep").exists() and creds_of(out, 20458).no_new_privs == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_output_inside_the_input_is_refused(cli, writable_copy, tmp_path):
    src = writable_copy("unpriv-plain")
    before = dir_hashes(src)
    proc = cli("repair", str(src), "-o", str(src / "fixed"), "--fix", "no-new-privs")
    assert proc.returncode == 2 and "inside" in proc.stderr
    assert dir_hashes(src) == before


def test_unknown_fix_and_missing_argument_are_usage_errors(cli, tmp_path):
    proc = cli("repair", str(corpus_dir("plain")), "-o", str(tmp_path / "o"), "--fix", "frobnicate")
    assert proc.returncode == 2 and "unknown fix" in proc.stderr
    proc = cli("repair", str(corpus_dir("plain")), "-o", str(tmp_path / "o"), "--fix", "uid")
    assert proc.returncode == 2 and "uid=UID[:GID]" in proc.stderr


def test_pages_are_copied_unless_link_is_asked(tmp_path, writable_copy):
    """A chown -R of OUT (what an unprivileged restore does) must never change the input: copies by default."""
    from inspector.repair.plan import plan_repair
    from inspector.repair.writer import write_output

    src = writable_copy("unpriv-plain")  # a copy of ours: a hard link to it must be possible (same filesystem)
    for link in (False, True):
        ws = plan_repair(src, [])
        out = tmp_path / f"out-{link}"
        result = write_output(ws, out, link=link)
        ws.close()
        same_inode = os.stat(out / "pages-1.img").st_ino == os.stat(src / "pages-1.img").st_ino
        assert same_inode == link and ("pages-1.img" in result.linked) == link
        assert ("pages-1.img" in result.copied) == (not link)
        assert (out / "pages-1.img").read_bytes() == (src / "pages-1.img").read_bytes()
    before = os.stat(src / "pages-1.img")
    for p in (tmp_path / "out-False").iterdir():  # what the unprivileged workflow does to OUT
        os.chown(p, 1001, 1001)
    after = os.stat(src / "pages-1.img")
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)


def test_scrub_secrets(writable_copy, tmp_path, cli):
    """A secrets case built by decode -> change -> encode (tests/checks/test_secrets.make_secrets_case writes a
    fake AWS key, a password and a PEM key into the real memory of `plain`); scrubbing zeroes each value
    in a copy of pages-1.img, nothing else."""
    from inspector.secrets import scan_process

    from ..checks.test_secrets import FAKE_AWS, make_secrets_case

    src, pid, where = make_secrets_case(writable_copy)
    hits = list(scan_process(Checkpoint(src), pid))
    assert {h.kind for h in hits} >= {"env", "pem"}
    before = dir_hashes(src)
    out = tmp_path / "scrubbed"
    proc = cli("repair", str(src), "-o", str(out), "--fix", "scrub-secrets")
    assert proc.returncode == 1, proc.stderr
    assert dir_hashes(src) == before
    assert differing_files(src, out) == ({"pages-1.img"}, set(), {RECORD_NAME})
    assert (out / "pages-1.img").stat().st_size == (src / "pages-1.img").stat().st_size
    cp = Checkpoint(out)
    reader = cp.page_reader(pid)
    for h in hits:
        assert reader.read(h.value_start, h.value_length) == bytes(h.value_length)
        # the bytes around the value (the name, the PEM header) are kept
        assert reader.read(h.start, h.value_start - h.start) == Checkpoint(src).page_reader(pid).read(
            h.start, h.value_start - h.start
        )
    assert list(scan_process(cp, pid)) == []
    assert cp.processes[0].environ[0] == "API_KEY="
    assert FAKE_AWS not in (out / "pages-1.img").read_bytes()
    # every byte outside the secret values is unchanged
    a, b = (src / "pages-1.img").read_bytes(), (out / "pages-1.img").read_bytes()
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    assert diff and len(diff) <= sum(h.value_length for h in hits)
    assert_check_no_longer_reports(src, out, ["CRI050"], kind="root")
    removed = proc.stdout.split("removed by the repair")[1].split("remaining")[0]
    assert "CRI050" in removed and "not re-run" not in proc.stdout


def test_scrub_secrets_refuses_a_clean_checkpoint(cli, tmp_path):
    _, proc = repair(cli, "plain", tmp_path / "out", "scrub-secrets")
    assert proc.returncode == 2 and "no secret found" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_every_fix_has_a_docs_page_and_is_listed(cli):
    from pathlib import Path

    from inspector.repair import fixes

    root = Path(__file__).resolve().parent.parent.parent
    proc = cli("repair", "--list")
    assert proc.returncode == 0
    for fix in fixes.all_fixes():
        page = root / fix.doc_page
        assert page.is_file(), page
        assert page.read_text().startswith(f"# Fix `{fix.name}")
        assert fix.name in proc.stdout


def test_uid_on_ghost_rewrites_the_ghost_owner_and_keeps_the_dumped_owners_findings(cli, tmp_path):
    out = tmp_path / "out"
    src, proc = repair(cli, "ghost", out, "uid=1001", "bounding-set=1fffeffffff", extra=("--format", "json"))
    import json

    data = json.loads(proc.stdout)
    head = decoded(out, "ghost-file-1.img")[0]
    assert (head.uid, head.gid) == (1001, 1001)
    assert decoded(src, "ghost-file-1.img")[0].uid == 0
    assert differing_files(src, out) == ({"core-19763.img", "ghost-file-1.img"}, set(), {RECORD_NAME})
    # the ghost's contents (the bytes after its head entry) are kept
    assert (out / "ghost-file-1.img").read_bytes().endswith(b"this file is deleted while open (ghost file)\n")
    removed = {f["code"] for f in data["check"]["removed"]}
    assert {"CRI005", "CRI007"} <= removed
    # the out file and the ghost's directory are still root's: the repair record keeps the dumped owners,
    # so CRI008 and CRI009 stay (real CRIU 4.2.1: "Can't open file ... Permission denied" after such a repair)
    remaining = {f["code"]: f for f in data["check"]["remaining"]}
    assert {"CRI008", "CRI009"} <= set(remaining) and data["check"]["after"] == "blocked"
    assert "dumped running as root (a repair rewrote its creds, not the file)" in remaining["CRI008"]["message"]
    assert "owner uid 0" in remaining["CRI009"]["message"]
    assert proc.returncode == 1
    assert any("ghost.txt.cr.N.ghost in /tmp/criu-work/data/ghost" in n["text"] for n in data["notes"])
