"""criu's rc 0 is not "restored": programs that meet EINTR or a closed connection right after the restore.

check cannot tell from the images whether a program survives these (its own code decides), so it warns,
naming the fd; the real outcomes are recorded as known limits, not as agreements.
"""

from __future__ import annotations

from .probes import output_grows
from .programs import tail_follow
from .test_network import start_tcp_server


def warnings(report, code):
    return [f for f in report["findings"] if f["code"] == code and f["severity"] == "warning"]


def test_tail_follow_exits_on_eintr_after_a_successful_restore(lab):
    tail = tail_follow(lab)  # root: criu dumps inotify watches by file handle, which needs root
    dump = lab.dump(tail.pid, "tail-inotify", data=[tail.data])
    report, outcome = lab.judge(dump, tail.probe, known_limit="EINTR from poll() on an inotify fd (CRI029)")
    [warning] = warnings(report, "CRI029")
    assert warning["details"]["syscall"] == "poll" and warning["details"]["fds"] == [4]
    assert "fd 4 (INOTIFY)" in warning["message"] and report["verdict"] == "restorable"
    # the real outcome: criu says 0, tail dies of the EINTR within the settle time
    assert outcome.rc == 0 and not outcome.alive, outcome.describe()
    assert b"Interrupted system call" in tail.files["out"].read_bytes()


def test_tcp_close_client_exits_after_a_successful_restore(lab):
    port = start_tcp_server(lab)
    data = lab.mkdir("tcp-close")
    out = lab.file(data / "out")
    pid = lab.start([str(lab.program("tcp.c")), "client", str(port)], out=out, cwd=data)
    lab.wait_for(lambda: b"got pong" in out.read_bytes(), what="the client's first pong")
    dump = lab.dump(pid, "tcp-close", flags=["--tcp-established"], data=[data])
    report, outcome = lab.judge(
        dump, output_grows(out), flags=["--tcp-close"], known_limit="connection restored closed (--tcp-close, CRI012)"
    )
    [warning] = warnings(report, "CRI012")
    assert warning["fd"] == 3 and "restored closed" in warning["message"] and report["verdict"] == "restorable"
    assert outcome.rc == 0 and not outcome.restored, outcome.describe()
    assert b"write: Broken pipe" in out.read_bytes()  # its next write met the closed connection
