"""python3 -m http.server, dumped for real as root and as the test user; check against real restores."""

from __future__ import annotations

from inspector.model.checkpoint import Checkpoint
from inspector.model.names import full_cap_mask

from .lab import assert_agrees
from .programs import http_server


def test_root_dump_restores_as_root_not_unprivileged(lab):
    server = http_server(lab)
    dump = lab.dump(server.pid, "http-root", data=[server.data])

    report, outcome = lab.judge(dump, server.probe)
    assert_agrees(report, outcome)
    assert outcome.restored

    # uid 0 creds and a root-owned log: "Can't open file ... Permission denied"
    report, outcome = lab.judge(dump, server.probe, user=lab.criu.user)
    assert_agrees(report, outcome)
    assert "Permission denied" in outcome.why
    assert {"CRI005", "CRI008"} <= {f["code"] for f in report["findings"] if f["severity"] == "error"}


def test_user_dump_restores_as_that_user_and_root_not_another_user(lab):
    user = lab.criu.user
    server = http_server(lab, user=user, nnp=True)
    dump = lab.dump(server.pid, "http-user", user=user, data=[server.data])

    for restorer in (user, None):  # unprivileged as the dumping user, then root
        report, outcome = lab.judge(dump, server.probe, user=restorer)
        assert_agrees(report, outcome)
        assert outcome.restored

    other = lab.criu.other  # the log belongs to the test user, the creds too
    report, outcome = lab.judge(dump, server.probe, user=other)
    assert_agrees(report, outcome)
    assert not outcome.restored
    assert {"CRI005", "CRI008"} <= {f["code"] for f in report["findings"] if f["severity"] == "error"}


def test_without_no_new_privs_a_narrow_bounding_set_blocks(lab):
    """A bounding set narrower than full (every task on the project's machines lacks CAP_SYS_RESOURCE)
    must be dropped to by the restorer, which an unprivileged criu may do only under no_new_privs."""
    user = lab.criu.user
    server = http_server(lab, user=user, nnp=False)
    dump = lab.dump(server.pid, "http-user-no-nnp", user=user, data=[server.data])
    report, outcome = lab.judge(dump, server.probe, user=user)
    assert_agrees(report, outcome)
    missing = full_cap_mask() & ~Checkpoint(dump.images).root.creds.cap_bnd
    if missing:  # this host's bounding set is narrow: criu fails on the first bit it must drop
        first = (missing & -missing).bit_length() - 1
        assert f"Unable to drop capability {first}" in outcome.why, outcome.why
        assert "CRI007" in {f["code"] for f in report["findings"] if f["severity"] == "error"}
    else:  # a full bounding set: nothing to drop
        assert outcome.restored
