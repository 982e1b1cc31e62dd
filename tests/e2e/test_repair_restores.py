"""Every repair fix, restored for real: repair a blocked checkpoint, `check OUT` for the target, restore OUT
unprivileged with no terminal, and the verdict must be the real outcome, with the program running as the
repair made it (its uid, its fds, its cgroup, its memory)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .lab import Dump, assert_agrees
from .probes import all_of, output_grows, runs_as
from .programs import devnull_ticker, http_server, on_pty, ticker


def user_copy(lab, dump: Dump, data: Path, user) -> Path:
    """The data files as they were at the dump, copied into a directory the user owns (for relocate)."""
    copy = lab.mkdir(data.name + "-copy", owner=user)
    for f in data.iterdir():
        if f.is_file():
            shutil.copy2(f, copy / f.name)
            os.truncate(copy / f.name, dump.sizes[f])
            os.chown(copy / f.name, user.uid, user.gid)
            dump.sizes[copy / f.name] = dump.sizes[f]
    return copy


def verdict_codes(report, severity="error"):
    return {f["code"] for f in report["findings"] if f["severity"] == severity}


def test_uid_alone_leaves_root_files_and_relocate_restores(lab):
    """The false "restorable" real CRIU found: after uid + bounding-set the log is still root's."""
    user = lab.criu.user
    server = http_server(lab)
    dump = lab.dump(server.pid, "http-root", data=[server.data])

    out = lab.repair(dump, "uid-only", f"uid={user.uid}:{user.gid}", "bounding-set")
    report, outcome = lab.judge(dump, server.probe, user=user, images=out)
    assert_agrees(report, outcome)
    assert "Permission denied" in outcome.why and verdict_codes(report) == {"CRI008"}

    copy = user_copy(lab, dump, server.data, user)
    out = lab.repair(
        dump, "uid-relocate", f"uid={user.uid}:{user.gid}", "bounding-set", f"relocate={server.data}:{copy}"
    )
    report, outcome = lab.judge(dump, all_of(server.probe, runs_as(dump.pid, user.uid)), user=user, images=out)
    assert_agrees(report, outcome)
    assert outcome.restored, outcome.describe()
    assert (copy / "server.log").stat().st_size > dump.sizes[copy / "server.log"]  # it logs to the copy now


def test_uid_on_a_root_task_with_no_files_to_write(lab):
    user = lab.criu.user
    pid = devnull_ticker(lab).pid  # stdio /dev/null, like the corpus's plain-devnull
    dump = lab.dump(pid, "devnull-root")
    report, outcome = lab.judge(dump, runs_as(pid, 0), user=user)
    assert_agrees(report, outcome)
    assert not outcome.restored and "CRI005" in verdict_codes(report)
    out = lab.repair(dump, "uid", f"uid={user.uid}", "bounding-set")
    report, outcome = lab.judge(dump, runs_as(pid, user.uid), user=user, images=out)
    assert_agrees(report, outcome)
    assert outcome.restored, outcome.describe()


def test_detach_tty_restores_a_shell_job_with_no_terminal(lab):
    for who in ("user", "root"):
        user = lab.criu.user
        job = on_pty(lab, user if who == "user" else None, nnp=who == "user")
        dump = lab.dump(
            job.pid, f"tty-{who}", user=user if who == "user" else None, flags=["--shell-job"], data=[job.data]
        )
        sink = lab.file(lab.mkdir(f"detached-{who}", owner=user) / "out", owner=user)
        dump.sizes[sink] = 0
        fixes = [f"detach-tty={sink}"] + ([] if who == "user" else [f"uid={user.uid}", "bounding-set"])
        out = lab.repair(dump, f"detach-{who}", *fixes)
        report, outcome = lab.judge(
            dump, all_of(output_grows(sink), runs_as(dump.pid, user.uid)), user=user, images=out
        )
        assert_agrees(report, outcome)
        assert outcome.restored, outcome.describe()


def test_no_new_privs_or_a_full_bounding_set(lab):
    user = lab.criu.user
    job = ticker(lab, user, nnp=False)
    dump = lab.dump(job.pid, "ticker-no-nnp", user=user, data=[job.data])
    report, outcome = lab.judge(dump, job.probe, user=user)
    assert_agrees(report, outcome)
    assert not outcome.restored and "CRI007" in verdict_codes(report)
    for fix in ("no-new-privs", "bounding-set"):
        out = lab.repair(dump, fix, fix)
        report, outcome = lab.judge(dump, job.probe, user=user, images=out)
        assert_agrees(report, outcome)
        assert outcome.restored, (fix, outcome.describe())


def test_cgroup_root_lets_an_unprivileged_restore_skip_the_cgroups(lab):
    user = lab.criu.user
    group = lab.cgroup()
    job = ticker(lab, None, name="cgroup")
    (group / "cgroup.procs").write_text(str(job.pid))
    dump = lab.dump(job.pid, "cgroup", data=[job.data])
    assert (dump.images / "cgroup.img").exists()

    report, outcome = lab.judge(dump, job.probe)  # root: criu puts it back in its cgroup
    assert_agrees(report, outcome)
    assert outcome.restored, outcome.describe()
    report, outcome = lab.judge(dump, job.probe, user=user)
    assert_agrees(report, outcome)
    assert "cgyard" in outcome.why and "CRI004" in verdict_codes(report)

    copy = user_copy(lab, dump, job.data, user)
    out = lab.repair(
        dump, "cgroup-root", "cgroup-root", f"uid={user.uid}", "bounding-set", f"relocate={job.data}:{copy}"
    )
    report, outcome = lab.judge(
        dump, all_of(output_grows(copy / "out"), runs_as(job.pid, user.uid)), user=user, images=out
    )
    assert_agrees(report, outcome)
    assert outcome.restored, outcome.describe()


def test_scrub_secrets_restores_without_the_secret(lab):
    user = lab.criu.user
    secret = "hunter2-" + os.urandom(8).hex()
    job = ticker(lab, user, nnp=True, name="secret", env={"DB_PASSWORD": secret})
    dump = lab.dump(job.pid, "secret", user=user, data=[job.data])
    report = lab.check(dump.images, "--uid", str(user.uid))
    assert "CRI050" in verdict_codes(report, "warning")
    out = lab.repair(dump, "scrubbed", "scrub-secrets")

    def scrubbed(term) -> str:
        environ = Path(f"/proc/{job.pid}/environ").read_bytes()
        if secret.encode() in environ or b"DB_PASSWORD=" not in environ:
            return f"the restored environment is not the scrubbed one: {environ[:200]!r}"
        return ""

    report, outcome = lab.judge(dump, all_of(job.probe, scrubbed), user=user, images=out)
    assert_agrees(report, outcome)
    assert outcome.restored, outcome.describe()


def test_repair_of_an_archive_restores(lab):
    """repair reads an archive (as podman or the kubelet export one) and writes OUT as a directory: restored
    for real, unprivileged, running as the uid the repair gave it."""
    import tarfile

    user = lab.criu.user
    pid = devnull_ticker(lab).pid
    dump = lab.dump(pid, "devnull-archived")
    archive = lab.dir / "devnull-archived.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(dump.images, "checkpoint")
    out = lab.dir / "repaired" / "from-archive"
    out.parent.mkdir(exist_ok=True)
    out.parent.chmod(0o755)
    r = lab.inspect("repair", archive, "-o", out, "--fix", f"uid={user.uid}", "--fix", "bounding-set")
    assert r.returncode in (0, 1) and out.is_dir(), r.stderr
    report, outcome = lab.judge(dump, runs_as(pid, user.uid), user=user, images=out)
    assert_agrees(report, outcome)
    assert outcome.restored, outcome.describe()
