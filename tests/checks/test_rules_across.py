"""Rule tests that span several rules, on a corpus checkpoint or an edited copy of one."""

from __future__ import annotations

from inspector.model import names
from tests.checks.rule_fixtures import ROOT, UNPRIV, edit, found, unpriv
from tests.conftest import corpus_dir


def test_cri005_cri006_thread_with_other_creds(writable_copy):
    """unpriv-tree copy, core-21503.img (a thread of pid 21501) decoded, its creds set to uid/euid/suid/fsuid 0
    with CAP_NET_RAW permitted and effective, encoded again. The restorer gives every thread its own creds
    (criu/pie/restorer.c: restore_creds() in __export_restore_thread()), so that thread alone fails."""
    d = writable_copy("unpriv-tree")

    def root_thread(core):
        c = core.thread_core.creds
        c.uid = c.euid = c.suid = c.fsuid = 0
        c.cap_prm[0] |= 1 << names.CAP_BY_NAME["NET_RAW"]
        c.cap_eff[0] |= 1 << names.CAP_BY_NAME["NET_RAW"]

    edit(d, "core-21503.img", root_thread)
    got = found(d, UNPRIV, "CRI005", "error")
    assert [(f.pid, f.image) for f in got] == [(21501, "core-21503.img")] and "thread 21503" in got[0].message
    assert not found(corpus_dir("unpriv-tree"), UNPRIV, "CRI005")
    caps = found(d, unpriv(caps=frozenset({"SETUID", "NET_ADMIN", "SYS_PTRACE"})), "CRI006", "error")
    assert caps and caps[0].details["tid"] == 21503 and caps[0].details["missing"] == ["NET_RAW"]
    assert not found(d, ROOT, "CRI005") and not found(d, ROOT, "CRI006")
