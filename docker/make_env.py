"""Write .env from .env.example with every `change-me` replaced by a fresh random secret.

    python3 docker/make_env.py            # writes .env next to docker-compose.yml
    python3 docker/make_env.py --force    # overwrite an existing .env

Standard library only. AIRFLOW_FERNET_KEY gets a real Fernet key (32 random
bytes, URL-safe base64); AIRFLOW_UID becomes your user id, so the files the
stack writes into data/ stay yours. Other values keep .env.example's defaults:
review them before the first `docker compose up`.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = "change-me"


def secret_for(name: str) -> str:
    if name == "AIRFLOW_FERNET_KEY":
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    # Hex only: the passwords go into connection URLs, where '@', ':' or '/' would break them.
    return secrets.token_hex(24)


def render(example: str, uid: int | None) -> str:
    lines = []
    for line in example.splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            if value.strip() == PLACEHOLDER:
                line = f"{name}={secret_for(name.strip())}"
            elif name.strip() == "AIRFLOW_UID" and uid:
                line = f"{name}={uid}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--example", type=Path, default=ROOT / ".env.example")
    parser.add_argument("--output", type=Path, default=ROOT / ".env")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    args = parser.parse_args(argv)
    if args.output.exists() and not args.force:
        print(f"{args.output} exists; keep it, or pass --force to replace every secret in it", file=sys.stderr)
        return 1
    uid = os.getuid() if hasattr(os, "getuid") and os.getuid() != 0 else None
    args.output.write_text(render(args.example.read_text(encoding="utf-8"), uid), encoding="utf-8")
    args.output.chmod(0o600)
    print(f"wrote {args.output} (mode 600); review it, then: docker compose up -d --build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
