"""Process trees: sessions and groups inside the tree, a session leader outside it (--shell-job),
threads; and files: a deleted file kept open (a ghost) and a shared file mapping."""

from __future__ import annotations

from .lab import assert_agrees
from .probes import output_grows
from .programs import ghost, process_tree


def test_tree_with_sessions_groups_and_threads(lab):
    user = lab.criu.user
    tree = process_tree(lab, user, nnp=True)
    dump = lab.dump(tree.pid, "tree", user=user, data=[tree.data])
    assert len(dump.exes) == 4
    for restorer in (user, None):
        report, outcome = lab.judge(dump, tree.probe, user=restorer)
        assert_agrees(report, outcome)
        assert outcome.restored, outcome.describe()


def test_session_leader_outside_the_tree_needs_shell_job(lab):
    """The ticker's session and group leader is a shell that is not dumped: restored with --shell-job,
    criu gives the tree its own session; without it criu hangs waiting for a helper task."""
    user = lab.criu.user
    data = lab.mkdir("sj", owner=user)
    out = lab.file(data / "out", owner=user)
    ticker = lab.program("ticker.c")
    leader = lab.start(
        ["sh", "-c", f"{ticker} >>{out} 2>&1 </dev/null & echo $! > {data}/pid; exec sleep 600"],
        user=user,
        nnp=True,
        cwd=data,
    )
    pid = int(
        lab.wait_for(
            lambda: (data / "pid").read_text().strip() if (data / "pid").exists() else "", what="the ticker's pid"
        )
    )
    lab.wait_for(lambda: out.stat().st_size > 0, what="the ticker's first line")
    lab.adopt(leader)
    dump = lab.dump(pid, "shelljob-foreign-sid", user=user, flags=["--shell-job"], data=[data], then_kill=[leader])
    report, outcome = lab.judge(dump, output_grows(out), user=user, flags=["--shell-job"])
    assert_agrees(report, outcome)
    assert outcome.restored, outcome.describe()
    report, outcome = lab.judge(dump, output_grows(out), user=user, timeout=10)  # criu hangs: bounded
    assert_agrees(report, outcome)
    assert not outcome.restored
    assert "CRI003" in {f["code"] for f in report["findings"] if f["severity"] == "error"}


def test_ghost_file_and_file_mappings(lab):
    """A root task's deleted file is re-created in its root-owned directory: root only. The same
    program run by the test user in its own directory restores unprivileged."""
    for user in (None, lab.criu.user):
        job = ghost(lab, user, nnp=user is not None, name=f"ghost-{'root' if user is None else 'user'}")
        dump = lab.dump(job.pid, job.data.name, user=user, data=[job.data])
        restorers = [None, lab.criu.user] if user is None else [user]
        for restorer in restorers:
            report, outcome = lab.judge(dump, job.probe, user=restorer)
            assert_agrees(report, outcome)
            assert outcome.restored == (restorer is user), outcome.describe()
