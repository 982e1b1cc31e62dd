"""Benchmark: the page diff of `criu-inspect diff` against `cmp -l A B | wc -l`.

Builds two checkpoints with N GiB of pages each from a real checkpoint of the
corpus (pair-1): its images are copied, its mm gets extra anonymous VMAs of 64
MiB and its pagemap present runs covering them (2048 pages a run, one page hole
between runs), and its pages file grows by the real pages tiled over and over
(each page stamped with its index, so no two are alike). Side B is the same
with about 5% of the pages changed (16 bytes each, at random places). Then,
with the page cache warm:

- `cmp -l A/pages-1.img B/pages-1.img | wc -l`, the practical floor (no attribution);
- the page diff alone (``diff_checkpoints`` in a fresh process, after imports), time and peak RSS;
- the whole command, `criu-inspect diff A B --format json > /dev/null`, time and peak RSS.

Usage: python benchmarks/bench_diff.py [--sizes 1,4] [--out benchmarks/out] [--keep]
The files are removed afterwards unless --keep. Run it on a quiet machine: the
4 GiB case writes 8 GiB and reads it several times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspector.codec.image import open_image  # noqa: E402
from inspector.model.names import PAGE_SIZE, PE_PRESENT  # noqa: E402
from inspector.pages import effective_flags, page_count  # noqa: E402

CORPUS = Path(os.environ.get("CRIU_INSPECT_CORPUS", ROOT / "sample-images"))
SOURCE = "pair-1"
PID = 24822
VMA_BYTES = 64 << 20
RUN_PAGES = 2048
BASE = 0x7E0000000000
BLOCK = 64 << 20


def _source_dir() -> Path:
    for base in (CORPUS, ROOT / "sample-images"):
        if (base / SOURCE).is_dir():
            return base / SOURCE
    sys.exit(f"bench_diff: the real checkpoint {SOURCE} is not available")


def build_pair(
    out: Path, gib: int, changed: float, seed: int = 1, run_pages: int = RUN_PAGES
) -> tuple[Path, Path, int]:
    """Two checkpoints of ``gib`` GiB of extra pages; returns (A, B, pages changed)."""
    import numpy as np

    src = _source_dir()
    a, b = out / f"diff-{gib}g-a", out / f"diff-{gib}g-b"
    for d in (a, b):
        if d.exists():
            shutil.rmtree(d)
        shutil.copytree(src, d)
        for p in [d, *d.iterdir()]:
            p.chmod(p.stat().st_mode | 0o200)

    nvmas = gib * (1 << 30) // VMA_BYTES
    # mm: extra anonymous rw- VMAs, templated on a real one
    mm = open_image(a / f"mm-{PID}.img")
    entry = mm.entries[0]
    msg = entry.message
    template = next(v for v in msg.vmas if v.prot == 3 and v.flags == 0x22)
    for i in range(nvmas):
        v = msg.vmas.add()
        v.CopyFrom(template)
        v.start = BASE + i * (VMA_BYTES + PAGE_SIZE)
        v.end = v.start + VMA_BYTES
    entry.set_message(msg)
    mm_bytes = mm.encode()

    # pagemap: present runs over the new VMAs (a one-page hole between runs)
    pm = open_image(a / f"pagemap-{PID}.img")
    last = pm.entries[-1]
    base_offset = (
        sum(page_count(e.message) for e in pm.entries[1:] if effective_flags(e.message) & PE_PRESENT) * PAGE_SIZE
    )
    new_runs = []
    for i in range(nvmas):
        start = BASE + i * (VMA_BYTES + PAGE_SIZE)
        page = 0
        per_vma = VMA_BYTES // PAGE_SIZE
        while page < per_vma:
            n = min(run_pages, per_vma - page)
            new_runs.append((start + page * PAGE_SIZE, n))
            page += n + 1
    entries = list(pm.entries)
    for vaddr, n in new_runs:
        m = type(last.message)()
        m.CopyFrom(last.message)
        m.vaddr, m.nr_pages, m.flags = vaddr, n, PE_PRESENT
        e = type(last)(len(entries), 0, b"", message_type=last.message_type, path=last.path)
        e.set_message(m)
        entries.append(e)
    pm._entries = entries
    pm_bytes = pm.encode()
    for d in (a, b):
        (d / f"mm-{PID}.img").write_bytes(mm_bytes)
        (d / f"pagemap-{PID}.img").write_bytes(pm_bytes)

    # pages: the real pages tiled, each stamped with its index; B has `changed` of them altered
    real = np.frombuffer((src / "pages-1.img").read_bytes(), dtype=np.uint8).reshape(-1, PAGE_SIZE)
    total_pages = sum(n for _, n in new_runs)
    rng = np.random.default_rng(seed)
    flip = np.zeros(total_pages, dtype=bool)
    flip[rng.choice(total_pages, int(total_pages * changed), replace=False)] = True
    per_block = BLOCK // PAGE_SIZE
    with open(a / "pages-1.img", "ab") as fa, open(b / "pages-1.img", "ab") as fb:
        assert fa.tell() == base_offset
        for first in range(0, total_pages, per_block):
            n = min(per_block, total_pages - first)
            idx = np.arange(first, first + n)
            block = real[idx % len(real)].copy()
            block[:, :8] = idx.astype("<u8").view(np.uint8).reshape(-1, 8)
            fa.write(block.tobytes())
            rows = np.flatnonzero(flip[first : first + n])
            if len(rows):
                at = rng.integers(8, PAGE_SIZE - 16, len(rows))
                for r, o in zip(rows, at):
                    block[r, o : o + 16] ^= 0xA5
            fb.write(block.tobytes())
    return a, b, int(flip.sum())


def _timed(cmd: list[str] | str, shell: bool = False, stdout=subprocess.DEVNULL) -> tuple[float, int, str]:
    """Wall time, peak RSS (KiB) of the command, its stdout.

    Run under /usr/bin/time: a child forked straight from this (big) process
    would inherit its RSS as the starting high-water mark.
    """
    if shell:
        cmd = ["sh", "-c", cmd]
    t = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd],
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        sys.exit(f"bench_diff: {cmd} failed: {proc.stderr}")
    return wall, int(proc.stderr.strip().splitlines()[-1]), proc.stdout or ""


PAGE_DIFF_SNIPPET = """
import json, sys, time
sys.path.insert(0, {root!r})
from inspector.diff import DiffOptions, diff_checkpoints
t = time.perf_counter()
r = diff_checkpoints({a!r}, {b!r}, DiffOptions(use_numpy={numpy}))
wall = time.perf_counter() - t
s = r.summary()
print(json.dumps({{"seconds": wall, "pages_changed": s["pages_changed"], "bytes_differ": s["bytes_differ"]}}))
"""


def measure(a: Path, b: Path, expect_pages: int, runs: int, python_engine: bool) -> dict:
    pa, pb = a / "pages-1.img", b / "pages-1.img"
    size = pa.stat().st_size
    subprocess.run(["cat", str(pa), str(pb)], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
    res: dict = {"pages_bytes": size, "pages_changed_expected": expect_pages}
    cmp_times, cmp_rss = [], 0
    for _ in range(runs):
        wall, rss, out = _timed(f"cmp -l {pa} {pb} | wc -l", shell=True, stdout=None)
        cmp_times.append(wall)
        cmp_rss = max(cmp_rss, rss)
        res["cmp_lines"] = int(out.strip())
    res["cmp_seconds"] = min(cmp_times)
    res["cmp_maxrss_kib"] = cmp_rss
    engines = [("numpy", True)] + ([("python", False)] if python_engine else [])
    for name, flag in engines:
        times, rss = [], 0
        for _ in range(runs):
            code = PAGE_DIFF_SNIPPET.format(root=str(ROOT), a=str(a), b=str(b), numpy=flag)
            _, r_kib, out = _timed([sys.executable, "-c", code], stdout=None)
            r = json.loads(out)
            r["maxrss_kib"] = r_kib
            assert r["pages_changed"] == expect_pages, (r, expect_pages)
            assert r["bytes_differ"] == res["cmp_lines"], (r, res["cmp_lines"])
            times.append(r["seconds"])
            rss = max(rss, r["maxrss_kib"])
        res[f"page_diff_{name}_seconds"] = min(times)
        res[f"page_diff_{name}_maxrss_kib"] = rss
    times, rss = [], 0
    env_cmd = [sys.executable, "-m", "inspector", "diff", str(a), str(b), "--format", "json"]
    for _ in range(runs):
        wall, r_kib, _ = _timed(env_cmd)
        times.append(wall)
        rss = max(rss, r_kib)
    res["cli_seconds"] = min(times)
    res["cli_maxrss_kib"] = rss
    res["ratio_page_diff_to_cmp"] = res["page_diff_numpy_seconds"] / res["cmp_seconds"]
    res["ratio_cli_to_cmp"] = res["cli_seconds"] / res["cmp_seconds"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,4", help="GiB of pages per checkpoint, comma separated (default 1,4)")
    ap.add_argument("--changed", type=float, default=0.05, help="share of pages changed on side B (default 0.05)")
    ap.add_argument("--runs", type=int, default=2, help="runs of each measurement; the best time is kept")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out"), help="where the checkpoints are built")
    ap.add_argument("--python-engine", action="store_true", help="also time the page diff without numpy")
    ap.add_argument("--keep", action="store_true", help="keep the built checkpoints")
    ap.add_argument(
        "--run-pages",
        type=int,
        default=RUN_PAGES,
        help=f"pages per pagemap run (default {RUN_PAGES}; 1 gives a fragmented pagemap, half the pages)",
    )
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    results = {}
    for gib in (int(s) for s in args.sizes.split(",")):
        t = time.perf_counter()
        a, b, flipped = build_pair(out, gib, args.changed, run_pages=args.run_pages)
        built = time.perf_counter() - t
        try:
            res = measure(a, b, flipped, args.runs, args.python_engine)
        finally:
            if not args.keep:
                shutil.rmtree(a, ignore_errors=True)
                shutil.rmtree(b, ignore_errors=True)
        res["build_seconds"] = built
        results[f"{gib}GiB"] = res
        print(json.dumps({f"{gib}GiB": res}, indent=1), flush=True)
    print(_table(results))


def _table(results: dict) -> str:
    rows = [
        "| pages per side | cmp -l \\| wc -l | page diff (numpy) | ratio | peak RSS | whole CLI | CLI peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        rows.append(
            f"| {name} | {r['cmp_seconds']:.2f} s | {r['page_diff_numpy_seconds']:.2f} s | "
            f"{r['ratio_page_diff_to_cmp']:.2f}x | {r['page_diff_numpy_maxrss_kib'] / 1024:.0f} MiB | "
            f"{r['cli_seconds']:.2f} s | {r['cli_maxrss_kib'] / 1024:.0f} MiB |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    main()
