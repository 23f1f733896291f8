"""Two-factor login: TOTP codes (RFC 6238 through pyotp: 6 digits, 30-second steps, SHA-1, what
every authenticator app reads), the QR code of the secret drawn here as SVG (segno), and
recovery codes.

A code is accepted for the step before, the current step and the one after (clocks drift), and
only for a step later than the last one accepted, so a code seen over someone's shoulder does not
work a second time. Recovery codes are 10 random letters and digits (~50 bits each): stored as their
SHA-256 only, each one works once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

import pyotp
import segno

STEP_S = 30
DIGITS = 6
ISSUER = "footfall"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_SECRET = re.compile(r"[A-Z2-7]{32}")  # what new_secret makes: 160 bits, base32


def new_secret() -> str:
    return pyotp.random_base32(32)


def valid_secret(secret: str) -> bool:
    return bool(_SECRET.fullmatch(secret))


def provisioning_uri(secret: str, email: str) -> str:
    """The ``otpauth://`` address an authenticator app scans."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S).provisioning_uri(
        name=email, issuer_name=ISSUER
    )


def qr_svg_data_uri(text: str) -> str:
    """``text`` as a QR code: an SVG image in a ``data:`` address (no script, no external file)."""
    return str(segno.make(text, error="m").svg_data_uri(scale=4, border=2))


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def code_digits(code: str) -> str | None:
    """The code typed, without spaces; None when it is not six digits."""
    code = re.sub(r"\s", "", code)[:16]
    return code if len(code) == DIGITS and code.isascii() and code.isdigit() else None


def matching_step(secret: str, code: str, now_ms: int, after_step: int) -> int | None:
    """The step whose code ``code`` is (the current one, or one either side), if it is later than
    ``after_step``; None otherwise."""
    digits = code_digits(code)
    if digits is None:
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S)
    now = now_ms // 1000 // STEP_S
    for step in (now - 1, now, now + 1):
        if step > after_step and hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def new_recovery_codes() -> list[str]:
    def one() -> str:
        letters = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        return letters[:5] + "-" + letters[5:]

    return [one() for _ in range(RECOVERY_CODES)]


def recovery_hash(code: str) -> str:
    """SHA-256 of a recovery code as typed, ignoring case, spaces and dashes."""
    normal = re.sub(r"[\s-]", "", code.lower())[:64]
    return hashlib.sha256(normal.encode()).hexdigest()
