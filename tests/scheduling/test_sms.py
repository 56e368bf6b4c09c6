"""Texts through real gateways on loopback: Kannel (bearerbox + smsbox, Kannel's fakesmsc as the SMSC behind it)
and an SMSC speaking SMPP 3.4 (Debian's Net::SMPP); the outbox's sms rows through SmsSender on both."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote_to_bytes

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling import delivery, sms
from scheduling.errors import Invalid
from scheduling.models import OutboxMessage
from tests.conftest import _service_missing

SM = async_sessionmaker[AsyncSession]
NUMBER = "+441234567890"
BEARERBOX, SMSBOX, FAKESMSC = Path("/usr/sbin/bearerbox"), Path("/usr/sbin/smsbox"), Path("/usr/lib/kannel/test/fakesmsc")
KANNEL_PASSWORD = "kannel-pw-7c1e"  # noqa: S105 -- the test gateway's own
SMPP_SYSTEM_ID, SMPP_PASSWORD = "fairmeet", "pw-3b9d"


def free_ports(n: int) -> list[int]:
    """n distinct TCP ports free on 127.0.0.1 right now (all held open together, so no two are the same)."""
    socks = []
    try:
        for _ in range(n):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()


def wait_until(what: str, check: Any, procs: list[subprocess.Popen[bytes]], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"{proc.args!r} exited with {proc.returncode} while waiting for {what}")
        if check():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass(frozen=True)
class Received:
    sender: str
    to: str
    text: str


class LocalGateway(Protocol):
    """A gateway process under test: where to send, what its SMSC got, and a way to take it down and back up."""

    @property
    def url(self) -> str: ...

    def received(self, at_least: int = 0) -> list[Received]: ...
    def stop(self) -> None: ...
    def start(self) -> None: ...


# -- Kannel ------------------------------------------------------------------------------------------------


class Kannel:
    """bearerbox with a fake SMSC link, fakesmsc on the other end of it (printing what it gets), and smsbox serving
    sendsms; config and logs in `root`, every port picked free."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.admin_port, self.box_port, self.smsc_port, self.http_port = free_ports(4)
        self.fakesmsc_out = root / "fakesmsc.out"
        self.conf = root / "kannel.conf"
        self.conf.write_text(f"""\
group = core
admin-port = {self.admin_port}
admin-interface = 127.0.0.1
admin-password = admin-pw
smsbox-port = {self.box_port}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "{root}/bearerbox.log"
log-level = 1
access-log = "{root}/access.log"

group = smsc
smsc = fake
smsc-id = fake
port = {self.smsc_port}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.box_port}
sendsms-port = {self.http_port}
sendsms-interface = 127.0.0.1
log-file = "{root}/smsbox.log"
log-level = 1

group = sendsms-user
username = fm
password = {KANNEL_PASSWORD}
concatenation = true
max-messages = 10
black-list-regex = ^\\+999

group = sms-service
keyword = default
text = "No service"
""")
        self.bearerbox: subprocess.Popen[bytes] | None = None
        self.fakesmsc: subprocess.Popen[bytes] | None = None
        self.smsbox: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/cgi-bin/sendsms?username=fm&password={KANNEL_PASSWORD}&from=Fairmeet"

    def _status(self) -> str:
        try:
            return httpx.get(f"http://127.0.0.1:{self.admin_port}/status.txt?password=admin-pw", timeout=2).text
        except httpx.HTTPError:
            return ""

    def _run(self, *args: str | Path, out: str) -> subprocess.Popen[bytes]:
        with (self.root / out).open("ab") as log:
            return subprocess.Popen([str(a) for a in args], stdout=log, stderr=subprocess.STDOUT, cwd=self.root)

    def start_all(self) -> None:
        self.bearerbox = self._run(BEARERBOX, "-v", "1", self.conf, out="bearerbox.out")
        wait_until("bearerbox's admin port", lambda: "Status: running" in self._status(), [self.bearerbox])
        # fakesmsc dials the fake SMSC link of bearerbox, sends nothing itself (-m 0) and prints each message it gets.
        self.fakesmsc = self._run(FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc_port), "-m", "0", "unused", out="fakesmsc.out")
        wait_until("the fake SMSC link", lambda: re.search(r"fake\[fake\].*\(online", self._status()) is not None, [self.bearerbox, self.fakesmsc])
        self.start()

    def start(self) -> None:
        """smsbox, the sendsms interface the gateway talks to."""
        assert self.bearerbox is not None and self.smsbox is None
        self.smsbox = self._run(SMSBOX, "-v", "1", self.conf, out="smsbox.out")
        wait_until("smsbox", lambda: listening(self.http_port) and "smsbox:" in self._status(), [self.bearerbox, self.smsbox])

    def stop(self) -> None:
        stop(self.smsbox)
        self.smsbox = None

    def stop_all(self) -> None:
        for proc in (self.smsbox, self.fakesmsc, self.bearerbox):
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in (self.smsbox, self.fakesmsc, self.bearerbox):
            stop(proc)

    def all_received(self) -> list[Received]:
        """fakesmsc's "Got message N: <from to type data>" lines; the parts of a split text joined again."""
        out: list[Received] = []
        pending: dict[tuple[str, str, int], dict[int, bytes]] = {}
        for line in re.findall(r"Got message \d+: <(.*)>$", self.fakesmsc_out.read_text(), re.MULTILINE):
            sender, to, kind, data = line.split(" ", 3)
            if kind == "text":
                out.append(Received(sender, to, data))
            elif kind == "ucs-2":
                out.append(Received(sender, to, _form_bytes(data).decode("utf-16-be")))
            elif kind == "udh":
                # Kannel's fake link labels every split part "data": the bytes are its internal UTF-8 for 7-bit texts.
                udh, _, body = data.split(" ", 2)
                ref, total, seq = _form_bytes(udh)[3:6]
                parts = pending.setdefault((sender, to, ref), {})
                parts[seq] = _form_bytes(body)
                if len(parts) == total:
                    out.append(Received(sender, to, b"".join(parts[i] for i in range(1, total + 1)).decode()))
        return out


def _form_bytes(value: str) -> bytes:
    return unquote_to_bytes(value.replace("+", " "))


class KannelView:
    """One test's look at the shared Kannel: only what arrived since the test began."""

    def __init__(self, kannel: Kannel) -> None:
        self.kannel = kannel
        self.url = kannel.url
        self.offset = len(kannel.all_received())

    def received(self, at_least: int = 0) -> list[Received]:
        # A 202 means bearerbox has the text; fakesmsc prints it a moment later.
        deadline = time.monotonic() + 10
        while len(got := self.kannel.all_received()[self.offset:]) < at_least and time.monotonic() < deadline:
            time.sleep(0.05)
        return got

    def stop(self) -> None:
        self.kannel.stop()

    def start(self) -> None:
        self.kannel.start()


@pytest.fixture(scope="module")
def kannel_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kannel]:
    missing = [p for p in (BEARERBOX, SMSBOX, FAKESMSC) if not p.exists()]
    if missing:
        _service_missing("Kannel", FileNotFoundError(f"{missing[0]} (apt-get install kannel kannel-extras)"))
    kannel = Kannel(tmp_path_factory.mktemp("kannel"))
    try:
        kannel.start_all()
        yield kannel
    finally:
        kannel.stop_all()


@pytest.fixture
def kannel(kannel_process: Kannel) -> Iterator[KannelView]:
    view = KannelView(kannel_process)
    yield view
    if kannel_process.smsbox is None:  # a test that took it down and failed before bringing it back
        kannel_process.start()


# -- SMPP --------------------------------------------------------------------------------------------------

# An SMSC on Net::SMPP: binds with the right password succeed, each PDU it gets is written down as a JSON line
# (short_message in hex), destinations starting 999 are refused as invalid (permanent), 998 as throttled.
SMSC_PL = r"""
use strict; use warnings;
use IO::Handle; use JSON::PP; use Net::SMPP;
my ($port, $system_id, $password, $log) = @ARGV;
open(my $out, '>>', $log) or die "$log: $!";
$out->autoflush(1);
my $json = JSON::PP->new->canonical;
my $smsc = Net::SMPP->new_listen('127.0.0.1', port => $port, smpp_version => 0x34) or die "listen: $!";
my $ids = 0;
while (1) {
    my $esme = $smsc->accept or next;
    while (my $pdu = $esme->read_pdu()) {
        my $cmd = $pdu->{cmd};
        if ($cmd == 0x00000002) {
            my $ok = $pdu->{system_id} eq $system_id && $pdu->{password} eq $password ? 1 : 0;
            print $out $json->encode({event => 'bind', system_id => $pdu->{system_id}, system_type => $pdu->{system_type}, ok => $ok}), "\n";
            $esme->bind_transmitter_resp(seq => $pdu->{seq}, status => $ok ? 0 : 0x0E, system_id => 'TestSMSC');
        } elsif ($cmd == 0x00000004) {
            my $to = $pdu->{destination_addr};
            my $status = $to =~ /^999/ ? 0x0B : $to =~ /^998/ ? 0x58 : 0;
            my %sm = map { $_ => $pdu->{$_} }
                qw(source_addr source_addr_ton source_addr_npi destination_addr dest_addr_ton dest_addr_npi esm_class data_coding);
            print $out $json->encode({event => 'submit_sm', status => $status, %sm, short_message => unpack('H*', $pdu->{short_message})}), "\n";
            $esme->submit_sm_resp(seq => $pdu->{seq}, status => $status, message_id => $status ? '' : 'm' . ++$ids);
        } elsif ($cmd == 0x00000006) {
            print $out $json->encode({event => 'unbind'}), "\n";
            $esme->unbind_resp(seq => $pdu->{seq});
        } elsif ($cmd == 0x00000015) {
            $esme->enquire_link_resp(seq => $pdu->{seq});
        } else {
            $esme->generic_nack(seq => $pdu->{seq}, status => 0x03);
        }
    }
    close $esme;
}
"""


class Smsc:
    """The Net::SMPP SMSC as a process on a free port that a test can take down and bring back."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (self.port,) = free_ports(1)
        self.script = root / "smsc.pl"
        self.script.write_text(SMSC_PL)
        self.log = root / "smsc.jsonl"
        self.log.touch()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"smpp://{SMPP_SYSTEM_ID}:{SMPP_PASSWORD}@127.0.0.1:{self.port}?source=Fairmeet&system_type=fm"

    def start(self) -> None:
        assert self.proc is None
        with (self.root / "smsc.out").open("ab") as out:
            self.proc = subprocess.Popen(["perl", str(self.script), str(self.port), SMPP_SYSTEM_ID, SMPP_PASSWORD, str(self.log)],
                                         stdout=out, stderr=subprocess.STDOUT)
        wait_until("the SMPP SMSC", lambda: listening(self.port), [self.proc])

    def stop(self) -> None:
        stop(self.proc)
        self.proc = None

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def submits(self) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["event"] == "submit_sm"]

    def received(self, at_least: int = 0) -> list[Received]:
        """Accepted submits as texts (it writes before it answers, so nothing is still on its way)."""
        out: list[Received] = []
        pending: dict[tuple[str, int], dict[int, bytes]] = {}
        for e in self.submits():
            if e["status"]:
                continue
            to, data = "+" + e["destination_addr"], bytes.fromhex(e["short_message"])
            if e["esm_class"] & sms.ESM_UDHI:
                ref, total, seq = data[3:6]
                parts = pending.setdefault((to, ref), {})
                parts[seq] = data[data[0] + 1:]
                if len(parts) < total:
                    continue
                data = b"".join(parts[i] for i in range(1, total + 1))
            out.append(Received(e["source_addr"], to, decode(data, e["data_coding"])))
        return out


def decode(data: bytes, data_coding: int) -> str:
    if data_coding == sms.DC_UCS2:
        return data.decode("utf-16-be")
    assert data_coding == sms.DC_DEFAULT
    extension = {v: k for k, v in sms.GSM_EXTENSION.items()}
    text, escaped = [], False
    for byte in data:
        if escaped:
            text.append(extension[byte])
            escaped = False
        elif byte == 0x1B:
            escaped = True
        else:
            text.append(sms.GSM_BASIC[byte])
    return "".join(text)


@pytest.fixture
def smsc(tmp_path: Path) -> Iterator[Smsc]:
    if shutil.which("perl") is None or subprocess.run(["perl", "-MNet::SMPP", "-MJSON::PP", "-e1"], check=False, capture_output=True).returncode != 0:
        _service_missing("Net::SMPP", FileNotFoundError("perl with Net::SMPP (apt-get install libnet-smpp-perl)"))
    server = Smsc(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["kannel", "smpp"])
def gateway(request: pytest.FixtureRequest) -> LocalGateway:
    if request.param == "kannel":
        view: KannelView = request.getfixturevalue("kannel")
        return view
    server: Smsc = request.getfixturevalue("smsc")
    return server


# -- phone numbers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("+49 30 1234567", "+49301234567"),
    ("0049 (30) 123-45.67", "+49301234567"),
    ("+44 (0)20 7946 0000", "+442079460000"),
    ("\u00a0+1 415-555-0100 ", "+14155550100"),
    ("+1234567", "+1234567"),
    ("+123456789012345", "+123456789012345"),
])
def test_phone_numbers_are_normalized(raw: str, expected: str) -> None:
    assert sms.normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", [
    "", "+", "030 1234567", "49 30 1234567", "+0 30 1234567", "00 0 30 1234567", "+123456", "+1234567890123456",
    "+49 30 12345x7", "+49 30 1234567 ext 2", "+49/30/1234567", "+\u0664\u0669 30 1234567", "+49 30 1234567\x00", "+" + "1" * 60,
])
def test_bad_phone_numbers_are_refused_with_a_readable_message(raw: str) -> None:
    with pytest.raises(Invalid) as err:
        sms.normalize_phone(raw)
    assert err.value.code == "invalid_phone"
    assert err.value.message[0].isupper() and err.value.message.endswith((".", ")."))


# -- encoding ----------------------------------------------------------------------------------------------


def test_gsm_alphabet_and_its_extension() -> None:
    assert len(sms.GSM_BASIC) == 128 and len(set(sms.GSM_BASIC)) == 128
    assert sms.gsm_encode("@£$ Aa0 ü§") == bytes([0x00, 0x01, 0x02, 0x20, 0x41, 0x61, 0x30, 0x20, 0x7E, 0x5F])
    assert sms.gsm_encode("€{}[]~|^\\\f") == bytes.fromhex("1b65 1b28 1b29 1b3c 1b3e 1b3d 1b40 1b14 1b2f 1b0a".replace(" ", ""))
    assert sms.gsm_encode("ç") is None  # only capital Ç is in the alphabet
    assert sms.gsm_encode("Привет") is None


@pytest.mark.parametrize(("text", "coding", "parts"), [
    ("a" * 160, sms.DC_DEFAULT, 1),
    ("a" * 161, sms.DC_DEFAULT, 2),
    ("€" * 80, sms.DC_DEFAULT, 1),  # 160 septets
    ("€" * 81, sms.DC_DEFAULT, 2),
    ("a" * 153 * 3, sms.DC_DEFAULT, 3),
    ("ж" * 70, sms.DC_UCS2, 1),
    ("ж" * 71, sms.DC_UCS2, 2),
    ("😀" * 35, sms.DC_UCS2, 1),  # 70 UTF-16 units
    ("ж" * 67 * 10, sms.DC_UCS2, 10),
])
def test_texts_are_one_message_or_concatenated_parts(text: str, coding: int, parts: int) -> None:
    encoded = sms.encode_sms(text)
    assert encoded.data_coding == coding and len(encoded.parts) == parts
    if parts == 1:
        assert encoded.esm_class == 0 and decode(encoded.parts[0], coding) == text
        return
    assert encoded.esm_class == sms.ESM_UDHI
    refs = {p[3] for p in encoded.parts}
    assert len(refs) == 1
    assert [p[:3] + p[4:6] for p in encoded.parts] == [bytes((5, 0, 3, parts, n)) for n in range(1, parts + 1)]
    assert all(len(p) <= 6 + (153 if coding == sms.DC_DEFAULT else 134) for p in encoded.parts)
    assert decode(b"".join(p[6:] for p in encoded.parts), coding) == text


def test_a_part_never_ends_inside_an_escape_or_a_surrogate_pair() -> None:
    gsm = sms.encode_sms("a" * 152 + "€" + "b" * 100)  # the escape would be byte 153 of the first part
    assert gsm.parts[0][-1] != 0x1B and len(gsm.parts[0]) == 6 + 152
    assert decode(b"".join(p[6:] for p in gsm.parts), sms.DC_DEFAULT) == "a" * 152 + "€" + "b" * 100
    ucs2 = sms.encode_sms("ж" * 66 + "😀" + "ж" * 10)  # the emoji's high surrogate would end the first part
    assert [p[6:].decode("utf-16-be") for p in ucs2.parts] == ["ж" * 66, "😀" + "ж" * 10]


def test_a_text_past_ten_parts_is_refused_for_good() -> None:
    with pytest.raises(sms.SmsError) as err:
        sms.encode_sms("a" * (153 * 10 + 1))
    assert err.value.permanent


# -- choosing a gateway ------------------------------------------------------------------------------------


def test_the_url_chooses_the_gateway_and_no_repr_shows_a_password() -> None:
    kannel = sms.gateway_for("http://127.0.0.1:13013/cgi-bin/sendsms?username=fm&password=hush-1&from=Fairmeet")
    assert isinstance(kannel, sms.KannelGateway) and "hush-1" not in repr(kannel)
    assert isinstance(sms.gateway_for("https://sms.example.org/cgi-bin/sendsms?username=fm&password=x"), sms.KannelGateway)
    smpp = sms.gateway_for("smpp://fm:hush-2@smsc.example.org?source=Fairmeet")
    assert isinstance(smpp, sms.SmppGateway) and "hush-2" not in repr(smpp)
    assert (smpp.host, smpp.port, smpp.system_id, smpp.source) == ("smsc.example.org", 2775, "fm", "Fairmeet")
    for bad in ("", "ftp://x/y", "smtp://127.0.0.1:25", "mailto:a@b.c"):
        with pytest.raises(ValueError, match="unknown scheme"):
            sms.gateway_for(bad)
    for bad in ("smpp://127.0.0.1:2775", "smpp://fm:too-long-pw@h", "smpp://fm:pw@h?source=Fairmeet+Events+Ltd", "http:///cgi-bin/sendsms"):
        with pytest.raises(ValueError):
            sms.gateway_for(bad)


# -- Kannel ------------------------------------------------------------------------------------------------


async def test_kannel_delivers_the_text_to_the_number_from_the_sender(kannel: KannelView, caplog: pytest.LogCaptureFixture) -> None:
    gateway = sms.KannelGateway(kannel.url)
    with caplog.at_level(logging.DEBUG):
        await gateway.send("+44 1234 567890", "Ada answered your note about Backend (m/f/d). Continue: https://f.example/c/x?k=1&a=2")
        await gateway.send("0049 30 1234567", "Grüße, 10:00 € {Raum 2} ü")  # in the GSM alphabet: goes 7-bit
    assert "httpcore" in caplog.text and KANNEL_PASSWORD not in caplog.text  # logged, but never the sendsms URL
    assert kannel.received(2) == [
        Received("Fairmeet", NUMBER, "Ada answered your note about Backend (m/f/d). Continue: https://f.example/c/x?k=1&a=2"),
        Received("Fairmeet", "+49301234567", "Grüße, 10:00 € {Raum 2} ü"),
    ]


async def test_kannel_sends_other_scripts_as_ucs2(kannel: KannelView) -> None:
    text = "Привет, Ада 👋 你好\nSecond line"
    await sms.KannelGateway(kannel.url).send(NUMBER, text)
    assert kannel.received(1) == [Received("Fairmeet", NUMBER, text)]


async def test_kannel_splits_a_long_text_itself(kannel: KannelView) -> None:
    text = "Your chat is confirmed. " * 15
    await sms.KannelGateway(kannel.url).send(NUMBER, text)
    assert kannel.received(1) == [Received("Fairmeet", NUMBER, text)]


async def test_kannel_refusals_are_told_apart(kannel: KannelView) -> None:
    with pytest.raises(sms.SmsError) as err:
        await sms.KannelGateway(kannel.url.replace(KANNEL_PASSWORD, "wrong-pw-5")).send(NUMBER, "x")
    assert not err.value.permanent and "403" in str(err.value) and "Authorization failed" in str(err.value)
    assert "wrong-pw-5" not in str(err.value)

    with pytest.raises(sms.SmsError) as err:
        await sms.KannelGateway(kannel.url).send("+999 1234567", "black-listed")
    assert err.value.permanent and "400" in str(err.value) and "denied" in str(err.value)

    with pytest.raises(sms.SmsError) as err:
        await sms.KannelGateway(kannel.url).send("12345", "not a number")
    assert err.value.permanent and "phone number" in str(err.value)

    kannel.stop()
    with pytest.raises(sms.SmsError) as err:
        await sms.KannelGateway(kannel.url).send(NUMBER, "nobody listens")
    assert not err.value.permanent and KANNEL_PASSWORD not in str(err.value)
    kannel.start()
    assert kannel.received() == []


# -- SMPP --------------------------------------------------------------------------------------------------


async def test_smpp_binds_submits_and_unbinds(smsc: Smsc, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        await sms.SmppGateway(smsc.url).send("+44 1234 567890", "Hi @Ada: 10:00 € {2}")
    assert SMPP_PASSWORD not in caplog.text and SMPP_PASSWORD.encode().hex() not in caplog.text  # smpplib's PDU dumps stay off
    bind, submit, unbind = smsc.events()
    assert bind == {"event": "bind", "system_id": SMPP_SYSTEM_ID, "system_type": "fm", "ok": 1}
    assert unbind == {"event": "unbind"}
    assert (submit["source_addr"], submit["source_addr_ton"], submit["source_addr_npi"]) == ("Fairmeet", 5, 0)  # alphanumeric
    assert (submit["destination_addr"], submit["dest_addr_ton"], submit["dest_addr_npi"]) == ("441234567890", 1, 1)  # international, E.164
    assert (submit["data_coding"], submit["esm_class"], submit["status"]) == (0, 0, 0)
    assert bytes.fromhex(submit["short_message"]) == b"Hi \x00Ada: 10:00 \x1b\x65 \x1b\x282\x1b\x29"
    assert smsc.received() == [Received("Fairmeet", NUMBER, "Hi @Ada: 10:00 € {2}")]


async def test_smpp_sends_other_scripts_as_ucs2(smsc: Smsc) -> None:
    text = "Привет, Ада 👋 你好\nSecond line"
    await sms.SmppGateway(smsc.url).send(NUMBER, text)
    (submit,) = smsc.submits()
    assert submit["data_coding"] == 8 and bytes.fromhex(submit["short_message"]) == text.encode("utf-16-be")
    assert smsc.received() == [Received("Fairmeet", NUMBER, text)]


async def test_smpp_long_texts_go_as_concatenated_parts_in_one_session(smsc: Smsc) -> None:
    gsm, ucs2 = "Your chat with Ada is confirmed for 10:00 €. " * 8, "Ваш чат подтверждён 👋 " * 8
    gateway = sms.SmppGateway(smsc.url)
    await gateway.send(NUMBER, gsm)
    await gateway.send(NUMBER, ucs2)
    assert [e["event"] for e in smsc.events()] == ["bind", "submit_sm", "submit_sm", "submit_sm", "unbind"] * 2
    assert all(e["esm_class"] == 0x40 for e in smsc.submits())
    assert smsc.received() == [Received("Fairmeet", NUMBER, gsm), Received("Fairmeet", NUMBER, ucs2)]


@pytest.mark.parametrize(("source", "address"), [("+4915112345678", ("4915112345678", 1, 1)), ("12345", ("12345", 0, 1)), ("", ("", 0, 0))])
async def test_smpp_source_number_types(smsc: Smsc, source: str, address: tuple[str, int, int]) -> None:
    url = smsc.url.replace("source=Fairmeet", f"source={source.replace('+', '%2B')}")
    await sms.SmppGateway(url).send(NUMBER, "hi")
    (submit,) = smsc.submits()
    assert (submit["source_addr"], submit["source_addr_ton"], submit["source_addr_npi"]) == address


async def test_smpp_refusals_are_told_apart(smsc: Smsc) -> None:
    with pytest.raises(sms.SmsError) as err:
        await sms.SmppGateway(smsc.url.replace(SMPP_PASSWORD, "wrong")).send(NUMBER, "x")
    assert not err.value.permanent and "bind refused" in str(err.value) and "wrong" not in str(err.value)

    with pytest.raises(sms.SmsError) as err:
        await sms.SmppGateway(smsc.url).send("+999 1234567", "refused number")
    assert err.value.permanent and "0x0000000B" in str(err.value)

    with pytest.raises(sms.SmsError) as err:
        await sms.SmppGateway(smsc.url).send("+998 1234567", "throttled")
    assert not err.value.permanent and "0x00000058" in str(err.value)

    with pytest.raises(sms.SmsError) as err:
        await sms.SmppGateway(smsc.url).send(NUMBER, "a" * 2000)
    assert err.value.permanent and "too long" in str(err.value)
    assert smsc.received() == []
    assert [e["event"] for e in smsc.events()].count("unbind") == 2  # after the two refused submits

    smsc.stop()
    with pytest.raises(sms.SmsError) as err:
        await sms.SmppGateway(smsc.url).send(NUMBER, "nobody listens")
    assert not err.value.permanent


# -- the sender, through the outbox ------------------------------------------------------------------------


async def add_rows(sm: SM, now: dt.datetime, *texts: tuple[str, str]) -> list[int]:
    """An email row first, then one sms row per (number, text), all due now."""
    rows = [OutboxMessage(to_email="ada@example.org", to_name="Ada", subject="Mail", body_text="A mail", kind="mail", created_at=now, next_attempt_at=now)]
    rows += [
        OutboxMessage(to_email="", to_name="Ada", subject="", body_text=text, kind="live_reply_sms", channel="sms", to_phone=phone,
                      created_at=now, next_attempt_at=now)
        for phone, text in texts
    ]
    async with sm() as s, s.begin():
        s.add_all(rows)
    return [r.id for r in rows]


async def outbox(sm: SM) -> list[OutboxMessage]:
    async with sm() as s:
        return list((await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all())


async def test_a_due_text_is_sent_once_and_mail_is_left_alone(sessionmaker: SM, now: dt.datetime, gateway: LocalGateway) -> None:
    await add_rows(sessionmaker, now, (NUMBER, "Ada answered your note. Continue: https://f.example/c/1"))
    sender = sms.SmsSender(sessionmaker, sms.gateway_for(gateway.url))

    assert await sender.send_due(now) == 1
    mail, text = await outbox(sessionmaker)
    assert (text.status, text.sent_at, text.attempts, text.last_error) == ("sent", now, 1, "")
    assert (mail.status, mail.attempts, mail.sent_at) == ("pending", 0, None)
    assert gateway.received(1) == [Received("Fairmeet", NUMBER, "Ada answered your note. Continue: https://f.example/c/1")]

    assert await sender.send_due(now) == 0
    assert await sender.send_due(now + dt.timedelta(days=1)) == 0
    await asyncio.sleep(0.3)  # anything sent twice would have reached the SMSC by now
    assert len(gateway.received()) == 1
    assert (await outbox(sessionmaker))[0].status == "pending"


async def test_a_text_waits_while_the_gateway_is_down_then_goes_once(
    sessionmaker: SM, now: dt.datetime, gateway: LocalGateway, caplog: pytest.LogCaptureFixture,
) -> None:
    await add_rows(sessionmaker, now, (NUMBER, "Your chat starts in 10 minutes."))
    sender = sms.SmsSender(sessionmaker, sms.gateway_for(gateway.url))
    gateway.stop()
    try:
        with caplog.at_level(logging.DEBUG):
            assert await sender.send_due(now) == 0
        _, text = await outbox(sessionmaker)
        assert (text.status, text.attempts, text.sent_at) == ("pending", 1, None)
        assert text.last_error and text.next_attempt_at == now + delivery.backoff(1)
        assert "text" in caplog.text and NUMBER not in caplog.text  # masked number
        assert KANNEL_PASSWORD not in caplog.text and SMPP_PASSWORD not in caplog.text and SMPP_PASSWORD not in text.last_error

        assert await sender.send_due(now + dt.timedelta(seconds=1)) == 0  # not due yet: not even tried
        assert (await outbox(sessionmaker))[1].attempts == 1
    finally:
        gateway.start()
    assert await sender.send_due(now + dt.timedelta(seconds=1)) == 0
    later = text.next_attempt_at
    assert await sender.send_due(later) == 1
    _, text = await outbox(sessionmaker)
    assert (text.status, text.sent_at, text.attempts, text.last_error) == ("sent", later, 2, "")
    assert gateway.received(1) == [Received("Fairmeet", NUMBER, "Your chat starts in 10 minutes.")]


async def test_a_refused_number_fails_at_once_and_others_still_go(sessionmaker: SM, now: dt.datetime, smsc: Smsc) -> None:
    await add_rows(sessionmaker, now, ("+999 1234567", "refused"), (NUMBER, "fine"))
    sender = sms.SmsSender(sessionmaker, sms.gateway_for(smsc.url))
    assert await sender.send_due(now) == 1
    _, refused, fine = await outbox(sessionmaker)
    assert (refused.status, refused.attempts) == ("failed", 1) and "0x0000000B" in refused.last_error
    assert fine.status == "sent"
    assert await sender.send_due(now + dt.timedelta(days=1)) == 0
    assert smsc.received() == [Received("Fairmeet", NUMBER, "fine")]


async def test_a_text_is_given_up_after_max_attempts(sessionmaker: SM, now: dt.datetime, smsc: Smsc) -> None:
    await add_rows(sessionmaker, now, (NUMBER, "never"))
    smsc.stop()
    sender = sms.SmsSender(sessionmaker, sms.gateway_for(smsc.url))
    t = now
    for attempt in range(1, delivery.MAX_ATTEMPTS):
        assert await sender.send_due(t) == 0
        text = (await outbox(sessionmaker))[1]
        assert (text.status, text.attempts) == ("pending", attempt)
        t = text.next_attempt_at
    assert await sender.send_due(t) == 0
    text = (await outbox(sessionmaker))[1]
    assert (text.status, text.attempts, text.sent_at) == ("failed", delivery.MAX_ATTEMPTS, None)
    smsc.start()
    assert await sender.send_due(t + dt.timedelta(days=1)) == 0
    assert smsc.received() == []


async def test_a_send_cut_short_by_a_crash_is_picked_up_after_the_lease(sessionmaker: SM, now: dt.datetime, smsc: Smsc) -> None:
    await add_rows(sessionmaker, now, (NUMBER, "once"))
    async with sessionmaker() as s, s.begin():
        await s.execute(update(OutboxMessage).where(OutboxMessage.channel == "sms").values(status="sending", attempts=1, next_attempt_at=now + delivery.LEASE))
    sender = sms.SmsSender(sessionmaker, sms.gateway_for(smsc.url))
    assert await sender.send_due(now + dt.timedelta(minutes=1)) == 0
    assert await sender.send_due(now + delivery.LEASE) == 1
    assert (await outbox(sessionmaker))[1].attempts == 2
    assert smsc.received() == [Received("Fairmeet", NUMBER, "once")]


async def test_two_senders_at_once_send_each_text_once(sessionmaker: SM, now: dt.datetime, smsc: Smsc) -> None:
    texts = [(NUMBER, f"text {i}") for i in range(4)]
    await add_rows(sessionmaker, now, *texts)
    a = sms.SmsSender(sessionmaker, sms.gateway_for(smsc.url))
    b = sms.SmsSender(sessionmaker, sms.gateway_for(smsc.url))
    assert sum(await asyncio.gather(a.send_due(now), b.send_due(now))) == 4
    assert sorted(r.text for r in smsc.received()) == [t for _, t in texts]
    assert all(r.status == "sent" and r.attempts == 1 for r in (await outbox(sessionmaker))[1:])
