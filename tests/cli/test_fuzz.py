"""The fuzz suite: a seeded, bounded campaign on every run, and the harness's own ability to see a defect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from ..conftest import ROOT
from ..fuzz import campaign, harness

SEED = 1  # long campaigns use other seeds (docs/fuzzing.md)
CASES = 800  # about 90 s on two cores


def test_a_seeded_campaign_finds_no_defect(tmp_path):
    """The campaign runs as scripts/fuzz runs it, in a process of its own: workers forked from pytest would
    inherit the test run's memory, and their peak RSS would measure pytest (a fork's RSS starts at its parent's)."""
    argv = ["--cases", str(CASES), "--seed", str(SEED), "--workers", "2", "--timeout", "10"]
    argv += ["--findings", str(tmp_path / "findings"), "--json"]
    r = subprocess.run(
        [sys.executable, "-m", "tests.fuzz", *argv], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert r.stdout.strip(), r.stderr[-2000:]
    summary = json.loads(r.stdout)
    assert summary["cases"] == CASES and summary["runs"] >= CASES * 7
    # both sides of the contract were exercised
    assert summary["classes"]["ok"] > 0 and summary["classes"]["error"] > 0
    assert summary["signatures"] == {}, summary["text"]
    assert summary["max_rss_kib"] < 300 * 1024, summary["text"]
    assert r.returncode == 0, r.stderr[-2000:]
    assert not (tmp_path / "findings").exists()


# --- the harness sees what it is there to see --------------------------------------------------------------------


@pytest.fixture
def fake_show(monkeypatch):
    from inspector.commands import show

    def use(behaviour):
        monkeypatch.setattr(show, "run", behaviour)

    return use


def test_an_internal_error_is_a_defect_with_its_frame(fake_show, monkeypatch):
    monkeypatch.setenv("CRIU_INSPECT_DEBUG", "1")

    def broken(args):
        return {}["missing"]

    fake_show(broken)
    rc, _, stderr, sig = harness.run_command(["show", "x"], timeout=5)
    assert harness.classify(rc, stderr, sig)[0] == "internal"
    assert sig.startswith("KeyError at ")


def test_a_hang_is_cut_by_the_alarm(fake_show):
    fake_show(lambda args: time.sleep(30))
    t0 = time.monotonic()
    rc, _, stderr, sig = harness.run_command(["show", "x"], timeout=0.5)
    assert time.monotonic() - t0 < 5 and rc is None
    assert harness.classify(rc, stderr, sig) == ("hang", "")


def test_two_error_lines_break_the_contract(fake_show):
    import sys

    def chatty(args):
        sys.stderr.write("criu-inspect: error: a\ncriu-inspect: error: b\n")
        return 2

    fake_show(chatty)
    rc, _, stderr, sig = harness.run_command(["show", "x"], timeout=5)
    assert harness.classify(rc, stderr, sig) == ("multi-line", "2 lines")
    assert harness.classify(0, "criu-inspect: error: x\n", "") == ("exit-code", "exit 0 with an error line")
    assert harness.classify(1, "criu-inspect: 'x' not found in the memory of 1 process(es)\n", "") == ("ok", "")
    assert harness.classify(2, "criu-inspect: error: f: bad\n", "") == ("error", "")


def test_a_changed_input_is_seen(tmp_path, fake_show):
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.img").write_bytes(b"1234")
    before = harness.snapshot(d, True)

    def writes(args):
        os.utime(d / "a.img", ns=(0, 0))
        return 0

    fake_show(writes)
    harness.run_command(["show", str(d)], timeout=5)
    assert harness.snapshot(d, False) != {k: v[:4] for k, v in before.items()}


def test_a_killed_worker_is_a_defect_and_the_campaign_goes_on(tmp_path, monkeypatch):
    """A case whose command dies in C (here: the worker kills itself) is recorded, and the next case runs."""
    real = harness.run_case

    def dying(index, seed, work, timeout=10.0, notify=None):
        if index == 0:
            notify("case", ("tree", "test", "worker dies"))
            notify("cmd", ["show", "x"])
            os.kill(os.getpid(), 9)
        return real(index, seed, work, timeout, notify)

    monkeypatch.setattr(campaign, "run_case", dying)
    summary = campaign.run([0, 1], SEED, workers=1, timeout=5, findings=tmp_path / "f")
    assert summary.cases == 2
    assert list(summary.signatures) == ["crash | show | test (worker killed)"]
