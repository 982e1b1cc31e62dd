"""memdump and show mem on shared anonymous memory, in a real CRIU dump: CRIU 4.2 writes a MAP_SHARED|
MAP_ANONYMOUS mapping as a memfd whose pages go to pagemap-shmem-ID.img and a pages file of their own,
not to the process's pagemap. memdump must read them from there, and show mem count them as shmem."""

from __future__ import annotations

import json

from inspector.codec.image import open_image
from inspector.model.checkpoint import Checkpoint
from inspector.model.names import PAGE_SIZE, PE_PRESENT
from inspector.pages import effective_flags, page_count

from .probes import last_tick
from .programs import shm_ticker


def test_memdump_reads_shared_memory_from_its_object(lab):
    job = shm_ticker(lab)
    lab.wait_for(lambda: (last_tick(job.files["out"]) or 0) >= 2, what="two ticks")
    dump = lab.dump(job.pid, "shm-memdump", data=[job.data])
    cp = Checkpoint(dump.images)
    vma = next(
        v for v in cp.process(dump.pid).vmas if v.flags & 1 and v.size == 65536 and (v.path or "").startswith("memfd:")
    )

    # the object's pages, independently: its pagemap's entries decoded one by one, its pages file sliced in order
    (shmem_pagemap,) = dump.images.glob("pagemap-shmem-*.img")
    img = open_image(shmem_pagemap)
    pages = (dump.images / f"pages-{img.entries[0].message.pages_id}.img").read_bytes()
    want, offset, present = bytearray(vma.size), 0, 0
    for entry in img.entries[1:]:
        msg = entry.message
        n = page_count(msg)
        if effective_flags(msg) & PE_PRESENT:
            lo = msg.vaddr - vma.pgoff  # runs are offsets in the object
            want[lo : lo + n * PAGE_SIZE] = pages[offset : offset + n * PAGE_SIZE]
            offset += n * PAGE_SIZE
            present += n
    assert present and b"SHM_DB_PASSWORD=hunter2-in-shared-memory" in want

    raw = lab.inspect(
        "memdump",
        str(dump.images),
        "--pid",
        str(dump.pid),
        "--vma",
        f"{vma.start:x}",
        "--format",
        "raw",
        "-o",
        str(lab.dir / "shm.bin"),
    )
    assert raw.returncode == 0, raw.stderr
    assert (lab.dir / "shm.bin").read_bytes() == bytes(want)
    assert (lab.dir / "shm.bin").read_bytes()[4096 + 101 :].startswith(b"SHM_DB_PASSWORD=hunter2")

    hexed = lab.inspect("memdump", str(dump.images), "--pid", str(dump.pid), "--vma", f"{vma.start:x}")
    assert hexed.returncode == 0, hexed.stderr
    lines = hexed.stdout.splitlines()
    assert lines[0].startswith(f"# {vma.start:x}-{vma.end:x} rw-s 64 KiB {vma.path}: 16 pages, {present} shared")
    assert any("in the shared memory object's pages" in line for line in lines)
    ascii_column = "".join(line[-17:-1] for line in lines if line.endswith("|") and not line.startswith("#"))
    assert "SHM_DB_PASSWORD=hunter2-in-shared-memory" in ascii_column

    mem = json.loads(lab.inspect("show", str(dump.images), "mem", "--format", "json").stdout)
    (row,) = mem["processes"]
    assert row["pages"]["shmem"] == present and row["shared"] >= vma.size
    cp.close()
