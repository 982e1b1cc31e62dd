"""A Podman container checkpoint, as ``podman container checkpoint`` leaves it and ``--export`` packs it.

Built around a real corpus checkpoint (its images copied unchanged, apart
from the namespace ids below). Where each piece comes from (read in the
projects' sources; docs/sources.md "Podman's files" says the same):

- ``checkpoint/``: CRIU's images (libpod ``c.CheckpointPath()``);
- ``stats-dump``: beside ``checkpoint/``, since podman runs the OCI runtime
  with ``--work-path`` = the container's bundle dir (libpod/oci_conmon_common.go);
- ``config.dump``: libpod's container config (libpod/container_config.go:
  ``id``, ``name``, ``rootfsImageName``, ``runtime``, ``createdTime``,
  ``checkpointedTime``, ``newPortMappings`` of containers/common
  ``types.PortMapping``);
- ``spec.dump``: the OCI runtime spec the container ran with (its ``mounts``:
  destination, type, source, options; ``annotations`` with ``io.container.manager: libpod``);
- ``network.status``: ``c.getNetworkStatus()``, a map of network name to
  containers/common libnetwork/types ``StatusBlock`` (libpod/container_internal_common.go
  checkpoint(): "Save network.status"); checkpointctl's test data
  (test/data/network.status, network.status.multi) has the same shape;
- the export archive holds these files and ``checkpoint/`` at its top level
  (exportCheckpoint's ``includeFiles``).

A container runs in namespaces of its own, which runc/crun hand to CRIU as
external: the network namespace (``--external net[INODE]:extRootNetNS``, runc
libcontainer/criu_linux.go criuNsToKey), so CRIU writes only ``netns-N.img``
with that ``ext_key`` (criu/net.c dump_net_ns), and every bind mount
(``--external mnt[DEST]:DEST``, runc addCriuDumpMount), so ``mountpoints-N.img``
names them with ``ext_key`` = their destination. Both images are written here
with CRIU's framing, the tasks' ``ids-PID.img`` moved into those namespaces.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.checks.rule_fixtures import edit
from tests.codec.test_decode_crit_synth import msg, write_image
from tests.conftest import corpus_dir

CONTAINER_ID = "3f1c9e7a5b2d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6"
USERDATA = f"/var/lib/containers/storage/overlay-containers/{CONTAINER_ID}/userdata"
RUNDATA = f"/run/containers/storage/overlay-containers/{CONTAINER_ID}/userdata"
NET_NS_ID, MNT_NS_ID = 20, 21  # CRIU's ids of the container's namespaces (any ids the images do not use)

NETWORK_STATUS = {  # two networks, as `podman run --network podman,backend` gives
    "podman": {
        "interfaces": {
            "eth0": {
                "subnets": [{"ipnet": "10.88.0.9/16", "gateway": "10.88.0.1"}],
                "mac_address": "f2:99:8d:fb:5a:57",
            },
        },
    },
    "backend": {
        "interfaces": {
            "eth1": {
                "subnets": [
                    {"ipnet": "10.89.0.2/24", "gateway": "10.89.0.1"},
                    {"ipnet": "fd12:3456:789a::2/64", "gateway": "fd12:3456:789a::1"},
                ],
                "mac_address": "32:ba:b8:45:bc:84",
            },
        },
        "dns_server_ips": ["10.89.0.1"],
        "dns_search_domains": ["dns.podman"],
    },
}

# Podman < 4.0 (CNI): a list of CNI results, one per network (containernetworking/cni types 0.4.0 Result)
CNI_STATUS = [
    {
        "cniVersion": "0.4.0",
        "interfaces": [
            {"name": "cni-podman0", "mac": "ee:2c:1e:4d:5a:01"},
            {"name": "vethd41b8a3e", "mac": "6e:0f:43:a9:21:7c"},
            {"name": "eth0", "mac": "5a:31:a4:e8:7b:02", "sandbox": "/run/netns/cni-1e8f0e2b-5c0d"},
        ],
        "ips": [{"version": "4", "interface": 2, "address": "10.88.0.5/16", "gateway": "10.88.0.1"}],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dns": {},
    }
]

PORTS = [
    {"host_ip": "", "container_port": 80, "host_port": 8080, "range": 1, "protocol": "tcp"},
    {"host_ip": "127.0.0.1", "container_port": 5353, "host_port": 15353, "range": 2, "protocol": "udp"},
]

CONFIG = {
    "id": CONTAINER_ID,
    "name": "tcp-client",
    "rootfsImage": "9b1c0e3d7a2f",
    "rootfsImageName": "registry.example.org/tcp-client:2.0",
    "runtime": "crun",
    "createdTime": "2026-11-20T10:00:00.123456789Z",
    "checkpointedTime": "2026-11-20T10:05:00.5Z",
    "restoredTime": "0001-01-01T00:00:00Z",
    "restored": False,
    "createNetNS": True,
    "newPortMappings": PORTS,
}

SPEC_MOUNTS = [  # the mounts podman puts in a container's OCI spec, plus one named volume
    {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
    {
        "destination": "/dev",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {
        "destination": "/dev/pts",
        "type": "devpts",
        "source": "devpts",
        "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/etc/hostname", "type": "bind", "source": f"{RUNDATA}/hostname", "options": ["bind", "rprivate"]},
    {
        "destination": "/etc/resolv.conf",
        "type": "bind",
        "source": f"{RUNDATA}/resolv.conf",
        "options": ["bind", "rprivate"],
    },
    {"destination": "/etc/hosts", "type": "bind", "source": f"{RUNDATA}/hosts", "options": ["bind", "rprivate"]},
    {
        "destination": "/dev/shm",
        "type": "bind",
        "source": f"{USERDATA}/shm",
        "options": ["bind", "rprivate", "nosuid", "noexec", "nodev"],
    },
    {
        "destination": "/data",
        "type": "bind",
        "source": "/var/lib/containers/storage/volumes/appdata/_data",
        "options": ["nosuid", "nodev", "rbind"],
    },
]

SPEC = {
    "ociVersion": "1.0.2-dev",
    "process": {"args": ["/usr/local/bin/tcp", "client", "23456"], "cwd": "/"},
    "mounts": SPEC_MOUNTS,
    "annotations": {"io.container.manager": "libpod", "org.opencontainers.image.stopSignal": "15"},
}

# fstype numbers of CRIU's mnt.proto (the schema's enum names them; the test reads them back by name)
FSTYPE = {"proc": 1, "sysfs": 2, "tmpfs": 5, "devpts": 6, "mqueue": 14, "overlay": 17}
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_RELATIME = 0x1, 0x2, 0x4, 0x8, 0x200000


def podman_checkpoint(
    dest: Path, name: str = "tcp", *, network_status=NETWORK_STATUS, spec=SPEC, config=CONFIG, namespaces: bool = True
) -> Path:
    """The container's directory (``userdata/``) around checkpoint ``name``; None values leave a file out."""
    images = dest / "checkpoint"
    shutil.copytree(corpus_dir(name), images)
    for p in [dest, *dest.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)
    (images / "stats-dump").rename(dest / "stats-dump")
    for file, value in (("config.dump", config), ("spec.dump", spec), ("network.status", network_status)):
        if value is not None:
            (dest / file).write_text(value if isinstance(value, str) else json.dumps(value, indent=2))
    if namespaces:
        _own_namespaces(images, spec if isinstance(spec, dict) else SPEC)
    return dest


def _own_namespaces(images: Path, spec: dict) -> None:
    for ids in images.glob("ids-*.img"):
        edit(images, ids.name, lambda m: (setattr(m, "net_ns_id", NET_NS_ID), setattr(m, "mnt_ns_id", MNT_NS_ID)))
    edit(images, "files.img", lambda f: setattr(f.isk, "ns_id", NET_NS_ID) if f.HasField("isk") else False)
    netns = msg("netdev_pb2", "netns_entry", ext_key="extRootNetNS")
    write_image(images / f"netns-{NET_NS_ID}.img", "NETNS", [(netns, b"")])
    entries = [
        msg(
            "mnt_pb2",
            "mnt_entry",
            mnt_id=1000,
            parent_mnt_id=999,
            fstype=FSTYPE["overlay"],
            root="/",
            mountpoint="/",
            source="overlay",
            flags=MS_RELATIME,
            root_dev=(0 << 20) | 80,
            options=f"lowerdir=/var/lib/containers/storage/overlay/l/7ZQ3,upperdir={USERDATA}/diff",
        )
    ]
    for i, m in enumerate(spec.get("mounts", []), start=1001):
        bind = m["type"] == "bind"
        flags = MS_RELATIME | sum(
            bit
            for opt, bit in (("ro", MS_RDONLY), ("nosuid", MS_NOSUID), ("nodev", MS_NODEV), ("noexec", MS_NOEXEC))
            if opt in m["options"]
        )
        extra = {"ext_key": m["destination"]} if bind else {}
        entries.append(
            msg(
                "mnt_pb2",
                "mnt_entry",
                mnt_id=i,
                parent_mnt_id=1000,
                fstype=0 if bind else FSTYPE[m["type"]],
                root=m["source"] if bind else "/",
                mountpoint=m["destination"],
                source=m["source"],
                flags=flags,
                root_dev=(0 << 20) | i,
                options="",
                **extra,
            )
        )
    write_image(images / f"mountpoints-{MNT_NS_ID}.img", "MNTS", [(e, b"") for e in entries])
