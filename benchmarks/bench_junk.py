"""Benchmark: `criu-inspect show` on a checkpoint with 100,000 junk members, directory and tar archive.

A hostile or broken checkpoint may carry any number of stray files. The
real corpus checkpoint ``tree`` gets N one-byte ``junk-I.img`` files (each an
unreadable image, so each is a problem the model records) as a directory and
as a plain tar. Yardsticks in the same run: GNU ``tar -tf`` listing the same
archive (reading every header, which any reader must), GNU ``tar -xf``
extracting it into a new directory (and removing it: creating files is what
extraction costs on this filesystem), and ``ls -f | wc -l`` on the directory.

    python benchmarks/bench_junk.py [--members 1000,10000,100000] [--runs 3]

Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_show import measure  # noqa: E402


def build(work: Path, n: int) -> tuple[Path, Path]:
    d = work / f"tree-{n}"
    shutil.copytree(ROOT / "sample-images" / "tree", d)
    for i in range(n):
        (d / f"junk-{i}.img").write_bytes(b"x")
    arc = work / f"tree-{n}.tar"
    with tarfile.open(arc, "w") as t:
        t.add(ROOT / "sample-images" / "tree", "tree")
        info = tarfile.TarInfo()
        info.size = 1
        for i in range(n):
            info.name = f"tree/junk-{i}.img"
            t.addfile(info, io.BytesIO(b"x"))
    return d, arc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", default="1000,10000,100000")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-junk-"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(work))
    try:
        print(f"{'members':>8} {'input':<10} {'command':<28} {'median s':>9} {'min s':>7} {'peak RSS MiB':>13}")
        for n in (int(x) for x in args.members.split(",")):
            d, arc = build(work, n)
            cmds = {
                ("directory", "criu-inspect show"): [sys.executable, "-m", "inspector", "show", str(d)],
                ("directory", "ls -f | wc -l"): ["sh", "-c", f"ls -f {d} | wc -l"],
                ("tar", "criu-inspect show"): [sys.executable, "-m", "inspector", "show", str(arc)],
                ("tar", "tar -tf | wc -l"): ["sh", "-c", f"tar -tf {arc} | wc -l"],
                # what extracting every member costs here (file creation): criu-inspect writes the first 1,000
                ("tar", "tar -xf (into a new dir)"): [
                    "sh",
                    "-c",
                    f"d=$(mktemp -d -p {work}) && tar -xf {arc} -C $d && rm -rf $d",
                ],
            }
            results = measure(cmds, args.runs, env, accept=(0, 2))  # show exits 2: junk images are problems
            for (kind, label), r in results.items():
                print(
                    f"{n:>8} {kind:<10} {label:<28} {r['median']:>9.2f} {r['min']:>7.2f} {r['rss_kib'] / 1024:>13.1f}"
                )
            left = [p.name for p in work.iterdir() if p.name.startswith("criu-inspect-")]
            assert not left, left
            shutil.rmtree(d)
            arc.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
