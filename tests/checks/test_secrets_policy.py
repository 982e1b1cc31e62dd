"""One secrets policy for every output: show (text, JSON), diff and the TUI mask the values of variables
named like secrets by default (the same narrow list CRI050 scans memory with); --show-secrets shows them."""

from __future__ import annotations

import json

from inspector.report.redact import MASK, mask_env_entry

from ..conftest import corpus_dir
from .test_secrets import FAKE_AWS, make_secrets_case


def test_the_narrow_list():
    assert mask_env_entry("DB_PASSWORD=hunter2") == f"DB_PASSWORD={MASK}"
    assert mask_env_entry("GITHUB_TOKEN=x") == f"GITHUB_TOKEN={MASK}"
    for harmless in (
        "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus",
        "XDG_SESSION_ID=3",
        "KEYBOARD=us",
        "TOKENIZERS_PARALLELISM=false",
        "DB_PASSWORD_FILE=/run/secrets/db",
    ):
        assert mask_env_entry(harmless) == harmless
    assert mask_env_entry("DATABASE_URL=postgres://u:pw@h/db") == f"DATABASE_URL=postgres://u:{MASK}@h/db"


def test_show_masks_by_default_in_text_and_json(writable_copy, cli):
    d, _, _ = make_secrets_case(writable_copy)
    text = cli("show", str(d), "env").stdout
    assert f"API_KEY={MASK}" in text and FAKE_AWS.decode() not in text and "hunter2" not in text
    data = json.loads(cli("show", str(d), "--format", "json").stdout)
    assert data["secrets_masked"] is True
    assert data["processes"][0]["environ"][:2] == [f"API_KEY={MASK}", f"DB_PASSWORD={MASK}"]
    shown = json.loads(cli("show", str(d), "--format", "json", "--show-secrets").stdout)
    assert shown["processes"][0]["environ"][0] == "API_KEY=" + FAKE_AWS.decode()
    assert FAKE_AWS.decode() in cli("show", str(d), "env", "--show-secrets").stdout


def test_diff_masks_changed_secret_values(writable_copy, cli):
    d, _, _ = make_secrets_case(writable_copy)
    changes = _env_changes(cli("diff", str(corpus_dir("plain")), str(d), "--format", "json").stdout)
    assert changes["environ.API_KEY"] == (None, MASK) and changes["environ.DB_PASSWORD"] == (None, MASK)
    assert changes["environ.PATH"] == ("/usr/local/bin:/usr/bin:/bin", None)  # not a secret: as it is
    shown = _env_changes(cli("diff", str(corpus_dir("plain")), str(d), "--format", "json", "--show-secrets").stdout)
    assert shown["environ.API_KEY"] == (None, FAKE_AWS.decode())


def _env_changes(out: str) -> dict:
    found = {}

    def walk(node):
        if isinstance(node, dict):
            if str(node.get("field", "")).startswith("environ."):
                found[node["field"]] = (node["a"], node["b"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(out))
    return found


def test_diff_masks_url_passwords_as_show_does():
    """The diff applies the very masking of show: a URL's password, not only secret-named variables."""
    from inspector.diff.comparators.process import _masked
    from inspector.diff.result import Change

    c = _masked(Change("environ.DATABASE_URL", "postgres://u:old@h/db", "postgres://u:new@h/db", "environment"))
    assert (c.a, c.b) == (f"postgres://u:{MASK}@h/db", f"postgres://u:{MASK}@h/db")
    assert _masked(Change("environ.DB_PASSWORD", None, "", "environment")).b == ""  # a scrubbed value stays empty
