"""show net / mounts / stats on real dumps of what the corpus lacks: a network namespace and a mount namespace
of the tree's own, and a restore (stats-restore). The yardstick is the kernel, asked before the dump:
``ip -j link/addr`` inside the namespace, and /proc/PID/mountinfo.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from .lab import exe_of

SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# the program dumped: sleep with no descriptors at all (an fd opened before unshare would sit on a mount that
# the new mount namespace does not have: "Can't lookup mount=N for fd")
BARE_SLEEP = 'exec python3 -c \'import os; os.closerange(0, 65536); os.execvp("sleep", ["sleep", "600"])\''


def _need(*tools: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("namespaces of the dumped tree's own need root (unshare)")
    missing = [t for t in tools if shutil.which(t, path=SBIN_PATH) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


def _start_sleeping(lab, argv: list[str]) -> int:
    pid = lab.start(argv, env={"PATH": SBIN_PATH})
    sleep = os.path.realpath(shutil.which("sleep", path=SBIN_PATH))
    lab.wait_for(lambda: exe_of(pid) == sleep, what="the namespaced shell to exec sleep")
    return pid


def _show(lab, images, view: str) -> tuple[dict, str]:
    r = lab.inspect("show", images, view, "--format", "json")
    assert r.returncode == 0, r.stderr
    text = lab.inspect("show", images, view)
    assert text.returncode == 0, text.stderr
    return json.loads(r.stdout)[view], text.stdout


def _ip(pid: int, *args: str):
    r = subprocess.run(
        ["nsenter", "-t", str(pid), "-n", "ip", "-j", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        env={"PATH": SBIN_PATH},
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_show_net_of_a_dumped_network_namespace(lab):
    _need("unshare", "nsenter", "ip")
    setup = (
        "ip link set lo up && ip link add veth0 type veth peer name veth1 && "
        "ip addr add 10.77.0.2/24 dev veth0 && ip link set veth0 up && "
    )
    pid = _start_sleeping(lab, ["unshare", "--net", "sh", "-c", setup + BARE_SLEEP])
    links = {link["ifname"]: link for link in _ip(pid, "link", "show")}
    inet = {
        (a["ifindex"], a["addr_info"][i]["local"], a["addr_info"][i]["prefixlen"])
        for a in _ip(pid, "addr", "show")
        for i in range(len(a["addr_info"]))
        if a["addr_info"][i]["family"] == "inet"
    }
    dump = lab.dump(pid, "netns")
    net, text = _show(lab, dump.images, "net")
    [ns] = net["namespaces"]
    assert ns["pids"] == [pid] and net["host_netns_pids"] == [] and ns["ext_key"] is None
    devices = {d["name"]: d for d in ns["devices"]}
    assert sorted(devices) == sorted(links) == ["lo", "veth0", "veth1"]
    for name, link in links.items():
        d = devices[name]
        assert (d["ifindex"], d["mtu"]) == (link["ifindex"], link["mtu"]), name
        assert ("UP" in d["flags"]) == ("UP" in link["flags"]), name
        if name != "lo":
            assert d["type"] == "VETH" and d["mac"] == link["address"], name
            assert d["peer_ifindex"] == devices[link["link"]]["ifindex"], name  # ip names the veth peer: "link"
    assert devices["lo"]["type"] == "LOOPBACK"
    assert {(a["ifindex"], a["address"], a["prefix"]) for a in ns["addresses"] if a["family"] == "inet"} == inet
    assert (links["veth0"]["ifindex"], "10.77.0.2", 24) in inet
    images = {i["name"] for i in ns["images"]}
    assert {f"netdev-{ns['id']}.img", f"ifaddr-{ns['id']}.img", f"route-{ns['id']}.img"} <= images
    assert f"namespace {ns['id']} (pids {pid})" in text and "10.77.0.2/24" in text


def _mountinfo(pid: int) -> dict[int, dict]:
    out = {}
    with open(f"/proc/{pid}/mountinfo") as fh:
        for line in fh:
            head, tail = line.split(" - ", 1)
            f, (fstype, source, *_rest) = head.split(), tail.split()
            out[int(f[0])] = {
                "parent": int(f[1]),
                "root": f[3],
                "mountpoint": f[4],
                "opts": f[5].split(","),
                "fstype": fstype,
                "source": source,
            }
    return out


def test_show_mounts_of_a_dumped_mount_namespace(lab):
    _need("unshare")
    scratch = lab.mkdir("scratch")
    script = f"mount -t tmpfs -o size=1m criu-inspect-e2e {scratch} && " + BARE_SLEEP
    pid = _start_sleeping(lab, ["unshare", "--mount", "--propagation", "private", "sh", "-c", script])
    kernel = _mountinfo(pid)
    try:
        dump = lab.dump(pid, "mntns")
    except AssertionError as exc:  # a host mount CRIU cannot dump (fuse, an overmounted one...) is the host's
        if "mnt" in str(exc) or "mount" in str(exc):
            pytest.skip(f"CRIU cannot dump this host's mount tree: {exc}")
        raise
    mounts, text = _show(lab, dump.images, "mounts")
    [ns] = mounts["namespaces"]
    ours = {m["mnt_id"]: m for m in ns["mounts"]}
    assert sorted(ours) == sorted(kernel)
    for mnt_id, k in kernel.items():
        m = ours[mnt_id]
        assert (m["parent_mnt_id"], m["mountpoint"], m["root"]) == (k["parent"], k["mountpoint"], k["root"]), mnt_id
        assert m["flags"][0] == k["opts"][0] and set(m["flags"]) <= set(k["opts"]), (mnt_id, m["flags"], k["opts"])
    mine = next(m for m in ours.values() if m["mountpoint"] == str(scratch))
    assert (mine["fstype"], mine["source"], mine["options"]) == ("TMPFS", "criu-inspect-e2e", "size=1024k")
    assert str(scratch) in text and "criu-inspect-e2e" in text


def test_show_stats_after_a_real_restore(lab):
    _need()
    pid = _start_sleeping(lab, ["sh", "-c", BARE_SLEEP])
    dump = lab.dump(pid, "plain")
    rc, log, _ = lab.restore(dump)
    try:
        assert rc == 0, log.read_text()[-2000:]
        stats, text = _show(lab, log.parent, "stats")
    finally:
        lab.kill(dump.exes)
    summary = json.loads(lab.inspect("show", log.parent, "--format", "json").stdout)["summary"]
    restore = stats["restore"]["values"]
    assert set(restore) == {"pages_compared", "pages_skipped_cow", "forking_time", "restore_time", "pages_restored"}
    assert restore["pages_restored"] == summary["pages"]["present"]  # criu's count of what it read = the pagemap's
    assert restore["restore_time"] > 0 and stats["restore"]["file"] == str(log.parent / "stats-restore")
    assert stats["dump"]["values"]["pages_written"] == summary["pages"]["present"]
    assert re.search(rf"^pages restored\s+{restore['pages_restored']} \(", text, re.MULTILINE)
    assert re.search(rf"^restore time\s+{restore['restore_time']} us", text, re.MULTILINE)


SOCKETS_PROGRAM = """
import json, os, socket, sys, time
a, b = socket.socketpair()
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
client = socket.create_connection(listener.getsockname())
server, _ = listener.accept()
info = {name: {"fd": s.fileno(), "ino": os.fstat(s.fileno()).st_ino, "local": s.getsockname()}
        for name, s in (("a", a), ("b", b), ("listener", listener), ("client", client), ("server", server))}
print(json.dumps(info), flush=True)
while True:
    time.sleep(1)
"""


def test_show_sockets_names_the_peers_the_tree_holds(lab):
    """A socketpair and a TCP connection whose two ends are both in the tree: each row names the other's pid/fd.
    The program itself says which fd has which inode and address (os.fstat, getsockname)."""
    _need("iptables")  # criu locks the network of a --tcp-established dump with iptables as root
    out = lab.dir / "sockets.out"
    pid = lab.start(["python3", "-c", SOCKETS_PROGRAM], out=out)
    lab.wait_for(lambda: out.exists() and out.read_text().strip(), what="the program's socket list")
    info = json.loads(out.read_text())
    dump = lab.dump(pid, "sockets", flags=["--tcp-established"])
    rows, text = _show(lab, dump.images, "sockets")
    by_fd = {r["fd"]: r for r in rows if r["pid"] == pid}

    def row(name):
        return by_fd[info[name]["fd"]]

    for me, other in (("a", "b"), ("b", "a")):
        assert (row(me)["family"], row(me)["type"], row(me)["ino"]) == ("UNIX", "STREAM", info[me]["ino"])
        assert row(me)["peer_ino"] == info[other]["ino"] and row(me)["peer_owner"] == f"{pid}/{info[other]['fd']}"
    host, port = info["listener"]["local"]
    assert (row("listener")["state"], row("listener")["local"], row("listener")["ino"]) == (
        "LISTEN",
        f"{host}:{port}",
        info["listener"]["ino"],
    )
    for me, other in (("client", "server"), ("server", "client")):
        r = row(me)
        assert (r["proto"], r["state"], r["ino"]) == ("TCP", "ESTABLISHED", info[me]["ino"])
        assert r["local"] == "%s:%d" % tuple(info[me]["local"]) and r["peer"] == "%s:%d" % tuple(info[other]["local"])
        assert r["peer_owner"] == f"{pid}/{info[other]['fd']}" and r["recv_queue"] == 0
    assert re.search(rf"^{pid}\s+{info['a']['fd']}\s+UNIX\s+STREAM\s.*\s{pid}/{info['b']['fd']}\s", text, re.MULTILINE)
