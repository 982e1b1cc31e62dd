"""A capability bounding set narrower than full: the restorer must drop bits (CAP_SETPCAP)."""

from __future__ import annotations

from ...model import names
from ..base import Rule
from ..facts import has_cap, make, task_creds, task_label
from ..host import current_host


def restorer_bounding_set(target) -> int:
    """The restorer's bounding set: the target's, else this machine's CapBnd (repair's default too)."""
    if target.bounding_set is not None:
        return target.bounding_set
    return current_host().self_caps("CapBnd") or names.full_cap_mask()  # no /proc/self/status: a full set


def fix_hint(all_creds, restorer: int) -> str:
    """Only the repairs `repair` accepts for this checkpoint (issue: a hint it refuses is advice that fails)."""
    full = names.full_cap_mask()
    hints = ["grant the restorer CAP_SETPCAP (--cap SETPCAP)"]
    if not any(c.no_new_privs for c in all_creds):
        hints.append("run the task with no_new_privs")
    repairs = []
    if all(~c.cap_bnd & full & restorer == 0 for c in all_creds):
        repairs.append(f"--fix bounding-set (widens each set by the bits the restorer's, 0x{restorer:x}, lacks)")
    if not all(c.no_new_privs for c in all_creds):
        repairs.append("--fix no-new-privs")
    if repairs:
        hints.append("criu-inspect repair " + " or ".join(repairs))
    else:
        hints.append("restore as root (no repair can remove a bit the restorer holds and the task lacks)")
    return ", ".join(hints[:-1]) + ", or " + hints[-1] if len(hints) > 1 else hints[0]


def check(cp, target):
    if target.privileged or has_cap(target, "SETPCAP"):
        return
    full = names.full_cap_mask()
    tasks = [(p, tid, c) for p in cp.processes for tid, c in task_creds(cp, p)]
    hint = None
    for proc, tid, c in tasks:
        dropped = ~c.cap_bnd & full
        if not dropped:
            continue
        caps = names.cap_names(dropped)
        # criu forgives a failed drop only with no_new_privs and for a capability the task does not hold
        fatal = dropped if not c.no_new_privs else dropped & c.cap_prm
        first = ((fatal or dropped) & -(fatal or dropped)).bit_length() - 1
        text = ", ".join(f"{names.CAP_BY_NAME[n]} (CAP_{n})" if n in names.CAP_BY_NAME else n for n in caps)
        if not fatal:
            yield make(
                RULE,
                f"{task_label(proc, tid)}: bounding set lacks {text}; PR_CAPBSET_DROP will fail without CAP_SETPCAP, "
                "but the task has no_new_privs, so criu only warns",
                severity="info",
                pid=proc.pid,
                image=f"core-{tid}.img",
                criu_error=f"Unable to drop capability {first} from bset: -1 (but NO_NEW_PRIVS will drop it)",
                fix="nothing to do",
                details={"dropped": caps, "no_new_privs": True},
            )
        else:
            if hint is None:
                hint = fix_hint([c for _, _, c in tasks], restorer_bounding_set(target))
            yield make(
                RULE,
                f"{task_label(proc, tid)}: bounding set lacks {text} and "
                + ("no_new_privs is not set" if not c.no_new_privs else "the task holds it in its permitted set")
                + ": the restorer drops each missing bit with PR_CAPBSET_DROP, which needs CAP_SETPCAP",
                pid=proc.pid,
                image=f"core-{tid}.img",
                fix=hint,
                criu_error=f"Unable to drop capability {first}: -1",
                details={"dropped": caps, "no_new_privs": False},
            )


RULE = Rule(
    code="CRI007",
    title="capability bounding set narrower than full (CAP_SETPCAP)",
    category="credentials",
    severity="error",
    rationale=(
        "core-N.img keeps each task's capability bounding set. The restorer calls "
        "prctl(PR_CAPBSET_DROP) for every capability missing from it, even when the restorer's own "
        "bounding set already lacks it, and the kernel refuses that without CAP_SETPCAP. criu "
        "tolerates the failure only for a task with no_new_privs and only for capabilities outside "
        "its permitted set (no_new_privs keeps those from coming back anyway). Hosts and container runtimes that drop a capability from every "
        "bounding set (CAP_SYS_RESOURCE, CAP_SYS_ADMIN ...) make every unprivileged dump carry this."
    ),
    fix=(
        "grant the restorer CAP_SETPCAP (--cap SETPCAP), run the task with no_new_privs, or "
        "criu-inspect repair --fix bounding-set (record a full set) or --fix no-new-privs"
    ),
    criu_error="Unable to drop capability 24: -1",
    check=check,
)
