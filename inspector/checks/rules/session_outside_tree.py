"""Session or process group leaders that are not in the checkpoint."""

from __future__ import annotations

from ..base import Rule
from ..facts import make, proc_label


def check(cp, target):
    procs = cp.processes
    if not procs:
        return
    root = procs[0]
    pids = {p.pid for p in procs}
    if root.sid != root.pid or (root.pgid != root.pid and root.pgid not in pids):
        if not target.shell_job:
            what = "not a session leader" if root.sid != root.pid else "in a process group led from outside the tree"
            yield make(
                RULE,
                f"root task {proc_label(root)} is {what} (sid {root.sid}, pgid {root.pgid}, neither dumped): "
                "without --shell-job criu adds a helper task to recreate that session and the restore hangs "
                "(its log stops after 'Restoring children in our session')",
                pid=root.pid,
                image="pstree.img",
                criu_error="",  # no error line: the restore hangs (corpus sj-noflag, killed after 60 s)
                details={"sid": root.sid, "pgid": root.pgid},
            )
    for proc in procs[1:]:
        for kind, value, inherited in (("sid", proc.sid, root.sid), ("pgid", proc.pgid, root.pgid)):
            if value in pids or value == inherited:
                continue
            what = "session" if kind == "sid" else "process group"
            yield make(
                RULE,
                f"{proc_label(proc)} has {kind} {value}, whose leader is not in the checkpoint and is not "
                f"the root task's: criu adds a helper task with pid {value} that creates the {what} and exits, "
                f"so pid {value} must be free on the target",
                severity="warning",
                pid=proc.pid,
                image="pstree.img",
                fix=f"keep pid {value} free where the checkpoint is restored (check --host reports pids in use), "
                "or dump the tree from the leader (criu dump -t LEADER)",
                criu_error="",
                details={kind: value},
            )


RULE = Rule(
    code="CRI003",
    title="session or process group leader outside the dumped tree",
    category="process-tree",
    severity="error",
    rationale=(
        "criu restores sessions and process groups by making their leaders call setsid()/setpgid(). "
        "A root task that is not its session leader (a job started from a shell, dumped with "
        "--shell-job) can only be restored into criu's own session, which --shell-job asks for; "
        "without it criu creates helper tasks for the foreign session and the restore hangs. For other "
        "tasks whose session or group leader was not dumped criu adds a helper task with the leader's "
        "pid that creates the session or group and exits (a warning: that pid must be free)."
    ),
    fix="restore with --shell-job",
    criu_error=None,
    check=check,
)
