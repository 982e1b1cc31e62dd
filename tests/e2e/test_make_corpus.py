"""scripts/make-corpus makes real checkpoints with the installed CRIU and records their real restores."""

from __future__ import annotations

import json

from inspector.model.checkpoint import Checkpoint

from .make_corpus import main


def test_make_corpus_writes_a_judged_checkpoint(criu, tmp_path):
    out = tmp_path / "corpus"
    assert main(["--out", str(out), "unpriv-plain-nnp"]) == 0
    truth = json.loads((out / "ground_truth.json").read_text())
    assert truth["criu"] == criu.version_text
    entry = truth["scenarios"]["unpriv-plain-nnp"]
    assert entry["dumped_by"] == f"uid {criu.user.uid}"
    assert entry["restore_root"]["restored"] and entry["restore_unpriv"]["restored"]
    cp = Checkpoint(out / "unpriv-plain-nnp")
    assert [p.comm for p in cp.processes] == ["ticker"]
    assert cp.root.creds.uid == criu.user.uid and cp.root.creds.no_new_privs
    assert (out / "_restore-logs" / "unpriv-plain-nnp-unpriv.rc").read_text() == "0\n"
    assert "## unpriv-plain-nnp" in (out / "MANIFEST.md").read_text()
