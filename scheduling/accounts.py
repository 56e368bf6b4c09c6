"""People and their credentials: passwords (argon2), API tokens, one-time sign-in links."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.errors import Conflict, Invalid
from scheduling.models import ApiToken, LoginLink, User

_hasher = PasswordHasher()


def set_password_hasher(hasher: PasswordHasher) -> None:
    """Swaps the argon2 parameters; the tests use cheap ones, production keeps the library's defaults."""
    global _hasher  # noqa: PLW0603 -- process-wide hashing parameters, like a library setting
    _hasher = hasher
API_TOKEN_LIFETIME = dt.timedelta(days=30)
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    if not user.password_hash:
        # Burn the same time as a real check so absent passwords can't be told apart.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254 or email.startswith("@") or email.endswith("@") or " " in email:
        raise Invalid("That doesn't look like an email address.", code="invalid_email")
    return email


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.execute(select(User).where(User.email == email.strip().lower()))).scalar_one_or_none()


async def create_user(
    session: AsyncSession, *, email: str, name: str, password: str | None, now: dt.datetime, is_admin: bool = False
) -> User:
    email = normalize_email(email)
    name = name.strip()
    if not name:
        raise Invalid("A name is required.", code="invalid_name")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise Invalid("A name can't contain line breaks or control characters.", code="invalid_name")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise Invalid("A name can't contain line breaks or control characters.", code="invalid_name")
    if await user_by_email(session, email) is not None:
        raise Conflict("A person with that email already exists.", code="email_taken")
    if password is not None and len(password) < MIN_PASSWORD:
        raise Invalid(f"Passwords need at least {MIN_PASSWORD} characters.", code="weak_password")
    user = User(
        email=email,
        name=name[:120],
        password_hash=hash_password(password) if password else None,
        is_admin=is_admin,
        calendar_token=secrets.token_urlsafe(24),
        created_at=now,
        headline="",
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    user = await user_by_email(session, email)
    if user is None:
        _hasher.hash(password)
        return None
    return user if verify_password(user, password) else None


async def issue_api_token(session: AsyncSession, user: User, *, now: dt.datetime) -> str:
    secret = "fm_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_digest(secret), created_at=now, expires_at=now + API_TOKEN_LIFETIME))
    await session.flush()
    return secret


async def user_for_api_token(session: AsyncSession, secret: str, *, now: dt.datetime) -> User | None:
    row = (
        await session.execute(
            select(User).join(ApiToken, ApiToken.user_id == User.id).where(
                ApiToken.token_hash == _digest(secret), ApiToken.expires_at > now
            )
        )
    ).scalar_one_or_none()
    return row


async def issue_login_link(session: AsyncSession, user: User, *, now: dt.datetime, lifetime: dt.timedelta) -> str:
    secret = secrets.token_urlsafe(32)
    session.add(LoginLink(user_id=user.id, token_hash=_digest(secret), expires_at=now + lifetime))
    await session.flush()
    return secret


async def redeem_login_link(session: AsyncSession, secret: str, *, now: dt.datetime) -> User | None:
    """The link's user, once: the link is spent in the same transaction (row lock on PostgreSQL)."""
    link = (
        await session.execute(select(LoginLink).where(LoginLink.token_hash == _digest(secret)).with_for_update())
    ).scalar_one_or_none()
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    link.used_at = now
    return await session.get(User, link.user_id)


async def link_holder(session: AsyncSession, secret: str, *, now: dt.datetime) -> User | None:
    """The user a one-time link signs in, while it is unspent and unexpired; None otherwise. Reads only (the landing page
    greets the person before they press Continue; a spent or stale link says nothing about its account)."""
    link = (await session.execute(select(LoginLink).where(LoginLink.token_hash == _digest(secret)))).scalar_one_or_none()
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    return await session.get(User, link.user_id)


def login_link_row(user_id: int, *, now: dt.datetime, lifetime: dt.timedelta) -> tuple[str, dict[str, object]]:
    """A one-time sign-in link as (secret, login_links row) for inserting many at once (imports); only the hash is kept."""
    secret = secrets.token_urlsafe(32)
    return secret, {"user_id": user_id, "token_hash": _digest(secret), "expires_at": now + lifetime, "used_at": None}
