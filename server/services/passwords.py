"""Password hashing with argon2id (memory-hard) and the rules a new password must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import WeakPassword

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-used-for-timing")

MIN_LENGTH = 10
MAX_LENGTH = 1024
MIN_STRENGTH = 3  # zxcvbn score 0-4; 3 refuses common, dictionary and keyboard-pattern passwords


def check_strength(password: str, user_inputs: list[str]) -> None:
    """Raises:
    WeakPassword: too short, too long, or guessable (common list, dictionary words, the username).
    """
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"The password needs at least {MIN_LENGTH} characters. 密码至少需要 {MIN_LENGTH} 个字符。")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"The password may have at most {MAX_LENGTH} characters.")
    # zxcvbn refuses input over 72 characters; a longer password is strong by length alone.
    from zxcvbn import zxcvbn  # its dictionaries cost a web worker ~15 MB; only password changes need them

    result = zxcvbn(password[:72], user_inputs=user_inputs)
    if result["score"] < MIN_STRENGTH:
        hint = result["feedback"].get("warning") or "Use a longer passphrase of unrelated words."
        raise WeakPassword(f"The password is too easy to guess: {hint} 密码太容易被猜到。")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; an absent hash still spends the time of one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
