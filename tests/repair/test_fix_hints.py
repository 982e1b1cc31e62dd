"""Every fix hint that names a repair is one `repair` accepts for that checkpoint.

For each finding of each corpus checkpoint, under the targets the tests use, every `repair --fix NAME`
its fix text names is run (in memory, as `repair --dry-run` does): it must apply, not refuse. Advice
that fails is worse than none (issue: CRI007 named bounding-set on a checkpoint where repair refused it).
"""

from __future__ import annotations

import re

import pytest

from inspector.checks.base import Target
from inspector.checks.engine import run_checks
from inspector.repair.plan import FixRequest, plan_repair
from inspector.repair.workspace import FixRefused

from ..checks.rule_fixtures import edit
from ..conftest import CORPUS_NAMES, corpus_dir

TARGETS = {
    "unprivileged uid 1001": Target(uid=1001, caps=frozenset({"NET_ADMIN", "SYS_PTRACE"})),
    "unprivileged default": Target(),
    "unprivileged with flags": Target(uid=1001, shell_job=True, terminal=True, file_locks=True),
}
HINT = re.compile(r"--fix ([a-z-]+)(?:=(\S+))?")


def requests_for(finding) -> list[FixRequest]:
    """The repairs a finding's fix text names, with the argument a user would give."""
    out = []
    for name, arg in HINT.findall(finding.fix):
        if name == "uid":
            arg = "1001:1001"
        elif name == "relocate":
            path = finding.details.get("path") or ""
            arg = f"{path.rsplit('/', 1)[0]}:/srv/moved" if path.count("/") > 1 else None
            if arg is None:
                continue
        elif name == "bounding-set" and not re.fullmatch(r"(0x)?[0-9a-f]+", arg or ""):
            arg = None  # "bounding-set (widens ...)": the default, this machine's CapBnd
        else:
            arg = arg if arg and not arg.endswith(")") and "[" not in arg else None
        out.append(FixRequest(name, arg))
    return out


def hinted(path, target):
    for f in run_checks(path, target).findings:
        for req in requests_for(f):
            yield f, req


def refusals(path, target):
    out = []
    for f, req in hinted(path, target):
        try:
            plan_repair(path, [req]).close()
        except FixRefused as exc:
            out.append(f"{f.code} hints --fix {req}: refused: {exc.reason}")
    return out


@pytest.mark.parametrize("name", CORPUS_NAMES)
@pytest.mark.parametrize("target", TARGETS, ids=list(TARGETS))
def test_every_hinted_repair_applies(name, target):
    assert refusals(corpus_dir(name), TARGETS[target]) == []


def test_the_hints_are_exercised():
    """The parser above finds the repairs the rules name (else the test above would check nothing)."""
    names = {
        req.name
        for n in ("plain", "tty", "cgroup", "unpriv-plain")
        for _, req in hinted(corpus_dir(n), TARGETS["unprivileged uid 1001"])
    }
    assert {"uid", "bounding-set", "no-new-privs", "detach-tty", "cgroup-root", "relocate"} <= names


def test_no_bounding_set_hint_where_the_restorer_holds_a_bit_the_task_lacks(writable_copy):
    """A task made where CAP_PERFMON (38) did not exist (a CRIU 3.x era kernel) lacks it; this machine's
    restorer holds it: widening the image would grant it, so `repair` refuses and CRI007 must not hint it."""
    d = writable_copy("unpriv-plain")

    def lose_perfmon(core):
        words = list(core.thread_core.creds.cap_bnd)
        words[1] &= ~(1 << (38 - 32))
        del core.thread_core.creds.cap_bnd[:]
        core.thread_core.creds.cap_bnd.extend(words)

    edit(d, "core-20458.img", lose_perfmon)
    restorer = 0x1FFFEFFFFFF  # every capability but CAP_SYS_RESOURCE, as on the project's machines
    with pytest.raises(FixRefused, match="No honest edit exists"):
        plan_repair(d, [FixRequest("bounding-set", f"{restorer:x}")]).close()
    target = Target(uid=1001, caps=frozenset({"NET_ADMIN", "SYS_PTRACE"}), bounding_set=restorer)
    [f] = [f for f in run_checks(d, target).findings if f.code == "CRI007"]
    assert "--fix bounding-set" not in f.fix and "--fix no-new-privs" in f.fix
    plan_repair(d, [FixRequest("no-new-privs")]).close()  # the repair it does name applies
    # the untouched checkpoint, same restorer: bounding-set is named, and applies
    [f] = [f for f in run_checks(corpus_dir("unpriv-plain"), target).findings if f.code == "CRI007"]
    assert "--fix bounding-set" in f.fix
    plan_repair(corpus_dir("unpriv-plain"), [FixRequest("bounding-set", f"{restorer:x}")]).close()
