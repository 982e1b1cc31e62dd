"""Issue 15's commands on a Podman export (``podman container checkpoint --export``) as the tests build it.

The export wraps sample-images/tcp (tests/podman_layout.py says where each of its files comes from); the
images inside are the corpus's, so every command must give on the archive what it gives on the bare
checkpoint, and ``show`` of several must name the container from its config.dump.
"""

from __future__ import annotations

import json

import pytest

from inspector.model.checkpoint import Checkpoint
from tests.conftest import corpus_dir, run_cli
from tests.podman_layout import CONFIG, CONTAINER_ID, podman_checkpoint
from tests.source.test_source import pack

TCP_PID = Checkpoint(str(corpus_dir("tcp"))).processes[0].pid


@pytest.fixture
def export(tmp_path):
    ctr = podman_checkpoint(tmp_path / "userdata", namespaces=False)  # the corpus images unchanged
    (tmp_path / "export").mkdir()
    return ctr, pack(ctr, tmp_path / "export" / "tcp-client.tar", "tar")


def _ok(*args: str) -> str:
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_memdump_of_the_export_equals_the_bare_checkpoint(export, tmp_path):
    _, archive = export
    a, b = tmp_path / "a.raw", tmp_path / "b.raw"
    stack = next(v for v in Checkpoint(str(corpus_dir("tcp"))).process(TCP_PID).vmas if v.pages_present)
    for src, out in ((archive, a), (corpus_dir("tcp"), b)):
        _ok("memdump", str(src), "--pid", str(TCP_PID), "--vma", hex(stack.start), "--format", "raw", "-o", str(out))
    assert a.read_bytes() == b.read_bytes() and len(a.read_bytes()) == stack.end - stack.start
    assert a.read_bytes() != bytes(len(a.read_bytes()))


def test_show_mem_of_the_export_equals_the_bare_checkpoint(export):
    _, archive = export
    on_export = json.loads(_ok("show", str(archive), "mem", "--format", "json"))
    bare = json.loads(_ok("show", str(corpus_dir("tcp")), "mem", "--format", "json"))
    assert on_export["processes"] == bare["processes"] and on_export["processes"][0]["pid"] == TCP_PID


def test_coredump_of_the_export_is_the_bare_checkpoint_s_core(export, tmp_path):
    _, archive = export
    _ok("coredump", str(archive), "-o", str(tmp_path / "a.core"))
    _ok("coredump", str(corpus_dir("tcp")), "-o", str(tmp_path / "b.core"))
    core = (tmp_path / "a.core").read_bytes()
    assert core[:4] == b"\x7fELF" and core == (tmp_path / "b.core").read_bytes()


def test_decode_encode_round_trip_inside_the_container_directory(export, tmp_path):
    ctr, _ = export
    for image in sorted((ctr / "checkpoint").glob("*.img")):
        if image.name.startswith("pages-"):
            continue  # raw page contents: no entries to decode
        text = _ok("decode", str(image))
        (tmp_path / "x.json").write_text(text)
        _ok("encode", str(tmp_path / "x.json"), "-o", str(tmp_path / image.name))
        assert (tmp_path / image.name).read_bytes() == image.read_bytes(), image.name


def test_show_of_several_names_the_container(export):
    ctr, archive = export
    data = json.loads(_ok("show", str(archive), str(ctr), str(corpus_dir("tcp")), "--format", "json"))
    on_archive, on_dir, bare = data["checkpoints"]
    for row in (on_archive, on_dir):
        assert row["engine"] == "Podman" and row["container"] == CONFIG["name"] and row["id"] == CONTAINER_ID
        assert row["image"] == CONFIG["rootfsImageName"] and row["runtime"] == CONFIG["runtime"]
        assert row["checkpointed"] == CONFIG["checkpointedTime"]
        assert row["processes"] == bare["processes"] == 1
        assert row["memory_present"] == bare["memory_present"] > 0
    assert on_archive["archive"] and on_dir["archive"] is None and bare["engine"] is None
    text = _ok("show", str(archive), str(corpus_dir("tcp")))
    header, first = text.splitlines()[:2]
    assert header.split()[:3] == ["checkpoint", "engine", "container"]
    assert first.split()[1:3] == ["Podman", CONFIG["name"]]
