"""``show A B C`` / ``show FOLDER``: one row of facts per checkpoint, on the real checkpoints of sample-images."""

from __future__ import annotations

import json
import os
import shutil
import tarfile

from inspector import summary
from inspector.codec.image import open_image
from tests.conftest import CORPUS, corpus_dir

ONE_EACH = ["tree", "jvm", "tmux", "tcp"]


def _pages_bytes(folder) -> int:
    """What CRIU wrote as page contents: the pages files' sizes (no pre-dump parent and no shared memory here)."""
    return sum(p.stat().st_size for p in folder.glob("pages-*.img"))


def _pstree_counts(folder) -> tuple[int, int]:
    """Processes and threads from pstree.img's entries, decoded directly (not through the model)."""
    entries = open_image(str(folder / "pstree.img")).entries
    return len(entries), sum(len(e.message.threads) for e in entries)


def test_rows_equal_what_the_images_hold():
    rows = summary.summary_rows([str(corpus_dir(name)) for name in ONE_EACH])
    assert [r["path"] for r in rows] == [str(corpus_dir(name)) for name in ONE_EACH]
    for name, row in zip(ONE_EACH, rows):
        folder = corpus_dir(name)
        assert row["error"] is None
        assert (row["processes"], row["threads"]) == _pstree_counts(folder)
        assert row["memory_present"] == _pages_bytes(folder)
        assert row["memory_in_parent"] == 0 and row["parent"] is None
        assert row["images_bytes"] == sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        assert row["source"] == "images" and row["engine"] is None
        assert list(row) == list(summary.FIELDS)


def test_a_folder_of_many_is_walked_and_a_failed_dump_is_a_row_with_its_error():
    rows = summary.summary_rows([str(CORPUS)])
    by_name = {os.path.relpath(r["path"], CORPUS): r for r in rows}
    assert {"tree", "jvm", "unpriv-tty", "_failed-dumps/flock-nolocksflag"} <= set(by_name)
    failed = by_name["_failed-dumps/flock-nolocksflag"]
    assert failed["processes"] is None and "no inventory.img" in failed["error"]
    assert "Some file locks are hold by dumping tasks" in failed["error"]  # criu's own line from dump.log
    assert by_name["tree"]["processes"] == _pstree_counts(corpus_dir("tree"))[0]
    assert summary.is_many([str(CORPUS)])
    assert not summary.is_many([str(corpus_dir("tree"))])
    assert summary.is_many([str(corpus_dir("tree")), str(corpus_dir("tcp"))])


def test_only_a_folder_whose_own_entries_are_checkpoints_is_many(tmp_path):
    """No walk before the folder is known to hold checkpoints: show of / (a slip) answers at once."""
    deep = tmp_path / "deep" / "a" / "b"
    deep.mkdir(parents=True)
    shutil.copytree(corpus_dir("tree"), deep / "tree")
    assert not summary.is_many([str(tmp_path / "deep")])
    tars = tmp_path / "tars"
    tars.mkdir()
    for name in ("tree", "tcp"):
        with tarfile.open(tars / f"{name}.tar", "w") as tar:
            tar.add(corpus_dir(name), arcname=name)
    assert summary.is_many([str(tars)])
    assert [r["processes"] for r in summary.summary_rows([str(tars)])] == [1, 4]  # tcp.tar, tree.tar
    liberty = tmp_path / "server" / "workarea" / "checkpoint"
    liberty.mkdir(parents=True)
    shutil.copytree(corpus_dir("tree"), liberty / "image")
    assert not summary.is_many([str(tmp_path / "server")])  # one checkpoint, found where Liberty keeps it


def test_a_missing_path_and_an_archive(tmp_path):
    archive = tmp_path / "tree.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(corpus_dir("tree"), arcname="dump")
    missing = tmp_path / "nothing-here"
    rows = summary.summary_rows([str(archive), str(missing)])
    assert rows[0]["error"] is None and rows[0]["archive"] and rows[0]["processes"] == 4
    assert rows[0]["memory_present"] == _pages_bytes(corpus_dir("tree"))
    assert rows[1]["processes"] is None and str(missing) in rows[1]["error"]


def test_cli_table_and_json(cli, tmp_path):
    base = tmp_path / "fleet"
    base.mkdir()
    for name in ("tree", "tcp"):
        shutil.copytree(corpus_dir(name), base / name)
    text = cli("show", str(base))
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split()[:2] == ["checkpoint", "created"]  # no engine/container column for bare images
    tree_line = next(line for line in lines if line.startswith(str(base / "tree")))
    fds = sum(len(open_image(str(p)).entries) for p in corpus_dir("tree").glob("fdinfo-*.img"))
    assert tree_line.split()[4:7] == [*map(str, _pstree_counts(corpus_dir("tree"))), str(fds)]
    assert lines[-1] == "2 checkpoint(s), 0 with errors"
    out = cli("show", str(base / "tree"), str(base / "tcp"), "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["version"] == summary.SUMMARY_JSON_VERSION
    assert [r["path"] for r in data["checkpoints"]] == [str(base / "tree"), str(base / "tcp")]
    assert data["checkpoints"][1]["memory_present"] == _pages_bytes(corpus_dir("tcp"))


def test_cli_exit_2_when_a_row_has_an_error(cli, tmp_path):
    out = cli("show", str(corpus_dir("tree")), str(tmp_path / "gone"))
    assert out.returncode == 2
    assert str(tmp_path / "gone") in out.stdout  # the row is listed under "could not read"
    assert out.stderr.startswith("criu-inspect: error: ") and str(tmp_path / "gone") in out.stderr
