"""CheckReports built straight from rules and findings (no engine), for renderer and suppression tests.

The facts come from the real corpus checkpoint ``plain``: its fds 1 and 2 are
root-owned files opened for writing (``$WORK/data/plain/out`` and ``err``) and
its task runs as uid 0, which is what blocked its unprivileged restore
(MANIFEST: "Can't open file $WORK/data/plain/out on restore: Permission denied").
"""

from __future__ import annotations

from inspector.checks.base import CheckReport, Finding, Rule, Target
from inspector.model.checkpoint import Checkpoint


def _writable_fds(cp, target):
    for proc in cp.processes:
        for fd in proc.fds:
            if fd.type == "REG" and fd.open_flags is not None and fd.open_flags & 3 and fd.path.startswith("/tmp/"):
                yield Finding(
                    code=WRITE_RULE.code,
                    title=WRITE_RULE.title,
                    category=WRITE_RULE.category,
                    severity="error",
                    message=f"pid {proc.pid} ({proc.comm}) fd {fd.fd}: {fd.path} is opened for writing",
                    fix=WRITE_RULE.fix,
                    pid=proc.pid,
                    fd=fd.fd,
                    image="files.img",
                    criu_error=f"Can't open file {fd.path} on restore: Permission denied",
                )


def _uid0(cp, target):
    for proc in cp.processes:
        if proc.creds and proc.creds.uid == 0:
            yield Finding(
                code=UID_RULE.code,
                title=UID_RULE.title,
                category=UID_RULE.category,
                severity="warning",
                message=f"pid {proc.pid} ({proc.comm}) runs as uid {proc.creds.uid}",
                fix=UID_RULE.fix,
                pid=proc.pid,
                image=f"core-{proc.pid}.img",
            )


WRITE_RULE = Rule(
    code="TST001",
    title="file opened for writing",
    category="files",
    severity="error",
    rationale="criu reopens each file with its dumped flags as the restoring user.",
    fix="Make the file writable by the restoring user, or restore as root.",
    check=_writable_fds,
    criu_error="Can't open file %s on restore: Permission denied",
)
UID_RULE = Rule(
    code="TST002",
    title="task runs as root",
    category="credentials",
    severity="warning",
    rationale="An unprivileged restorer cannot set uid 0.",
    fix="Restore as root.",
    check=_uid0,
)
QUIET_RULE = Rule(
    code="TST003",
    title="never fires",
    category="misc",
    severity="info",
    rationale="A rule that found nothing still shows up (as a passed testcase).",
    fix="Nothing to do.",
    check=lambda cp, target: iter(()),
)
RULES = [WRITE_RULE, UID_RULE, QUIET_RULE]


def report_for(path, rules=RULES, target: Target | None = None, fail_on: str = "error") -> CheckReport:
    target = target or Target(uid=1001)
    cp = Checkpoint(path)
    findings = [f for r in rules for f in r.check(cp, target)]
    return CheckReport(checkpoint=str(path), target=target, findings=findings, rules=list(rules), fail_on=fail_on)
