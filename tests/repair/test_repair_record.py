"""The repair record (criu-inspect-repair.json): `check OUT` still knows what was dumped.

Real CRIU 4.2.1 (tests/e2e/test_repair_restores.py): a root-dumped checkpoint repaired with
--fix uid=1001 --fix bounding-set failed its unprivileged restore ("Can't open file ... Permission
denied": the files are still root's), and restored once relocate pointed the files at copies uid 1001
owns. These tests pin the check side of that on the corpus's `plain` (root, stdout/stderr to root's files).
"""

from __future__ import annotations

import json

from inspector.checks.base import Target
from inspector.checks.engine import run_checks
from inspector.model.checkpoint import RECORD_NAME, Checkpoint

from ..conftest import corpus_dir

UID1001 = Target(uid=1001, caps=frozenset({"NET_ADMIN", "SYS_PTRACE"}))


def repaired(cli, out, *fixes, exit_code: int, src=None):
    """``exit_code``: 1 when the copy is still blocked for repair's default target, else 0."""
    args = [a for f in fixes for a in ("--fix", f)]
    proc = cli("repair", str(src or corpus_dir("plain")), "-o", str(out), *args)
    assert proc.returncode == exit_code and out.is_dir(), proc.stderr
    return proc


def codes(report, severity="error"):
    return sorted(f.code for f in report.findings if f.severity == severity)


def test_uid_repair_records_the_dumped_creds_and_files_stay_blockers(cli, tmp_path):
    out = tmp_path / "out"
    repaired(cli, out, "uid=1001", "bounding-set", exit_code=1)
    record = json.loads((out / RECORD_NAME).read_text())
    assert record["fixes"] == ["uid=1001", "bounding-set"]
    assert record["dumped"]["creds"] == {"14055": {"uid": 0, "gid": 0, "fsuid": 0, "fsgid": 0}}
    assert Checkpoint(out).root.creds.fsuid == 1001  # the images say 1001 now ...
    report = run_checks(out, UID1001)
    # ... but out and err are still root's: the false "restorable" real CRIU refuted
    assert report.verdict == "blocked" and codes(report) == ["CRI008", "CRI008"]
    paths = {f.details["path"] for f in report.findings if f.code == "CRI008"}
    assert paths == {"/tmp/criu-work/data/plain/out", "/tmp/criu-work/data/plain/err"}
    assert all(f.details["assumed_owner"] == 0 for f in report.findings if f.code == "CRI008")


def test_relocated_files_are_the_users_choice(cli, tmp_path):
    out = tmp_path / "out"
    proc = repaired(
        cli, out, "uid=1001", "bounding-set", "relocate=/tmp/criu-work/data/plain:/home/u/plain", exit_code=0
    )
    record = json.loads((out / RECORD_NAME).read_text())
    assert record["relocated"] == {
        "/home/u/plain/out": "/tmp/criu-work/data/plain/out",
        "/home/u/plain/err": "/tmp/criu-work/data/plain/err",
    }
    report = run_checks(out, UID1001)
    assert report.verdict == "restorable", [f.message for f in report.findings]
    assert proc.returncode == 0


def test_uid_notes_suggest_relocate_for_files_to_write(cli, tmp_path):
    proc = repaired(cli, tmp_path / "out", "uid=1001", "bounding-set", exit_code=1)
    notes = [line for line in proc.stdout.splitlines() if "--fix relocate=" in line]
    assert len(notes) == 2 and all("/tmp/criu-work/data/plain:NEWDIR" in n for n in notes)
    assert any("/tmp/criu-work/data/plain/out must be writable by 1001:1001" in n for n in notes)


def test_a_second_repair_keeps_what_was_dumped(cli, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    repaired(cli, first, "uid=1001", "bounding-set", exit_code=1)
    repaired(cli, second, "relocate=/tmp/criu-work/data/plain:/home/u/plain", src=first, exit_code=0)
    record = json.loads((second / RECORD_NAME).read_text())
    assert record["fixes"] == ["uid=1001", "bounding-set", "relocate=/tmp/criu-work/data/plain:/home/u/plain"]
    assert record["dumped"]["creds"]["14055"]["fsuid"] == 0  # root, as dumped: not the 1001 of `first`
    assert run_checks(second, UID1001).verdict == "restorable"
    # a repair with no fix copies the record as it is
    third = tmp_path / "third"
    proc = cli("repair", str(second), "-o", str(third))
    assert proc.returncode == 0, proc.stderr
    assert (third / RECORD_NAME).read_bytes() == (second / RECORD_NAME).read_bytes()


def test_a_damaged_record_is_one_error_line(cli, tmp_path):
    out = tmp_path / "out"
    repaired(cli, out, "uid=1001", exit_code=1)
    (out / RECORD_NAME).write_text('{"version": 1, "fixes": []}')
    proc = cli("check", str(out), "--uid", "1001")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and RECORD_NAME in lines[0] and "not a criu-inspect repair record" in lines[0], lines


def test_ghost_owner_as_dumped(cli, tmp_path):
    out = tmp_path / "out"
    repaired(cli, out, "uid=1001", "bounding-set", src=corpus_dir("ghost"), exit_code=1)
    assert json.loads((out / RECORD_NAME).read_text())["dumped"]["ghost_owners"] == {"ghost-file-1.img": 0}
    ghost = [f for f in run_checks(out, UID1001).findings if f.code == "CRI009"]
    assert [f.severity for f in ghost] == ["error"] and ghost[0].details["owner"] == 0


def test_uid_notes_name_the_relocated_files(cli, tmp_path):
    """relocate runs first: uid's notes say what the output reopens, not the paths as dumped."""
    proc = repaired(cli, tmp_path / "out", "uid=1001", "relocate=/tmp/criu-work/data/plain:/home/u/plain", exit_code=1)
    notes = [line for line in proc.stdout.splitlines() if line.startswith(("action", "warning", "info"))]
    writable = [n for n in notes if "must be writable" in n]
    assert len(writable) == 2 and all("/home/u/plain/" in n for n in writable), notes
    assert not [n for n in notes if "/tmp/criu-work/data/plain/" in n], notes
