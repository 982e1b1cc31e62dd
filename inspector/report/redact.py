"""Hide secret values before a person's screen shows them.

Checkpoints carry the environment of every process: tokens and passwords are
common there, and a triage session is often screen-shared.
"""

from __future__ import annotations

import re

# Names of variables whose values are secrets (matched anywhere in the name).
SECRET_NAME = re.compile(
    r"PASS|PWD(?!$)|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE|CREDENTIAL|AUTH(?!_SOCK)|SESSION|COOKIE|SIGNATURE|_KEY$|^KEY$",
    re.IGNORECASE,
)
# user:password@ in URLs (DATABASE_URL=postgres://u:p@h/db)
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@/\s]+)(?P<tail>@)", re.IGNORECASE)
MASK = "********"


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def mask_env_entry(entry: str) -> str:
    """``NAME=value`` with the value masked when NAME looks secret or the value holds a URL password."""
    name, sep, value = entry.partition("=")
    if not sep:
        return entry
    if value and is_secret_name(name):
        return f"{name}={MASK}"
    return f"{name}={URL_PASSWORD.sub(lambda m: m['head'] + MASK + m['tail'], value)}"
