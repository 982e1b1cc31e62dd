"""CRI026 (fsnotify): inotify and fanotify on real images changed by decode -> change -> encode.

The corpus has none, so each test takes plain-devnull (uid 0 ticker, fds 1 and 2 -> /dev/null, file id 5),
decodes files.img, turns file id 5 into the object under test and encodes it again.
"""

from __future__ import annotations

from tests.checks.rule_fixtures import ROOT, UNPRIV, found, retype_file5, unpriv


def _inotify(path: str | None):
    def fill(fe, fown):
        fe.ify.id, fe.ify.flags = 5, 0
        fe.ify.fown.CopyFrom(fown)
        wd = fe.ify.wd.add()
        wd.id, wd.i_ino, wd.mask, wd.ignored_mask, wd.s_dev, wd.wd = 5, 4242, 0x2, 0, 0x803, 1
        wd.f_handle.bytes, wd.f_handle.type = 8, 1
        wd.f_handle.handle.extend([4242, 0])
        if path is not None:
            wd.f_handle.path = path

    return fill


def test_cri026_inotify_watch_by_handle_needs_dac_read_search(writable_copy):
    """A watch recorded by file handle only is reopened with open_by_handle_at() (criu/fsnotify.c,
    get_mark_path() -> open_handle()); one with a path hint is reopened by path."""
    d = writable_copy("plain-devnull", "inotify-handle")
    retype_file5(d, "INOTIFY", _inotify(None))
    got = found(d, UNPRIV, "CRI026", "error")
    assert got and got[0].pid == 14171 and got[0].fd == 1 and got[0].details["watches_by_handle"] == 1
    assert not found(d, unpriv(caps=frozenset({"DAC_READ_SEARCH"})), "CRI026")
    assert not found(d, ROOT, "CRI026")
    p = writable_copy("plain-devnull", "inotify-path")
    retype_file5(p, "INOTIFY", _inotify("/tmp/criu-work/data"))
    assert not found(p, UNPRIV, "CRI026")


def test_cri026_fanotify_needs_sys_admin(writable_copy):
    """fanotify_init() at restore (criu/fsnotify.c, open_fanotify_fd(): "Can't init fanotify mark")."""
    d = writable_copy("plain-devnull")

    def fill(fe, fown):
        fe.ffy.id, fe.ffy.flags, fe.ffy.faflags, fe.ffy.evflags = 5, 0, 0, 0
        fe.ffy.fown.CopyFrom(fown)

    retype_file5(d, "FANOTIFY", fill)
    got = found(d, UNPRIV, "CRI026", "error")
    assert got and got[0].details["kind"] == "fanotify"
    assert got[0].criu_error == "Can't init fanotify mark (-1): Operation not permitted"
    assert not found(d, unpriv(caps=frozenset({"SYS_ADMIN"})), "CRI026")
    assert not found(d, ROOT, "CRI026")
    assert not found(writable_copy("plain-devnull", "untouched"), UNPRIV, "CRI026")
