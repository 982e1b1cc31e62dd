"""The schema registry reads pycriu's descriptors out of its generated modules without running them."""

from __future__ import annotations

import os
import subprocess
import sys

from inspector.codec import pycriu_loader

from ..conftest import ROOT, corpus_dir


def test_serialized_descriptors_equal_the_imported_modules():
    """For every generated module of the installed pycriu, the literal read from the source is
    byte for byte the descriptor the module registers when imported."""
    names = sorted(f[:-3] for f in os.listdir(pycriu_loader.images_dir()) if f.endswith("_pb2.py"))
    assert len(names) > 50
    for name in names:
        assert pycriu_loader.serialized_file(name) == pycriu_loader.pb2_module(name).DESCRIPTOR.serialized_pb, name


def test_decoding_a_checkpoint_runs_no_pycriu_module():
    code = (
        "import sys\n"
        "from inspector.model.checkpoint import Checkpoint\n"
        f"cp = Checkpoint({str(corpus_dir('tree'))!r})\n"
        "assert cp.processes[3].fds[1].path == '/tmp/criu-work/data/tree/out'\n"
        "print(sorted(m for m in sys.modules if m.endswith('_pb2') and not m.startswith('google.')))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
