"""Dashboard accounts: Argon2id password hashes, login with equal effort for unknown users, and
login sessions whose cookie value is never stored (only its SHA-256)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from footfall.clock import Clock
from footfall.model import LoginSession, Role, User, new_uuid
from footfall.store.base import Store

SESSION_DAYS = 14
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # Argon2 takes any length; this only bounds the work a request can ask for
PASSWORD_RULE = f"A password has at least {MIN_PASSWORD} characters."  # told before it is asked for
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}")


class AccountError(ValueError):
    """A bad account request, with a message for the user."""


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise AccountError(f"not an email address: {email!r}")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password may have at most {MAX_PASSWORD} characters")


def session_key(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode()).hexdigest()


@dataclass(frozen=True)
class Login:
    user: User
    session: LoginSession


class Accounts:
    def __init__(self, store: Store, clock: Clock, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self.clock = clock
        self.hasher = hasher or PasswordHasher()  # Argon2id, argon2-cffi's recommended costs
        self._dummy: str | None = None

    @property
    def _dummy_hash(self) -> str:
        """Verified when the email is unknown, so that answer costs what a wrong password costs.
        Made on first use (same costs as real hashes), keeping server start-up quick."""
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    # -- users -------------------------------------------------------------------------------
    def create_user(
        self, email: str, password: str, role: Role = "viewer", apps: list[str] | None = None
    ) -> User:
        if role not in ("owner", "viewer"):
            raise AccountError(f"unknown role {role!r}; choose owner or viewer")
        check_password(password)
        email = normalise_email(email)
        if self.store.get_user_by_email(email) is not None:
            raise AccountError(f"a user with the email {email!r} exists already")
        user = User(
            id=new_uuid(),
            email=email,
            password_hash=self.hasher.hash(password),
            role=role,
            apps=list(apps or []),
            created=self.clock.now_ms(),
        )
        self.store.create_user(user)
        return user

    def has_users(self) -> bool:
        return bool(self.store.list_users())

    def authenticate(self, email: str, password: str) -> User | None:
        """The user when the password is right; None otherwise, after the same Argon2 work."""
        try:
            user = self.store.get_user_by_email(normalise_email(email))
        except AccountError:
            user = None
        password = password[:MAX_PASSWORD]
        try:
            self.hasher.verify(user.password_hash if user else self._dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if user is None:
            return None
        if self.hasher.check_needs_rehash(user.password_hash):
            import msgspec

            user = msgspec.structs.replace(user, password_hash=self.hasher.hash(password))
            self.store.save_user(user)
        return user

    # -- login sessions ----------------------------------------------------------------------
    def start_session(self, user: User) -> tuple[str, LoginSession]:
        """A fresh session (always a new id) for ``user``: the cookie value and the stored record."""
        now = self.clock.now_ms()
        self.store.delete_expired_login_sessions(now)
        cookie_value = secrets.token_urlsafe(32)
        session = LoginSession(
            key=session_key(cookie_value),
            user_id=user.id,
            csrf=secrets.token_urlsafe(32),
            created=now,
            expires=now + SESSION_DAYS * 86_400_000,
        )
        self.store.create_login_session(session)
        return cookie_value, session

    def resume(self, cookie_value: str) -> Login | None:
        if not cookie_value or len(cookie_value) > 128:
            return None
        session = self.store.get_login_session(session_key(cookie_value))
        if session is None or session.expires <= self.clock.now_ms():
            return None
        user = self.store.get_user(session.user_id)
        return Login(user, session) if user else None

    def end_session(self, cookie_value: str) -> None:
        if cookie_value:
            self.store.delete_login_session(session_key(cookie_value))
