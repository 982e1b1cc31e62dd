"""CRI031: the CPU features the tasks used (core images' xsave state, cpuinfo.img) against the target CPU."""

from __future__ import annotations

import json

from inspector.checks.base import Target
from inspector.checks.engine import run_checks
from inspector.checks.targets import cpu_flags_of
from inspector.model.checkpoint import Checkpoint

from ...conftest import corpus_dir

MODERN = "fpu sse sse2 xsave avx avx2 avx512f avx512bw pku"


def cpuinfo(tmp_path, flags: str):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
    return path


def cri031(target, name="plain"):
    return [f for f in run_checks(corpus_dir(name), target, select=["CRI031"]).findings]


def test_what_the_tasks_used():
    state = Checkpoint(corpus_dir("plain")).cpu_state
    assert (state.xstate_bv, state.xsave_threads, state.threads) == (0xA2, 1, 1)
    assert state.cpuinfo_xfeatures is None  # dumped without --cpu-cap: no cpuinfo.img
    jvm = Checkpoint(corpus_dir("jvm")).cpu_state
    assert jvm.threads == 13 and jvm.xsave_threads == 13


def test_against_a_target_cpu(tmp_path, cli):
    assert cri031(Target(kind="root")) == []  # no CPU to compare with: nothing (show tells)
    assert cri031(Target(kind="root", cpu_flags=cpu_flags_of(cpuinfo(tmp_path, MODERN)))) == []
    [w] = cri031(Target(kind="root", cpu_flags=frozenset({"fpu", "sse", "sse2", "xsave", "avx", "avx2"})))
    assert w.severity == "warning" and w.details["missing"] == ["AVX-512 opmask", "AVX-512 Hi16_ZMM"]
    e, w = cri031(Target(kind="root", cpu_flags=frozenset({"fpu", "sse", "sse2"})))  # no xsave at all
    assert e.severity == "error" and e.criu_error == "FPU xsave area present, but host cpu doesn't support it"
    assert w.severity == "warning"
    old = cpuinfo(tmp_path, "fpu sse sse2 xsave avx")
    proc = cli("check", str(corpus_dir("plain")), "--target", "root", "--target-cpu", str(old), "--format", "json")
    assert [f["code"] for f in json.loads(proc.stdout)["findings"] if f["code"] == "CRI031"] == ["CRI031"]


def test_show_says_what_the_tasks_used(cli):
    assert (
        "CPU state in use: SSE, AVX-512 opmask, AVX-512 Hi16_ZMM (xstate_bv 0xa2)"
        in cli("show", str(corpus_dir("plain"))).stdout
    )
    data = json.loads(cli("show", str(corpus_dir("plain")), "--format", "json").stdout)
    assert data["cpu"]["features"] == ["SSE", "AVX-512 opmask", "AVX-512 Hi16_ZMM"]
