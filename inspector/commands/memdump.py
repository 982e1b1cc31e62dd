"""criu-inspect memdump DIR --pid N [--vma ADDR | --range A-B] [--prot rwx] [--format hex|raw] [-o FILE]

One process's memory as a hexdump -C listing (VMA by VMA, saying where absent pages went) or as raw
bytes (offset = address - start of the selection, absent pages as zeros). Streams in bounded memory.
"""

from __future__ import annotations

import argparse
import io
import os
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="checkpoint directory (or container checkpoint, archive)")
    p.add_argument(
        "--pid", type=int, help="the process whose memory to dump (required; without it, the pids are listed)"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--vma", metavar="ADDR", help="only the VMA that contains ADDR (hex, e.g. 7f12a000 or 0x7f12a000)"
    )
    where.add_argument("--range", metavar="A-B", help="only addresses A to B (B exclusive; or A+LENGTH), VMAs clipped")
    p.add_argument(
        "--prot", metavar="rwx", help="only VMAs with this protection: r-x exactly, or rw meaning at least r and w"
    )
    p.add_argument(
        "--format",
        choices=("hex", "raw"),
        default="hex",
        help="hex: hexdump -C listing with notes (default); raw: the bytes, offset = address - start",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE (atomically: a temporary file put in place; mode 0600)"
    )
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")


def run(args) -> int:
    from ..errors import InspectError
    from ..memdump import parse_address, parse_range, raw_span, select
    from ..model.checkpoint import Checkpoint

    vma_addr = parse_address(args.vma) if args.vma is not None else None
    addr_range = parse_range(args.range) if args.range is not None else None
    if args.prot is not None:
        from ..memdump import prot_filter

        prot_filter(args.prot)  # a bad --prot is an error before the checkpoint is opened
    if args.format == "raw" and not args.output and sys.stdout.isatty():
        raise InspectError(None, "raw memory is not for a terminal: give -o FILE, or pipe it (| xxd, > FILE)")
    cp = Checkpoint(args.dir)
    if args.pid is None:  # checkpointctl's memparse prints its size table here: say where that is
        pids = ", ".join(str(p.pid) for p in cp.processes[:20]) + (", ..." if len(cp.processes) > 20 else "")
        raise InspectError(None, f"give --pid N, one of {pids} (criu-inspect show DIR mem: their memory sizes)")
    areas = select(cp, args.pid, vma_addr=vma_addr, addr_range=addr_range, prot=args.prot)
    args.addr_range = addr_range
    if args.format == "raw":
        raw_span(areas, addr_range)  # refuse an absurd span before any file is made
    if args.output:
        from ..safeio import check_output, write_atomic

        _refuse_input_dir(cp, args.output)
        check_output(args.output, replace=args.force)
        # 0600, as the kernel's core files: a process's memory holds its secrets
        write_atomic(
            args.output, lambda fh: _emit(cp, args, areas, fh.fileno(), True), replace=args.force, private=True
        )
    else:
        _emit(cp, args, areas, _stdout(args.format), seekable=False)
    return 0


def _stdout(fmt: str):
    """stdout's file descriptor (large dumps are written with os.write, no copies); a caller's stream in process."""
    try:
        sys.stdout.flush()
        return sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation: a StringIO, tests, the fuzz harness
        binary = getattr(sys.stdout, "buffer", None)
        if binary is not None:
            return binary
        if fmt == "raw":
            from ..errors import InspectError

            raise InspectError(None, "raw memory needs a binary stdout: give -o FILE") from None
        return sys.stdout


def _emit(cp, args, areas, fd: int, seekable: bool) -> None:
    from ..errors import InspectError
    from ..memdump import hex_lines, write_raw

    if args.format == "raw":
        write_raw(cp, args.pid, areas, fd, seekable=seekable, addr_range=args.addr_range)
        return
    batch: list[str] = []
    size = 0
    try:
        for line in hex_lines(cp, args.pid, areas):
            batch.append(line)
            size += len(line)
            if size >= 1 << 18:
                _write(fd, "\n".join(batch) + "\n")
                batch, size = [], 0
    except InspectError:
        if batch:  # what was read before a damaged pages file, then its one error line
            _write(fd, "\n".join(batch) + "\n")
        raise
    if batch:
        _write(fd, "\n".join(batch) + "\n")


def _write(out, text: str) -> None:
    if isinstance(out, int):
        view = memoryview(text.encode("utf-8", "surrogateescape"))
        while view:
            view = view[os.write(out, view) :]
    elif isinstance(out, io.TextIOBase):
        out.write(text)
    else:
        out.write(text.encode("utf-8", "surrogateescape"))


def _refuse_input_dir(cp, output: str) -> None:
    """Inputs are read-only: an output into the checkpoint directory (or its parent chain) is refused."""
    from ..errors import InspectError

    folder = os.path.realpath(os.path.dirname(os.path.abspath(output)))
    for path in [cp.path, *cp.parent_chain()]:
        if folder == os.path.realpath(path):
            raise InspectError(output, "is inside the checkpoint being read: write the dump somewhere else")
