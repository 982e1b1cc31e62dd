"""Benchmark: `criu-inspect show --format json` on 1 GB and 4 GB checkpoints vs crit 3.17.

Builds checkpoint-like image sets from a real corpus checkpoint (default ``jvm``,
one JVM with 13 threads, 16 MB of pages): every image is copied, and the
process's Java heap grows by a new anonymous VMA (``mm-N.img``) whose memory
is dumped in runs of 512 pages (2 MiB) with one-page holes, listed in
``pagemap-N.img`` with the flags CRIU 4.2 writes (PE_PRESENT|PE_LAZY) and
stored in ``pages-N.img`` at the right offset. Images are re-encoded by the
codec; the pages file is written sparse (its size and layout are real, the
new pages read as zeros), so building 4 GB costs seconds, not disk.

Then it measures, on the same directory: ``criu-inspect show --format json``
(wall time, peak RSS of the child from wait4), ``crit x DIR ps`` plus
``crit x DIR mems`` (Debian's crit 3.17), and ``criu-inspect --help``.

    python benchmarks/bench_show.py [--source DIR] [--sizes 1,4] [--runs 7] [--out benchmarks/out]

Results: docs/benchmarks.md. Targets: show no slower than crit's two
commands, the same at 4 GB as at 1 GB, peak RSS < 100 MB; --help < 0.3 s.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspector.codec.image import Entry, open_image  # noqa: E402
from inspector.model.names import MAP_ANON, PAGE_SIZE, PE_PRESENT, VMA_ANON_PRIVATE, prot_string  # noqa: E402
from inspector.pages import effective_flags, page_count  # noqa: E402

RUN_PAGES = 512  # pages per pagemap run (2 MiB, a THP's worth)
HEAP_BASE = 0x2_0000_0000  # where the grown heap goes (a free gap above the JVM's own heap)
GiB = 1 << 30


def default_source() -> Path:
    corpus = Path(os.environ.get("CRIU_INSPECT_CORPUS", ROOT / "sample-images"))
    return corpus / "jvm"


def _entry_like(template: Entry, msg) -> Entry:
    """A new entry of the template's kind (index and offset are set when the image is encoded)."""
    return Entry(0, 0, msg.SerializeToString(), message_type=template.message_type, path=template.path)


def build_scaled(src: Path, dest: Path, extra_bytes: int, run_pages: int = RUN_PAGES) -> dict:
    """Copy checkpoint ``src`` to ``dest`` with ``extra_bytes`` more present pages in a new heap VMA,
    dumped in runs of ``run_pages`` pages."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    pids = [e.message.pid for e in open_image(src / "pstree.img").entries]
    pid = pids[0]
    for f in src.iterdir():
        if f.is_file():
            shutil.copyfile(f, dest / f.name)

    # mm: a new anonymous private rw VMA, modelled on the process's biggest rw anon VMA
    mm_img = open_image(dest / f"mm-{pid}.img")
    mm_entry = mm_img.entries[0]
    mm = mm_entry.message
    anon = [v for v in mm.vmas if prot_string(v.prot) == "rw-" and v.flags & MAP_ANON and v.status & VMA_ANON_PRIVATE]
    template = max(anon, key=lambda v: v.end - v.start)
    nr_runs = extra_bytes // (run_pages * PAGE_SIZE)
    heap_len = nr_runs * (run_pages + 1) * PAGE_SIZE
    heap_start, heap_end = HEAP_BASE, HEAP_BASE + heap_len
    if any(v.start < heap_end and v.end > heap_start for v in mm.vmas):
        raise SystemExit(f"no free gap at 0x{heap_start:x} in {src}")
    new_vma = copy.deepcopy(template)
    new_vma.start, new_vma.end = heap_start, heap_end
    vmas = sorted([copy.deepcopy(v) for v in mm.vmas] + [new_vma], key=lambda v: v.start)
    del mm.vmas[:]
    mm.vmas.extend(vmas)
    mm_entry.set_message(mm)
    (dest / f"mm-{pid}.img").write_bytes(mm_img.encode())

    # pagemap: runs of RUN_PAGES present pages, a one-page hole after each, in address order
    pm_img = open_image(dest / f"pagemap-{pid}.img")
    head, runs = pm_img.entries[0], pm_img.entries[1:]
    pages_id = head.message.pages_id
    present_template = next(e for e in runs if effective_flags(e.message) & PE_PRESENT)
    new_entries = []
    for i in range(nr_runs):
        msg = copy.deepcopy(present_template.message)
        msg.vaddr = heap_start + i * (run_pages + 1) * PAGE_SIZE
        msg.nr_pages = run_pages
        new_entries.append(_entry_like(present_template, msg))
    before = [e for e in runs if e.message.vaddr < heap_start]
    after = [e for e in runs if e.message.vaddr >= heap_start]
    ordered = [head, *before, *new_entries, *after]
    for i, e in enumerate(ordered):
        e.index = i
    pm_img._entries = ordered
    (dest / f"pagemap-{pid}.img").write_bytes(pm_img.encode())

    # pages: the original bytes before and after the new runs, a sparse hole for them
    prefix = sum(page_count(e.message) for e in before if effective_flags(e.message) & PE_PRESENT) * PAGE_SIZE
    src_pages = src / f"pages-{pages_id}.img"
    with open(src_pages, "rb") as fin, open(dest / src_pages.name, "wb") as fout:
        fout.write(fin.read(prefix))
        fout.seek(nr_runs * run_pages * PAGE_SIZE, os.SEEK_CUR)
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.truncate()
    pages_size = (dest / src_pages.name).stat().st_size
    return {"pid": pid, "runs": nr_runs, "pagemap_entries": len(ordered) - 1, "pages_bytes": pages_size}


TIME = "/usr/bin/time"


def measure(cmds: dict, runs: int, env: dict | None = None, accept: tuple[int, ...] = (0,)) -> dict:
    """Median and min wall time (s) and max peak RSS (KiB) of each command, run ``runs`` times.

    The commands take turns (a, b, c, a, b, c, ...) so that load from other
    work on the machine falls on all of them alike. Peak RSS comes from GNU
    time: a child forked straight from this (protobuf-loaded) benchmark would
    inherit its high-water mark through exec.
    """
    times: dict[str, list[float]] = {k: [] for k in cmds}
    rss: dict[str, list[int]] = {k: [] for k in cmds}
    rss_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-show-rss-{os.getpid()}"
    for _ in range(runs):
        for name, cmd in cmds.items():
            start = time.perf_counter()
            proc = subprocess.run(
                [TIME, "-f", "%M", "-o", str(rss_file), *cmd],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            times[name].append(time.perf_counter() - start)
            if proc.returncode not in accept:
                raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
            rss[name].append(int(rss_file.read_text().split()[-1]))
    rss_file.unlink(missing_ok=True)
    return {k: {"median": statistics.median(times[k]), "min": min(times[k]), "rss_kib": max(rss[k])} for k in cmds}


def check_output(directory: Path, env: dict, expect_pages: int) -> dict:
    """The scaled checkpoint reads right: page total, no problems, cmdline from memory."""
    out = subprocess.run(
        [sys.executable, "-m", "inspector", "show", str(directory), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    data = json.loads(out.stdout)
    assert data["problems"] == [], data["problems"]
    present = data["summary"]["pages"]["present"]
    assert present == expect_pages, (present, expect_pages)
    return {"present_pages": present, "cmdline0": data["processes"][0]["cmdline"][:1]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=default_source())
    ap.add_argument("--sizes", default="1,4", help="GiB of extra pages, comma separated")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    ap.add_argument("--crit", default=shutil.which("crit") or "/usr/bin/crit")
    args = ap.parse_args()

    # as a user runs it: buffered stdout, and bytecode compiled (as pip install does)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for var in ("CRIU_INSPECT_DEBUG", "PYTHONUNBUFFERED"):
        env.pop(var, None)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "inspector")],
        check=True,
        env=dict(env, PYTHONDONTWRITEBYTECODE=""),
    )
    os.environ.pop("PYTHONUNBUFFERED", None)
    inspect_cmd = [sys.executable, "-m", "inspector"]
    rows = []
    dirs = [("source (" + args.source.name + ")", args.source, None)]
    sizes = [float(s) for s in args.sizes.split(",") if s]
    for size in sizes:
        dest = args.out / f"{args.source.name}-{size:g}g"
        t0 = time.perf_counter()
        info = build_scaled(args.source, dest, int(size * GiB))
        print(f"built {dest} in {time.perf_counter() - t0:.1f} s: {info}", file=sys.stderr)
        dirs.append((f"+{size:g} GiB, 2 MiB runs", dest, info))
    if len(sizes) > 1:
        # the largest size in as many runs as the smallest: page volume alone, entries fixed
        big, small = max(sizes), min(sizes)
        run_pages = int(RUN_PAGES * big / small)
        dest = args.out / f"{args.source.name}-{big:g}g-bigruns"
        info = build_scaled(args.source, dest, int(big * GiB), run_pages)
        dirs.append((f"+{big:g} GiB, {run_pages * PAGE_SIZE >> 20} MiB runs", dest, info))

    for label, d, _info in dirs:
        total_pages = sum(f.stat().st_size for f in d.glob("pages-*.img")) // PAGE_SIZE
        check = check_output(d, env, total_pages)
        m = measure(
            {
                "show": [*inspect_cmd, "show", str(d), "--format", "json"],
                "crit_ps": [args.crit, "x", str(d), "ps"],
                "crit_mems": [args.crit, "x", str(d), "mems"],
            },
            args.runs,
            env,
        )
        show, crit_ps, crit_mems = m["show"], m["crit_ps"], m["crit_mems"]
        rows.append((label, d, total_pages, check, show, crit_ps, crit_mems))

    helper = measure({"help": [*inspect_cmd, "--help"]}, args.runs, env)["help"]

    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {args.runs} runs each, median (min)\n")
    print(
        "| checkpoint | pages present (bytes) | pagemap entries | show --format json | peak RSS | crit x ps + mems | crit peak RSS |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, d, total_pages, _check, show, crit_ps, crit_mems in rows:
        entries = len(open_image(d / f"pagemap-{_first_pid(d)}.img").entries) - 1
        crit_med = crit_ps["median"] + crit_mems["median"]
        crit_min = crit_ps["min"] + crit_mems["min"]
        print(
            f"| {label} | {total_pages} ({total_pages * PAGE_SIZE / GiB:.2f} GiB) | {entries} "
            f"| {show['median'] * 1000:.0f} ms ({show['min'] * 1000:.0f}) | {show['rss_kib'] / 1024:.1f} MiB "
            f"| {crit_med * 1000:.0f} ms ({crit_min * 1000:.0f}) | {max(crit_ps['rss_kib'], crit_mems['rss_kib']) / 1024:.1f} MiB |"
        )
    print(
        f"\n`criu-inspect --help`: {helper['median'] * 1000:.0f} ms ({helper['min'] * 1000:.0f}), "
        f"peak RSS {helper['rss_kib'] / 1024:.1f} MiB"
    )
    return 0


def _first_pid(d: Path) -> int:
    return open_image(d / "pstree.img").entries[0].message.pid


if __name__ == "__main__":
    sys.exit(main())
