"""CRI019 (namespaces): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import ROOT, UNPRIV, edit, found, unpriv
from tests.conftest import corpus_dir


def test_cri019_foreign_namespace(writable_copy):
    """tree copy, ids-15785.img decoded, net_ns_id changed to a namespace of its own, encoded again."""
    d = writable_copy("tree")
    edit(d, "ids-15785.img", lambda ids: setattr(ids, "net_ns_id", 99))
    got = found(d, UNPRIV, "CRI019", "error")
    assert got and got[0].pid == 15785 and got[0].details["namespaces"] == ["net"]
    assert {f.severity for f in found(d, ROOT, "CRI019")} == {"info"}
    assert not found(corpus_dir("tree"), UNPRIV, "CRI019")
    assert got[0].criu_error == ""  # net is unshare()d after the fork, not in clone()'s flags


def test_cri019_container_root_task(writable_copy):
    """plain copy, inventory.img decoded, root_ids (criu's own namespaces at dump) given other pid, mnt and user
    namespace ids, encoded again: the root task then ran in namespaces of its own, as in a container
    checkpoint, and criu restore clones it with CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUSER (get_clone_mask())."""
    d = writable_copy("plain")

    def foreign(inv):
        inv.root_ids.pid_ns_id, inv.root_ids.mnt_ns_id, inv.root_ids.user_ns_id = 901, 902, 903

    edit(d, "inventory.img", foreign)
    got = found(d, UNPRIV, "CRI019", "error")
    assert got and got[0].pid == 14055 and got[0].details["namespaces"] == ["pid", "mnt", "user"]
    assert got[0].criu_error == "Can't fork for 14055: Operation not permitted"
    assert found(d, unpriv(caps=frozenset({"SYS_ADMIN"})), "CRI019", "error")  # user ns: SETUID/SETGID too
    assert not found(d, unpriv(caps=frozenset({"SYS_ADMIN", "SETUID", "SETGID"})), "CRI019", "error")
    assert {f.severity for f in found(d, ROOT, "CRI019")} == {"info"}
    assert not found(corpus_dir("plain"), UNPRIV, "CRI019")
