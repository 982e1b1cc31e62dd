"""CRI027 (bpf_maps): BPF maps on real images changed by decode -> change -> encode.

The corpus has none, so the test takes plain-devnull (uid 0 ticker, fds 1 and 2 -> /dev/null, file id 5),
decodes files.img, turns file id 5 into the object under test and encodes it again.
"""

from __future__ import annotations

from tests.checks.rule_fixtures import ROOT, UNPRIV, found, retype_file5, unpriv


def test_cri027_bpf_map_needs_cap_bpf(writable_copy):
    """bpf(BPF_MAP_CREATE) at restore (criu/bpfmap.c, bpfmap_open(): "Can't create bpfmap %#08x")."""
    d = writable_copy("plain-devnull")

    def fill(fe, fown):
        b = fe.bpf
        b.id, b.flags, b.pos, b.map_type, b.key_size, b.value_size = 5, 2, 0, 1, 4, 8
        b.map_id, b.max_entries, b.map_flags, b.memlock, b.frozen, b.map_name, b.ifindex = (
            17,
            64,
            0,
            4096,
            False,
            "counts",
            0,
        )
        b.fown.CopyFrom(fown)

    retype_file5(d, "BPFMAP", fill)
    got = found(d, UNPRIV, "CRI027", "error")
    assert got and got[0].pid == 14171 and got[0].details["map_name"] == "counts"
    assert got[0].criu_error == "Can't create bpfmap 0x000005: Operation not permitted"
    assert not found(d, unpriv(caps=frozenset({"BPF"})), "CRI027")
    assert not found(d, ROOT, "CRI027")
    assert not found(writable_copy("plain-devnull", "untouched"), UNPRIV, "CRI027")
