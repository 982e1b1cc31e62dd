"""Tasks held capabilities the unprivileged restorer does not have."""

from __future__ import annotations

from ...model import names
from ..base import Rule
from ..facts import has_cap, make, proc_label, restorer_cap_mask


def check(cp, target):
    if target.privileged:
        return
    have = restorer_cap_mask(target)
    for proc in cp.processes:
        c = proc.creds
        if c is None or c.uid == 0 and c.euid == 0 and not has_cap(target, "SETUID"):
            continue  # a root task: CRI005 (credentials) already says why it cannot be restored unprivileged
        wanted = c.cap_prm | c.cap_inh | c.cap_amb
        missing = wanted & ~have & names.full_cap_mask()
        if missing:
            caps = names.cap_names(missing)
            yield make(
                RULE,
                f"{proc_label(proc)} held {', '.join('CAP_' + n for n in caps)} (permitted/inheritable/ambient); "
                "capset() cannot grant a capability the restorer does not hold",
                pid=proc.pid, image=f"core-{proc.pid}.img", details={"missing": caps},
                fix="give the restorer these capabilities (--cap " + " --cap ".join(caps) + ") or restore as root",
            )  # fmt: skip


RULE = Rule(
    code="CRI006",
    title="task capabilities the restorer does not hold",
    category="credentials",
    severity="error",
    rationale=(
        "After the ids, the restorer sets each task's permitted, effective and inheritable capability "
        "sets with capset(). A process can only keep or drop capabilities it holds, so a task that "
        "ran with file capabilities (ping's CAP_NET_RAW, a server's CAP_NET_BIND_SERVICE) cannot get "
        "them back from an unprivileged restorer."
    ),
    fix="grant the restorer the same capabilities (setcap on the criu binary, --cap NAME) or restore as root",
    criu_error="Unable to restore capabilities: -1",
    check=check,
)
