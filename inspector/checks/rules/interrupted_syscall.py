"""Tasks dumped inside a system call that returns EINTR once they are restored."""

from __future__ import annotations

import struct

from ..base import Rule
from ..facts import make, proc_label

# calls that wait on fds: whether a program survives EINTR there is its own business (a warning). Sleeps
# and futex waits are not reported: libc's sleep() returns early and pthread waits retry, which programs
# expect (every ticker, JVM and shell loop of the e2e suite went on).
FD_WAITS = {
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "read",
    "accept",
    "accept4",
}
MAX_POLLFDS = 64


def waited_fds(cp, proc, call) -> list[int]:
    """The fds a thread was waiting on, from its registers (and its pollfd array in memory)."""
    first, second, _ = call.args
    if call.name in ("poll", "ppoll"):
        count = min(second, MAX_POLLFDS)
        data = cp.page_reader(proc.pid).read(first, 8 * count)
        return sorted({fd for fd, _, _ in struct.iter_unpack("<ihh", data) if fd >= 0})
    if call.name in ("epoll_wait", "epoll_pwait", "epoll_pwait2", "read", "accept", "accept4"):
        return [first]
    return []


def _fd_text(proc, fds) -> str:
    by_fd = {f.fd: f for f in proc.fds}
    parts = []
    for n in fds:
        f = by_fd.get(n)
        parts.append(f"fd {n} ({f.type}{' ' + f.path if f.path else ''})" if f else f"fd {n}")
    return ", ".join(parts)


def check(cp, target):
    for proc in cp.processes:
        for call in (c for c in cp.interrupted_calls(proc) if c.name in FD_WAITS):
            who = proc_label(proc) + ("" if call.tid == proc.pid else f" thread {call.tid}")
            fds = waited_fds(cp, proc, call)
            on = f" on {_fd_text(proc, fds)}" if fds else ""
            yield make(
                RULE,
                f"{who} was blocked in {call.name}(){on} when dumped: restored, the call returns EINTR at once. "
                "A program that treats EINTR as fatal exits right after a restore criu reports as a success "
                "(tail -F: 'error waiting for inotify and output events: Interrupted system call'); one that "
                "retries goes on (tmux's server, in poll() too, did)",
                pid=proc.pid,
                image=f"core-{call.tid}.img",
                details={"tid": call.tid, "syscall": call.name, "fds": fds},
            )


RULE = Rule(
    code="CRI029",
    title="task restored inside an interrupted system call (EINTR)",
    category="process-tree",
    severity="warning",
    rationale=(
        "A task dumped while the kernel would restart its system call through a restart block (poll, "
        "nanosleep, futex waits with a timeout) is saved with -EINTR as the call's result (compel: \"Will "
        'restore PID with interrupted system call"), so the restored task sees the call fail with EINTR. '
        "criu restore returns 0 either way; whether the program survives is its own code: tail -F exits, "
        "tmux's server and sleep loops go on (end-to-end tests). A wait on fds is a warning that names the fds."
    ),
    fix="make sure the program retries a call that fails with EINTR, or restart it after the restore",
    criu_error="",
    check=check,
)
