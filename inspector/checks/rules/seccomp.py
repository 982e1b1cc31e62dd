"""seccomp filters: installing them needs no_new_privs or CAP_SYS_ADMIN."""

from __future__ import annotations

from ..base import Rule
from ..facts import creds_of, has_cap, make, proc_label


def check(cp, target):
    can_install = has_cap(target, "SYS_ADMIN")
    for proc in cp.processes:
        if proc.seccomp_mode == "disabled":
            continue
        creds = creds_of(cp, proc)
        nnp = creds is not None and creds.no_new_privs
        where = dict(
            pid=proc.pid,
            image="seccomp.img",
            details={"mode": proc.seccomp_mode, "filters": proc.seccomp_filters, "no_new_privs": nnp},
        )
        if proc.seccomp_mode == "filter" and not can_install:
            yield make(
                RULE,
                f"{proc_label(proc)} runs under {proc.seccomp_filters or 'its'} seccomp filter(s); the restorer "
                "installs them while the task still has criu's credentials (before its own credentials and "
                "no_new_privs come back), and the kernel refuses a filter without no_new_privs or "
                "CAP_SYS_ADMIN" + (" (the task's own no_new_privs does not help)" if nnp else ""),
                criu_error=f"seccomp: SECCOMP_SET_MODE_FILTER returned -13 on tid {proc.pid}",
                **where,
            )
        else:
            yield make(
                RULE,
                f"{proc_label(proc)}: seccomp mode {proc.seccomp_mode}"
                + (f" with {proc.seccomp_filters} filter(s)" if proc.seccomp_filters else "")
                + "; restored as dumped (the filters keep applying after the restore)",
                severity="info",
                criu_error="",
                fix="nothing to do",
                **where,
            )


RULE = Rule(
    code="CRI018",
    title="seccomp filters (CAP_SYS_ADMIN to restore)",
    category="security",
    severity="error",
    rationale=(
        "seccomp.img keeps every filter of every task. The restorer installs them again before it "
        "restores the task's credentials (installing a filter is privileged, and the filter could "
        "block the calls that follow), so it runs with criu's own credentials and without the task's "
        "no_new_privs. The kernel refuses a new filter (EACCES) unless the caller has no_new_privs "
        "or CAP_SYS_ADMIN: an unprivileged criu, which gets its capabilities from file "
        "capabilities and so cannot run with no_new_privs, cannot restore a filtered task."
    ),
    fix="restore as root or grant the restorer CAP_SYS_ADMIN",
    criu_error="seccomp: SECCOMP_SET_MODE_FILTER returned -13 on tid N",
    check=check,
)
