"""repair on damaged or unusual checkpoints, built from real ones by decode -> change -> encode."""

from __future__ import annotations

import json
import os

from inspector.codec.image import open_image
from inspector.model.checkpoint import Checkpoint

from ..conftest import corpus_dir
from ..repair_helpers import decoded, differing_files, dir_hashes
from ..synth import make_predump_chain, write_image


def test_truncated_image_is_an_error_and_leaves_nothing(cli, writable_copy, tmp_path):
    src = writable_copy("unpriv-tty")
    data = (src / "files.img").read_bytes()
    (src / "files.img").write_bytes(data[:-7])  # cut into the last entry
    out_parent = tmp_path / "outs"
    out_parent.mkdir()
    proc = cli("repair", str(src), "-o", str(out_parent / "out"), "--fix", "detach-tty")
    assert proc.returncode == 2
    assert proc.stderr.startswith("criu-inspect: error: ") and "files.img" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert list(out_parent.iterdir()) == []


def test_truncated_untouched_image_is_not_copied_silently(cli, writable_copy, tmp_path):
    """No fix reads mm-N.img for bounding-set; writing re-encodes it and finds the damage."""
    src = writable_copy("unpriv-plain")
    data = (src / "mm-20458.img").read_bytes()
    (src / "mm-20458.img").write_bytes(data[:-5])
    out_parent = tmp_path / "outs"
    out_parent.mkdir()
    proc = cli("repair", str(src), "-o", str(out_parent / "out"), "--fix", "bounding-set=1fffeffffff")
    assert proc.returncode == 2 and "mm-20458.img" in proc.stderr
    assert list(out_parent.iterdir()) == []


def test_detach_tty_says_a_foreign_session_still_needs_shell_job(cli, writable_copy, tmp_path):
    """tty with its pstree changed so the task's session leader (sid) is outside the tree."""
    src = writable_copy("tty")
    img = open_image(src / "pstree.img")
    entry = img.entries[0]
    msg = entry.message
    msg.sid = msg.pgid = 4242
    entry.set_message(msg)
    write_image(img, src / "pstree.img")
    proc = cli("repair", str(src), "-o", str(tmp_path / "out"), "--fix", "detach-tty", "--no-check")
    assert proc.returncode == 0, proc.stderr
    assert "pid 14783 is not its own session leader" in proc.stdout
    assert "restore still needs --shell-job" in proc.stdout
    assert not [f for f in decoded(tmp_path / "out", "files.img") if f.HasField("tty")]


def test_parent_link_of_a_predump_chain_still_resolves(tmp_path):
    """A relative `parent` link would leave the output's folder: the chain is embedded as OUT/parent."""
    from inspector.repair.plan import FixRequest, plan_repair
    from inspector.repair.writer import write_output

    src = tmp_path / "chain" / "child"
    src.parent.mkdir()
    chain = make_predump_chain(corpus_dir("unpriv-plain"), src, 20458)
    assert not os.path.isabs(os.readlink(src / "parent"))
    ws = plan_repair(src, [FixRequest("no-new-privs")])
    out = tmp_path / "elsewhere" / "fixed"
    out.parent.mkdir()
    result = write_output(ws, out)
    ws.close()
    assert (out / "parent").is_dir() and not (out / "parent").is_symlink()
    assert any("embedded" in s for s in result.symlinks)
    for name in os.listdir(chain["parent"]):  # copies of the parent's files
        assert (out / "parent" / name).read_bytes() == (chain["parent"] / name).read_bytes()
    cp = Checkpoint(out)
    assert cp.root.pages.in_parent == chain["moved_pages"] > 0
    reader, orig = cp.page_reader(20458), Checkpoint(src).page_reader(20458)
    addr, length = chain["moved_runs"][0][0], 4096
    assert reader.read(addr, length) == orig.read(addr, length)


def test_scrub_secrets_refuses_secrets_in_parent_pages(writable_copy, tmp_path, cli):
    """Every present run of the secrets case moved into a pre-dump parent: the copy cannot scrub them."""
    from ..checks.test_secrets import make_secrets_case

    src, pid, _ = make_secrets_case(writable_copy)
    make_predump_chain(src, tmp_path / "child", pid, every=1)
    proc = cli("repair", str(tmp_path / "child"), "-o", str(tmp_path / "out"), "--fix", "scrub-secrets")
    assert proc.returncode == 2 and "pre-dump parent" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_json_output(cli, tmp_path):
    src = corpus_dir("cgroup")
    proc = cli("repair", str(src), "-o", str(tmp_path / "out"), "--fix", "cgroup-root", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["fixes"] == ["cgroup-root"] and data["dry_run"] is False
    actions = {(c["image"], c["action"], c["field"]) for c in data["changes"]}
    assert actions == {("cgroup.img", "delete-file", ""), ("core-17862.img", "set", "thread_core.cg_set")}
    cg = next(c for c in data["changes"] if c["field"] == "thread_core.cg_set")
    assert (cg["old"], cg["new"]) == (2, 1)
    assert data["written"]["deleted"] == ["cgroup.img"] and data["written"]["changed"] == ["core-17862.img"]
    assert "CRI004" in {f["code"] for f in data["check"]["removed"]}
    assert "CRI050" in data["check"]["note"]  # memory unchanged: the secrets scan is not run twice
    assert any(n["level"] == "warning" and "pids.max=64" in n["text"] for n in data["notes"])


def test_dry_run_json_and_existing_output_note(cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    before = dir_hashes(corpus_dir("unpriv-tty"))
    proc = cli("repair", str(corpus_dir("unpriv-tty")), "-o", str(out), "--fix", "detach-tty", "--dry-run")
    assert proc.returncode == 0 and "needs --force" in proc.stdout
    assert list(out.iterdir()) == []
    proc = cli("repair", str(corpus_dir("unpriv-tty")), "--fix", "detach-tty", "--dry-run", "--format", "json")
    data = json.loads(proc.stdout)
    assert data["dry_run"] and data["written"] is None
    assert ("tty-info.img", "delete-file") in {(c["image"], c["action"]) for c in data["changes"]}
    assert dir_hashes(corpus_dir("unpriv-tty")) == before


def test_fixes_apply_in_registry_order_whatever_the_command_line(tmp_path):
    """uid given before detach-tty: tty-info.img is deleted, not rewritten and then deleted."""
    from inspector.repair.plan import FixRequest, plan_repair
    from inspector.repair.writer import write_output

    ws = plan_repair(corpus_dir("tty"), [FixRequest("uid", "1001"), FixRequest("detach-tty")])
    assert not [c for c in ws.changes if c.image == "tty-info.img" and c.action == "set"]
    assert [c.fix for c in ws.changes][0] == "detach-tty"
    write_output(ws, tmp_path / "out")
    ws.close()
    assert differing_files(corpus_dir("tty"), tmp_path / "out")[1] == {"tty-info.img"}


def test_cgroup_root_on_an_older_layout_edits_task_core_cg_set(cli, writable_copy, tmp_path):
    """cgroup with its core rewritten as CRIU < 4 wrote it: cg_set in tc, none in thread_core."""
    src = writable_copy("cgroup")
    img = open_image(src / "core-17862.img")
    entry = img.entries[0]
    core = entry.message
    core.tc.cg_set = core.thread_core.cg_set
    core.thread_core.ClearField("cg_set")
    entry.set_message(core)
    write_image(img, src / "core-17862.img")
    assert Checkpoint(src).root.cg_set == 2
    proc = cli("repair", str(src), "-o", str(tmp_path / "out"), "--fix", "cgroup-root", "--no-check")
    assert proc.returncode == 0, proc.stderr
    out_core = decoded(tmp_path / "out", "core-17862.img")[0]
    assert out_core.tc.cg_set == 1 and not out_core.thread_core.HasField("cg_set")
    assert "core-17862.img #0 tid 17862 tc.cg_set: 2 -> 1" in proc.stdout


def test_relocate_twice_and_a_bad_spec(cli, tmp_path):
    src = corpus_dir("tree")
    out = tmp_path / "out"
    proc = cli(
        "repair",
        str(src),
        "-o",
        str(out),
        "--no-check",
        "--fix",
        "relocate=/tmp/criu-work/bin:/usr/local/bin",
        "--fix",
        "relocate=/tmp/criu-work/data:/srv/data",
    )
    assert proc.returncode == 0, proc.stderr
    cp = Checkpoint(out)
    assert {p.exe for p in cp.processes} == {"/usr/local/bin/tree"}
    assert {f.path for p in cp.processes for f in p.fds if f.fd == 1} == {"/srv/data/tree/out"}
    assert cp.root.cwd == "/tmp/criu-work"  # not under either OLD
    proc = cli("repair", str(src), "-o", str(tmp_path / "o2"), "--fix", "relocate=relative:/x")
    assert proc.returncode == 2 and "absolute" in proc.stderr and not (tmp_path / "o2").exists()


def test_uid_refuses_a_tree_with_its_own_user_namespace(cli, writable_copy, tmp_path):
    """plain plus a userns-11.img (built with the codec's schema: IMG_COMMON, USERNS magic, one entry
    mapping 0 -> 100000), as CRIU writes it for a tree dumped with its own user namespace."""
    import struct

    from inspector.codec import schema

    src = writable_copy("plain")
    msg = schema.message_class("userns_pb2", "userns_entry")()
    m = msg.uid_map.add()
    m.first, m.lower_first, m.count = 0, 100000, 65536
    payload = msg.SerializeToString()
    header = struct.pack("<II", schema.magic_value("IMG_COMMON"), schema.magic_value("USERNS"))
    (src / "userns-11.img").write_bytes(header + struct.pack("<I", len(payload)) + payload)
    proc = cli("repair", str(src), "-o", str(tmp_path / "out"), "--fix", "uid=1001")
    assert proc.returncode == 2 and "user namespace" in proc.stderr and "userns-11.img" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_restorable_after_unaddressed_errors_vanished_is_called_unverified():
    """Exit 1 with "blocked -> restorable" read as a contradiction: the heading says why."""
    from inspector.checks.base import Finding, Target
    from inspector.repair.compare import CheckDelta
    from inspector.report.repair_text import delta_blocks

    gone = Finding(code="CRI016", title="t", category="network", severity="error", message="m", fix="f")
    delta = CheckDelta(unaddressed=[gone], before_verdict="blocked", after_verdict="restorable")
    head = delta_blocks(delta, Target(uid=1001))[0]
    assert head.text == (
        "check (unprivileged, uid 1001): blocked -> restorable, unverified "
        "(1 error(s) no fix addresses vanished: check --host)"
    )
    verified = CheckDelta(before_verdict="blocked", after_verdict="restorable")
    assert delta_blocks(verified, Target(uid=1001))[0].text.endswith("blocked -> restorable")
