"""Benchmark: the secrets rule, check and grep on real 1 GiB and 4 GiB checkpoints, beside ripgrep.

The checkpoints are real: a Python process (the system python3) that fills
N MiB of private anonymous memory from /dev/urandom and plants an AWS key id,
a ``DB_PASSWORD=`` environment string and a PEM private key across a page
boundary near the end, dumped by the CRIU that ``scripts/setup`` installs
(``.criu/bin/criu``, as root). The process is started in its own session,
recorded by pid and executable, and is gone after the dump (CRIU kills it);
if the dump fails it is killed here, after checking ``/proc/PID/exe``.

Then, page cache warm, the commands take turns, ``--runs`` times each:

- ``criu-inspect check DIR`` (every rule) and ``check DIR --select CRI050``;
- ``rg -a -c`` with the rule's token patterns (the ones ripgrep's regex syntax
  can say: the lookarounds and the PEM backreference dropped) over the same
  pages files: the yardstick of check;
- ``criu-inspect grep DIR AKIAIOSFODNN7EXAMPLE`` and ``rg -a -c -F`` of the
  same text: the yardstick of grep.

Wall time is ``perf_counter`` around the child; peak RSS is GNU time's ``%M``.
criu-inspect runs as the installed entry point with its bytecode compiled.
Prints one JSON line per size and a Markdown table.

    python benchmarks/bench_secrets.py [--sizes 1024,4096] [--runs 9] [--out benchmarks/out] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRIU = ROOT / ".criu" / "bin" / "criu"
CLI = ROOT / ".venv" / "bin" / "criu-inspect"
AWS = "AKIAIOSFODNN7EXAMPLE"

HOG = r"""
import mmap, sys, time
mib = int(sys.argv[1])
m = mmap.mmap(-1, mib << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
view = memoryview(m)
with open("/dev/urandom", "rb") as f:
    for off in range(0, mib << 20, 64 << 20):
        f.readinto(view[off:off + (64 << 20)])
end = mib << 20
def plant(at, data):
    m[at:at + len(data)] = data
plant(end - 3 * 4096 - 10, b" AKIAIOSFODNN7EXAMPLE ")
plant(end - 5000, b"\0DB_PASSWORD=hunter2-but-longer\0")
plant(end - 8192 - 60, b"-----BEGIN RSA PRIVATE KEY-----" + b"MIIEow" * 20 + b"-----END RSA PRIVATE KEY-----")
print("ready", flush=True)
while True:
    time.sleep(1)
"""

# The secrets rule's token patterns as ripgrep can say them (no lookaround, no backreference).
RG_TOKENS = [
    r"A(?:KIA|SIA|BIA|CCA|IDA|ROA)[A-Z2-7]{16}",
    r"gh[pousr]_[A-Za-z0-9]{36,251}",
    r"github_pat_[A-Za-z0-9_]{22,255}",
    r"xox[abposr]-[A-Za-z0-9-]{10,250}",
    r"AIza[0-9A-Za-z_-]{35}",
    r"[sr]k_live_[0-9A-Za-z]{24,99}",
    r"glpat-[A-Za-z0-9_-]{20,64}",
    r"npm_[A-Za-z0-9]{36}",
    r"AccountKey=[A-Za-z0-9+/]{86}==",
    r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----",
    r'"private_key"\s*:\s*"-----BEGIN',
]


def make_checkpoint(out: Path, mib: int) -> Path:
    dest = out / f"secrets-{mib}m"
    if (dest / "inventory.img").exists():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    log = dest / "hog.out"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            ["/usr/bin/python3", "-c", HOG, str(mib)],
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={"PATH": "/usr/bin:/bin"},
        )
    exe = None
    try:
        deadline = time.monotonic() + 300
        while b"ready" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the test program did not get ready: {log.read_text(errors='replace')[-500:]}")
            time.sleep(0.2)
        exe = os.readlink(f"/proc/{proc.pid}/exe")
        images = dest / "images"
        images.mkdir()
        r = subprocess.run(
            [str(CRIU), "dump", "-t", str(proc.pid), "-D", str(images), "-o", "dump.log"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if r.returncode != 0:
            raise SystemExit(f"criu dump failed (rc {r.returncode}); see {images / 'dump.log'}")
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None and exe is not None and _exe(proc.pid) == exe:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
    for f in images.iterdir():
        f.rename(dest / f.name)
    images.rmdir()
    return dest


def _exe(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def timed(cmd: list[str]) -> tuple[float, int, str]:
    t = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    rss_kb = int(r.stderr.strip().splitlines()[-1])
    return elapsed, rss_kb, r.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1024,4096")
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0 or not CRIU.exists() or not shutil.which("rg"):
        raise SystemExit("needs root, .criu/bin/criu (scripts/setup) and ripgrep")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "inspector")], check=True)
    rows = []
    for mib in (int(s) for s in args.sizes.split(",")):
        d = make_checkpoint(out, mib)
        pages = sorted(str(p) for p in d.glob("pages-*.img"))
        subprocess.run(["cat", *pages], stdout=subprocess.DEVNULL)  # warm the page cache
        rg_tokens = ["rg", "-a", "-c", "--no-filename", *[a for p in RG_TOKENS for a in ("-e", p)], *pages]
        commands = {
            "check": [str(CLI), "check", str(d), "--format", "json"],
            "check_cri050": [str(CLI), "check", str(d), "--select", "CRI050", "--format", "json"],
            "rg_tokens": rg_tokens,
            "grep": [str(CLI), "grep", str(d), AWS, "--format", "json"],
            "rg_literal": ["rg", "-a", "-c", "--no-filename", "-F", AWS, *pages],
        }
        times: dict[str, list[float]] = {k: [] for k in commands}
        rss: dict[str, int] = {}
        outputs: dict[str, str] = {}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                s, kb, text = timed(cmd)
                times[name].append(s)
                rss[name] = max(rss.get(name, 0), kb)
                outputs[name] = text
        report = json.loads(outputs["check"])
        kinds = sorted({f["details"]["kind"] for f in report["findings"] if f["code"] == "CRI050"})
        hits = json.loads(outputs["grep"])["count"]
        row = {"mib": mib, "secret_kinds": kinds, "grep_hits": hits}
        for name in commands:
            row[f"{name}_s"] = round(statistics.median(times[name]), 3)
            row[f"{name}_min_s"] = round(min(times[name]), 3)
            row[f"{name}_rss_mib"] = round(rss[name] / 1024, 1)
        row["check_vs_rg"] = round(row["check_s"] / row["rg_tokens_s"], 2)
        row["grep_vs_rg"] = round(row["grep_s"] / row["rg_literal_s"], 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
        if not args.keep:
            shutil.rmtree(d)
    print()
    print(
        "| memory | `check` | `check --select CRI050` | `rg -a` token patterns | check ÷ rg | check RSS "
        "| `grep` | `rg -a -F` | grep ÷ rg | grep RSS | found |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['mib'] // 1024} GiB | {r['check_s']} s ({r['check_min_s']}) | {r['check_cri050_s']} s "
            f"| {r['rg_tokens_s']} s ({r['rg_tokens_min_s']}) | {r['check_vs_rg']}x | {r['check_rss_mib']} MiB "
            f"| {r['grep_s']} s ({r['grep_min_s']}) | {r['rg_literal_s']} s | {r['grep_vs_rg']}x "
            f"| {r['grep_rss_mib']} MiB | {', '.join(r['secret_kinds'])}; {r['grep_hits']} grep hits |"
        )


if __name__ == "__main__":
    main()
