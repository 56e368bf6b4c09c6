"""Live chat's pure parts: the wait estimate, working hours, CSV cells, resume sniffing, widget origins, knockout question checks."""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile

import pytest

from scheduling.errors import Invalid
from scheduling.livechat import estimate as est
from scheduling.livechat import export, files, hours, jobs


def staff(online: int, seats: int, free: int, handle: float = 300.0) -> est.Staffing:
    return est.Staffing(online=online, seats=seats, free=free, handle_seconds=handle)


def test_estimate_is_unknown_without_anyone_online() -> None:
    for s in (staff(0, 0, 0), staff(0, 3, 3), staff(2, 0, 0)):
        e = est.estimate(1, s)
        assert not e.known and e.text().startswith("unknown")


@pytest.mark.parametrize("handle", [0.0, -5.0, math.nan, math.inf, 1e-9])
def test_estimate_is_never_negative_nan_or_zero(handle: float) -> None:
    for position in range(1, 60):
        for s in (staff(1, 1, 0, handle), staff(3, 9, 2, handle), staff(5, 5, 5, handle)):
            e = est.estimate(position, s)
            assert e.low_seconds is not None and e.high_seconds is not None
            assert 0 < e.low_seconds < e.high_seconds and math.isfinite(e.low_seconds) and math.isfinite(e.high_seconds)


def test_estimate_grows_with_position_and_shrinks_with_seats() -> None:
    highs = [est.estimate(p, staff(2, 4, 0)).high_seconds or 0 for p in range(1, 30)]
    assert highs == sorted(highs) and highs[-1] > highs[0]
    assert (est.estimate(10, staff(5, 15, 0)).high_seconds or 0) < (est.estimate(10, staff(1, 3, 0)).high_seconds or 0)
    assert est.estimate(2, staff(1, 3, 3)).text() == "about a minute or two"  # a free seat is waiting for them


def test_handle_time_uses_the_median_and_a_floor() -> None:
    assert est.handle_time([]) == est.DEFAULT_HANDLE_SECONDS
    assert est.handle_time([100, 200, 9000]) == 200
    assert est.handle_time([1, 2, 3]) == est.MIN_HANDLE_SECONDS
    assert est.handle_time([math.nan, -1]) == est.DEFAULT_HANDLE_SECONDS


def test_working_hours_in_the_queue_zone_and_the_viewer_zone() -> None:
    h = hours.parse({"tz": "Europe/Berlin", "days": {"0": [["09:00", "17:00"]], "4": [["09:00", "12:00"], ["13:00", "15:00"]]}})
    assert h is not None
    monday_10_berlin = dt.datetime(2026, 3, 16, 9, 0, tzinfo=dt.UTC)  # 10:00 CET
    assert hours.is_open(h, monday_10_berlin)
    assert not hours.is_open(h, dt.datetime(2026, 3, 16, 16, 30, tzinfo=dt.UTC))  # 17:30 CET
    assert not hours.is_open(h, dt.datetime(2026, 3, 17, 9, 0, tzinfo=dt.UTC))  # Tuesday: closed
    nxt = hours.next_opening(h, dt.datetime(2026, 3, 17, 9, 0, tzinfo=dt.UTC))
    assert nxt == dt.datetime(2026, 3, 20, 8, 0, tzinfo=dt.UTC)  # Friday 09:00 CET
    week = dict(hours.week_for_viewer(h, monday_10_berlin, "America/New_York"))
    assert week["Mon 16 Mar"] == "04:00–12:00" and week["Tue 17 Mar"] == "closed"
    assert hours.is_open(None, monday_10_berlin)
    assert hours.load(h.to_json()) == h


@pytest.mark.parametrize("bad", [
    {"tz": "Mars/Olympus", "days": {}},
    {"tz": "UTC", "days": {"7": [["09:00", "10:00"]]}},
    {"tz": "UTC", "days": {"0": [["10:00", "09:00"]]}},
    {"tz": "UTC", "days": {"0": [["09:00", "12:00"], ["11:00", "13:00"]]}},
    {"tz": "UTC", "days": {"0": [["9am", "5pm"]]}},
    {"tz": "UTC", "days": {"0": "09:00-17:00"}},
])
def test_bad_hours_are_refused_in_words(bad: dict[str, object]) -> None:
    with pytest.raises(Invalid) as err:
        hours.parse(bad)
    assert err.value.code == "invalid_hours" and err.value.message


@pytest.mark.parametrize("value", ["=1+1", "+1", "-2+3", "@SUM(1)", "\tx", "\rx", "＝1"])
def test_formula_cells_are_neutralized(value: str) -> None:
    assert export.cell(value).startswith("'")
    out = export.to_csv(["a"], [[value]])
    assert out.splitlines()[1].lstrip('"').startswith("'")


def test_csv_quotes_by_rfc_4180() -> None:
    out = export.to_csv(["name", "note"], [['Ann "A"', "line1\nline2"], ["plain", 3]])
    assert out == 'name,note\r\n"Ann ""A""","line1\nline2"\r\nplain,3\r\n'


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def test_resumes_are_told_by_content() -> None:
    assert files.sniff(b"%PDF-1.7\n...") == files.PDF
    assert files.sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100) == files.DOC
    assert files.sniff(_docx()) == files.DOCX
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("evil.html", "<script>")
    for not_a_resume in (b"<html><script>alert(1)</script>", b"GIF89a", plain_zip.getvalue(), b"PK\x03\x04garbage", b""):
        assert files.sniff(not_a_resume) is None
    assert files.safe_name("../../etc/passwd\r\n.pdf", files.PDF) == "passwd.pdf"
    assert files.safe_name('cv"><script>.docx', files.DOCX).endswith(".docx") and '"' not in files.safe_name('cv"><script>.docx', files.DOCX)


def test_widget_origins_are_exact() -> None:
    assert jobs.check_origin("https://Jobs.Example.com/") == "https://jobs.example.com"
    assert jobs.check_origin("https://jobs.example.com:443") == "https://jobs.example.com"
    assert jobs.check_origin("http://localhost:8080") == "http://localhost:8080"
    for bad in ("jobs.example.com", "https://jobs.example.com/careers", "javascript:alert(1)", "https://user@jobs.example.com",
                "https://*.example.com", "https://jobs.example.com?x=1"):
        with pytest.raises(Invalid):
            jobs.check_origin(bad)


def test_knockout_questions_are_checked() -> None:
    ok = jobs.check_questions([jobs.Question("Right to work?", "yes_no", [], ["Yes"]),
                               jobs.Question("Shift?", "choice", ["Early", "Late"], ["Early"])])
    assert ok[0].choices == ["Yes", "No"]
    for bad in (jobs.Question("", "yes_no", [], ["Yes"]), jobs.Question("Q", "choice", ["Only"], ["Only"]),
                jobs.Question("Q", "choice", ["A", "A"], ["A"]), jobs.Question("Q", "yes_no", [], ["Maybe"]),
                jobs.Question("Q", "yes_no", [], []), jobs.Question("Q", "free_text", [], ["x"])):
        with pytest.raises(Invalid):
            jobs.check_questions([bad])
