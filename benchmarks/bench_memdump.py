"""Benchmark: ``memdump --format raw -o`` of a real 1 GiB process, beside ``cat`` and ``cp`` of its pages file.

The checkpoint is bench_secrets.py's (its ``make_checkpoint``: a python3 process that fills N MiB of
private anonymous memory from /dev/urandom, dumped by the project's CRIU, ``.criu/bin/criu``, as
root). The dump is of the one VMA that holds the N MiB (``--vma``), so the output is N MiB of
random bytes laid at their addresses. With the page cache warm, the commands take turns, ``--runs``
times each:

- ``criu-inspect memdump DIR --pid P --vma ADDR --format raw -o OUT`` (OUT removed before each run);
- ``criu-inspect memdump ... --format hex --range`` of the VMA's first 16 MiB, to /dev/null;
- yardsticks: ``cat pages-*.img > /dev/null`` (reading) and ``cp pages-N.img OUT`` (reading and writing).

Wall time is ``perf_counter`` around the child; peak RSS is GNU time's ``%M``. After the runs, the
raw output is compared with the page reader's bytes (``PageReader.read`` over the VMA, 1 MiB at a
time). Prints one JSON line and a Markdown table.

    python benchmarks/bench_memdump.py [--mib 1024] [--runs 3] [--out benchmarks/out] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from bench_secrets import CLI, CRIU, ROOT, make_checkpoint, timed  # one dump maker for both

HEX_MIB = 16


def biggest_vma(directory: Path) -> tuple[int, int, int]:
    """(pid, start, end) of the largest VMA of the checkpoint's one process: the N MiB the program filled."""
    from inspector.model.checkpoint import Checkpoint

    cp = Checkpoint(directory)
    proc = cp.processes[0]
    v = max(proc.vmas, key=lambda v: v.end - v.start)
    return proc.pid, v.start, v.end


def same_as_reader(directory: Path, pid: int, start: int, end: int, raw: Path) -> bool:
    from inspector.model.checkpoint import Checkpoint

    reader = Checkpoint(directory).page_reader(pid)
    step = 1 << 20
    with open(raw, "rb") as fh:
        for at in range(start, end, step):
            n = min(step, end - at)
            if fh.read(n) != reader.read(at, n):
                return False
        return fh.read(1) == b""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0 or not CRIU.exists():
        raise SystemExit("needs root and .criu/bin/criu (scripts/setup)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "inspector")], check=True)
    d = make_checkpoint(out, args.mib)
    pid, start, end = biggest_vma(d)
    pages = sorted(str(p) for p in d.glob("pages-*.img"))
    biggest_pages = max(pages, key=os.path.getsize)
    subprocess.run(["cat", *pages], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
    raw, copy = out / "memdump.raw", out / "pages.copy"
    commands = {
        "memdump_raw": [
            str(CLI),
            "memdump",
            str(d),
            "--pid",
            str(pid),
            "--vma",
            f"{start:x}",
            "--format",
            "raw",
            "-o",
            str(raw),
        ],
        "memdump_hex": [
            str(CLI),
            "memdump",
            str(d),
            "--pid",
            str(pid),
            "--range",
            f"{start:x}+{HEX_MIB << 20:x}",
        ],  # to a pipe that timed() reads to the end
        "cat": ["sh", "-c", 'cat "$@" > /dev/null', "cat", *pages],
        "cp": ["cp", biggest_pages, str(copy)],
    }
    times: dict[str, list[float]] = {k: [] for k in commands}
    rss: dict[str, int] = {}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            for f in (raw, copy):
                f.unlink(missing_ok=True)
            s, kb, _ = timed(cmd)
            times[name].append(s)
            rss[name] = max(rss.get(name, 0), kb)
    subprocess.run(commands["memdump_raw"], check=True)
    row = {
        "mib": args.mib,
        "vma_bytes": end - start,
        "pages_file_bytes": os.path.getsize(biggest_pages),
        "raw_equals_page_reader": same_as_reader(d, pid, start, end, raw),
    }
    for name in commands:
        row[f"{name}_s"] = round(statistics.median(times[name]), 3)
        row[f"{name}_min_s"] = round(min(times[name]), 3)
        row[f"{name}_rss_mib"] = round(rss[name] / 1024, 1)
    print(json.dumps(row), flush=True)
    for f in (raw, copy):
        f.unlink(missing_ok=True)
    if not args.keep:
        shutil.rmtree(d)
    print()
    print(
        f"| process | `memdump --format raw -o` | RSS | `memdump` hex, {HEX_MIB} MiB | RSS | `cat pages > /dev/null` "
        "| `cp pages` | bytes equal the page reader's |"
    )
    print("|---|---|---|---|---|---|---|---|")
    r = row
    print(
        f"| {r['mib']} MiB | {r['memdump_raw_s']} s ({r['memdump_raw_min_s']}) | {r['memdump_raw_rss_mib']} MiB "
        f"| {r['memdump_hex_s']} s | {r['memdump_hex_rss_mib']} MiB | {r['cat_s']} s ({r['cat_min_s']}) "
        f"| {r['cp_s']} s ({r['cp_min_s']}) | {r['raw_equals_page_reader']} |"
    )


if __name__ == "__main__":
    main()
