"""Benchmark: memory scans (the CRI050 secrets scan and `criu-inspect grep`) on large memory.

Builds a checkpoint with N MiB of extra memory from the real corpus checkpoint
``plain``: its images copied, one anonymous rw VMA of N MiB added to its mm, a
present pagemap run over it, and the pages file grown by the process's real
pages tiled over and over; three fake secrets (an AWS key, a password in a
NAME=value string, a PEM key across a page boundary) are planted near the end.
Then, with the page cache warm, each in a fresh process:

- ``grep -c`` over the pages file (the floor: a byte search, no attribution);
- ``scan_process`` (the secrets scanner) after imports: time, secrets found;
- ``criu-inspect grep DIR AKIAIOSFODNN7EXAMPLE`` (whole CLI);
- ``criu-inspect check DIR --select CRI050`` (whole CLI).

Peak RSS is ``/usr/bin/time -f %M``. Usage:
python benchmarks/bench_memscan.py [--sizes 64,512] [--out benchmarks/out] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspector.codec.image import open_image  # noqa: E402
from inspector.model.names import PAGE_SIZE, PE_PRESENT  # noqa: E402

CORPUS = Path(os.environ.get("CRIU_INSPECT_CORPUS", ROOT / "sample-images"))
SOURCE, PID = "plain", 14055
BASE = 0x7E0000000000
AWS = b"AKIAIOSFODNN7EXAMPLE"


def build(out: Path, mib: int) -> Path:
    src = CORPUS / SOURCE
    if not src.is_dir():
        src = ROOT / "sample-images" / SOURCE
    dest = out / f"memscan-{mib}m"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest)
    for p in [dest, *dest.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)
    npages = mib * 256
    # mm: one more anonymous private rw VMA
    mm = open_image(dest / f"mm-{PID}.img")
    entry = mm.entries[0]
    msg = entry.message
    template = next(v for v in msg.vmas if v.status & (1 << 9) and v.prot == 3)
    vma = msg.vmas.add()
    vma.CopyFrom(template)
    vma.start, vma.end, vma.pgoff = BASE, BASE + npages * PAGE_SIZE, 0
    entry.set_message(msg)
    (dest / f"mm-{PID}.img").write_bytes(mm.encode())
    # pagemap: one present run over it, appended (its pages go at the end of pages-1.img)
    pm = open_image(dest / f"pagemap-{PID}.img")
    run = type(pm.entries[1].message)()
    run.vaddr, run.nr_pages, run.flags = BASE, npages, PE_PRESENT
    run.compat_nr_pages = 0
    payload = run.SerializeToString()
    with open(dest / f"pagemap-{PID}.img", "ab") as fh:
        fh.write(struct.pack("<I", len(payload)) + payload)
    real = (src / "pages-1.img").read_bytes()
    tile = bytearray(real * max(1, (64 << 20) // len(real) + 1))[: 64 << 20]
    left = npages * PAGE_SIZE
    with open(dest / "pages-1.img", "ab") as fh:
        while left:
            chunk = bytes(tile[: min(left, len(tile))])
            if left <= len(tile):  # plant the secrets in the last chunk
                b = bytearray(chunk)
                n = len(b)
                b[n - 3 * PAGE_SIZE : n - 3 * PAGE_SIZE + 22] = b"\0" + AWS + b"\0"
                b[n - 2 * PAGE_SIZE - 10 : n - 2 * PAGE_SIZE + 20] = b"\0DB_PASSWORD=hunter2hunter2hu\0"
                pem = b"-----BEGIN PRIVATE KEY-----\n" + b"Q" * 1600 + b"\n-----END PRIVATE KEY-----"
                at = n - PAGE_SIZE - 700
                b[at : at + len(pem)] = pem
                chunk = bytes(b)
            fh.write(chunk)
            left -= len(chunk)
    return dest


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, int, str]:
    t = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - t
    rss_kib = int(r.stderr.strip().splitlines()[-1])
    return elapsed, rss_kib, r.stdout


SCAN = (
    """
import sys, time
from inspector.model.checkpoint import Checkpoint
from inspector.secrets import scan_process
cp = Checkpoint(sys.argv[1])
t = time.perf_counter()
hits = list(scan_process(cp, %d))
print(len(hits), time.perf_counter() - t)
"""
    % PID
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="64,512")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    py = sys.executable
    results = []
    for mib in (int(s) for s in args.sizes.split(",")):
        d = build(out, mib)
        subprocess.run(["cat", str(d / "pages-1.img")], stdout=subprocess.DEVNULL)  # warm the cache
        row = {"mib": mib}
        row["grep_c_s"], _, _ = timed(["grep", "-c", "-a", AWS.decode(), str(d / "pages-1.img")])
        s, rss, text = timed([py, "-c", SCAN, str(d)], env)
        found, inner = text.split()
        row.update(
            scan_s=float(inner),
            scan_found=int(found),
            scan_rss_mib=rss // 1024,
            scan_mib_per_s=round(mib / float(inner), 1),
        )
        s, rss, text = timed([py, "-m", "inspector", "grep", str(d), AWS.decode(), "--format", "json"], env)
        row.update(grep_cli_s=round(s, 3), grep_cli_rss_mib=rss // 1024, grep_hits=json.loads(text)["count"])
        s, rss, text = timed([py, "-m", "inspector", "check", str(d), "--select", "CRI050", "--format", "json"], env)
        row.update(
            check_cli_s=round(s, 3), check_cli_rss_mib=rss // 1024, check_findings=len(json.loads(text)["findings"])
        )
        results.append(row)
        print(json.dumps(row))
        if not args.keep:
            shutil.rmtree(d)


if __name__ == "__main__":
    main()
