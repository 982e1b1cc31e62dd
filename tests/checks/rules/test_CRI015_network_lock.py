"""CRI015 (network_lock): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from inspector.checks.base import Target
from tests.checks.rule_fixtures import edit, found, unpriv
from tests.conftest import corpus_dir


def test_cri015_network_lock(writable_copy):
    """tcp (real, iptables lock) and a copy whose inventory.img network_lock_method was decoded and set
    to nftables (1) and to skip (2), encoded again."""
    tcp = corpus_dir("tcp")
    got = found(tcp, unpriv(tcp_established=True), "CRI015", "warning")
    # criu/net.c network_unlock() is void: a failed unlock is logged, the restore goes on
    assert not found(tcp, unpriv(tcp_established=True), "CRI015", "error")
    assert got and got[0].details["method"] == "iptables"
    assert not found(tcp, Target(kind="root", tcp_established=True), "CRI015")
    assert not found(tcp, unpriv(tcp_close=True), "CRI015")
    d = writable_copy("tcp")
    edit(d, "inventory.img", lambda inv: setattr(inv, "network_lock_method", 1))
    assert not found(d, unpriv(tcp_established=True), "CRI015")  # nftables + CAP_NET_ADMIN
    nft = found(d, unpriv(tcp_established=True, caps=frozenset()), "CRI015", "warning")
    # the fix fits what the image records: it was dumped with nftables already
    assert nft and "--network-lock" not in nft[0].fix and "CAP_NET_ADMIN" in nft[0].fix
    edit(d, "inventory.img", lambda inv: setattr(inv, "network_lock_method", 2))
    assert not found(d, unpriv(tcp_established=True, caps=frozenset()), "CRI015")
