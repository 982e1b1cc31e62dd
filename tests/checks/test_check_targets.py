"""Who restores: a root-made tree with no --uid, a container's root (--uid 0), and facts that cannot be read."""

from __future__ import annotations

import json

from inspector.checks.base import ASSUMED_NONROOT_UID, Target
from inspector.checks.engine import run_checks

from ..conftest import corpus_dir


def errors(report):
    return sorted({f.code for f in report.findings if f.severity == "error"})


def test_a_root_made_tree_assumes_a_non_root_restorer(cli):
    report = run_checks(corpus_dir("plain"), Target())
    assert report.assumed_uid == ASSUMED_NONROOT_UID == 65534
    # what every measured unprivileged restore of a root dump met: setresuid to 0, root's files
    assert errors(report) == ["CRI005", "CRI007", "CRI008"]
    assert all("uid 0 is not allowed" not in f.message for f in report.findings)
    proc = cli("check", str(corpus_dir("plain")))
    assert "uid 65534 assumed: the tree ran as root and no --uid was given" in proc.stdout.splitlines()[1]
    data = json.loads(cli("check", str(corpus_dir("plain")), "--format", "json").stdout)
    assert data["assumed_uid"] == 65534 and data["target"]["uid"] is None
    # a tree dumped by a user: that user is the default, nothing assumed
    assert run_checks(corpus_dir("unpriv-plain-nnp"), Target()).assumed_uid is None
    assert run_checks(corpus_dir("plain"), Target(uid=1001)).assumed_uid is None


def test_uid_0_unprivileged_is_a_containers_root():
    report = run_checks(corpus_dir("plain"), Target(uid=0))
    # root's files and setresuid(0) are no obstacle to a container's root (DAC_OVERRIDE, SETUID) ...
    assert "CRI005" not in errors(report) and "CRI008" not in errors(report)
    # ... but it cannot grant the capabilities a host root task held, nor drop bounding bits it lacks
    caps = [f for f in report.findings if f.code == "CRI006"]
    assert caps and "CAP_SYS_ADMIN" in caps[0].message and "CAP_SETUID" not in caps[0].message
    assert report.assumed_uid is None


def test_an_unreadable_core_image_is_an_error_not_a_default(cli, writable_copy):
    """With the root task's core image cut short, nothing may be guessed from its creds (uid 0, 'uid None')."""
    d = writable_copy("plain")
    core = d / "core-14055.img"
    core.write_bytes(core.read_bytes()[:40])
    proc = cli("check", str(d), "--uid", "1001", "--format", "json")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "core-14055.img: entry size 2395 is larger than the 28 bytes left" in lines[0]
    data = json.loads(proc.stdout)
    assert data["verdict"] == "unknown" and data["findings"] == []
    assert "None" not in proc.stdout
    text = cli("check", str(d))  # the default target needs the root task's uid: the same one line
    assert text.returncode == 2 and "uid None" not in text.stdout and "verdict unknown" in text.stdout
