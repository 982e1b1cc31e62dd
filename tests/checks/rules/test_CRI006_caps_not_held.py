"""CRI006 (caps_not_held): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from inspector.model import names
from tests.checks.rule_fixtures import UNPRIV, edit, found, unpriv
from tests.conftest import corpus_dir


def test_cri006_capabilities_not_held(writable_copy):
    """unpriv-plain copy, core-20458.img decoded, CAP_NET_RAW added to the permitted set, encoded again."""
    d = writable_copy("unpriv-plain")
    bit = names.CAP_BY_NAME["NET_RAW"]

    def change(core):
        core.thread_core.creds.cap_prm[0] |= 1 << bit

    edit(d, "core-20458.img", change)
    got = found(d, UNPRIV, "CRI006", "error")
    assert got and got[0].details["missing"] == ["NET_RAW"]
    assert not found(d, unpriv(caps=frozenset({"NET_RAW"})), "CRI006")
    assert not found(corpus_dir("unpriv-plain"), UNPRIV, "CRI006")


def test_cri006_root_task_with_setuid_still_needs_its_capabilities():
    """plain-devnull (root task, full capabilities): CAP_SETUID gets past the ids, not past capset()."""
    got = found(corpus_dir("plain-devnull"), unpriv(caps=frozenset({"SETUID", "SETGID"})), "CRI006", "error")
    assert got and "SYS_ADMIN" in got[0].details["missing"] and "CHECKPOINT_RESTORE" not in got[0].details["missing"]
    assert not found(corpus_dir("plain-devnull"), UNPRIV, "CRI006")  # CRI005 already blocks


def test_cri006_inheritable_only_is_a_warning_without_setpcap(writable_copy):
    """unpriv-plain copy, core-20458.img decoded, CAP_NET_BIND_SERVICE put in the inheritable set only (as older
    container runtimes filled it), encoded again. capset() takes inheritable bits from the restorer's own
    inheritable | permitted set, or any with CAP_SETPCAP (kernel cap_capset()), so this is a warning."""
    d = writable_copy("unpriv-plain")
    edit(
        d,
        "core-20458.img",
        lambda core: core.thread_core.creds.cap_inh.__setitem__(
            0, core.thread_core.creds.cap_inh[0] | 1 << names.CAP_BY_NAME["NET_BIND_SERVICE"]
        ),
    )
    got = found(d, UNPRIV, "CRI006")
    assert [(f.severity, f.details["missing"]) for f in got] == [("warning", ["NET_BIND_SERVICE"])]
    assert not found(d, unpriv(caps=frozenset({"SETPCAP", "NET_ADMIN", "SYS_PTRACE"})), "CRI006")
