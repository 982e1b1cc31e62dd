"""python -m tests.fuzz --cases N --seed S [--workers W] [--findings DIR] [--only I]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import campaign


def main() -> int:
    p = argparse.ArgumentParser(
        prog="scripts/fuzz", description="mutate real checkpoints and run every command on them"
    )
    p.add_argument("--cases", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", type=int, default=0, help="first case index")
    p.add_argument("--only", type=int, action="append", help="run only this case (repeatable): reproduce one")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds one command may take (a hang past it)")
    p.add_argument("--as-limit-mib", type=int, default=1024, help="address-space cap of each worker")
    p.add_argument("--findings", type=Path, default=Path("fuzz-findings"), help="where reproducers go")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object (for the test suite)")
    args = p.parse_args()
    import signal

    # kill/timeout: unwind, so the campaign's work folder and its workers go (a killed campaign left them)
    signal.signal(signal.SIGTERM, lambda signo, frame: sys.exit(128 + signo))
    indices = args.only or list(range(args.start, args.start + args.cases))
    last = [0.0]

    def progress(s: campaign.Summary) -> None:
        import time

        if time.monotonic() - last[0] > 10:
            last[0] = time.monotonic()
            sys.stderr.write(f"  {s.cases}/{len(indices)} cases, {len(s.signatures)} defect signatures\n")

    summary = campaign.run(
        indices, args.seed, args.workers, args.timeout, args.findings, args.as_limit_mib << 20, progress
    )
    if args.json:
        import json

        print(json.dumps(summary.as_dict()))
        return 1 if summary.signatures else 0
    print(summary.text())
    if summary.signatures:
        print(f"reproducers: {args.findings}/")
    return 1 if summary.signatures else 0


if __name__ == "__main__":
    sys.exit(main())
