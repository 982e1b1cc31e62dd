"""repair with no fix: every image of every corpus checkpoint comes out byte for byte."""

from __future__ import annotations

import os

import pytest

from inspector.codec.image import open_image
from inspector.repair.plan import plan_repair
from inspector.repair.writer import write_output

from ..conftest import CORPUS_NAMES, corpus_dir
from ..repair_helpers import differing_files, dir_hashes


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_repair_without_fixes_is_byte_identical(name, tmp_path):
    src = corpus_dir(name)
    before = dir_hashes(src)
    ws = plan_repair(src, [])
    try:
        result = write_output(ws, tmp_path / "out")
    finally:
        ws.close()
    assert differing_files(src, tmp_path / "out") == (set(), set(), set())
    assert dir_hashes(src) == before
    # every decodable image went through the encoder, not a plain copy
    images = [n for n in os.listdir(src) if n.endswith(".img") and not n.startswith("pages-")]
    assert set(images) <= set(result.written)
    assert result.changed == []


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_every_entry_reserialized_is_byte_identical(name):
    """Stronger than the copy: decode every entry, mark it edited, encode: framing, extra
    payloads and fields pycriu does not know (kept as unknown fields) must all survive."""
    src = corpus_dir(name)
    checked = 0
    for fname in sorted(os.listdir(src)):
        path = src / fname
        if path.is_dir() or not (fname.endswith(".img") or fname.startswith("stats-")):
            continue
        img = open_image(path)
        if img.raw or not img.known:
            continue
        for entry in img.entries:
            entry.set_message(entry.message)
        assert img.encode() == path.read_bytes(), fname
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("name", ["ghost", "tcp"])  # ghost file contents and TCP queues: extra payloads
def test_cli_repair_without_fixes(cli, name, tmp_path):
    src = corpus_dir(name)
    proc = cli("repair", str(src), "-o", str(tmp_path / "copy"), "--no-check")
    assert proc.returncode == 0, proc.stderr
    assert "no changes" in proc.stdout
    assert differing_files(src, tmp_path / "copy") == (set(), set(), set())
