"""Hide secret values before a person's screen shows them: one policy for every output.

Checkpoints carry the environment of every process: tokens and passwords are
common there, and a triage session is often screen-shared or pasted into a
ticket. `show` (text and JSON) and the TUI mask by default, with the same list
the secrets rule (CRI050) scans memory for; `--show-secrets` (a key in the
TUI) shows them.
"""

from __future__ import annotations

from ..secretnames import MASK, masked_value

__all__ = ["MASK", "environ_shown", "mask_env_entry"]


def mask_env_entry(entry: str) -> str:
    """``NAME=value`` with the value masked when NAME looks secret or the value holds a URL password."""
    name, sep, value = entry.partition("=")
    return f"{name}={masked_value(name, value)}" if sep else entry


def environ_shown(environ: list[str], show_secrets: bool = False) -> list[str]:
    return list(environ) if show_secrets else [mask_env_entry(e) for e in environ]
