"""The palette in web/static/app.css meets WCAG 2.2 AA contrast: text 4.5:1 (1.4.3), focus rings and form field borders 3:1 (1.4.11).

Reads the custom properties as the browser would (the last :root declaration of a name wins) and the status badges' rules, so a
colour changed in app.css is checked here, not only on the pages the axe test happens to visit (tests/e2e/test_accessibility.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "web" / "static" / "app.css").read_text()


def _rules(css: str) -> list[tuple[str, dict[str, str]]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        decls = {}
        for part in body.split(";"):
            if ":" in part:
                name, value = part.split(":", 1)
                decls[name.strip()] = value.strip()
        out.append((" ".join(selector.split()), decls))
    return out


RULES = _rules(CSS)
VARS: dict[str, str] = {}
for _selector, _decls in RULES:
    if _selector == ":root":
        VARS.update({k: v for k, v in _decls.items() if k.startswith("--")})


def color(value: str) -> str:
    """A hex colour, with var(--x) (and its fallback) resolved."""
    value = value.strip()
    found = re.fullmatch(r"var\((--[\w-]+)(?:,\s*(.+))?\)", value)
    if found:
        return color(VARS.get(found.group(1)) or found.group(2) or "")
    if value in ("#fff", "white"):
        return "#ffffff"
    assert re.fullmatch(r"#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3}", value), f"not a plain colour: {value!r}"
    return "#" + "".join(c * 2 for c in value[1:]) if len(value) == 4 else value


def ratio(a: str, b: str) -> float:
    def lum(h: str) -> float:
        rgb = [int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(color(a)), lum(color(b))), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def last_rule(selector: str) -> dict[str, str]:
    """The declarations of every rule naming exactly this selector (alone or in a list), later ones winning."""
    merged: dict[str, str] = {}
    for sel, decls in RULES:
        if selector in [s.strip() for s in sel.split(",")]:
            merged.update(decls)
    assert merged, f"no rule for {selector}"
    return merged


TEXT = [
    ("body text on the page", "var(--ink)", "var(--bg)"),
    ("body text on a card", "var(--ink)", "var(--card)"),
    ("muted text on the page", "var(--muted)", "var(--bg)"),
    ("muted text on a card", "var(--muted)", "var(--card)"),
    ("links on the page", "var(--accent)", "var(--bg)"),
    ("links on a card", "var(--accent)", "var(--card)"),
    ("accent text on the soft accent", "var(--accent)", "var(--accent-soft)"),
    ("primary button text", "var(--accent-ink)", "var(--accent)"),
    ("danger text on a card", "var(--danger)", "var(--card)"),
    ("ok text on a card", "var(--ok)", "var(--card)"),
]


@pytest.mark.parametrize(("what", "fg", "bg"), TEXT, ids=[t[0] for t in TEXT])
def test_text_colours_reach_4_5_to_1(what: str, fg: str, bg: str) -> None:
    assert ratio(fg, bg) >= 4.5, f"{what}: {color(fg)} on {color(bg)} is {ratio(fg, bg):.2f}:1"


@pytest.mark.parametrize("badge", ["status-pending", "status-accepted", "status-confirmed", "status-completed", "status-declined",
                                   "status-cancelled"])
def test_status_badges_reach_4_5_to_1(badge: str) -> None:
    rule = last_rule("." + badge)
    assert ratio(rule["color"], rule["background"]) >= 4.5, f".{badge}: {ratio(rule['color'], rule['background']):.2f}:1"


@pytest.mark.parametrize("bg", ["var(--bg)", "var(--card)", "var(--accent-soft)"])
def test_focus_ring_and_field_borders_reach_3_to_1(bg: str) -> None:
    assert ratio("var(--focus)", bg) >= 3, f"focus ring on {color(bg)}: {ratio('var(--focus)', bg):.2f}:1"
    assert ratio("var(--field-line)", bg) >= 3, f"field border on {color(bg)}: {ratio('var(--field-line)', bg):.2f}:1"
    # The focus ring's colour is the one the page's own rules use (not the old 2.3:1 lavender).
    assert color(last_rule(".btn:focus-visible").get("outline-color", "")) == color("var(--focus)")
    assert color(last_rule("input").get("border-color", "")) == color("var(--field-line)")
