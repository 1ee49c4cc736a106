"""The worst-passwords list (qa/auth/data/common_passwords.txt), checked wherever a password is set."""
from __future__ import annotations

from functools import cache
from pathlib import Path

COMMON_PASSWORDS_FILE = Path(__file__).with_name("data") / "common_passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def is_common(password: str) -> bool:
    """True when the password, ignoring case, is on the list (the whole password: never truncated)."""
    return password.lower() in common_passwords()
