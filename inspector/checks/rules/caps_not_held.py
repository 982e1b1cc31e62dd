"""Tasks held capabilities the unprivileged restorer does not have."""

from __future__ import annotations

from ...model import names
from ..base import Rule
from ..facts import has_cap, make, restorer_cap_mask, task_creds, task_label


def check(cp, target):
    if target.privileged:
        return
    have = restorer_cap_mask(target)
    for proc, tid, c in ((p, tid, c) for p in cp.processes for tid, c in task_creds(cp, p)):
        if c.uid == 0 and c.euid == 0 and not has_cap(target, "SETUID"):
            continue  # a root task: CRI005 (credentials) already says why it cannot be restored unprivileged
        full = names.full_cap_mask()
        # capset(): the new permitted set must lie in the restorer's; ambient bits need permitted too
        missing = (c.cap_prm | c.cap_amb) & ~have & full
        if missing:
            caps = names.cap_names(missing)
            yield make(
                RULE,
                f"{task_label(proc, tid)} held {', '.join('CAP_' + n for n in caps)} (permitted/ambient); "
                "capset() cannot grant a capability the restorer does not hold",
                pid=proc.pid,
                image=f"core-{tid}.img",
                details={"missing": caps, "tid": tid},
                fix="give the restorer these capabilities (--cap " + " --cap ".join(caps) + ") or restore as root",
            )
        # the new inheritable set must lie in the restorer's inheritable | permitted, unless it has CAP_SETPCAP;
        # the restorer's own inheritable set is not known here (a container runtime may have filled it)
        inh_only = c.cap_inh & ~c.cap_prm & ~have & full
        if inh_only and not has_cap(target, "SETPCAP"):
            caps = names.cap_names(inh_only)
            yield make(
                RULE,
                f"{task_label(proc, tid)} had {', '.join('CAP_' + n for n in caps)} in its inheritable set only; "
                "capset() accepts them only if the restorer has them in its own inheritable or permitted set, "
                "or holds CAP_SETPCAP",
                severity="warning",
                pid=proc.pid,
                image=f"core-{tid}.img",
                details={"missing": caps, "tid": tid, "inheritable_only": True},
                fix="grant the restorer CAP_SETPCAP (--cap SETPCAP), run criu with the same inheritable set, "
                "or restore as root",
            )


RULE = Rule(
    code="CRI006",
    title="task capabilities the restorer does not hold",
    category="credentials",
    severity="error",
    rationale=(
        "After the ids, the restorer sets each task's permitted, effective and inheritable capability "
        "sets with capset() and raises its ambient ones. The new permitted set must lie within the "
        "restorer's, so a task that ran with file capabilities (ping's CAP_NET_RAW, a server's "
        "CAP_NET_BIND_SERVICE) cannot get them back from an unprivileged restorer. Inheritable bits the "
        "task did not hold need CAP_SETPCAP or the same bits in the restorer's own inheritable set, which "
        "only the restoring host can tell: a warning."
    ),
    fix="grant the restorer the same capabilities (setcap on the criu binary, --cap NAME) or restore as root",
    criu_error="Unable to restore capabilities: -1",
    check=check,
)
