"""show net, mounts, stats and sockets on real checkpoints and on a Podman checkpoint built around one.

Yardsticks: the corpus MANIFEST (what each program was, which port, which
socket path), Debian's crit decoding the same files where it is installed,
our codec reading the raw image (not the model), and the values planted in
the Podman layout (tests/podman_layout.py, whose shapes come from podman's
and checkpointctl's sources).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from inspector.codec.image import open_image
from inspector.model.checkpoint import Checkpoint
from inspector.views.net import read_ifaddr
from inspector.views.sockets import sockets_view
from tests.codec.test_decode_crit_synth import crit_decode
from tests.conftest import CORPUS, CORPUS_NAMES, SAMPLES, corpus_dir
from tests.crit_ref import require_crit
from tests.podman_layout import CNI_STATUS, CONFIG, MNT_NS_ID, NET_NS_ID, NETWORK_STATUS, SPEC_MOUNTS, podman_checkpoint
from tests.source.test_source import pack

MANIFEST = (SAMPLES / "MANIFEST.md").read_text()


def show_json(cli, path, view: str, *extra: str, rc: int = 0) -> dict:
    r = cli("show", str(path), view, "--format", "json", *extra)
    assert r.returncode == rc, r.stderr
    data = json.loads(r.stdout)
    assert (data["version"], data["view"], data["path"]) == (1, view, str(path))
    assert set(data) == {"version", "view", "path", view, "problems", "problems_omitted"}
    return data


def view_json(path, view: str) -> dict:
    """The view's JSON body computed in-process (the CLI's own functions), for loops over the corpus."""
    from inspector.report import views_json
    from inspector.report.views_render import view_data

    cp = Checkpoint(path)
    data = view_data(cp, view)
    body = {
        "net": views_json.net_dict,
        "mounts": views_json.mounts_dict,
        "stats": views_json.stats_dict,
        "sockets": views_json.sockets_list,
    }[view](data)
    doc = json.loads(json.dumps(views_json.view_document(cp, view, body)))
    assert doc["problems"] == [], doc["problems"]
    return doc[view]


def show_text(cli, path, view: str, rc: int = 0) -> str:
    r = cli("show", str(path), view)
    assert r.returncode == rc, r.stderr
    return r.stdout


@pytest.fixture
def podman(tmp_path):
    """A Podman checkpoint directory around sample-images/tcp, and its export archive."""
    ctr = podman_checkpoint(tmp_path / "userdata")
    (tmp_path / "export").mkdir()
    return ctr, pack(ctr, tmp_path / "export" / "tcp-client.tar", "tar")


# --- sockets ---------------------------------------------------------------------------------------------


def test_tcp_socket_row_is_what_the_images_hold(cli):
    """tcp: a client connected to 127.0.0.1:23456 (MANIFEST), dumped with --tcp-established."""
    server_port = int(re.search(r"bin/tcp client (\d+)", MANIFEST).group(1))
    isk = next(e.message.isk for e in open_image(corpus_dir("tcp") / "files.img").entries if e.message.HasField("isk"))
    stream = open_image(corpus_dir("tcp") / f"tcp-stream-{isk.ino:x}.img").entries[0].message
    rows = show_json(cli, corpus_dir("tcp"), "sockets")["sockets"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["pid"], row["fd"], row["family"], row["type"], row["proto"], row["state"]) == (
        18411,
        3,
        "INET",
        "STREAM",
        "TCP",
        "ESTABLISHED",
    )
    assert row["peer"] == f"127.0.0.1:{server_port}" and row["local"] == f"127.0.0.1:{isk.src_port}"
    assert row["ino"] == isk.ino and row["netns"] == isk.ns_id
    assert (row["rcvbuf"], row["sndbuf"]) == (isk.opts.so_rcvbuf, isk.opts.so_sndbuf)
    assert (row["recv_queue"], row["send_queue"]) == (stream.inq_len, stream.outq_len) == (8, 0)
    assert row["peer_owner"] is None  # the server was not dumped
    text = show_text(cli, corpus_dir("tcp"), "sockets")
    assert re.search(
        rf"^18411\s+3\s+INET\s+TCP\s+ESTABLISHED\s+127\.0\.0\.1:{isk.src_port}\s+127\.0\.0\.1:{server_port}"
        rf"\s+{isk.ino}\s",
        text,
        re.MULTILINE,
    )


def test_tcp_socket_agrees_with_crit(cli):
    require_crit()
    files = str(corpus_dir("tcp") / "files.img")
    crit = json.loads(crit_decode([files])[f"{files}|pretty"][1])  # pretty: addresses as text
    isk = next(e["isk"] for e in crit["entries"] if "isk" in e)
    row = show_json(cli, corpus_dir("tcp"), "sockets")["sockets"][0]
    assert row["local"] == f"{isk['src_addr'][0]}:{isk['src_port']}"
    assert row["peer"] == f"{isk['dst_addr'][0]}:{isk['dst_port']}"
    assert (row["ino"], row["state"], row["proto"]) == (isk["ino"], isk["state"], isk["proto"])


def test_unix_socket_peer_outside_the_tree(cli):
    """unixsock: a dgram client whose peer (a bound socket, MANIFEST) was not dumped: --ext-unix-sk."""
    peer_path = re.search(r"usock dgram-client (\S+)", MANIFEST).group(1).replace("$WORK", "")
    usks = [
        e.message.usk for e in open_image(corpus_dir("unixsock") / "files.img").entries if e.message.HasField("usk")
    ]
    own = next(u for u in usks if u.peer)
    peer = next(u for u in usks if u.ino == own.peer)
    rows = show_json(cli, corpus_dir("unixsock"), "sockets")["sockets"]
    assert [(r["pid"], r["fd"], r["family"], r["type"], r["state"]) for r in rows] == [
        (19279, 3, "UNIX", "DGRAM", "ESTABLISHED")
    ]
    row = rows[0]
    assert (row["ino"], row["peer_ino"]) == (own.ino, peer.ino)
    assert row["peer"].endswith(peer_path) and row["peer_owner"] == "outside the tree"
    assert row["local"] is None and peer.uflags & 1  # USK_EXTERN: criu dumped the peer as external
    assert "outside the tree" in show_text(cli, corpus_dir("unixsock"), "sockets")


def test_sockets_view_is_the_models_sockets():
    """Every socket fd of every corpus checkpoint is one row, with the model's values (no second decoding)."""
    for name in CORPUS_NAMES:
        cp = Checkpoint(corpus_dir(name))
        fds = [(p.pid, fd) for p in cp.processes for fd in p.fds if fd.socket is not None]
        rows = sockets_view(cp)
        assert [(r.pid, r.fd) for r in rows] == [(pid, fd.fd) for pid, fd in fds], name
        assert [(r.ino, r.state, r.family) for r in rows] == [
            (fd.socket.ino, fd.socket.state, fd.socket.family) for _, fd in fds
        ]


def _retyped_socket(writable_copy, make):
    """A copy of tcp whose inet socket (fd 3) is turned into another kind by ``make(file_entry)``."""
    from inspector.codec import schema
    from tests.checks.rule_fixtures import edit

    kind = make(None)
    copy = writable_copy("tcp", kind)
    files = open_image(copy / "files.img").entries
    isk_id = next(e.message.id for e in files if e.message.HasField("isk"))
    fd_types = schema.message_class("fdinfo_pb2", "fdinfo_entry").DESCRIPTOR.fields_by_name["type"].enum_type

    def retype(fe):
        if fe.id != isk_id:
            return False
        fown, opts = fe.isk.fown, fe.isk.opts
        fe.ClearField("isk")
        fe.type = fd_types.values_by_name[kind].number
        make(fe, fown, opts)

    edit(copy, "files.img", retype)
    for info in copy.glob("fdinfo-*.img"):
        edit(
            copy,
            info.name,
            lambda m: setattr(m, "type", fd_types.values_by_name[kind].number) if m.id == isk_id else False,
        )
    return copy


def test_netlink_and_packet_sockets_are_rows(cli, writable_copy):
    """The model keeps no Socket for them; the view still lists them, from files.img's nlsk/psk entries."""

    def netlink(fe, fown=None, opts=None):
        if fe is None:
            return "NETLINKSK"
        fe.nlsk.id, fe.nlsk.ino, fe.nlsk.protocol, fe.nlsk.state, fe.nlsk.flags = fe.id, 777, 0, 7, 2
        fe.nlsk.portid, fe.nlsk.dst_portid, fe.nlsk.dst_group = 4242, 0, 0
        fe.nlsk.fown.CopyFrom(fown)
        fe.nlsk.opts.CopyFrom(opts)

    def packet(fe, fown=None, opts=None):
        if fe is None:
            return "PACKETSK"
        k = fe.psk
        k.id, k.type, k.protocol, k.flags, k.ifindex, k.version, k.reserve = fe.id, 3, 0x0003, 2, 2, 0, 0
        k.aux_data, k.orig_dev, k.vnet_hdr, k.loss, k.timestamp, k.copy_thresh = False, False, False, 0, 0, 0
        k.fown.CopyFrom(fown)
        k.opts.CopyFrom(opts)

    nl = show_json(cli, _retyped_socket(writable_copy, netlink), "sockets")["sockets"]
    assert [(r["fd"], r["family"], r["ino"], r["local"]) for r in nl] == [(3, "NETLINK", 777, "portid 4242")]
    pk = show_json(cli, _retyped_socket(writable_copy, packet), "sockets")["sockets"]
    assert [(r["fd"], r["family"], r["type"], r["local"]) for r in pk] == [(3, "PACKET", "RAW", "ifindex 2")]


def test_ipv6_endpoints_are_bracketed(cli, writable_copy):
    """2001:db8::1 port 47414 is [2001:db8::1]:47414, not 2001:db8::1:47414 (itself an address)."""
    import ipaddress
    import socket

    from tests.checks.rule_fixtures import edit

    copy = writable_copy("tcp")

    def six(fe):
        if not fe.HasField("isk"):
            return False
        fe.isk.family = socket.AF_INET6
        for field, text in (("src_addr", "2001:db8::1"), ("dst_addr", "::ffff:10.0.0.1")):
            value = int(ipaddress.IPv6Address(text))
            del getattr(fe.isk, field)[:]
            getattr(fe.isk, field).extend(socket.htonl((value >> s) & 0xFFFFFFFF) for s in (96, 64, 32, 0))

    edit(copy, "files.img", six)
    row = show_json(cli, copy, "sockets")["sockets"][0]
    isk = next(e.message.isk for e in open_image(corpus_dir("tcp") / "files.img").entries if e.message.HasField("isk"))
    assert row["family"] == "INET6"
    assert row["local"] == f"[2001:db8::1]:{isk.src_port}" and row["peer"] == f"[::ffff:a00:1]:{isk.dst_port}"


def test_no_sockets_and_pid_filter(cli):
    assert show_text(cli, corpus_dir("plain"), "sockets").strip() == "no sockets"
    assert show_json(cli, corpus_dir("plain"), "sockets")["sockets"] == []
    assert show_json(cli, corpus_dir("tcp"), "sockets", "--pid", "18411")["sockets"][0]["fd"] == 3


# --- stats -------------------------------------------------------------------------------------------------


def test_stats_equal_the_decoded_stats_dump_of_every_checkpoint(cli):
    assert (
        show_json(cli, corpus_dir("tree"), "stats")["stats"]["dump"]["values"]["pages_written"]
        == open_image(corpus_dir("tree") / "stats-dump").entries[0].message.dump.pages_written
    )
    for name in CORPUS_NAMES:
        path = corpus_dir(name) / "stats-dump"
        dump = open_image(path).entries[0].message.dump
        stats = view_json(corpus_dir(name), "stats")
        assert stats["dump"]["values"] == {f.name: v for f, v in dump.ListFields()}, name
        assert stats["dump"]["file"] == str(path) and stats["restore"] is None
        assert stats["dump"]["units"]["frozen_time"] == "us" and stats["dump"]["units"]["pages_written"] == "pages"


def test_stats_agree_with_crit(cli):
    require_crit()
    paths = [str(corpus_dir(n) / "stats-dump") for n in CORPUS_NAMES]
    crit = crit_decode(paths)
    for name, path in zip(CORPUS_NAMES, paths):
        theirs = json.loads(crit[f"{path}|plain"][1])["entries"][0]["dump"]
        ours = view_json(corpus_dir(name), "stats")["dump"]["values"]
        assert ours == {k: int(v) for k, v in theirs.items()}, name


def test_stats_text_with_units(cli):
    dump = open_image(corpus_dir("tcp") / "stats-dump").entries[0].message.dump
    text = show_text(cli, corpus_dir("tcp"), "stats")
    assert re.search(rf"^frozen time\s+{dump.frozen_time} us \({dump.frozen_time / 1000:.3f} ms\)$", text, re.MULTILINE)
    assert re.search(rf"^freezing time\s+{dump.freezing_time} us", text, re.MULTILINE)
    assert re.search(
        rf"^pages written\s+{dump.pages_written} \({dump.pages_written * 4 // 1} KiB\)$", text, re.MULTILINE
    )
    assert re.search(rf"^pages scanned\s+{dump.pages_scanned} ", text, re.MULTILINE)
    assert "restore statistics\n  none: no stats-restore" in text


def test_stats_restore_beside_a_podman_checkpoint(cli, podman):
    """stats-restore is read like stats-dump: from the images, or beside checkpoint/ (podman's work dir)."""
    ctr, _ = podman
    made = open_image(corpus_dir("tcp") / "stats-dump")  # a real stats entry, given a restore part
    entry = made.entries[0]
    msg = entry.message
    msg.ClearField("dump")
    msg.restore.pages_compared, msg.restore.pages_skipped_cow = 0, 0
    msg.restore.forking_time, msg.restore.restore_time, msg.restore.pages_restored = 1234, 56789, 28
    entry.set_message(msg)
    (ctr / "stats-restore").write_bytes(made.encode())
    stats = show_json(cli, ctr, "stats")["stats"]
    assert stats["restore"]["values"] == {
        "pages_compared": 0,
        "pages_skipped_cow": 0,
        "forking_time": 1234,
        "restore_time": 56789,
        "pages_restored": 28,
    }
    assert stats["dump"]["file"] == str(ctr / "stats-dump")
    assert re.search(r"^restore time\s+56789 us \(56\.789 ms\)$", show_text(cli, ctr, "stats"), re.MULTILINE)


def test_stats_dump_missing_or_damaged(cli, writable_copy):
    d = writable_copy("plain", "nostats")
    (d / "stats-dump").unlink()
    assert "dump statistics\n  none: no stats-dump" in show_text(cli, d, "stats")
    assert show_json(cli, d, "stats")["stats"]["dump"] is None
    (d / "stats-dump").write_bytes(b"\x00" * 3)
    r = cli("show", str(d), "stats")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "stats-dump" in r.stderr and "Traceback" not in r.stderr


# --- net ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["dir", "archive"])
def test_net_of_a_podman_checkpoint(cli, podman, which):
    ctr, archive = podman
    path = ctr if which == "dir" else archive
    net = show_json(cli, path, "net")["net"]
    status = net["network_status"]
    assert status["format"] == "podman" and status["file"] == (
        str(ctr / "network.status") if which == "dir" else f"{archive}!/network.status"
    )
    by_name = {n["name"]: n for n in status["networks"]}
    assert sorted(by_name) == sorted(NETWORK_STATUS)
    eth0 = by_name["podman"]["interfaces"][0]
    planted = NETWORK_STATUS["podman"]["interfaces"]["eth0"]
    assert (eth0["name"], eth0["mac"]) == ("eth0", planted["mac_address"])
    assert eth0["subnets"] == [{"ipnet": "10.88.0.9/16", "ip": "10.88.0.9", "prefix": 16, "gateway": "10.88.0.1"}]
    eth1 = by_name["backend"]["interfaces"][0]
    assert [s["ip"] for s in eth1["subnets"]] == ["10.89.0.2", "fd12:3456:789a::2"]
    assert by_name["backend"]["dns_servers"] == ["10.89.0.1"] and by_name["backend"]["dns_search"] == ["dns.podman"]
    assert net["ports"] == [
        {"host_ip": None, "host_port": 8080, "container_port": 80, "range": 1, "protocol": "tcp"},
        {"host_ip": "127.0.0.1", "host_port": 15353, "container_port": 5353, "range": 2, "protocol": "udp"},
    ] and len(net["ports"]) == len(CONFIG["newPortMappings"])
    [ns] = net["namespaces"]
    assert (ns["id"], ns["pids"], ns["ext_key"], ns["devices"]) == (NET_NS_ID, [18411], "extRootNetNS", [])
    text = show_text(cli, path, "net")
    assert re.search(r"^podman\s+eth0\s+f2:99:8d:fb:5a:57\s+10\.88\.0\.9/16\s+10\.88\.0\.1$", text, re.MULTILINE)
    assert re.search(r"^127\.0\.0\.1\s+15353-15354\s+5353-5354\s+udp$", text, re.MULTILINE)
    assert "namespace 20 (pids 18411), external (key extRootNetNS)" in text


def test_net_of_an_old_cni_status(cli, tmp_path):
    ctr = podman_checkpoint(tmp_path / "userdata", network_status=CNI_STATUS)
    status = show_json(cli, ctr, "net")["net"]["network_status"]
    assert status["format"] == "cni"
    [network] = status["networks"]
    assert network["name"] is None
    eth0 = next(i for i in network["interfaces"] if i["name"] == "eth0")
    assert eth0["mac"] == "5a:31:a4:e8:7b:02" and eth0["sandbox"].startswith("/run/netns/")
    assert [s["ipnet"] for s in eth0["subnets"]] == ["10.88.0.5/16"]
    text = show_text(cli, ctr, "net")
    assert "(CNI results, Podman < 4)" in text and re.search(r"^#0\s+cni-podman0 \(host side\)", text, re.MULTILINE)
    assert re.search(r"^#0\s+eth0\s+5a:31:a4:e8:7b:02\s+10\.88\.0\.5/16\s+10\.88\.0\.1$", text, re.MULTILINE)


def test_net_of_a_crio_checkpoint_names_the_pod_ips(cli, tmp_path):
    """CRI-O keeps the pod's IPs as spec annotations (as checkpointctl's getCRIOInfo reads IP.0), no network.status."""
    from tests.source.test_source import CRIO_CONFIG, CRIO_SPEC

    spec = {
        **CRIO_SPEC,
        "annotations": {
            **CRIO_SPEC["annotations"],
            "io.kubernetes.cri-o.IP.0": "10.244.1.17",
            "io.kubernetes.cri-o.IP.1": "fd00:10:244:1::11",
        },
    }
    ctr = podman_checkpoint(tmp_path / "ctr", network_status=None, spec=spec, config=CRIO_CONFIG, namespaces=False)
    net = show_json(cli, ctr, "net")["net"]
    assert net["pod_ips"] == ["10.244.1.17", "fd00:10:244:1::11"] and net["network_status"]["file"] is None
    assert "  10.244.1.17, fd00:10:244:1::11" in show_text(cli, ctr, "net")


def test_net_without_network_status_is_a_none_line(cli, tmp_path):
    ctr = podman_checkpoint(tmp_path / "userdata", network_status=None)
    text = show_text(cli, ctr, "net")
    assert "container networks (network.status)\n  none: the container directory has no network.status" in text
    assert show_json(cli, ctr, "net")["net"]["network_status"] == {"file": None, "format": None, "networks": []}
    bare = show_text(cli, corpus_dir("tcp"), "net")
    assert "none: not a container checkpoint" in bare and "published ports" not in bare
    assert "network namespaces dumped by CRIU\n  none: no netdev-*.img" in bare
    data = show_json(cli, corpus_dir("tcp"), "net")["net"]
    assert data["namespaces"] == [] and data["host_netns_pids"] == [18411] and data["container"] is False


@pytest.mark.parametrize(
    "content, reason",
    [
        ('{"podman": ', "not JSON"),
        ("42", "neither a map of networks"),
        ('{"podman": {"interfaces": []}}', "podman.interfaces is a JSON list, not an object"),
        ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
    ],
    ids=["cut-short", "a-number", "wrong-type", "nested-too-deeply"],
)
def test_a_bad_network_status_is_one_problem(cli, tmp_path, content, reason):
    ctr = podman_checkpoint(tmp_path / "userdata", network_status=content)
    r = cli("show", str(ctr), "net")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert f"{ctr / 'network.status'}: " in r.stderr and reason in r.stderr and "Traceback" not in r.stderr
    assert "published ports" in r.stdout and "could not read" in r.stdout
    assert reason in show_json(cli, ctr, "net", rc=2)["problems"][0]


def test_a_spec_dump_nested_too_deeply_is_one_problem(cli, tmp_path):
    ctr = podman_checkpoint(tmp_path / "userdata", spec="[" * 200_000 + "]" * 200_000, namespaces=False)
    r = cli("show", str(ctr), "mounts")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "spec.dump" in r.stderr and "nested too deeply" in r.stderr and "internal error" not in r.stderr


def test_engine_files_of_unexpected_shapes_are_read_as_found(cli, tmp_path):
    """Fields of the wrong JSON type are left out, not iterated: a config.dump is no place to crash."""
    config = {**CONFIG, "newPortMappings": 5, "portMappings": {"hostPort": 1}}
    spec = {"mounts": {"destination": "/x"}, "annotations": {"io.container.manager": "libpod"}}
    ctr = podman_checkpoint(
        tmp_path / "userdata",
        config=config,
        spec=spec,
        namespaces=False,
        network_status=[{"ips": [{"interface": 7, "address": "10.1.2.3/8"}], "dns": {"search": "x"}}],
    )
    net = show_json(cli, ctr, "net")["net"]
    assert (
        net["ports"] == [] and net["network_status"]["networks"][0]["interfaces"][0]["subnets"][0]["ip"] == "10.1.2.3"
    )
    assert show_json(cli, ctr, "mounts")["mounts"]["spec"] == {"found": True, "mounts": []}


def test_ifaddr_reader_refuses_what_is_not_ip_addr_save(tmp_path):
    from inspector.errors import InspectError

    bad = tmp_path / "ifaddr-9.img"
    bad.write_bytes(b"\x22\x12\x36\x47" + b"\xff\x00\x00\x00" + b"\x00" * 12)  # a message longer than the file
    with pytest.raises(InspectError, match="does not fit"):
        read_ifaddr(str(bad))
    bad.write_bytes(b"nope")
    with pytest.raises(InspectError, match="no magic"):
        read_ifaddr(str(bad))


# --- mounts ------------------------------------------------------------------------------------------------


def test_mounts_of_a_podman_checkpoint(cli, podman):
    ctr, archive = podman
    for path in (ctr, archive):
        mounts = show_json(cli, path, "mounts")["mounts"]
        assert mounts["spec"]["found"] is True
        assert mounts["spec"]["mounts"] == [
            {k: m[k] for k in ("destination", "type", "source", "options")} for m in SPEC_MOUNTS
        ]
        [ns] = mounts["namespaces"]
        assert ns["id"] == MNT_NS_ID
        by_point = {m["mountpoint"]: m for m in ns["mounts"]}
        assert by_point["/"]["fstype"] == "OVERLAYFS" and by_point["/"]["external"] is None
        assert by_point["/proc"]["fstype"] == "PROC" and by_point["/sys"]["flags"][0] == "ro"
        assert {p for p, m in by_point.items() if m["external"]} == {
            m["destination"] for m in SPEC_MOUNTS if m["type"] == "bind"
        }
        assert all(m["external"] == p for p, m in by_point.items() if m["external"])
    text = show_text(cli, ctr, "mounts")
    assert re.search(r"^/etc/hosts\s+bind\s+/run/containers/\S+/userdata/hosts\s+bind,rprivate$", text, re.MULTILINE)
    assert re.search(r"^1003\s+1000\s+/sys\s+SYSFS\s+sysfs\s+/\s+ro,nosuid,nodev,noexec,relatime", text, re.MULTILINE)


def test_mounts_none_lines(cli):
    text = show_text(cli, corpus_dir("tree"), "mounts")
    assert "container mounts (spec.dump)\n  none: not a container checkpoint" in text
    assert "mount namespaces dumped by CRIU (mountpoints-*.img)\n  none: no mount namespace of its own" in text
    data = show_json(cli, corpus_dir("tree"), "mounts")["mounts"]
    assert data == {"container": False, "spec": {"found": False, "mounts": []}, "namespaces": []}


def test_mounts_match_the_models_mounts(writable_copy):
    """The mount rows carry what the model's own Mount list has (tables.py exports the same)."""
    from inspector.views.mounts import mounts_view
    from tests.checks.rules.test_CRI028_external_mounts import _container_like

    d = _container_like(writable_copy)
    cp = Checkpoint(d)
    view = mounts_view(cp)
    assert [
        (m.mnt_id, m.parent_mnt_id, m.mountpoint, m.root, m.source, bool(m.external)) for m in view.dumped
    ] == sorted((m.mnt_id, m.parent_mnt_id, m.mountpoint, m.root, m.source, m.ext) for m in cp.mounts())
    assert {m.mountpoint: m.external for m in view.dumped} == {
        "/": None,
        "/etc/hosts": "hosts",
        "/data": "CRIU:AUTODETECTED",
    }


# --- all views ---------------------------------------------------------------------------------------------


def test_every_view_runs_on_every_corpus_checkpoint():
    """No problem and the documented keys on each checkpoint: nothing in the corpus is unreadable."""
    for view, keys in (
        ("net", {"container", "network_status", "ports", "pod_ips", "namespaces", "host_netns_pids"}),
        ("mounts", {"container", "spec", "namespaces"}),
        ("stats", {"dump", "restore"}),
    ):
        for name in CORPUS_NAMES:
            assert set(view_json(CORPUS / name, view)) == keys, (view, name)


def test_views_import_no_pandas_or_rich(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from inspector.cli import main\n"
        "sys.argv = ['criu-inspect', 'show', %r, 'net']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'pandas' not in sys.modules and 'textual' not in sys.modules, sorted(sys.modules)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code % str(corpus_dir("tcp"))],
        capture_output=True,
        text=True,
        check=False,
        cwd=str(Path(__file__).resolve().parent.parent.parent),
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
