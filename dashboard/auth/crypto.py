"""The cryptography of sign-in, in one place: argon2id password hashes, the Fernet box
for TOTP secrets, token and recovery-code hashes, and TOTP step matching.

Nothing here touches the database; the stores call these helpers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: OWASP's argon2id minimum (19 MiB, 2 iterations, 1 lane); raising these rehashes on login.
PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
#: A hash of a random password, verified when the email is unknown so timing does not tell.
_DUMMY_HASH = PASSWORD_HASHER.hash(secrets.token_urlsafe(16))

TOTP_DIGITS = 6
TOTP_INTERVAL = 30
#: Accept the previous, the current and the next 30-second step.
TOTP_DRIFT_STEPS = 1
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_COUNT = 10


def hash_password(password: str) -> str:
    return PASSWORD_HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs_rehash); a missing or malformed hash never matches."""
    try:
        PASSWORD_HASHER.verify(stored_hash or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    if stored_hash is None:
        return False, False
    return True, PASSWORD_HASHER.check_needs_rehash(stored_hash)


def _derive(secret_key: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret_key.encode()
    )


class SecretBox:
    """Fernet under a key derived from SECRET_KEY; keyed hashes for recovery codes."""

    def __init__(self, secret_key: str) -> None:
        if len(secret_key) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters to protect MFA secrets")
        key = base64.urlsafe_b64encode(_derive(secret_key, b"cliftonsites:totp-secrets:v1"))
        self._fernet = Fernet(key)
        self._code_key = _derive(secret_key, b"cliftonsites:recovery-codes:v1")

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError(
                "an MFA secret cannot be decrypted: SECRET_KEY changed since it was enrolled;"
                " restore the old SECRET_KEY or run `cliftonsites admin reset-mfa`"
            ) from None

    def code_hash(self, code: str) -> bytes:
        return hmac.new(self._code_key, normalize_recovery_code(code).encode(), "sha256").digest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_totp_secret() -> str:
    """160 bits from the OS's CSPRNG, base32 (32 characters)."""
    return pyotp.random_base32(32)


def totp_step(now: datetime) -> int:
    return int(now.timestamp()) // TOTP_INTERVAL


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code is `code`, within ±1 step of `now`, or None."""
    code = code.strip().replace(" ", "")
    if len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL)
    current = totp_step(now)
    found = None
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def provisioning_uri(secret: str, email: str, issuer: str = "CliftonSites Admin") -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """`xxxxx-xxxxx` codes, 10 characters of a 31-letter alphabet (about 49 bits) each."""
    out = []
    for _ in range(count):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        out.append(f"{raw[:5]}-{raw[5:]}")
    return out


def normalize_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def looks_like_totp(code: str) -> bool:
    cleaned = code.strip().replace(" ", "")
    return len(cleaned) == TOTP_DIGITS and cleaned.isdigit()
