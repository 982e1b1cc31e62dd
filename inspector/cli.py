"""criu-inspect command line: argument parsing and dispatch only.

Each command lives in ``inspector/commands/<name>.py`` with ``add_arguments``
and ``run``; this module imports a command's module only to build its parser
(cheap: no protobuf, rich, pandas or textual at import time) and runs it.
Exit codes: 0 clean, 1 findings/differences, 2 error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# name -> (module, one-line help). Order is the order of --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "show": ("inspector.commands.show", "show a checkpoint: header, process tree, fds (default command)"),
    "decode": ("inspector.commands.decode", "print one image file as crit-compatible JSON"),
    "encode": ("inspector.commands.encode", "write an image file from decode's JSON (the inverse of decode)"),
    "check": ("inspector.commands.check", "flag restore blockers for a target (CI gate)"),
    "preflight": ("inspector.commands.preflight", "check a checkpoint against this host (same as check --host)"),
    "rules": ("inspector.commands.rules", "list the check rules"),
    "rule": ("inspector.commands.rule", "print the documentation page of one rule"),
    "grep": ("inspector.commands.grep", "search the memory of the checkpointed processes"),
    "memdump": (
        "inspector.commands.memdump",
        "dump one process's memory (hexdump or raw), filtered by VMA, range, protection",
    ),
    "coredump": ("inspector.commands.coredump", "write an ELF core file of a checkpointed process, for gdb"),
    "diff": ("inspector.commands.diff", "compare two checkpoints, down to memory pages"),
    "repair": ("inspector.commands.repair", "write a corrected copy of a checkpoint"),
    "tui": ("inspector.commands.tui", "browse a checkpoint (or two) interactively"),
    "scan": ("inspector.commands.scan", "check many checkpoints (folders, archives, URLs): one row each; a fleet gate"),
    "export": (
        "inspector.commands.export",
        "write a checkpoint's tables (processes, fds, VMAs, ...) as CSV/parquet/JSONL",
    ),
}

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other error
        self.print_usage(sys.stderr)
        sys.stderr.write(f"criu-inspect: error: {message}\n")
        sys.exit(EXIT_ERROR)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="criu-inspect",
        description="Decode, check, diff and repair CRIU checkpoints before they ship.",
        epilog="criu-inspect DIR is short for criu-inspect show DIR. Exit codes: 0 ok, 1 findings/differences, 2 error.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"criu-inspect {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or only == name:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                continue
            module.add_arguments(p)
            p.set_defaults(_module=module_name)
    return parser


def _normalize(argv: list[str]) -> list[str]:
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        return ["show", *argv]
    return argv


def _terminate(signo, frame):
    raise SystemExit(128 + signo)  # unwinds like Ctrl-C: temporary directories and half-written outputs go


def _exit_on_sigterm() -> None:
    """SIGTERM (kill, a CI timeout) or SIGHUP (the terminal closed) would end the process at once, leaving
    extractions and partial copies (a half-written core holds the process's memory)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for signo in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signo) is signal.SIG_DFL:  # nohup's SIG_IGN stays
            signal.signal(signo, _terminate)


def main(argv: list[str] | None = None) -> int:
    try:
        _exit_on_sigterm()
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C at any point, imports included: no traceback
        sys.stderr.write("criu-inspect: interrupted\n")
        return 130


def _main(argv: list[str] | None) -> int:
    argv = _normalize(list(sys.argv[1:] if argv is None else argv))
    only = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(only)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_ERROR
    if not hasattr(args, "_module"):
        sys.stderr.write(f"criu-inspect: error: command {args.command} is not available in this build\n")
        return EXIT_ERROR
    module = importlib.import_module(args._module)
    try:
        return _run(module, args)
    finally:
        source = sys.modules.get("inspector.source")  # imported only if the command read a checkpoint
        if source is not None:
            source.remove_extractions()


def _run(module, args) -> int:
    from .errors import InspectError

    try:
        code = module.run(args)
        sys.stdout.flush()
        return code
    except InspectError as exc:
        sys.stderr.write(f"criu-inspect: error: {exc.one_line()}\n")
        return EXIT_ERROR
    except BrokenPipeError:
        # `| head` closed the pipe: end quietly, like a well-behaved filter
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except MemoryError:
        sys.stderr.write("criu-inspect: error: out of memory\n")
        return EXIT_ERROR
    except Exception as exc:  # a bug or an input we did not foresee: still one line
        if os.environ.get("CRIU_INSPECT_DEBUG"):
            raise
        sys.stderr.write(f"criu-inspect: error: internal error: {type(exc).__name__}: {exc}\n")
        return EXIT_ERROR


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
