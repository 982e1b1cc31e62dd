"""CRI007 (bounding_set): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import ROOT, UNPRIV, edit, found, unpriv
from tests.conftest import corpus_dir


def test_cri007_bounding_set():
    err = found(corpus_dir("unpriv-plain"), UNPRIV, "CRI007", "error")
    assert (
        err
        and err[0].criu_error == "Unable to drop capability 24: -1"
        and err[0].details["dropped"] == ["SYS_RESOURCE"]
    )
    nnp = found(corpus_dir("unpriv-plain-nnp"), UNPRIV, "CRI007")
    assert nnp and {f.severity for f in nnp} == {"info"}
    assert not found(corpus_dir("unpriv-plain"), unpriv(caps=frozenset({"SETPCAP"})), "CRI007")
    assert not found(corpus_dir("unpriv-plain"), ROOT, "CRI007")


def test_cri007_no_new_privs_does_not_excuse_a_held_capability(writable_copy):
    """unpriv-plain-nnp copy, core-20817.img decoded, CAP_SYS_RESOURCE (missing from its bounding set) added to
    its permitted set, encoded again: criu forgives the failed drop only for capabilities the task does not hold."""
    d = writable_copy("unpriv-plain-nnp")
    edit(
        d,
        "core-20817.img",
        lambda c: c.thread_core.creds.cap_prm.__setitem__(0, c.thread_core.creds.cap_prm[0] | 1 << 24),
    )
    got = found(d, UNPRIV, "CRI007", "error")
    assert got and got[0].criu_error == "Unable to drop capability 24: -1" and "permitted" in got[0].message
