"""ICE servers for a user: STUN, and TURN with time-limited credentials (coturn's use-auth-secret scheme)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any


def turn_credentials(secret: str, user_id: int, *, ttl_seconds: int = 6 * 3600, now: float | None = None) -> tuple[str, str]:
    """(username, password): username is "<unix expiry>:<user id>", password base64(HMAC-SHA1(secret, username))."""
    expiry = int((time.time() if now is None else now) + ttl_seconds)
    username = f"{expiry}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(*, user_id: int, stun_urls: list[str], turn_urls: list[str], turn_secret: str, ttl_seconds: int = 6 * 3600) -> list[dict[str, Any]]:
    """RTCIceServer dictionaries as the browser's RTCPeerConnection takes them."""
    servers: list[dict[str, Any]] = []
    if stun_urls:
        servers.append({"urls": stun_urls})
    if turn_urls and turn_secret:
        username, credential = turn_credentials(turn_secret, user_id, ttl_seconds=ttl_seconds)
        servers.append({"urls": turn_urls, "username": username, "credential": credential})
    return servers
