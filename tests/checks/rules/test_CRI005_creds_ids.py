"""CRI005 (creds_ids): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import UNPRIV, edit, found, unpriv
from tests.conftest import corpus_dir


def test_cri005_uids():
    got = found(corpus_dir("plain-devnull"), UNPRIV, "CRI005", "error")
    assert got and got[0].pid == 14171 and got[0].details["ids"]["uid"] == 0
    assert not found(corpus_dir("plain-devnull"), unpriv(caps=frozenset({"SETUID", "SETGID"})), "CRI005")
    assert not found(corpus_dir("unpriv-plain"), UNPRIV, "CRI005")


def test_cri005_gid_only(writable_copy):
    """unpriv-plain copy, core-20458.img decoded, gid/egid/sgid set to 2000, encoded again."""
    d = writable_copy("unpriv-plain")

    def change(core):
        c = core.thread_core.creds
        c.gid = c.egid = c.sgid = 2000

    edit(d, "core-20458.img", change)
    got = found(d, UNPRIV, "CRI005", "error")
    assert got and "setresgid" in got[0].message and "group ID" in got[0].criu_error


def test_cri005_fsuid_alone(writable_copy):
    """unpriv-plain copy, core-20458.img decoded, only fsuid changed to 0, encoded again."""
    d = writable_copy("unpriv-plain")
    edit(d, "core-20458.img", lambda c: setattr(c.thread_core.creds, "fsuid", 0))
    got = found(d, UNPRIV, "CRI005", "error")
    assert got and got[0].criu_error == "Unable to set fsuid"


def test_cri005_supplementary_groups_of_another_user(writable_copy):
    """unpriv-plain copy (uid 1001), core-20458.img decoded, supplementary group 27 added to [1001], encoded
    again; restored by uid 1002 (same gid) holding CAP_SETUID only: the ids can be switched, but
    criu/pie/restorer.c restore_creds() calls setgroups() when the restorer's groups differ
    ("Can't setgroups([%zu gids]): %d"), which needs CAP_SETGID: a warning, the restorer's groups being unknown."""
    d = writable_copy("unpriv-plain")
    edit(d, "core-20458.img", lambda core: core.thread_core.creds.groups.append(27))
    other = unpriv(uid=1002, gid=1001, caps=frozenset({"SETUID", "SETPCAP"}))
    got = found(d, other, "CRI005")
    assert [(f.severity, f.details["groups"]) for f in got] == [("warning", [1001, 27])]
    assert got[0].criu_error == "Can't setgroups([2 gids]): -1"
    assert not found(d, unpriv(uid=1002, gid=1001, caps=frozenset({"SETUID", "SETGID"})), "CRI005")
    assert not found(d, unpriv(uid=1001), "CRI005")  # the same user: same groups, setgroups() skipped
