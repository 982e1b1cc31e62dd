"""Secrets in memory (inspector/secrets.py and rule CRI050) on real pages.

Cases are built by decode -> change -> encode: the pagemap of a real corpus
checkpoint is decoded to find where an address lives in pages-N.img, fake
secrets are written there (same length, so the pagemap stays valid), and the
checkpoint is read again.
"""

from __future__ import annotations

import random
from pathlib import Path

from inspector.checks.base import Target
from inspector.checks.rules import secrets_in_memory
from inspector.model.checkpoint import Checkpoint
from inspector.model.names import PAGE_SIZE
from inspector.secrets import is_secret_env_name, mask, scan_bytes, scan_pages, scan_process
from tests.synth import make_predump_chain

FAKE_AWS = b"AKIAIOSFODNN7EXAMPLE"
FAKE_PEM = (
    b"-----BEGIN RSA PRIVATE KEY-----\n"
    + b"MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n" * 40
    + b"-----END RSA PRIVATE KEY-----\n"
)


def file_offset(cp: Checkpoint, pid: int, addr: int) -> tuple[Path, int]:
    """Where the byte at ``addr`` of ``pid`` is stored: (pages file, offset)."""
    pm = cp.pagemap(pid)
    for run in pm.runs:
        if run.start <= addr < run.end and run.file_offset >= 0:
            return Path(cp.path) / f"pages-{pm.pages_id}.img", run.file_offset + addr - run.start
    raise AssertionError(f"0x{addr:x} is not a present page of {pid}")


def patch_memory(cp_dir: Path, pid: int, addr: int, data: bytes) -> None:
    """Overwrite process memory in the pages file, page by page (runs need not be adjacent in the file)."""
    cp = Checkpoint(cp_dir)
    done = 0
    while done < len(data):
        a = addr + done
        n = min(len(data) - done, PAGE_SIZE - a % PAGE_SIZE)
        path, off = file_offset(cp, pid, a)
        with open(path, "r+b") as fh:
            fh.seek(off)
            fh.write(data[done : done + n])
        done += n
    cp.close()


def env_secret_block(length: int) -> bytes:
    """An environment block of exactly ``length`` bytes holding an AWS key and a password."""
    head = b"API_KEY=" + FAKE_AWS + b"\0"
    name = b"DB_PASSWORD="
    value_len = length - len(head) - len(name) - 1
    assert value_len >= 8
    return head + name + (b"hunter2-" * 20)[:value_len] + b"\0"


def make_secrets_case(writable_copy) -> tuple[Path, int, dict]:
    cp_dir = writable_copy("plain")
    cp = Checkpoint(cp_dir)
    proc = cp.processes[0]
    env_start, env_end = proc.mm["mm_env_start"], proc.mm["mm_env_end"]
    block = env_secret_block(env_end - env_start)
    # the PEM goes into the anonymous rw mapping after the binary, across a page boundary
    anon = next(v for v in proc.vmas if v.path is None and v.pages_present >= 4 and v.prot == 3)
    pem_addr = anon.start + PAGE_SIZE - 700
    cp.close()
    patch_memory(cp_dir, proc.pid, env_start, block)
    patch_memory(cp_dir, proc.pid, pem_addr, FAKE_PEM)
    return cp_dir, proc.pid, {"env_start": env_start, "pem_addr": pem_addr, "anon": anon, "block": block}


def test_real_corpus_has_no_secrets():
    """The corpus processes ran with env -i PATH/HOME/LANG only: nothing to report."""
    from tests.conftest import corpus_dir

    cp = Checkpoint(corpus_dir("plain"))
    assert cp.processes[0].environ == ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp/criu-work/home", "LANG=C.UTF-8"]
    assert list(scan_process(cp, 14055)) == []
    assert list(secrets_in_memory.RULE.check(cp, Target())) == []


def test_secrets_found_at_their_addresses(writable_copy):
    cp_dir, pid, where = make_secrets_case(writable_copy)
    cp = Checkpoint(cp_dir)
    # the model reads the changed environment back: the image is still consistent
    assert cp.processes[0].environ[0] == "API_KEY=" + FAKE_AWS.decode()
    hits = list(scan_process(cp, pid))
    by_kind = {h.kind: h for h in hits}
    assert sorted(by_kind) == ["env", "pem"], hits
    env_hits = [h for h in hits if h.kind == "env"]
    assert [h.name for h in env_hits] == ["API_KEY", "DB_PASSWORD"]
    api = env_hits[0]
    assert api.start == where["env_start"]
    assert api.value_start == where["env_start"] + len(b"API_KEY=")
    assert api.value_length == 20
    # the exact value range reads back as the secret (what scrub-secrets overwrites)
    reader = cp.page_reader(pid)
    assert reader.read(api.value_start, api.value_length) == FAKE_AWS
    pw = env_hits[1]
    assert reader.read(pw.value_start, pw.value_length).startswith(b"hunter2-")
    pem = by_kind["pem"]
    assert pem.start == where["pem_addr"] and pem.name == "RSA PRIVATE KEY"
    assert pem.end == where["pem_addr"] + len(FAKE_PEM) - 1  # the trailing newline is not part of the block
    assert pem.start // PAGE_SIZE != (pem.end - 1) // PAGE_SIZE  # it does straddle a page boundary
    assert reader.read(pem.value_start, pem.value_length).strip().startswith(b"MIIEowIBAAKCAQEA")
    # masked: a short prefix only
    assert api.masked == "AKIA******** (20 bytes)"
    assert FAKE_AWS.decode() not in api.masked
    assert "MIIEowIBAAKCAQEA" not in pem.masked


def test_rule_reports_pid_address_vma_masked(writable_copy):
    cp_dir, pid, where = make_secrets_case(writable_copy)
    cp = Checkpoint(cp_dir)
    findings = list(secrets_in_memory.RULE.check(cp, Target()))
    assert len(findings) == 3
    assert all(f.code == "CRI050" and f.severity == "warning" and f.pid == pid for f in findings)
    api = next(f for f in findings if f.details["name"] == "API_KEY")
    assert f"0x{where['env_start']:x}" in api.message
    assert "[stack]" in api.message and api.details["vma"] == "[stack]"
    stack = next(v for v in cp.processes[0].vmas if v.start <= where["env_start"] < v.end)
    assert api.vma_start == stack.start
    assert api.image == "pages-1.img"
    pem = next(f for f in findings if f.details["kind"] == "pem")
    assert pem.vma_start == where["anon"].start and f"0x{where['pem_addr']:x}" in pem.message
    for f in findings:
        text = f.message + repr(f.details)
        assert FAKE_AWS.decode() not in text
        assert "hunter2-hunter2" not in text
        assert "MIIEowIBAAKCAQEAu1SU" not in text


def test_secrets_in_parent_chain_pages(writable_copy, tmp_path):
    """Pages that moved into a pre-dump parent (PE_PARENT) are scanned too."""
    src, pid, where = make_secrets_case(writable_copy)
    chain = make_predump_chain(src, tmp_path / "child", pid, every=1)  # every present run goes to the parent
    cp = Checkpoint(tmp_path / "child")
    assert cp.processes[0].pages.in_parent == chain["moved_pages"]
    hits = list(scan_process(cp, pid))
    assert {h.kind for h in hits} == {"env", "pem"}
    assert all(h.where == "parent" for h in hits)
    assert [h.start for h in hits if h.name == "API_KEY"] == [where["env_start"]]


def test_page_and_window_boundaries_find_each_secret_once():
    """However pages are grouped, the streamed scan equals a scan of the whole buffer."""
    rnd = random.Random(7)
    needles = [
        b"\0DB_PASSWORD=" + b"x" * 5000 + b"\0",
        b"\0PGPASSWORD=abc123def\0",
        b" " + FAKE_AWS + b" ",
        FAKE_PEM,
        b" xoxb-1234567890-abcdefghij ",
        b" ghp_" + b"A1b2" * 9 + b" ",
    ]
    for _ in range(10):
        buf = bytearray(rnd.randbytes(PAGE_SIZE * 12).replace(b"\0", b"\1"))
        for needle in needles:
            off = rnd.randrange(0, len(buf) - len(needle))
            buf[off : off + len(needle)] = needle
        buf = bytes(buf)
        whole = [(h.kind, h.start, h.end) for h in scan_bytes(buf, 0x10000)]
        assert whole  # the needles may overwrite each other, but some survive
        pages = [(0x10000 + i, buf[i : i + PAGE_SIZE], "present") for i in range(0, len(buf), PAGE_SIZE)]
        for window in (1, 2, 5, 64):
            assert [(h.kind, h.start, h.end) for h in scan_pages(pages, window_pages=window)] == whole


def test_gap_between_runs_splits_matches():
    """Pages that are not adjacent are not glued together (a secret cannot span a hole)."""
    page_a = b"\1" * (PAGE_SIZE - 8) + b"AKIAIOSF"
    page_b = b"ODNN7EXAMPLE" + b"\1" * (PAGE_SIZE - 12)
    assert list(scan_pages([(0x1000, page_a, "present"), (0x3000, page_b, "present")])) == []
    assert len(list(scan_pages([(0x1000, page_a, "present"), (0x2000, page_b, "present")]))) == 1


def test_patterns_and_names():
    data = (
        b"\0PATH=/bin\0TOKENIZERS_PARALLELISM=false\0DB_PASSWORD_FILE=/run/secrets/db\0GITHUB_TOKEN=abc\0"
        b'{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n"}'
        b" AIzaSyA-1234567890abcdefghijklmnopqrstu sk_live_abcdefghijklmnopqrstuvwx XAKIAIOSFODNN7EXAMPLE\0"
        b"glpat-abcdefghij0123456789 npm_"
        + b"a1B2" * 9
        + b" DefaultEndpointsProtocol=https;AccountName=x;AccountKey="
        + b"Zm9v" * 21
        + b"ab==;EndpointSuffix=core.windows.net\0"
    )
    hits = scan_bytes(data)
    assert [(h.kind, h.name) for h in hits] == [
        ("env", "GITHUB_TOKEN"),
        ("gcp_sa", "GCP service-account private key"),
        ("google_api", "Google API key"),
        ("stripe", "Stripe live secret key"),
        ("gitlab", "GitLab personal access token"),
        ("npm", "npm access token"),
        ("azure_storage", "Azure storage account key"),
    ]
    assert is_secret_env_name("PGPASSWORD") and is_secret_env_name("AWS_SECRET_ACCESS_KEY")
    assert not is_secret_env_name("KEYBOARD") and not is_secret_env_name("TOKENIZERS_PARALLELISM")
    assert mask(b"abc") == "******** (3 bytes)"
    assert mask(b"hunter2hunter2") == "hun******** (14 bytes)"


def test_short_pages_file_keeps_what_was_found(writable_copy):
    """The secrets case with its pages file cut right after the anonymous mapping's pages: the PEM key (found
    before the cut) is still reported, the environment (on the stack, past the cut) is not, and the rule then
    raises the read error, which the engine records as a problem."""
    import pytest

    from inspector.checks.engine import run_checks
    from inspector.errors import InspectError

    cp_dir, pid, where = make_secrets_case(writable_copy)
    cp = Checkpoint(cp_dir)
    anon = where["anon"]
    path, last_off = file_offset(cp, pid, anon.end - 1)
    cp.close()
    with open(path, "r+b") as fh:
        fh.truncate(last_off - last_off % PAGE_SIZE + PAGE_SIZE)
    cp = Checkpoint(cp_dir)
    found = []
    with pytest.raises(InspectError, match="shorter"):
        for f in secrets_in_memory.RULE.check(cp, Target()):
            found.append(f)
    assert [f.details["kind"] for f in found] == ["pem"]
    report = run_checks(cp_dir, Target(), select=["CRI050"])
    assert [f.details["kind"] for f in report.findings] == ["pem"]
    assert any(
        p.startswith(str(path)) and "shorter" in p and p.endswith("(CRI050 could not run)") for p in report.problems
    )
