"""CRI030: images of another dump left in a reused directory."""

from __future__ import annotations

import json
import shutil

from inspector.checks.base import Target
from inspector.checks.engine import run_checks
from inspector.model.checkpoint import Checkpoint

from ...conftest import CORPUS_NAMES, corpus_dir

STALE = ["core-15785.img", "fdinfo-3.img", "ids-15785.img", "pagemap-15785.img", "pages-2.img"]


def test_every_corpus_checkpoint_refers_to_all_its_images():
    assert {n: Checkpoint(corpus_dir(n)).unreferenced_images for n in CORPUS_NAMES} == {n: [] for n in CORPUS_NAMES}


def test_another_dumps_images_in_the_same_directory(writable_copy, cli):
    d = writable_copy("plain")
    for name in STALE:  # a process of `tree` (its own files table and pages) dumped into plain's directory
        shutil.copy(corpus_dir("tree") / name, d / name)
    assert Checkpoint(d).unreferenced_images == STALE
    [f] = [f for f in run_checks(d, Target(kind="root")).findings if f.code == "CRI030"]
    assert f.severity == "warning" and f.details["images"] == STALE
    assert run_checks(d, Target(kind="root")).verdict == "restorable"  # criu ignores them
    shown = json.loads(cli("show", str(d), "--format", "json").stdout)
    assert shown["unreferenced_images"] == STALE
    assert "not referred to by any task: core-15785.img" in cli("show", str(d)).stdout
