"""The decoder on every real corpus checkpoint: values checked against the MANIFEST."""

from __future__ import annotations

import os

import pytest

from inspector.model.checkpoint import Checkpoint
from inspector.model.names import PAGE_SIZE

from ..conftest import CORPUS_NAMES, corpus_dir


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_present_pages_match_pages_file_sizes(name):
    cp = Checkpoint(corpus_dir(name))
    assert cp.processes
    assert cp.check_pages_sizes() == []
    assert cp.problems == []
    total = sum(os.path.getsize(os.path.join(cp.path, f)) for f in cp.files if f.startswith("pages-"))
    assert cp.page_totals().present * PAGE_SIZE == total
    assert total > 0  # crit 3.17 reports 0 pages here


def test_tree_pids_sessions_threads():
    cp = Checkpoint(corpus_dir("tree"))
    got = [(p.pid, p.ppid, p.pgid, p.sid, len(p.threads)) for p in cp.processes]
    # MANIFEST: root (2 threads) forks c1 (setsid), c2 (setpgid 0,0), c3 (3 threads); 7 threads in all
    assert got == [
        (15783, 0, 15783, 15783, 2),
        (15785, 15783, 15785, 15785, 1),
        (15786, 15783, 15786, 15783, 1),
        (15787, 15783, 15783, 15783, 3),
    ]
    assert cp.root.children == [15785, 15786, 15787]
    assert all(p.cmdline == ["/tmp/criu-work/bin/tree"] for p in cp.processes)


def test_tty_fds_point_at_the_pty():
    cp = Checkpoint(corpus_dir("tty"))
    p = cp.root
    assert [(f.fd, f.type, f.path) for f in p.fds] == [
        (0, "TTY", "/dev/pts/0"),
        (1, "TTY", "/dev/pts/0"),
        (2, "TTY", "/dev/pts/0"),
    ]
    assert p.fds[0].tty is not None and p.fds[0].tty.type == "PTY" and p.fds[0].tty.index == 0
    assert p.creds.uid == 0


def test_creds_newer_fields_no_new_privs_and_cap_amb():
    nnp = Checkpoint(corpus_dir("unpriv-plain-nnp")).root.creds
    plain = Checkpoint(corpus_dir("unpriv-plain")).root.creds
    assert nnp.no_new_privs is True and plain.no_new_privs is False
    assert nnp.uid == plain.uid == 1001
    # this VM drops CAP_SYS_RESOURCE (24) from every bounding set
    assert not plain.cap_bnd >> 24 & 1


def test_jvm_cmdline_and_environment_from_memory():
    p = Checkpoint(corpus_dir("jvm")).root
    assert p.comm == "java" and len(p.threads) == 13
    assert p.cmdline[0] == "/usr/lib/jvm/java-17-openjdk-amd64/bin/java"
    assert "Heartbeat" in p.cmdline
    assert "LANG=C.UTF-8" in p.environ
    assert any(e.startswith("PATH=") for e in p.environ)


def test_criu_version_range_from_the_fields_present(writable_copy):
    from inspector.model.checkpoint import Checkpoint

    from ..checks.rule_fixtures import edit

    assert Checkpoint(corpus_dir("plain")).criu_version_hint == ">= 4.2"  # made by 4.2 (pagemap nr_pages)
    # the same images as a 3.16..4.0 would write them: no run id, no plugins, no cap_amb, counts in field 2
    d = writable_copy("plain")
    edit(d, "inventory.img", lambda inv: [inv.ClearField(f) for f in ("dump_criu_run_id", "plugins_entry")])

    def old_counts(entry):
        if "nr_pages" not in entry.DESCRIPTOR.fields_by_name or not entry.HasField("nr_pages"):
            return False  # the header, pagemap_head
        entry.compat_nr_pages = entry.nr_pages
        entry.ClearField("nr_pages")

    edit(d, "pagemap-14055.img", old_counts)
    edit(d, "core-14055.img", lambda core: core.thread_core.creds.ClearField("cap_amb"))
    cp = Checkpoint(d)
    # network_lock_method (3.16) stays; no_new_privs is written only when set (plain did not have it)
    assert cp.criu_version_range == ((3, 16), (4, 1)) and cp.criu_version_hint == ">= 3.16, < 4.1"
    assert cp.page_totals().present == Checkpoint(corpus_dir("plain")).page_totals().present
