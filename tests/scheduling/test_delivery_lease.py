"""The outbox lease (scheduling/delivery.py): configurable, a delivery always shorter than half of it, "sent" written only
by the claim that is still current, and one Message-ID for every attempt of a row."""

from __future__ import annotations

import asyncio
import datetime as dt

from scheduling import delivery
from scheduling.models import OutboxMessage
from tests.scheduling.test_delivery import MAIL_FROM, SM, book_a_chat, outbox


class Recording(delivery.OutboxSender):
    """Sends nothing anywhere; notes what it delivered, optionally after waiting for `hold`."""

    def __init__(self, sm: SM, *, lease: dt.timedelta, hold: asyncio.Event | None = None) -> None:
        super().__init__(sm, lease=lease)
        self.hold = hold
        self.delivered: list[int] = []

    async def deliver(self, message: OutboxMessage) -> None:
        if self.hold is not None:
            await self.hold.wait()
        self.delivered.append(message.id)


async def test_a_claim_that_outlived_its_lease_does_not_overwrite_the_new_one(sessionmaker: SM, now: dt.datetime) -> None:
    await book_a_chat(sessionmaker, now)
    lease = dt.timedelta(seconds=10)
    hold = asyncio.Event()
    slow = Recording(sessionmaker, lease=lease, hold=hold)
    stuck = asyncio.create_task(slow.send_due(now, limit=1))  # claims the first row, then hangs in its delivery
    while not any(r.status == "sending" for r in await outbox(sessionmaker)):  # noqa: ASYNC110 -- another session's commit
        await asyncio.sleep(0.01)
    other = Recording(sessionmaker, lease=lease)
    assert await other.send_due(now + lease) == 4  # the lease ran out: the row is claimed again and sent
    hold.set()
    assert await stuck == 0  # its late "sent" is refused: the row is the second claim's
    rows = {r.id: r for r in await outbox(sessionmaker)}
    first = slow.delivered[0]
    assert rows[first].status == "sent" and rows[first].attempts == 2
    assert all(r.status == "sent" for r in rows.values())


def test_a_delivery_is_bounded_by_half_the_lease() -> None:
    assert delivery.SmtpSender(None, "smtp://127.0.0.1:25", MAIL_FROM, lease=dt.timedelta(seconds=6)).timeout == 3  # type: ignore[arg-type]
    assert delivery.SmtpSender(None, "smtp://127.0.0.1:25", MAIL_FROM).timeout == 20  # type: ignore[arg-type]


async def test_every_attempt_of_a_row_carries_the_same_message_id(sessionmaker: SM, now: dt.datetime) -> None:
    await book_a_chat(sessionmaker, now)
    row = (await outbox(sessionmaker))[0]
    first, again = delivery.build_email(row, MAIL_FROM), delivery.build_email(row, MAIL_FROM)
    assert first["Message-ID"] == again["Message-ID"] == delivery.outbox_message_id(row)
    assert first["Message-ID"].startswith(f"<outbox-{row.id}.")
