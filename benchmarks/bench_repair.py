"""Benchmark: `criu-inspect repair` on the largest corpus checkpoint (jvm: 13 threads, 16 MB of pages).

Measures, each in a fresh process (wall time, peak RSS of the child from wait4):
- a plain copy (no fix): every image through the codec, pages copied (copy_file_range, the default);
- the same with --link (pages hard-linked);
- --fix bounding-set (13 core images re-encoded with an edited entry);
- --fix uid + bounding-set + relocate with the checker run on input and output.

    python benchmarks/bench_repair.py [--source DIR] [--runs 5] [--out benchmarks/out]

Target: a repair costs about what reading the images costs (well under a second
here), memory bounded by the images, not by the pages (in-kernel copies or hard
links: never a whole pages file in memory).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def default_source() -> Path:
    corpus = Path(os.environ.get("CRIU_INSPECT_CORPUS", ROOT / "sample-images"))
    return corpus / "jvm"


def run_once(args: list[str]) -> tuple[float, int, int]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", type=Path, default=default_source())
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    a = ap.parse_args()
    cases = {
        "copy, pages copied (default)": ["--no-check"],
        "copy, pages hard-linked (--link)": ["--no-check", "--link"],
        "bounding-set (13 core images edited)": ["--no-check", "--fix", "bounding-set=1fffeffffff"],
        "relocate + bounding-set, with check": [
            "--fix",
            "relocate=/tmp/criu-work:/opt/w",
            "--fix",
            "bounding-set=1fffeffffff",
        ],
    }
    results = {
        "source": str(a.source),
        "pages_bytes": sum(f.stat().st_size for f in a.source.glob("pages-*.img")),
        "python": sys.version.split()[0],
        "cases": {},
    }
    with tempfile.TemporaryDirectory(dir=a.out.parent if a.out.parent.exists() else None) as tmp:
        for label, extra in cases.items():
            walls, rss = [], []
            for i in range(a.runs):
                out = Path(tmp) / f"out-{i}"
                wall, peak, code = run_once(["repair", str(a.source), "-o", str(out), *extra])
                if code not in (0, 1):
                    raise SystemExit(f"{label}: exit {code}")
                walls.append(wall)
                rss.append(peak)
                shutil.rmtree(out)
            results["cases"][label] = {
                "wall_median_s": round(statistics.median(walls), 3),
                "wall_min_s": round(min(walls), 3),
                "peak_rss_mb": round(max(rss) / 2**20, 1),
            }
            print(f"{label:45s} median {statistics.median(walls):.3f} s  peak RSS {max(rss) / 2**20:.1f} MB")
        # the yardstick, in the same run: copying the directory with cp -r (no decoding at all)
        walls = []
        for i in range(a.runs):
            out = Path(tmp) / f"cp-{i}"
            start = time.perf_counter()
            subprocess.run(["cp", "-r", str(a.source), str(out)], check=True)
            walls.append(time.perf_counter() - start)
            shutil.rmtree(out)
        results["cases"]["yardstick: cp -r"] = {
            "wall_median_s": round(statistics.median(walls), 3),
            "wall_min_s": round(min(walls), 3),
        }
        print(f"{'yardstick: cp -r of the directory':45s} median {statistics.median(walls):.3f} s")
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "repair.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
