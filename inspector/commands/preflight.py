"""criu-inspect preflight DIR [the target options of check]: ``check --host`` on the restoring machine.

Runs every rule, plus those that look at this host: pids already in use,
set_tid / ns_last_pid, the criu binary and its capabilities, the kernel, the
files the processes had open or mapped, cgroup v2 delegation.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .check import add_arguments as add_check_arguments

    add_check_arguments(p)
    p.set_defaults(host=True)
    host_flag = p._option_string_actions.get("--host")  # always on here: keep it out of the help
    if host_flag is not None:
        host_flag.help = argparse.SUPPRESS


def run(args) -> int:
    from .check import run as run_check

    args.host = True
    return run_check(args)
