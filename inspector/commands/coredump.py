"""criu-inspect coredump DIR [--pid N] -o core.N [--force]

An ELF core file of one checkpointed process, for gdb and readelf. Written to a
temporary file beside OUT and renamed into place; an existing OUT is kept unless
--force; ``-o -`` streams to stdout (never to a terminal). Exit 0, or 2 on error.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="checkpoint directory")
    p.add_argument("--pid", type=int, help="the process (default: the only one of the checkpoint)")
    p.add_argument(
        "-o", "--out", required=True, metavar="OUT", help="the core file to write ('-': stdout, not a terminal)"
    )
    p.add_argument("--force", "-f", action="store_true", help="replace OUT if it exists (atomically)")


def run(args) -> int:
    from .. import coredump
    from ..errors import InspectError
    from ..model import names
    from ..model.checkpoint import Checkpoint

    to_stdout = args.out == "-"
    if to_stdout and sys.stdout.isatty():
        raise InspectError(None, "refusing to write a core file to a terminal: name a file with -o, or redirect stdout")
    if not to_stdout:
        from ..safeio import check_output

        check_output(args.out, replace=args.force)
    cp = Checkpoint(args.dir)
    pid = args.pid
    if pid is None:
        pids = [p.pid for p in cp.processes]
        if len(pids) != 1:
            raise InspectError(
                cp.shown_path, f"{len(pids)} processes: say which with --pid ({', '.join(map(str, pids))})"
            )
        pid = pids[0]
    plan = coredump.plan(cp, pid)
    if to_stdout:
        coredump.write(plan, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        _write_file(args.out, plan, args.force)
    report = sys.stderr if to_stdout else sys.stdout
    shown = "stdout" if to_stdout else args.out
    proc = plan.process
    segs = len(plan.segments)
    report.write(
        f"wrote {shown}: pid {pid} ({proc.comm}), {len(plan.threads)} thread(s), {len(proc.vmas)} VMAs in "
        f"{segs} PT_LOAD segment(s), {_size(plan.bytes_from_images)} of memory from the images, "
        f"file {_size(plan.size)}\n"
    )
    if plan.empty_vmas:
        report.write(
            f"{len(plan.empty_vmas)} VMA(s) with no pages in the images (no bytes in the core: gdb reads a "
            "file-backed one from its file, named in NT_FILE, and others as zeros):\n"
        )
        from ..memsearch import vma_label

        for v in plan.empty_vmas:
            report.write(f"  {v.start:x}-{v.end:x} {names.prot_string(v.prot)} {vma_label(proc, v)}\n")
    if plan.lazy_pages:
        report.write(f"{plan.lazy_pages} lazy page(s) (left to a lazy-pages server) are not in the images: zeros\n")
    return 0


def _size(n: int) -> str:
    size: float = n
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def _write_file(out: str, plan, force: bool) -> None:
    """Atomically and sparse; 0600 as the kernel's own core files (fs/coredump.c), since a core holds secrets."""
    from .. import coredump
    from ..safeio import write_atomic

    write_atomic(out, lambda fh: coredump.write(plan, fh, sparse=True), replace=force, private=True)
