"""seccomp filters: installing them needs no_new_privs or CAP_SYS_ADMIN."""

from __future__ import annotations

from ..base import Rule
from ..facts import has_cap, make, proc_label


def check(cp, target):
    for proc in cp.processes:
        if proc.seccomp_mode == "disabled":
            continue
        nnp = proc.creds is not None and proc.creds.no_new_privs
        where = dict(pid=proc.pid, image="seccomp.img",
                     details={"mode": proc.seccomp_mode, "filters": proc.seccomp_filters, "no_new_privs": nnp})
        if proc.seccomp_mode == "filter" and not nnp and not has_cap(target, "SYS_ADMIN"):
            yield make(
                RULE,
                f"{proc_label(proc)} runs under {proc.seccomp_filters or 'its'} seccomp filter(s) without "
                "no_new_privs; the restorer re-installs them with seccomp(SECCOMP_SET_MODE_FILTER), which "
                "the kernel allows only with no_new_privs or CAP_SYS_ADMIN",
                **where,
            )  # fmt: skip
        else:
            yield make(
                RULE,
                f"{proc_label(proc)}: seccomp mode {proc.seccomp_mode}"
                + (f" with {proc.seccomp_filters} filter(s)" if proc.seccomp_filters else "")
                + "; restored as dumped (the filters keep applying after the restore)",
                severity="info", criu_error="", fix="nothing to do", **where,
            )  # fmt: skip


RULE = Rule(
    code="CRI018",
    title="seccomp filters (need no_new_privs or CAP_SYS_ADMIN)",
    category="security",
    severity="error",
    rationale=(
        "seccomp.img keeps every filter of every task. The restorer installs them again right before "
        "the task resumes. The kernel refuses a new filter (EACCES) unless the task has no_new_privs "
        "or CAP_SYS_ADMIN in its user namespace: a task that got its filter from a privileged parent "
        "without no_new_privs cannot be restored unprivileged."
    ),
    fix="grant the restorer CAP_SYS_ADMIN, restore as root, or criu-inspect repair --fix no-new-privs",
    criu_error="seccomp: Failed to restore filter: -13 (EACCES)",
    check=check,
)
