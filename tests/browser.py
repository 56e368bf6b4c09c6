"""Real Chromium for tests: Debian's binary, the flags this machine needs (FACTS.md), and page helpers."""

from __future__ import annotations

from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]


async def frames_decoded(page: Any) -> int:
    """Sum of inbound-rtp video framesDecoded over the room page's peer connections (getStats)."""
    result: int = await page.evaluate("""async () => {
        let n = 0;
        for (const peer of window.fairmeetRoom.peers.values()) {
            const stats = await peer.pc.getStats();
            stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') n += s.framesDecoded || 0; });
        }
        return n;
    }""")
    return result


async def sign_in(page: Any, email: str, password: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Email").first.fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
