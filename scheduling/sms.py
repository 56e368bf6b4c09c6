"""Text messages (SMS): phone numbers in E.164 form, the Kannel (HTTP) and SMPP gateways, and the sender of
the outbox's sms rows (claim by conditional update, retries with the mail sender's backoff)."""

from __future__ import annotations

import asyncio
import logging
import random
import re
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import httpx
import smpplib.client  # type: ignore[import-untyped]
import smpplib.consts  # type: ignore[import-untyped]
import smpplib.exceptions  # type: ignore[import-untyped]
import smpplib.smpp  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling.delivery import OutboxSender
from scheduling.errors import Invalid
from scheduling.models import OutboxMessage

log = logging.getLogger(__name__)

# smpplib logs every PDU in hex at DEBUG, the bind's password included, and makes a new logger per client
# unless given one. All clients share this one, kept at ERROR: failures reach the log through SmsError.
_SMPPLIB_LOGGER = "scheduling.sms.smpplib"
logging.getLogger(_SMPPLIB_LOGGER).setLevel(logging.ERROR)

TIMEOUT = 20.0  # seconds, for a whole HTTP request and for each SMPP socket operation
MAX_PARTS = 10  # an SMPP text longer than 10 concatenated parts (1530 GSM / 670 UCS-2 characters) is refused


# -- phone numbers -----------------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s.()-]")
_DIGITS = re.compile(r"[1-9][0-9]{6,14}")  # E.164: a country code never starts with 0; at most 15 digits


def normalize_phone(raw: str) -> str:
    """`+` and 7 to 15 digits: spaces, dots, dashes and brackets dropped, a leading 00 read as +.

    "+44 (0)20 7946 0000" is the usual way of writing a trunk 0 that is not dialled from abroad: "(0)" goes.
    """
    value = raw.strip()
    if len(value) > 40:
        raise Invalid("That phone number is too long.", code="invalid_phone")
    value = _SEPARATORS.sub("", value.replace("(0)", ""))
    if value.startswith("+"):
        digits = value[1:]
    elif value.startswith("00"):
        digits = value[2:]
    else:
        raise Invalid("Give the phone number with its country code, starting with + or 00 (like +49 30 1234567).", code="invalid_phone")
    if not _DIGITS.fullmatch(digits):  # [0-9] is ASCII only: other scripts' digits are not read as numbers here
        raise Invalid("A phone number has 7 to 15 digits after the + or 00, and nothing else.", code="invalid_phone")
    return "+" + digits


def mask_phone(phone: str) -> str:
    """Enough of a number for a log line: +49…567."""
    return phone[:3] + "…" + phone[-3:] if len(phone) > 8 else "…"


# -- encoding ----------------------------------------------------------------------------------------------

# GSM 03.38 default alphabet, by position (0x1B is the escape to the extension table), and the extension table.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}
_GSM_INDEX = {ch: i for i, ch in enumerate(GSM_BASIC) if ch != "\x1b"}
assert len(GSM_BASIC) == 128

DC_DEFAULT = 0x00  # SMSC default alphabet, which SMSCs take as GSM 03.38, one septet per octet (unpacked)
DC_UCS2 = 0x08
ESM_UDHI = 0x40  # the short message starts with a user data header


def gsm_encode(text: str) -> bytes | None:
    """`text` in the GSM default alphabet, unpacked; None when a character is not in it (then UCS-2 is used)."""
    out = bytearray()
    for ch in text:
        if ch in _GSM_INDEX:
            out.append(_GSM_INDEX[ch])
        elif ch in GSM_EXTENSION:
            out += bytes((0x1B, GSM_EXTENSION[ch]))
        else:
            return None
    return bytes(out)


@dataclass(frozen=True)
class Encoded:
    data_coding: int
    esm_class: int
    parts: list[bytes]  # each a whole short_message, with its user data header when there are several


def encode_sms(text: str) -> Encoded:
    """One short message (160 GSM septets / 70 UCS-2 units) or concatenated parts with an 8-bit-reference UDH
    (153 / 67 each). A part never ends inside an escape pair or a surrogate pair, so no character is cut in two.
    """
    gsm = gsm_encode(text)
    if gsm is not None:
        data_coding, payload, single, size, unit = DC_DEFAULT, gsm, 160, 153, 1
    else:
        data_coding, payload, single, size, unit = DC_UCS2, text.encode("utf-16-be"), 140, 134, 2
    if len(payload) <= single:
        return Encoded(data_coding, 0, [payload])
    chunks: list[bytes] = []
    start = 0
    while start < len(payload):
        end = min(start + size, len(payload))
        if end < len(payload) and _cuts_a_character(payload, end, data_coding):
            end -= unit
        chunks.append(payload[start:end])
        start = end
    if len(chunks) > MAX_PARTS:
        raise SmsError(f"text too long: {len(chunks)} parts, at most {MAX_PARTS}", permanent=True)
    ref = random.randrange(256)  # tells this text's parts from another's on the phone; need not be unique
    return Encoded(data_coding, ESM_UDHI, [bytes((5, 0, 3, ref, len(chunks), n)) + c for n, c in enumerate(chunks, 1)])


def _cuts_a_character(payload: bytes, end: int, data_coding: int) -> bool:
    if data_coding == DC_UCS2:
        return 0xD8 <= payload[end - 2] <= 0xDB  # the part would end on a high surrogate
    return payload[end - 1] == 0x1B  # ... or on an escape (no character, nor escaped one, is coded 0x1B)


# -- gateways ----------------------------------------------------------------------------------------------


class SmsError(Exception):
    """A text was not accepted. `permanent`: this text to this number will never be (bad number, too long);
    otherwise the gateway is down, busy or misconfigured, and a later try may work."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Gateway(Protocol):
    async def send(self, to: str, text: str) -> None:
        """Hand one text to the gateway; returns once it is accepted, raises SmsError otherwise."""


def _checked_number(to: str) -> str:
    try:
        return normalize_phone(to)
    except Invalid as err:
        raise SmsError(f"not a phone number: {err.message}", permanent=True) from None


class KannelGateway:
    """Kannel's sendsms interface: one GET per text, `to` and `text` added to the configured URL.

    Accepted is 202 ("0: Accepted for delivery", "3: Queued for later delivery", "Sent."). 400 is Kannel refusing
    this text (number not allowed, empty text) and is permanent; anything else (403 bad credentials, 503, no
    answer) is tried again later. Kannel splits long texts itself, as its sendsms-user's max-messages allows.
    """

    def __init__(self, url: str, *, timeout: float = TIMEOUT) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("a Kannel sendsms URL is http(s)://host:port/cgi-bin/sendsms?username=...&password=...")
        owned = {"to", "text", "coding", "charset"}
        self._query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in owned]
        self._base = urlunsplit((parts.scheme, parts.netloc, parts.path or "/cgi-bin/sendsms", "", ""))
        self._secrets = [v for k, v in self._query if k == "password" and v]
        if parts.password:
            self._secrets.append(unquote(parts.password))
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"KannelGateway({self._base.split('@')[-1]})"

    async def send(self, to: str, text: str) -> None:
        number = _checked_number(to)
        # Kannel reads `text` in `charset` and converts it for the SMSC: 7-bit when every character is in the GSM
        # alphabet, UCS-2 (half as many characters per message) otherwise.
        coding = "0" if gsm_encode(text) is not None else "2"
        query = urlencode([*self._query, ("to", number), ("text", text), ("charset", "UTF-8"), ("coding", coding)])
        request = httpx.Request("GET", f"{self._base}?{query}", extensions={"timeout": httpx.Timeout(self.timeout).as_dict()})
        try:
            # Through the transport alone: httpx's client logs each request's URL at INFO, and this one carries
            # the sendsms password in its query.
            async with httpx.AsyncHTTPTransport() as transport:
                response = await transport.handle_async_request(request)
                try:
                    await response.aread()
                finally:
                    await response.aclose()
        except httpx.HTTPError as err:
            raise SmsError(self._redact(f"{type(err).__name__}: {err}")) from None
        if response.status_code == 202:
            return
        answer = " ".join(response.text.split())[:200]
        raise SmsError(self._redact(f"Kannel answered {response.status_code}: {answer}"), permanent=response.status_code == 400)

    def _redact(self, message: str) -> str:
        # Error texts end up in logs and in the outbox row; the password stays out of both.
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return message


# SMPP command_status values that condemn this text, not the link: resending it would be refused again.
_PERMANENT_STATUS = {
    0x01,  # ESME_RINVMSGLEN
    0x0B,  # ESME_RINVDSTADR
    0x43,  # ESME_RINVESMCLASS
    0x50,  # ESME_RINVDSTTON
    0x51,  # ESME_RINVDSTNPI
}


class SmppGateway:
    """SMPP 3.4 through smpplib: per text, connect, bind_transmitter, one submit_sm per part, unbind.

    `smpp://system_id:password@host:port?source=Fairmeet[&system_type=...]`. smpplib is blocking, so each send
    runs in a worker thread. A session per text keeps nothing open between the sender's rounds; texts are few.
    """

    def __init__(self, url: str, *, timeout: float = TIMEOUT) -> None:
        parts = urlsplit(url)
        if parts.scheme != "smpp" or not parts.hostname or not parts.username:
            raise ValueError("an SMPP URL is smpp://system_id:password@host:port?source=Sender")
        self.host = parts.hostname
        self.port = parts.port or 2775
        self.system_id = unquote(parts.username)
        self._password = unquote(parts.password or "")
        # smpplib cuts longer values short without a word (SMPP 3.4 sizes); a bind would then fail for no clear reason.
        if len(self.system_id) > 15 or len(self._password) > 8:
            raise ValueError("SMPP 3.4 allows a system_id of at most 15 characters and a password of at most 8")
        options = dict(parse_qsl(parts.query))
        self.system_type = options.get("system_type", "")
        self.source_ton, self.source_npi, self.source = _source_address(options.get("source", ""))
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SmppGateway({self.system_id}@{self.host}:{self.port})"

    async def send(self, to: str, text: str) -> None:
        number = _checked_number(to)
        encoded = encode_sms(text)
        await asyncio.to_thread(self._send_blocking, number, encoded)

    def _send_blocking(self, number: str, encoded: Encoded) -> None:
        client = smpplib.client.Client(self.host, self.port, timeout=self.timeout, logger_name=_SMPPLIB_LOGGER, allow_unknown_opt_params=True)
        try:
            client.connect()
            try:
                client.bind_transmitter(system_id=self.system_id, password=self._password, system_type=self.system_type)
            except smpplib.exceptions.PDUError as err:
                raise SmsError(f"bind refused: {err.args[0]}") from None
            try:
                for part in encoded.parts:
                    self._submit(client, number, part, encoded)
            except SmsError:
                _unbind(client)  # the SMSC refused this text, the link itself is fine: leave it properly
                raise
            _unbind(client)
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as err:
            raise SmsError(f"{type(err).__name__}: {err or 'connection lost'}") from None
        finally:
            client.disconnect()

    def _submit(self, client: Any, number: str, part: bytes, encoded: Encoded) -> None:
        submitted = client.send_message(
            source_addr_ton=self.source_ton, source_addr_npi=self.source_npi, source_addr=self.source,
            dest_addr_ton=smpplib.consts.SMPP_TON_INTL, dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
            destination_addr=number.removeprefix("+"), short_message=part,
            data_coding=encoded.data_coding, esm_class=encoded.esm_class, registered_delivery=0,
        )
        while True:
            pdu = client.read_pdu()
            if pdu.command == "enquire_link":  # the SMSC checking on us while it works
                answer = smpplib.smpp.make_pdu("enquire_link_resp", client=client)
                answer.sequence = pdu.sequence
                client.send_pdu(answer)
                continue
            # One request is outstanding: a generic_nack is about it even without its sequence number.
            if pdu.command == "generic_nack" or (pdu.command == "submit_sm_resp" and pdu.sequence == submitted.sequence):
                break
        status = int(pdu.status)
        if status != 0:
            what = smpplib.consts.DESCRIPTIONS.get(status, "unknown status")
            raise SmsError(f"submit_sm refused: 0x{status:08X} {what}", permanent=status in _PERMANENT_STATUS)


def _unbind(client: Any) -> None:
    try:
        client.unbind()
    except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError):
        pass  # the outcome is known already; an SMSC that drops the link on unbind changes nothing


def _source_address(source: str) -> tuple[int, int, str]:
    """TON, NPI and address of the sender: an international number (+...), digits (a short code, left to the
    SMSC), or a name of at most 11 letters, digits and spaces."""
    if not source:
        return smpplib.consts.SMPP_TON_UNK, smpplib.consts.SMPP_NPI_UNK, ""
    if source.startswith("+") and source[1:].isdigit() and source[1:].isascii():
        return smpplib.consts.SMPP_TON_INTL, smpplib.consts.SMPP_NPI_ISDN, source[1:]
    if source.isdigit() and source.isascii():
        return smpplib.consts.SMPP_TON_UNK, smpplib.consts.SMPP_NPI_ISDN, source
    if len(source) > 11 or not re.fullmatch(r"[A-Za-z0-9 ]+", source):
        raise ValueError("an SMS sender name has at most 11 characters: ASCII letters, digits and spaces")
    return smpplib.consts.SMPP_TON_ALNUM, smpplib.consts.SMPP_NPI_UNK, source


def gateway_for(url: str) -> Gateway:
    """The gateway that FAIRMEET_SMS_URL names: http(s):// is Kannel's sendsms, smpp:// an SMSC."""
    scheme = urlsplit(url).scheme
    if scheme in ("http", "https"):
        return KannelGateway(url)
    if scheme == "smpp":
        return SmppGateway(url)
    raise ValueError(f"FAIRMEET_SMS_URL: unknown scheme {scheme!r} (http, https or smpp)")


# -- the sender --------------------------------------------------------------------------------------------


class SmsSender(OutboxSender):
    """Sends due text rows of the outbox through the gateway (the claim, lease and backoff are the mail sender's)."""

    channel = "sms"
    noun = "text"

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], gateway: Gateway) -> None:
        super().__init__(sessionmaker)
        self.gateway = gateway

    async def deliver(self, message: OutboxMessage) -> None:
        await self.gateway.send(message.to_phone, message.body_text)

    def recipient(self, message: OutboxMessage) -> str:
        return mask_phone(message.to_phone)
