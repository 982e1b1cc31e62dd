"""CRI004 (cgroups): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import ROOT, UNPRIV, found, unpriv
from tests.conftest import corpus_dir


def test_cri004_cgroups():
    cg = corpus_dir("cgroup")
    err = found(cg, UNPRIV, "CRI004", "error")
    assert err and "pids:/criutest" in err[0].details["cgroups"] and ".criu.cgyard" in err[0].criu_error
    assert found(cg, unpriv(manage_cgroups="ignore"), "CRI004", "warning")
    assert not found(cg, unpriv(manage_cgroups="ignore"), "CRI004", "error")
    assert found(cg, ROOT, "CRI004", "info")
    assert not found(corpus_dir("plain"), UNPRIV, "CRI004")  # no cgroup.img
    # criu/cgroup.c prepare_cgroup_sfd(): every mode but ignore builds the yard; with --cgroup-yard DIR criu
    # mounts no tmpfs itself, so the finding drops to a warning about what the yard must hold
    for mode in ("none", "props", "soft", "full", "strict"):
        assert found(cg, unpriv(manage_cgroups=mode), "CRI004", "error"), mode
    yard = found(cg, unpriv(cgroup_yard="/run/criu-yard"), "CRI004")
    assert {f.severity for f in yard} == {"warning"} and "--cgroup-yard /run/criu-yard" in yard[0].message
