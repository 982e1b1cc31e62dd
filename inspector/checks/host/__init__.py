"""Facts about this machine (the one that will run ``criu restore``), for the --host rules.

One module per job: ``probe`` (the Host: processes, kernel, criu, cgroups),
``elf`` (build-ids), ``filecaps`` (the security.capability xattr), ``procnet``
(sockets from /proc/net), ``regfiles`` (the checkpoint's files criu reopens by path).
The names below are the ones the rules import.
"""

from __future__ import annotations

from .probe import Host, current_host
from .procnet import host_sockets
from .regfiles import mode_string, reg_files

__all__ = ["Host", "current_host", "host_sockets", "mode_string", "reg_files"]
