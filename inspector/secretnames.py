"""Which environment variable names hold secrets: one narrow list for the memory scan (CRI050,
scrub-secrets) and for every output that masks (show, its JSON, the TUI)."""

from __future__ import annotations

import re

# PASSWORD/PASSWD may be glued to a prefix (PGPASSWORD); the other words must stand between '_' or the
# ends, so TOKENIZERS_PARALLELISM, KEYBOARD, DBUS_SESSION_BUS_ADDRESS or XDG_SESSION_ID are not secrets.
GLUED = ("PASSWORD", "PASSWD", "PASSPHRASE")
WORDS = (
    "SECRET",
    "SECRETS",
    "TOKEN",
    "APIKEY",
    "API_KEY",
    "ACCESS_KEY",
    "ACCESSKEY",
    "PRIVATE_KEY",
    "PRIVATEKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "AUTH_KEY",
    "SESSION_KEY",
    "CLIENT_SECRET",
    "ENCRYPTION_KEY",
    "SIGNING_KEY",
)
SECRET_NAME = re.compile("|".join(GLUED) + "|(?:^|_)(?:" + "|".join(WORDS) + ")(?:_|$)")
# Every secret name holds one of these (any case): what the memory scanner looks for before it reads a name.
NAME_LITERALS = GLUED + tuple(w for w in WORDS if not any(o != w and o in w for o in WORDS))
# ...unless they only point at the secret (DB_PASSWORD_FILE=/run/secrets/db)
NOT_A_VALUE = re.compile(r"_(?:FILE|PATH|DIR|FD)$")
# user:password@ in URLs (DATABASE_URL=postgres://u:p@h/db)
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@/\s]+)(?P<tail>@)", re.IGNORECASE)
MASK = "********"  # what every output shows instead of a secret value


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return bool(SECRET_NAME.search(upper)) and not NOT_A_VALUE.search(upper)


def masked_value(name: str, value: str) -> str:
    """The value as outputs show it: masked when NAME looks secret, URL passwords masked in any value."""
    if value and is_secret_name(name):
        return MASK
    return URL_PASSWORD.sub(lambda m: m["head"] + MASK + m["tail"], value)
