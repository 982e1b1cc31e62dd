"""Benchmark: `criu-inspect scan` over 1,000 checkpoints, 1 vs 2 local workers, and on a Dask LocalCluster.

The fleet: hard links of every test checkpoint in sample-images/ (the real
CRIU 4.2 ones, JVM included), cycled to N directories, plus every tenth a
plain tar of one (archives are extracted, so they cost more). Measured as
whole commands (`criu-inspect scan FLEET --format json --workers W`), and
through the library on a Dask `LocalCluster` with 2 worker processes; the
Dask overhead per task is a map of N no-op tasks on the same cluster.

    python benchmarks/bench_scan.py [--n 1000]

Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(fleet: Path, n: int) -> None:
    bases = sorted(p for p in (ROOT / "sample-images").iterdir() if p.is_dir() and not p.name.startswith("_"))
    tars = {}
    for i in range(n):
        base = bases[i % len(bases)]
        if i % 10 == 9:
            tar = tars.get(base.name)
            if tar is None:
                tar = tars[base.name] = fleet.parent / f"{base.name}.tar"
                with tarfile.open(tar, "w") as t:
                    t.add(base, "checkpoint")
            os.link(tar, fleet / f"ck-{i:04d}.tar")
            continue
        d = fleet / f"ck-{i:04d}"
        d.mkdir()
        for f in base.iterdir():
            if f.is_symlink():
                (d / f.name).symlink_to(os.readlink(f))
            elif f.is_file():
                os.link(f, d / f.name)


def timed(cmd: list[str], env: dict) -> tuple[float, dict]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if r.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr[-500:]}")
    return seconds, json.loads(r.stdout)


def noop(x):
    return x


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-scan-"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(work))
    try:
        fleet = work / "fleet"
        fleet.mkdir()
        build(fleet, args.n)
        results = {}
        rows_by = {}
        for workers in (1, 2):
            cmd = [sys.executable, "-m", "inspector", "scan", str(fleet), "--format", "json", "--workers", str(workers)]
            seconds, data = timed(cmd, env)
            results[f"scan, {workers} local worker(s)"] = seconds
            rows_by[workers] = data["rows"]
        assert len(rows_by[2]) == args.n, len(rows_by[2])
        strip = [{k: v for k, v in r.items() if k != "seconds"} for r in rows_by[1]]
        assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in rows_by[2]]
        per_ck = sorted(r["seconds"] for r in rows_by[1])
        from distributed import Client, LocalCluster

        from inspector import scan
        from inspector.checks.base import Target

        targets = scan.targets_named(scan.DEFAULT_TARGETS, Target())
        paths = scan.find_checkpoints([str(fleet)])
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                local_directory=str(work / "dask"),
            ) as cluster,
            Client(cluster) as client,
        ):
            client.submit(noop, 0).result()  # workers up and warm
            t0 = time.perf_counter()
            client.gather(client.map(noop, range(args.n), pure=False))
            noop_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            rows = scan.scan(paths, targets, scheduler=cluster.scheduler_address)
            results["scan on a Dask LocalCluster, 2 workers (library)"] = time.perf_counter() - t0
        assert [{k: v for k, v in r.items() if k != "seconds"} for r in rows] == strip
        blocked = sum(1 for r in rows if scan.blocked(r))
        print(f"{args.n} checkpoints ({args.n // 10} of them tar archives), {blocked} not restorable for every target")
        for name, s in results.items():
            print(f"  {name:<52} {s:7.1f} s  ({s / args.n * 1000:.1f} ms per checkpoint)")
        print(
            f"  per-checkpoint time in a worker: median {per_ck[len(per_ck) // 2] * 1000:.0f} ms, "
            f"max {per_ck[-1] * 1000:.0f} ms"
        )
        print(f"  Dask overhead: {args.n} no-op tasks in {noop_s:.2f} s = {noop_s / args.n * 1000:.2f} ms per task")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
