"""Find secrets in process memory: one scanner for the check rule, for repair's scrub-secrets and for outputs.

A checkpoint shipped in a container image carries whatever its memory held:
environment variables named like secrets, PEM private keys, cloud access keys.
Every pattern below begins with a literal (``AKIA``, ``-----BEGIN ``), and an
environment string named like a secret holds one of ``secretnames``'s words,
so ``scan_process`` first finds those literals in all of a process's pages at
once (``scanner``: one Hyperscan database, the mmapped pages scanned in place
on every core), then confirms each occurrence with the pattern's exact regular
expression on the few bytes around it. Pages of the pre-dump chain are
scanned like the process's own. Every ``SecretMatch`` carries the exact
address range of the secret *value*, which is what ``repair``'s scrub-secrets
fix overwrites; ``masked`` is the only form of the value meant for output.

``scan_process_reference`` is the same search in pure Python, window by
window through the page reader: the tests hold the fast path to it, address
for address, and it runs where Hyperscan cannot load.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .secretnames import NAME_LITERALS
from .secretnames import is_secret_name as is_secret_env_name

if TYPE_CHECKING:
    from .model.checkpoint import Checkpoint

MAX_ENV_VALUE = 4096
MAX_PEM_BODY = 12 * 1024
# Longest match any pattern can produce (+ slack): windows overlap by this much.
OVERLAP = 16 * 1024
WINDOW_PAGES = 64


_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_WORD = _ALNUM | {ord("_")}
_TOKEN = _WORD | {ord("-")}

# (kind, pattern, bytes that must not come right before the match). Every pattern
# starts with a literal so the regex engine can skip ahead fast; the left word
# boundary is checked in Python (a leading lookbehind would defeat that).
_PATTERNS: list[tuple[str, bytes, frozenset]] = [
    # NAME=value between NULs, as in the environment block (and its copies)
    ("env", rb"\0(?P<name>[A-Za-z_][A-Za-z0-9_]{0,127})=(?P<value>[^\0]{1,%d})(?=\0)" % MAX_ENV_VALUE, frozenset()),
    (
        "pem",
        rb"-----BEGIN (?P<name>(?:[A-Z0-9]+ ){0,3}PRIVATE KEY)-----(?P<value>[^\0]{16,%d}?)-----END (?P=name)-----"
        % MAX_PEM_BODY,
        frozenset(),
    ),
    ("aws", rb"(?P<value>A(?:KIA|SIA|BIA|CCA|IDA|ROA)[A-Z2-7]{16})(?![A-Za-z0-9])", _ALNUM),
    ("github", rb"(?P<value>gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])", _WORD),
    ("slack", rb"(?P<value>xox[abposr]-[A-Za-z0-9-]{10,250})(?![A-Za-z0-9-])", _ALNUM),
    ("google_api", rb"(?P<value>AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])", _TOKEN),
    ("stripe", rb"(?P<value>[sr]k_live_[0-9A-Za-z]{24,99})(?![A-Za-z0-9])", _ALNUM),
    ("gitlab", rb"(?P<value>glpat-[A-Za-z0-9_-]{20,64})(?![A-Za-z0-9_-])", _TOKEN),
    ("npm", rb"(?P<value>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9])", _WORD),
    # Azure storage connection strings: ...;AccountKey=<base64 of 64 bytes>;...
    ("azure_storage", rb"AccountKey=(?P<value>[A-Za-z0-9+/]{86}==)", frozenset()),
    # GCP service-account JSON: "private_key": "-----BEGIN PRIVATE KEY-----\n..." (escaped newlines)
    (
        "gcp_sa",
        rb'"private_key"\s*:\s*"(?P<value>-----BEGIN [A-Z ]*PRIVATE KEY-----[^"\0]{16,%d})"' % MAX_PEM_BODY,
        frozenset(),
    ),
]
_COMPILED = [(kind, re.compile(pattern, re.DOTALL), before) for kind, pattern, before in _PATTERNS]
_BY_KIND = {kind: (rx, before) for kind, rx, before in _COMPILED}

# The literal each match of a kind begins with ("env": a word its name holds, in any case).
LITERALS: dict[str, tuple[bytes, ...]] = {
    "env": tuple(w.encode() for w in NAME_LITERALS),
    "pem": (b"-----BEGIN ",),
    "aws": (b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"AIDA", b"AROA"),
    "github": (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_"),
    "slack": (b"xoxa-", b"xoxb-", b"xoxp-", b"xoxo-", b"xoxs-", b"xoxr-"),
    "google_api": (b"AIza",),
    "stripe": (b"sk_live_", b"rk_live_"),
    "gitlab": (b"glpat-",),
    "npm": (b"npm_",),
    "azure_storage": (b"AccountKey=",),
    "gcp_sa": (b'"private_key"',),
}
MAX_NAME = 128  # an environment name's longest (the env pattern's bound)

KIND_TITLES = {
    "env": "environment variable named like a secret",
    "pem": "PEM private key",
    "aws": "AWS access key id",
    "github": "GitHub token",
    "slack": "Slack token",
    "google_api": "Google API key",
    "stripe": "Stripe live secret key",
    "gcp_sa": "GCP service-account private key",
    "gitlab": "GitLab personal access token",
    "npm": "npm access token",
    "azure_storage": "Azure storage account key",
}


@dataclass(frozen=True)
class SecretMatch:
    """One secret: where the match lies and where its value lies (absolute addresses)."""

    kind: str  # a key of KIND_TITLES
    name: str  # env var name, PEM label or the kind's title
    start: int  # whole match: [start, end)
    end: int
    value_start: int  # the secret itself: [value_start, value_end) -- what scrubbing overwrites
    value_end: int
    masked: str  # a short prefix, then stars and the length: never the whole value
    pid: int | None = None
    where: str = "present"  # present | parent (page found in the pre-dump chain) | shared (shared anonymous memory)

    @property
    def value_length(self) -> int:
        return self.value_end - self.value_start

    @property
    def title(self) -> str:
        return KIND_TITLES[self.kind]


def mask(value: bytes, keep: int = 4) -> str:
    """A prefix of at most ``keep`` characters (and at most a quarter of the value), never the value."""
    n = len(value)
    k = min(keep, n // 4)
    prefix = value[:k].decode("ascii", "backslashreplace")
    return f"{prefix}{'*' * 8} ({n} bytes)"


def _candidates(data: bytes, base: int, pos: int = 0) -> list[SecretMatch]:
    out = []
    for kind, rx, before in _COMPILED:
        for m in rx.finditer(data, pos):
            s = m.start()
            if s > 0 and data[s - 1] in before:
                continue
            hit = _match_of(kind, m, data, base)
            if hit is not None:
                out.append(hit)
    return out


def scan_bytes(data: bytes, base: int = 0) -> list[SecretMatch]:
    """Secrets in one contiguous buffer that starts at address ``base``."""
    return _accept(_candidates(data, base), -1)[0]


def _accept(cands: list[SecretMatch], last_end: int) -> tuple[list[SecretMatch], int]:
    """Drop matches that overlap an earlier one (AKIA... inside AWS_ACCESS_KEY_ID=AKIA... is one secret)."""
    out = []
    for hit in sorted(cands, key=lambda h: (h.start, -(h.end - h.start))):
        if hit.start >= last_end:
            out.append(hit)
            last_end = hit.end
    return out, last_end


def scan_pages(pages: Iterable[tuple[int, bytes, str]], *, window_pages: int = WINDOW_PAGES) -> Iterator[SecretMatch]:
    """Secrets in a stream of (address, page bytes, where) in address order, in bounded memory.

    Windows overlap by ``OVERLAP`` (longer than any secret a pattern can match),
    so a secret across a page or window boundary is found once.
    """
    from .memsearch import windowed_matches

    def find(buf: bytes, base: int, pos: int):
        return [(h.start, h.end, h) for h in _candidates(buf, base, pos)]

    for _, _, hit, where in windowed_matches(pages, find, OVERLAP, window_pages=window_pages):
        yield hit if where == "present" else _with(hit, where=where)


def _with(hit: SecretMatch, **changes) -> SecretMatch:
    from dataclasses import replace

    return replace(hit, **changes)


def scan_process(checkpoint: Checkpoint, pid: int, start: int = 0, end: int = 1 << 64) -> Iterator[SecretMatch]:
    """Secrets in the memory of ``pid`` (its own pages, those of the pre-dump chain, and the shared anonymous
    memory it is the first of the tree to map), in address order.

    A pages file that ends early stops the scan at its end: what lies before
    is reported, then its error is raised.
    """
    from . import scanner

    if not scanner.available():
        yield from scan_process_reference(checkpoint, pid, start, end)
        return
    spans, found, unreadable = scanner.scan_reader(checkpoint.page_reader(pid), _literal_set(), start, end)
    hits: list[SecretMatch] = []
    for span, group in scanner.by_span(spans, found):
        seen: set[int] = set()
        for addr, ident in group:
            kind = _LITERAL_KINDS[ident]
            hit = _confirm_env(span, addr, seen) if kind == "env" else _confirm(kind, span, addr)
            if hit is not None:
                hits.append(_with(hit, pid=pid, where=span.extent_at(hit.start).where))
    yield from _accept(hits, -1)[0]
    if unreadable is not None:
        raise unreadable


_LITERAL_KINDS: list[str] = [kind for kind, lits in LITERALS.items() for _ in lits]
_ALL_LITERALS = [lit for lits in LITERALS.values() for lit in lits]
_CASELESS = [kind == "env" for kind in _LITERAL_KINDS]


def _literal_set():
    """Every kind's literals in one database (compiled once, a few ms)."""
    from .scanner import literal_set

    return literal_set(_ALL_LITERALS, _CASELESS)


def prefetch(directory: str) -> None:
    """Start the secrets scan of a checkpoint directory's pages files now (``check`` calls this first thing)."""
    from . import scanner

    scanner.prefetch(directory, _literal_set)


def _confirm(kind: str, span, addr: int) -> SecretMatch | None:
    """The match of ``kind``'s pattern that begins at ``addr``, if any."""
    rx, before = _BY_KIND[kind]
    lo = max(span.start, addr - 1)
    data = span.read(lo, addr + OVERLAP)
    pos = addr - lo
    if pos and data[pos - 1] in before:
        return None
    m = rx.match(data, pos)
    return _match_of(kind, m, data, lo) if m else None


def _confirm_env(span, addr: int, seen: set[int]) -> SecretMatch | None:
    """The environment string (NUL, NAME=value, NUL) whose name holds the word found at ``addr``, if any."""
    lo = max(span.start, addr - MAX_NAME - 1)
    head = span.read(lo, addr)
    i = len(head)
    while i and head[i - 1] in _WORD:
        i -= 1
    if not i or head[i - 1] != 0:
        return None  # the word is not in a name that follows a NUL
    nul = lo + i - 1
    if nul in seen:
        return None  # another word of the same name found it
    seen.add(nul)
    data = span.read(nul, nul + MAX_NAME + MAX_ENV_VALUE + 3)
    m = _BY_KIND["env"][0].match(data)
    return _match_of("env", m, data, nul) if m else None


def _match_of(kind: str, m: re.Match[bytes], data: bytes, base: int) -> SecretMatch | None:
    """A SecretMatch from a regex match in ``data`` (which starts at address ``base``), as the reference builds it."""
    s, e = m.span()
    if kind == "env":
        s += 1  # the NUL before the name is context, not part of the match
        name = m.group("name").decode("ascii")
        if not is_secret_env_name(name):
            return None
    elif kind == "pem":
        name = m.group("name").decode("ascii")
    else:
        name = KIND_TITLES[kind]
    vs, ve = m.span("value")
    return SecretMatch(kind, name, base + s, base + e, base + vs, base + ve, mask(data[vs:ve].strip()))


def scan_process_reference(
    checkpoint: Checkpoint, pid: int, start: int = 0, end: int = 1 << 64
) -> Iterator[SecretMatch]:
    """``scan_process`` in pure Python, window by window through the page reader (slow, and the reference)."""
    from .memsearch import memory_pages

    for hit in scan_pages(memory_pages(checkpoint.page_reader(pid), start, end)):
        yield _with(hit, pid=pid)
