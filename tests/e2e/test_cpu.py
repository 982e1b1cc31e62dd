"""A dump with --cpu-cap writes cpuinfo.img; restored on the same CPU with --cpu-cap it must pass CRIU's
CPU validation, and check --host (this CPU) must say so; for a CPU without AVX-512 check says blocked."""

from __future__ import annotations

from inspector.model.checkpoint import Checkpoint

from .lab import assert_agrees
from .programs import ticker


def test_cpu_cap_dump_restores_on_the_same_cpu(lab, tmp_path):
    user = lab.criu.user
    job = ticker(lab, user, nnp=True, name="cpu")
    dump = lab.dump(job.pid, "cpu-cap", user=user, flags=["--cpu-cap=fpu,ins"], data=[job.data])
    state = Checkpoint(dump.images).cpu_state
    cpu_flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split(":", 1)[1].split()
    assert state.cpuinfo_xfeatures is not None and state.cpuinfo_model
    assert bool(state.cpuinfo_xfeatures & 0xE0) == ("avx512f" in cpu_flags)  # the dumping CPU's AVX-512
    host = ["--host", "--criu", str(lab.criu.capped)]
    report, outcome = lab.judge(dump, job.probe, user=user, flags=["--cpu-cap=fpu,ins"], check_args=host)
    assert_agrees(report, outcome)
    assert outcome.restored and not [f for f in report["findings"] if f["code"] == "CRI031"]
    # the same images for a CPU without AVX-512: criu --cpu-cap would refuse them there
    other = tmp_path / "cpuinfo"
    other.write_text("flags\t: " + " ".join(f for f in cpu_flags if not f.startswith("avx512")) + "\n")
    blocked = lab.check(dump.images, "--uid", str(user.uid), "--target-cpu", str(other))
    errors = [f for f in blocked["findings"] if f["code"] == "CRI031" and f["severity"] == "error"]
    if state.cpuinfo_xfeatures & 0xE0:  # this CPU has AVX-512 state: a CPU without it is refused
        assert errors and errors[0]["criu_error"].startswith("CPU xfeatures has unsupported bits")
