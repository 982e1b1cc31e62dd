"""criu-inspect grep DIR PATTERN [--regex] [--pid N] [--context N] [--format text|json]

Exit 0 when the pattern was found, 1 when not (like grep), 2 on error.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="checkpoint directory")
    p.add_argument("pattern", help="text to look for (UTF-8), or a Python regular expression with --regex")
    p.add_argument("--regex", "-E", action="store_true", help="PATTERN is a regular expression (over bytes)")
    p.add_argument("--ignore-case", "-i", action="store_true", help="match without regard to case")
    p.add_argument("--pid", type=int, action="append", help="only the memory of this process (repeatable)")
    p.add_argument(
        "--context", "-C", type=int, default=32, metavar="N", help="bytes of hexdump around each hit (default 32)"
    )
    p.add_argument("--max-count", "-m", type=int, metavar="N", help="stop after N hits")
    p.add_argument("--format", choices=("text", "json"), default="text")


def run(args) -> int:
    import os

    from .. import memsearch, scanner

    if not args.regex and not args.pid and args.pattern and os.path.isdir(args.dir):
        memsearch.prefetch(args.dir, args.pattern, ignore_case=args.ignore_case)  # overlaps the imports below
    try:
        return _run(args)
    finally:
        scanner.end_prefetch()


def _run(args) -> int:
    from ..errors import InspectError
    from ..memsearch import hexdump, search
    from ..model import names
    from ..model.checkpoint import Checkpoint

    if args.context < 0:
        raise InspectError(None, "--context must be 0 or more")
    if not args.pattern:
        raise InspectError(None, "empty pattern")
    cp = Checkpoint(args.dir)
    known = {p.pid for p in cp.processes}
    for pid in args.pid or ():
        if pid not in known:
            raise InspectError(
                cp.shown_path, f"no process {pid} in this checkpoint (pids: {', '.join(map(str, sorted(known)))})"
            )
    comms = {p.pid: p.comm for p in cp.processes}
    hits = []
    out = sys.stdout
    for hit in search(
        cp, args.pattern, regex=args.regex, ignore_case=args.ignore_case, pids=args.pid, context=args.context
    ):
        hits.append(hit)
        if args.format == "text":
            v = hit.vma
            where = (
                f"{v.start:x}-{v.end:x} {names.prot_string(v.prot)} {hit.vma_label} +0x{hit.addr - v.start:x}"
                if v is not None
                else hit.vma_label
            )
            from_parent = " (page from the pre-dump parent)" if hit.where == "parent" else ""
            out.write(
                f"pid {hit.pid} ({comms.get(hit.pid, '')}) 0x{hit.addr:x} len {hit.length} in {where}{from_parent}\n"
            )
            if args.context or hit.length:
                for line in hexdump(hit.context, hit.context_start):
                    out.write("  " + line + "\n")
        if args.max_count and len(hits) >= args.max_count:
            break
    if args.format == "json":
        json.dump(
            {
                "checkpoint": cp.shown_path,
                "pattern": args.pattern,
                "regex": bool(args.regex),
                "count": len(hits),
                "hits": [h.to_dict() for h in hits],
            },
            out,
            indent=1,
        )
        out.write("\n")
    elif not hits:
        sys.stderr.write(f"criu-inspect: {args.pattern!r} not found in the memory of {len(known)} process(es)\n")
    return 0 if hits else 1
