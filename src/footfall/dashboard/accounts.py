"""Dashboard accounts: Argon2id password hashes, login with equal effort for unknown users,
login sessions whose cookie value is never stored (only its SHA-256), password changes and
two-factor login (footfall.dashboard.twofactor)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from footfall.clock import Clock
from footfall.dashboard import twofactor
from footfall.model import LoginSession, Role, User, new_uuid
from footfall.store.base import Store

SESSION_DAYS = 14
PENDING_MINUTES = 5  # to type the two-factor code after the password
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # Argon2 takes any length; this only bounds the work a request can ask for
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}")


class AccountError(ValueError):
    """A bad account request, with a message for the user."""


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise AccountError(f"not an email address: {email!r}")
    return email


PASSWORD_RULE = f"At least {MIN_PASSWORD} characters."  # told wherever a password is asked for


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
            user = msgspec.structs.replace(user, password_hash=self.hasher.hash(password))
            self.store.save_user(user)
        return user

    def password_is(self, user: User, password: str) -> bool:
        try:
            return self.hasher.verify(user.password_hash, password[:MAX_PASSWORD])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def change_password(
        self, user: User, current: str, new: str, again: str, *, keep_session: str
    ) -> User:
        """The user's own change: the current password first. Their other sessions end."""
        if not self.password_is(user, current):
            raise AccountError("The current password is not right.")
        if new != again:
            raise AccountError("The new password and its repetition differ.")
        return self.set_password(user, new, keep_session=keep_session)

    def set_password(self, user: User, new: str, *, keep_session: str | None = None) -> User:
        """A new password (also the CLI's reset): every session but ``keep_session`` ends."""
        check_password(new)
        user = msgspec.structs.replace(user, password_hash=self.hasher.hash(new))
        self.store.save_user(user)
        self.store.end_login_sessions(user.id, keep_session)
        return user

    # -- two-factor login --------------------------------------------------------------------
    def enable_two_factor(self, user: User, secret: str, code: str) -> tuple[User, list[str]]:
        """Turn it on once a code from the app proves the secret was read; the recovery codes
        (shown once, stored hashed)."""
        if user.totp_secret:
            raise AccountError("Two-factor login is on already.")
        if not twofactor.valid_secret(secret):
            raise AccountError("The setup expired; start again.")
        step = twofactor.matching_step(secret, code, self.clock.now_ms(), 0)
        if step is None:
            raise AccountError("That code is not right: type the 6 digits the app shows now.")
        user = msgspec.structs.replace(user, totp_secret=secret, totp_step=step)
        self.store.save_user(user)
        codes = twofactor.new_recovery_codes()
        self.store.set_recovery_codes(user.id, [twofactor.recovery_hash(c) for c in codes])
        return user, codes

    def second_factor(self, user: User, code: str) -> bool:
        """Whether ``code`` is a right TOTP code (not used before) or an unused recovery code;
        either is used up by this answer."""
        fresh = self.store.get_user(user.id)
        if fresh is None or not fresh.totp_secret:
            return False
        if twofactor.code_digits(code) is not None:
            step = twofactor.matching_step(
                fresh.totp_secret, code, self.clock.now_ms(), fresh.totp_step
            )
            if step is None:
                return False
            self.store.save_user(msgspec.structs.replace(fresh, totp_step=step))
            return True
        if not code.strip() or len(code) > 64:
            return False
        return self.store.use_recovery_code(user.id, twofactor.recovery_hash(code))

    def disable_two_factor(self, user: User, password: str, code: str) -> User:
        if not user.totp_secret:
            raise AccountError("Two-factor login is off already.")
        if not self.password_is(user, password):
            raise AccountError("The password is not right.")
        if not self.second_factor(user, code):
            raise AccountError("That code is not right.")
        return self.reset_two_factor(user)

    def reset_two_factor(self, user: User) -> User:
        """Off, with its recovery codes gone (also the CLI's way back in for a lost phone)."""
        fresh = self.store.get_user(user.id) or user
        user = msgspec.structs.replace(fresh, totp_secret=None, totp_step=0)
        self.store.save_user(user)
        self.store.set_recovery_codes(user.id, [])
        return user

    # -- login sessions ----------------------------------------------------------------------
    def start_session(self, user: User, pending: bool = False) -> tuple[str, LoginSession]:
        """A fresh session (always a new id) for ``user``: the cookie value and the stored record.
        A ``pending`` one only lets its browser type the two-factor code, for a few minutes."""
        now = self.clock.now_ms()
        self.store.delete_expired_login_sessions(now)
        cookie_value = secrets.token_urlsafe(32)
        minutes = PENDING_MINUTES if pending else SESSION_DAYS * 1440
        session = LoginSession(
            key=session_key(cookie_value),
            user_id=user.id,
            csrf=secrets.token_urlsafe(32),
            created=now,
            expires=now + minutes * 60_000,
            pending=pending,
        )
        self.store.create_login_session(session)
        return cookie_value, session

    def resume(self, cookie_value: str, pending: bool = False) -> Login | None:
        """The login of a session cookie; with ``pending``, only of a session waiting for its
        two-factor code (and otherwise only of a complete one)."""
        if not cookie_value or len(cookie_value) > 128:
            return None
        session = self.store.get_login_session(session_key(cookie_value))
        if session is None or session.expires <= self.clock.now_ms():
            return None
        if session.pending != pending:
            return None
        user = self.store.get_user(session.user_id)
        return Login(user, session) if user else None

    def end_session(self, cookie_value: str) -> None:
        if cookie_value:
            self.store.delete_login_session(session_key(cookie_value))
