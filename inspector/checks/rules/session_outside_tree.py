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
                "without --shell-job criu tries to recreate that session and the restore hangs",
                pid=root.pid, image="pstree.img",
                criu_error=(
                    f"The root process {root.pid} is not a session leader. Consider using --shell-job "
                    "(restore without it hangs in 'Restoring children in our session')"
                ),
                details={"sid": root.sid, "pgid": root.pgid},
            )  # fmt: skip
    for proc in procs[1:]:
        for kind, value, inherited in (("sid", proc.sid, root.sid), ("pgid", proc.pgid, root.pgid)):
            if value in pids or value == inherited:
                continue
            yield make(
                RULE,
                f"{proc_label(proc)} has {kind} {value}, whose leader is not in the checkpoint and is not "
                "the root task's: criu cannot recreate a session or group without its leader",
                pid=proc.pid, image="pstree.img",
                fix="dump the tree from the session leader (criu dump -t LEADER)",
                criu_error=None, details={kind: value},
            )  # fmt: skip


RULE = Rule(
    code="CRI003",
    title="session or process group leader outside the dumped tree",
    category="process-tree",
    severity="error",
    rationale=(
        "criu restores sessions and process groups by making their leaders call setsid()/setpgid(). "
        "A root task that is not its session leader (a job started from a shell, dumped with "
        "--shell-job) can only be restored into criu's own session, which --shell-job asks for; "
        "without it criu creates helper tasks for the foreign session and the restore hangs. Other "
        "tasks whose session or group leader was not dumped cannot be restored at all."
    ),
    fix="restore with --shell-job",
    criu_error="The root process N is not a session leader. Consider using --shell-job",
    check=check,
)
