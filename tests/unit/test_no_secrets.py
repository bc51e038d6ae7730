"""No credentials are committed: scan every tracked file for secrets."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH )?PRIVATE KEY-----"),
    "AWS key": re.compile(r"AKIA[0-9A-Z]{16}"),
    "Slack token": re.compile(r"xox[abpr]-[0-9A-Za-z-]{10,}"),
    "password in a URL": re.compile(r"://[^/\s:@'\"]+:(?P<secret>[^@\s/'\"{}$]+)@"),
    "quoted password literal": re.compile(
        r"(?i)(?:password|passwd|secret|token|api_key)['\"]?(?:\s*=|:)\s*['\"](?P<secret>[^'\"\s{}$]{6,})['\"]"),
    "env-file secret": re.compile(
        r"(?m)^[A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN|FERNET_KEY)[A-Z0-9_]*=(?P<secret>[^\s#]+)"),
}
# Documentation placeholders, e.g. a Slack webhook URL spelled .../T000/B000/XXXX.
PLACEHOLDER = re.compile(r"XXXX|example|/services/T0*/B0*/X+$")
# Placeholders and test fixtures, never real secrets.
ALLOWED = {"unused", "change-me", "bi-test-password", "pass", "password", "guest"}


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / line for line in out.splitlines() if line]


def test_no_credentials_are_committed():
    findings = []
    for path in tracked_files():
        if not path.is_file() or path.suffix in {".xlsx", ".png", ".lock"} or path.name == "requirements.lock":
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        for name, pattern in PATTERNS.items():
            for match in pattern.finditer(text):
                secret = match.groupdict().get("secret")
                if secret is not None and (
                    secret.lower() in ALLOWED or secret.startswith(("<", "${", "%(")) or PLACEHOLDER.search(secret)
                ):
                    continue
                findings.append(f"{path.relative_to(ROOT)}: {name}: {match.group(0)[:60]}")
    assert not findings, "\n".join(findings)
