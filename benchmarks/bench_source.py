"""Benchmark: `criu-inspect show --format json` on a container checkpoint archive vs its bare directory.

Builds a 1 GiB checkpoint from the real corpus ``jvm`` (benchmarks/bench_show.py's
``build_scaled``: a new heap VMA of zero pages, as a pre-touched Java heap),
lays it out as podman does (``checkpoint/`` beside ``config.dump``,
``spec.dump``, ``stats-dump`` and a 64 MiB ``rootfs-diff.tar``), packs it as
tar, tar.gz and tar.zst (podman's default), and times show on each against the
bare directory: the difference is what extraction costs. Peak RSS shows the
archive is streamed, not held.

    python benchmarks/bench_source.py [--gib 1] [--runs 3]

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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_show import GiB, build_scaled, default_source, measure  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gib", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-source-"))
    try:
        ctr = work / "userdata"
        ctr.mkdir()
        build_scaled(default_source(), ctr / "checkpoint", int(args.gib * GiB))
        if (ctr / "checkpoint" / "stats-dump").exists():
            (ctr / "checkpoint" / "stats-dump").rename(ctr / "stats-dump")
        (ctr / "config.dump").write_text(json.dumps({"id": "0" * 64, "name": "jvm", "runtime": "crun"}))
        (ctr / "spec.dump").write_text(json.dumps({"annotations": {"io.container.manager": "libpod"}}))
        with open(ctr / "rootfs-diff.tar", "wb") as fh:
            fh.write(os.urandom(64 << 20))
        archives = {}
        for fmt, mode in (("tar", "w"), ("tar.gz", "w:gz")):
            archives[fmt] = work / f"chk.{fmt}"
            with tarfile.open(archives[fmt], mode) as t:
                t.add(ctr, arcname=".")
        archives["tar.zst"] = work / "chk.tar.zst"
        subprocess.run(["zstd", "-q", "-T0", "-o", str(archives["tar.zst"]), str(archives["tar"])], check=True)
        env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(work))
        cmds = {"directory": [sys.executable, "-m", "inspector", "show", str(ctr), "--format", "json"]}
        for fmt, path in archives.items():
            cmds[fmt] = [sys.executable, "-m", "inspector", "show", str(path), "--format", "json"]
        results = measure(cmds, args.runs, env)
        sizes = {fmt: path.stat().st_size for fmt, path in archives.items()}
        print(f"{args.gib} GiB of pages; archive sizes: " + ", ".join(f"{k} {v >> 20} MiB" for k, v in sizes.items()))
        print(f"{'input':<10} {'median s':>9} {'min s':>7} {'peak RSS MiB':>13}")
        for name, r in results.items():
            print(f"{name:<10} {r['median']:>9.2f} {r['min']:>7.2f} {r['rss_kib'] / 1024:>13.1f}")
        left = [p.name for p in work.iterdir() if p.name.startswith("criu-inspect-")]
        print("extractions left behind:", left or "none")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
