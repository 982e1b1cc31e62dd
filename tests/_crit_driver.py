"""Run Debian's crit on many images in one process (run by /usr/bin/python3, not pytest).

Calls ``pycriu.cli.main`` -- exactly what /usr/bin/crit runs -- once per file
and mode with crit's own argv, and prints {"FILE|MODE": [exit, stdout, stderr]}
as JSON. One process instead of ~600 crit start-ups keeps the suite fast;
tests/codec/test_decode_crit.py checks this equals the crit executable per kind.
Paths come one per line on stdin.
"""

import contextlib
import io
import json
import sys

from pycriu import cli

results = {}
for line in sys.stdin:
    path = line.rstrip("\n")
    if not path:
        continue
    for mode in ("plain", "pretty"):
        sys.argv = ["crit", "decode", "-i", path] + (["--pretty"] if mode == "pretty" else [])
        out, err = io.StringIO(), io.StringIO()
        code = 0
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                cli.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:  # crit's traceback cases: record them as a failure
            code = 1
            err.write(f"{type(exc).__name__}: {exc}\n")
        results[f"{path}|{mode}"] = [code, out.getvalue(), err.getvalue()]
json.dump(results, sys.stdout)
