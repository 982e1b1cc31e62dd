"""Hide secret values before a person's screen shows them: one policy for every output.

Checkpoints carry the environment of every process: tokens and passwords are
common there, and a triage session is often screen-shared or pasted into a
ticket. `show` (text and JSON) and the TUI mask by default, with the same list
the secrets rule (CRI050) scans memory for; `--show-secrets` (a key in the
TUI) shows them.
"""

from __future__ import annotations

import re

from ..secretnames import MASK, is_secret_name

# user:password@ in URLs (DATABASE_URL=postgres://u:p@h/db)
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@/\s]+)(?P<tail>@)", re.IGNORECASE)


def mask_env_entry(entry: str) -> str:
    """``NAME=value`` with the value masked when NAME looks secret or the value holds a URL password."""
    name, sep, value = entry.partition("=")
    if not sep:
        return entry
    if value and is_secret_name(name):
        return f"{name}={MASK}"
    return f"{name}={URL_PASSWORD.sub(lambda m: m['head'] + MASK + m['tail'], value)}"


def environ_shown(environ: list[str], show_secrets: bool = False) -> list[str]:
    return list(environ) if show_secrets else [mask_env_entry(e) for e in environ]
