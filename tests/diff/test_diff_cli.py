"""criu-inspect diff as a user runs it: exit codes, one-line errors naming the side,
JSON saved and loaded back for re-rendering."""

from __future__ import annotations

import json
import os

from ..conftest import corpus_dir


def _one_error_line(proc, side: str, *needles: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith(f"criu-inspect: error: {side}: "), line
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in line, line
    return line


def test_missing_side(cli, tmp_path):
    good = str(corpus_dir("pair-1"))
    _one_error_line(cli("diff", str(tmp_path / "nope"), good), "A", "nope", "no such directory")
    _one_error_line(cli("diff", good, str(tmp_path / "nope")), "B", "nope", "no such directory")


def test_not_a_checkpoint(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    good = str(corpus_dir("pair-1"))
    _one_error_line(cli("diff", str(tmp_path / "empty"), good), "A", "not a CRIU checkpoint")
    _one_error_line(cli("diff", good, str(tmp_path / "file")), "B", "not a directory")


def test_incomplete_dump_is_refused(cli):
    """A failed dump of the corpus (no inventory, partial images) on side B."""
    failed = corpus_dir("pair-1").parent / "_failed-dumps" / "flock-nolocksflag"
    proc = cli("diff", str(corpus_dir("flock")), str(failed))
    _one_error_line(proc, "B")


def test_broken_images_name_side_and_file(cli, writable_copy):
    b = writable_copy("pair-1")
    with open(b / "core-24822.img", "r+b") as fh:  # cut the core image in the middle of an entry
        fh.truncate(100)
    line = _one_error_line(cli("diff", str(corpus_dir("pair-2")), str(b)), "B", "core-24822.img")
    assert "offset" in line
    a = writable_copy("pair-2", dest="short-pages")
    with open(a / "pages-1.img", "r+b") as fh:  # a pages file shorter than its pagemap
        fh.truncate(8192)
    _one_error_line(cli("diff", str(a), str(corpus_dir("pair-1"))), "A", "pages-1.img", "shorter than its pagemap")


def test_broken_parent_link(cli, writable_copy):
    b = writable_copy("pair-1")
    os.symlink("/nonexistent-parent", b / "parent")
    _one_error_line(cli("diff", str(corpus_dir("pair-1")), str(b)), "B", "parent")


def test_usage_errors_exit_2(cli):
    good = str(corpus_dir("pair-1"))
    for args in (("diff", good), ("diff", good, good, "--ignore", "bogus"), ("diff", good, good, "--match", "x")):
        proc = cli(*args)
        assert proc.returncode == 2, args
        assert "Traceback" not in proc.stderr


def test_json_saved_and_rerendered(cli, tmp_path):
    a, b = str(corpus_dir("pair-1")), str(corpus_dir("pair-2"))
    text = cli("diff", a, b, "--pages", "--max-hunks", "3")
    saved = cli("diff", a, b, "--pages", "--max-hunks", "3", "--format", "json")
    assert text.returncode == saved.returncode == 1
    path = tmp_path / "diff.json"
    path.write_text(saved.stdout)
    again = cli("diff", "--load", str(path))
    assert again.returncode == 1
    assert again.stdout == text.stdout
    again_json = cli("diff", "--from-json", str(path), "--format", "json")
    assert json.loads(again_json.stdout) == json.loads(saved.stdout)


def test_identical_json_loads_back_with_exit_0(cli, tmp_path):
    a = str(corpus_dir("tree"))
    saved = cli("diff", a, a, "--format", "json")
    assert saved.returncode == 0
    doc = json.loads(saved.stdout)
    assert doc["identical"] is True and [p["status"] for p in doc["processes"]] == ["same"] * 4
    path = tmp_path / "same.json"
    path.write_text(saved.stdout)
    proc = cli("diff", "--load", str(path))
    assert proc.returncode == 0 and proc.stdout.splitlines()[0] == "identical"


def test_load_rejects_other_json(cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    proc = cli("diff", "--load", str(bad))
    assert proc.returncode == 2 and "bad.json" in proc.stderr and len(proc.stderr.splitlines()) == 1
    newer = tmp_path / "newer.json"
    newer.write_text('{"version": 99, "processes": []}')
    proc = cli("diff", "--load", str(newer))
    assert proc.returncode == 2 and "newer" in proc.stderr
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    proc = cli("diff", "--load", str(garbage))
    assert proc.returncode == 2 and "not JSON" in proc.stderr


def test_python_page_engine_matches(cli):
    a, b = str(corpus_dir("pair-1")), str(corpus_dir("pair-2"))
    fast = json.loads(cli("diff", a, b, "--format", "json").stdout)
    slow = json.loads(cli("diff", a, b, "--format", "json", "--page-engine", "python").stdout)
    assert fast == slow
