"""Pages may be framed by Fairmeet itself only (clickjacking): responses without a policy of their own get one.

The widget's iframe page sets its own `frame-ancestors` (the job req's allowed sites) and is left alone.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = b"frame-ancestors 'self'"


class SameOriginFraming:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"content-security-policy" for name, _ in headers):
                    headers.append((b"content-security-policy", POLICY))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_policy)
