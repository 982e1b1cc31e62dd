"""The restore-target flags shared by ``check``, ``preflight``, ``scan``, ``export``, ``repair`` and ``tui``.

One definition of the flags, so the commands cannot drift apart; the
translation of the parsed flags to a ``Target`` is ``checks.targets.target_from_args``.
"""

from __future__ import annotations

import argparse

MANAGE_CGROUPS_MODES = ("ignore", "none", "props", "soft", "full", "strict")


def normalize_cap(name: str) -> str:
    """'net_admin', 'CAP_NET_ADMIN' and 'NET_ADMIN' all mean NET_ADMIN."""
    from ..model.names import CAP_BY_NAME

    upper = name.strip().upper()
    if upper.startswith("CAP_"):
        upper = upper[4:]
    if upper not in CAP_BY_NAME:
        raise argparse.ArgumentTypeError(f"unknown capability {name!r}")
    return upper


def add_target_arguments(p: argparse.ArgumentParser, multiple: bool = False) -> None:
    """The restore-target options; ``multiple``: --target repeatable, none given meaning both (scan)."""
    g = p.add_argument_group("restore target (where and how `criu restore` will run)")
    if multiple:
        g.add_argument(
            "--target",
            choices=("unprivileged", "root"),
            action="append",
            help="a target to give a verdict for (repeatable; default: unprivileged and root)",
        )
    else:
        g.add_argument(
            "--target",
            choices=("unprivileged", "root"),
            default="unprivileged",
            help="unprivileged: criu restore --unprivileged by a user holding CAP_CHECKPOINT_RESTORE (default); root",
        )
    g.add_argument("--uid", type=int, help="restoring user (default: the uid the dumped processes ran as)")
    g.add_argument("--gid", type=int, help="restoring group (default: the gid the dumped processes ran as)")
    g.add_argument(
        "--cap",
        action="append",
        type=normalize_cap,
        default=[],
        metavar="NAME",
        help="a capability the restorer holds besides CHECKPOINT_RESTORE (repeatable: --cap NET_ADMIN)",
    )
    term = g.add_mutually_exclusive_group()
    term.add_argument(
        "--terminal",
        dest="terminal",
        action="store_true",
        default=False,
        help="criu will run on a terminal it can hand to a --shell-job tree",
    )
    term.add_argument(
        "--no-terminal", dest="terminal", action="store_false", help="criu runs detached, as in a container (default)"
    )
    g.add_argument("--shell-job", action="store_true", help="criu restore --shell-job")
    g.add_argument("--file-locks", action="store_true", help="criu restore --file-locks")
    g.add_argument("--tcp-established", action="store_true", help="criu restore --tcp-established")
    g.add_argument("--tcp-close", action="store_true", help="criu restore --tcp-close")
    g.add_argument("--ext-unix-sk", action="store_true", help="criu restore --ext-unix-sk")
    g.add_argument(
        "--manage-cgroups",
        nargs="?",
        const="soft",
        choices=MANAGE_CGROUPS_MODES,
        metavar="MODE",
        help="criu restore --manage-cgroups[=MODE] (" + ", ".join(MANAGE_CGROUPS_MODES) + ")",
    )
    g.add_argument(
        "--cgroup-yard", metavar="DIR", help="criu restore --cgroup-yard DIR (cgroup controllers already mounted there)"
    )
    g.add_argument(
        "--inherit-fd",
        action="append",
        default=[],
        metavar="SPEC",
        help="criu restore --inherit-fd fd[N]:RESOURCE (repeatable)",
    )
    g.add_argument(
        "--external",
        action="append",
        default=[],
        metavar="SPEC",
        help="criu restore --external SPEC, e.g. mnt[KEY]:PATH for an external mount (repeatable)",
    )
    g.add_argument(
        "--skip-file-rwx-check",
        action="store_true",
        help="criu restore --skip-file-rwx-check (reopened files may differ in rwx bits)",
    )
    g.add_argument(
        "--target-cpu",
        metavar="FILE",
        help="a copy of the restoring machine's /proc/cpuinfo: CRI031 compares the CPU features the tasks "
        "used with it (with --host: this machine's)",
    )
    g.add_argument(
        "--criu", metavar="PATH", help="the criu binary that will restore (host checks; default: criu in PATH)"
    )
    g.add_argument("--root", metavar="DIR", help="criu restore --root DIR (host checks look up file paths under DIR)")
    g.add_argument(
        "--file-validation",
        choices=("buildid", "filesize"),
        default="buildid",
        help="criu restore --file-validation METHOD (default buildid: ELF build-ids must match)",
    )
