"""Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS). CRIU 4.2 dumps it as a memfd: its pages go to
pagemap-shmem-ID.img and a pages file of their own, named by memfd.img's shmid, not by the VMA's (a file
id). check called those two images another dump's leftovers (CRI030) and its fix said to delete them; a
real restore without them fails. Here the real restore decides: the images belong to the dump. And the
memory in them is the process's: the secrets scan (CRI050) and grep read it, as the reference scan does."""

from __future__ import annotations

import json
import shutil

from inspector.model.checkpoint import Checkpoint
from inspector.secrets import scan_process, scan_process_reference

from .lab import assert_agrees
from .probes import last_tick
from .programs import shm_ticker


def test_shared_anonymous_memory_images_belong_to_the_dump(lab):
    job = shm_ticker(lab)
    out = job.files["out"]
    lab.wait_for(lambda: (last_tick(out) or 0) >= 3, what="three ticks")
    dump = lab.dump(job.pid, "shmticker", data=[job.data])
    shmem = sorted(p.name for p in dump.images.glob("pagemap-shmem-*.img"))
    assert shmem, sorted(p.name for p in dump.images.iterdir())
    report, outcome = lab.judge(dump, job.probe)
    assert_agrees(report, outcome)
    assert outcome.restored, outcome.describe()
    assert "CRI030" not in {f["code"] for f in report["findings"]}, report["findings"]
    shared = [f["details"] for f in report["findings"] if f["code"] == "CRI050" and f["details"]["where"] == "shared"]
    assert [d["name"] for d in shared] == ["SHM_DB_PASSWORD"], report["findings"]
    grep = json.loads(lab.inspect("grep", str(dump.images), "hunter2-in-shared", "--format", "json").stdout)
    in_shared = [h for h in grep["hits"] if h["where"] == "shared"]  # (the binary's copy may be dumped too)
    assert [h["address"] for h in in_shared] == [shared[0]["value_address"]], grep["hits"]
    assert in_shared[0]["vma"]["path"].startswith("memfd:")
    cp = Checkpoint(dump.images)
    assert list(scan_process(cp, dump.pid)) == list(scan_process_reference(cp, dump.pid))
    cp.close()

    # what CRI030's fix told users to do: delete the images it listed. The restore then fails.
    without = lab.dir / "without-shmem"
    shutil.copytree(dump.images, without, symlinks=True)
    pages_ids = set()
    for name in shmem:
        head = lab.inspect("decode", str(without / name))
        assert head.returncode == 0, head.stderr
        pages_ids.add(json.loads(head.stdout)["entries"][0]["pages_id"])
        (without / name).unlink()
    for pages_id in pages_ids:
        (without / f"pages-{pages_id}.img").unlink()
    gone = lab.restore_and_probe(dump, job.probe, images=without)
    assert not gone.restored and gone.rc != 0 and "shmem" in gone.why, gone.describe()
