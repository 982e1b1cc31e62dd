"""coredump judged by gdb: a multi-threaded program built with symbols (_scenario-src/threads.c, gcc -g -O0),
each thread waiting in a function of its own, dumped by the real CRIU; the core criu-inspect writes from the
images must show gdb every thread and, in each thread's backtrace, the function that thread waits in."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from .lab import SCENARIO_SRC

# thread name (pthread_setname_np in threads.c) -> the functions of threads.c its backtrace must name
EXPECTED_FRAMES = {
    "threads": ["main_ticks", "main"],
    "alpha": ["alpha_waits_on_condition", "worker_alpha"],
    "beta": ["beta_sleeps", "worker_beta"],
    "gamma": ["gamma_reads_pipe", "worker_gamma"],
}


def _build(lab):
    if shutil.which("gdb") is None:
        pytest.skip("e2e: gdb is not installed (scripts/setup installs it)")
    exe = lab.mkdir("bin") / "threads"
    subprocess.run(
        ["cc", "-g", "-O0", "-pthread", "-o", str(exe), str(SCENARIO_SRC / "threads.c")], check=True, timeout=120
    )
    exe.chmod(0o755)
    return exe


def _thread_names(pid: int) -> dict[int, str]:
    names = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as fh:
            names[int(tid)] = fh.read().strip()
    return names


def _backtraces(gdb_out: str) -> dict[int, str]:
    """LWP -> its 'thread apply all bt' block."""
    blocks = re.split(r"\n(?=Thread \d+ )", gdb_out)
    out = {}
    for block in blocks:
        m = re.match(r"Thread \d+ \(.*?LWP (\d+)\)", block)
        if m:
            out[int(m.group(1))] = block
    return out


def test_gdb_shows_every_thread_and_its_function(lab):
    exe = _build(lab)
    data = lab.mkdir("threads")
    out = lab.file(data / "out")
    pid = lab.start([str(exe)], out=out, cwd=data)
    lab.wait_for(lambda: b"tick 2" in out.read_bytes(), what="every thread waiting (the second tick)")
    names = _thread_names(pid)
    assert sorted(names.values()) == sorted(EXPECTED_FRAMES), names
    dump = lab.dump(pid, "threads")

    core = lab.dir / f"core.{pid}"
    r = lab.inspect("coredump", dump.images, "--pid", pid, "-o", core)
    assert r.returncode == 0, r.stderr
    assert f"pid {pid} (threads), 4 thread(s)" in r.stdout
    env = {**os.environ, "DEBUGINFOD_URLS": ""}  # no network lookups
    gdb = subprocess.run(
        [
            "gdb",
            "-nx",
            "-batch",
            "-iex",
            "set debuginfod enabled off",
            "-ex",
            "info threads",
            "-ex",
            "thread apply all bt",
            str(exe),
            str(core),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=lab.dir,
    )
    assert gdb.returncode == 0, gdb.stderr
    listed = {int(t) for t in re.findall(r"LWP (\d+)\)? ", gdb.stdout.split("\nThread ")[0])}
    assert listed == set(names), gdb.stdout
    traces = _backtraces(gdb.stdout)
    assert set(traces) == set(names), gdb.stdout
    for tid, name in names.items():
        for function in EXPECTED_FRAMES[name]:
            assert re.search(rf" in {function} \(|^#\d+\s+{function} \(", traces[tid], re.M), (name, traces[tid])
    assert "threads.c:" in traces[pid]  # source lines: the symbols came with the executable


def test_shared_anonymous_memory_is_in_the_core(lab):
    """MAP_SHARED|MAP_ANONYMOUS memory (CRIU 4.2 dumps it as a memfd, in pagemap-shmem-ID.img): its bytes are in
    the core where the process had them, and gdb reads them there."""
    import struct

    from inspector.model.checkpoint import Checkpoint

    from ..cli.test_coredump import read_core
    from .probes import last_tick
    from .programs import shm_ticker

    if shutil.which("gdb") is None:
        pytest.skip("e2e: gdb is not installed (scripts/setup installs it)")
    job = shm_ticker(lab)
    out = job.files["out"]
    lab.wait_for(lambda: (last_tick(out) or 0) >= 2, what="two ticks")
    dump = lab.dump(job.pid, "shmticker")
    tick = last_tick(out)  # the program printed n with n + 1 already in the shared counter

    core_path = lab.dir / f"core.{job.pid}"
    r = lab.inspect("coredump", dump.images, "-o", core_path)
    assert r.returncode == 0, r.stderr
    cp = Checkpoint(dump.images)
    shared = [v for v in cp.process(job.pid).vmas if v.flags & 0x1 and v.end - v.start == 65536 and v.prot == 3]
    assert len(shared) == 1, cp.process(job.pid).vmas
    vma = shared[0]
    core = read_core(core_path)
    seg = next(p for p in core["phdrs"] if p["type"] == 1 and p["vaddr"] == vma.start)
    assert seg["filesz"] >= 8192, seg
    data = core["data"][seg["offset"] : seg["offset"] + seg["filesz"]]
    counter = struct.unpack_from("<Q", data, 0)[0]
    assert counter in (tick + 1, tick + 2)  # (+2: frozen between the increment and the next line)
    assert data[4096 + 101 : 4096 + 141] == b"SHM_DB_PASSWORD=hunter2-in-shared-memory"
    gdb = subprocess.run(
        [
            "gdb",
            "-nx",
            "-batch",
            "-iex",
            "set debuginfod enabled off",
            "-ex",
            f"x/s 0x{vma.start + 4096 + 101:x}",
            "-ex",
            f"x/gd 0x{vma.start:x}",
            "-c",
            str(core_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DEBUGINFOD_URLS": ""},
    )
    assert gdb.returncode == 0, gdb.stderr
    assert '"SHM_DB_PASSWORD=hunter2-in-shared-memory"' in gdb.stdout, gdb.stdout
    assert re.search(rf":\s+{counter}\s*$", gdb.stdout, re.M), gdb.stdout
    cp.close()
