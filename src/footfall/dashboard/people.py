"""What owners do to other accounts: invite (a one-time, expiring link), change roles and apps,
remove. The rules that keep a dashboard from losing its last owner live here, for the users page
and the CLI alike."""

from __future__ import annotations

import secrets

import msgspec

from footfall.dashboard.accounts import (
    AccountError,
    Accounts,
    check_password,
    normalise_email,
    session_key,
)
from footfall.model import Invite, Role, User, new_uuid

INVITE_HOURS = 72
ROLES: tuple[Role, ...] = ("owner", "viewer")


def invite_key(token: str) -> str:
    return session_key(token)  # the SHA-256 of the link's token, like a session's


class People:
    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts
        self.store = accounts.store
        self.clock = accounts.clock

    def _owners(self) -> list[User]:
        return [u for u in self.store.list_users() if u.is_owner]

    # -- invitations ------------------------------------------------------------------------
    def invite(self, by: User | None, email: str, role: str, apps: list[str]) -> tuple[str, Invite]:
        """A new invitation and the token of its link (never stored: only its hash is)."""
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; choose owner or viewer")
        email = normalise_email(email)
        if self.store.get_user_by_email(email) is not None:
            raise AccountError(f"{email} has an account already")
        now = self.clock.now_ms()
        self.store.delete_expired_invites(now)
        token = secrets.token_urlsafe(32)
        invite = Invite(
            id=new_uuid(),
            key=invite_key(token),
            email=email,
            role=role,  # checked above
            apps=[] if role == "owner" else list(dict.fromkeys(apps)),
            created=now,
            expires=now + INVITE_HOURS * 3_600_000,
            invited_by=by.email if by else "",
        )
        self.store.create_invite(invite)
        return token, invite

    def invite_of(self, token: str) -> Invite | None:
        if not token or len(token) > 128:
            return None
        return self.store.get_invite(invite_key(token), self.clock.now_ms())

    def accept(self, token: str, password: str, again: str) -> User:
        """The invitee's account, with the password they chose; the link works only this once."""
        if password != again:
            raise AccountError("The password and its repetition differ.")
        check_password(password)  # before taking the invitation: a short password keeps it
        if not token or len(token) > 128:
            raise AccountError("This invitation has expired or was used already.")
        invite = self.store.take_invite(invite_key(token), self.clock.now_ms())
        if invite is None:
            raise AccountError("This invitation has expired or was used already.")
        return self.accounts.create_user(invite.email, password, invite.role, invite.apps)

    # -- roles and removal ------------------------------------------------------------------
    def set_access(self, by: User | None, user_id: str, role: str, apps: list[str]) -> User:
        """Set a user's role and (for a viewer) the apps they may read. Nobody demotes themself
        here, and the last owner stays an owner."""
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; choose owner or viewer")
        user = self.store.get_user(user_id)
        if user is None:
            raise AccountError("There is no such user.")
        if role != "owner" and user.is_owner:
            if by is not None and by.id == user.id:
                raise AccountError("You cannot take away your own owner role; another owner can.")
            if len(self._owners()) <= 1:
                raise AccountError(f"{user.email} is the last owner and stays one.")
        user = msgspec.structs.replace(
            user,
            role=role,
            apps=[] if role == "owner" else list(dict.fromkeys(apps)),
        )
        self.store.save_user(user)
        return user

    def remove(self, by: User | None, user_id: str) -> User:
        user = self.store.get_user(user_id)
        if user is None:
            raise AccountError("There is no such user.")
        if by is not None and by.id == user.id:
            raise AccountError("You cannot remove yourself; another owner can.")
        if user.is_owner and len(self._owners()) <= 1:
            raise AccountError(f"{user.email} is the last owner and cannot be removed.")
        self.store.delete_user(user.id)
        return user
