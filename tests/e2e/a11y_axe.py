"""Accessibility checks for the browser tests: axe-core (from npm, see the Makefile's AXE_JS) injected into a page, and
keyboard checks (every focusable element reached by Tab, with a focus indicator that can be seen)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Frame, Page
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

AXE_JS = Path(__file__).resolve().parents[2] / ".venv" / "axe" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA (axe's tags; wcag22a holds no rules of its own in axe 4.10).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# axe's best-practice rules about landmarks, held to as well: all content in a landmark (what screen-reader users jump
# between), one main, no landmark nested where it can't be found. Other best-practice rules are not checked.
LANDMARK_RULES = ("region", "landmark-one-main", "landmark-complementary-is-top-level", "landmark-no-duplicate-main",
                  "landmark-main-is-top-level", "landmark-banner-is-top-level", "landmark-contentinfo-is-top-level")
FAILING_IMPACTS = ("serious", "critical")


def axe_source() -> Path:
    """The axe-core file; a missing one skips the test, or fails it under FAIRMEET_REQUIRE_SERVICES=1 (CI)."""
    if not AXE_JS.is_file():
        message = f"{AXE_JS} is missing: run `make .venv/axe/axe.min.js` (or `make test`), which installs axe-core from npm"
        if os.environ.get("FAIRMEET_REQUIRE_SERVICES") == "1":
            pytest.fail(message + " (FAIRMEET_REQUIRE_SERVICES=1 makes this an error)")
        pytest.skip(message)
    return AXE_JS


@dataclass(frozen=True)
class Violation:
    where: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]
    summary: str

    def __str__(self) -> str:
        lines = [f"{self.where}: [{self.impact}] {self.rule} — {self.help}"]
        lines += [f"    {t}" for t in self.targets[:8]]
        if len(self.targets) > 8:
            lines.append(f"    … and {len(self.targets) - 8} more")
        if self.summary:
            lines.append("    " + self.summary.replace("\n", "\n    ")[:600])
        return "\n".join(lines)


async def run_axe(target: Page | Frame, where: str, *, disable: dict[str, str] | None = None) -> list[Violation]:
    """Runs axe on the page (or frame) as it is now; returns its serious and critical WCAG A/AA violations, and any breach
    of the landmark rules (LANDMARK_RULES, whatever their impact).

    `disable` maps rule ids to the written reason they do not apply on this page (a false positive): only such rules are
    turned off, never to make a page pass."""
    if not await target.evaluate("() => typeof window.axe === 'object'"):
        await target.add_script_tag(path=str(axe_source()))
    options: dict[str, Any] = {"runOnly": {"type": "tag", "values": [*TAGS, "best-practice"]}, "resultTypes": ["violations"]}
    if disable:
        assert all(reason.strip() for reason in disable.values()), "every disabled rule needs its reason"
        options["rules"] = {rule: {"enabled": False} for rule in disable}
    result: dict[str, Any] = await target.evaluate("(options) => axe.run(document, options)", options)
    found = []
    for v in result["violations"]:
        wcag = bool(set(v.get("tags", [])) & set(TAGS))
        if not (wcag and v.get("impact") in FAILING_IMPACTS) and v["id"] not in LANDMARK_RULES:
            continue
        nodes = v.get("nodes", [])
        targets = tuple(" ".join(map(str, n.get("target", []))) + "  " + " ".join(str(n.get("html", "")).split())[:140] for n in nodes)
        summary = (nodes[0].get("failureSummary") or "") if nodes else ""
        found.append(Violation(where, v["id"], v["impact"], v.get("help", ""), targets, summary))
    return found


# The elements a keyboard user must be able to reach: visible, enabled, not inert, not taken out of the tab order.
_FOCUSABLE_JS = """() => {
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex], [contenteditable=""], [contenteditable=true]';
  const seen = [];
  for (const el of document.querySelectorAll(sel)) {
    if (el.disabled || el.closest('[inert]') || el.getAttribute('tabindex') === '-1') continue;
    // Rendered and visible (closed <details>, display:none, visibility:hidden and content-visibility all count).
    if (!el.checkVisibility({visibilityProperty: true, contentVisibilityAuto: true})) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    // A radio group is one tab stop: only its checked radio (or its first one) is reached by Tab.
    if (el.type === 'radio' && el.name) {
      const group = [...document.getElementsByName(el.name)].filter((x) => x.form === el.form);
      const stop = group.find((x) => x.checked) || group[0];
      if (stop !== el) continue;
    }
    seen.push(el);
  }
  window.__a11yFocusables = seen;
  return seen.map((el, i) => i);
}"""

_DESCRIBE_JS = """(el) => {
  if (!el) return '';
  const text = (el.getAttribute('aria-label') || el.innerText || el.value || el.name || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
  const cls = el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
  return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${cls} "${text}"`;
}"""

# A focus indicator that can be seen: an outline (Chromium's own two-tone ring included), or a box-shadow ring; measured on
# document.activeElement right after the Tab key put it there. A drawn outline must also contrast 3:1 (WCAG 1.4.11) with
# the background it is drawn on: the element's own for an inset outline, else what is behind the element.
_FOCUS_STYLE_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const rgb = (c) => { const m = c.match(/[\\d.]+/g) || ['0', '0', '0', '0']; return m.map(Number); };
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((acc, v, i) => acc + v * [0.2126, 0.7152, 0.0722][i], 0);
  const bgOf = (node) => {
    for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length < 4 || c[3] > 0.5) return c;
    }
    return [255, 255, 255];
  };
  const drawn = (st) => st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) >= 1 && (rgb(st.outlineColor)[3] ?? 1) !== 0;
  // The ring may be drawn by the element or by a pseudo-element (a card-sized link draws it on its ::after).
  const styles = [s, getComputedStyle(el, '::after'), getComputedStyle(el, '::before')];
  const withOutline = styles.find(drawn);
  const ring = styles.some((st) => st.boxShadow && st.boxShadow !== 'none');
  let ratio = null;
  if (withOutline && withOutline.outlineStyle !== 'auto') {
    const behind = parseFloat(withOutline.outlineOffset) < 0 ? bgOf(el) : bgOf(el.parentElement);
    const [a, b] = [lum(rgb(withOutline.outlineColor)), lum(behind)].sort((x, y) => y - x);
    ratio = (a + 0.05) / (b + 0.05);
  }
  return {visible: Boolean(withOutline || ring), ratio, index: (window.__a11yFocusables || []).indexOf(el),
          outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`, shadow: s.boxShadow};
}"""


# Things that look clickable (a pointer cursor) but that the keyboard cannot reach: not a control, not inside one or its
# label, not focusable. A mouse-only action.
_MOUSE_ONLY_JS = """() => {
  const controls = 'a[href], button, input, select, textarea, summary, label, [tabindex], [contenteditable]';
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (getComputedStyle(el).cursor !== 'pointer' || el.closest(controls)) continue;
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    if (el.parentElement && getComputedStyle(el.parentElement).cursor === 'pointer' && !el.parentElement.closest(controls)) continue;
    if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') continue;
    out.push(el);
  }
  return out.slice(0, 20).map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')} "${
    (el.innerText || '').trim().replace(/\\s+/g, ' ').slice(0, 40)}"`);
}"""


async def tab_through(page: Page, where: str, *, limit: int = 250) -> list[str]:
    """Presses Tab from the top of the page until focus leaves it; returns the problems: an element with no visible focus
    indicator (or a faint one), a focusable element Tab never reached, and something clickable that is not focusable at all."""
    try:  # pages that render with JavaScript (the console) settle first
        await page.wait_for_load_state("networkidle", timeout=5_000)
    except PlaywrightTimeoutError:
        pass
    count = len(await page.evaluate(_FOCUSABLE_JS))
    problems = [f"{where}: looks clickable but the keyboard cannot reach it: {name}" for name in await page.evaluate(_MOUSE_ONLY_JS)]
    # Tab from the very top: a focusable stand-in before everything else (an autofocused field would start the walk
    # half-way down), removed once Tab has left it.
    await page.evaluate("""() => { const a = document.createElement('span'); a.id = '__a11y_start'; a.tabIndex = 0;
        document.body.prepend(a); a.focus(); window.scrollTo(0, 0); }""")
    reached: set[int] = set()
    last = -2
    for _ in range(min(limit, count * 4 + 20)):  # date and time fields take a Tab per part
        await page.keyboard.press("Tab")
        await page.evaluate("() => document.getElementById('__a11y_start')?.remove()")
        state = await page.evaluate(_FOCUS_STYLE_JS)
        if state is None:
            break
        if state["index"] >= 0 and state["index"] == last:
            continue  # the next part of the same date/time field
        name = await page.evaluate(f"() => ({_DESCRIBE_JS})(document.activeElement)")
        if not state["visible"]:
            problems.append(f"{where}: no visible focus on {name} (outline {state['outline']}, box-shadow {state['shadow']})")
        elif state["ratio"] is not None and state["ratio"] < 3:
            problems.append(f"{where}: the focus outline of {name} contrasts {state['ratio']:.2f}:1 with its background, under 3:1 "
                            f"(outline {state['outline']})")
        if state["index"] >= 0:
            if state["index"] in reached:
                break  # wrapped around
            reached.add(state["index"])
        last = state["index"]
    # An element a script replaced meanwhile (re-rendered) is not missing: its successor took its place in the walk.
    missing = [i for i in range(count) if i not in reached and await page.evaluate("(i) => window.__a11yFocusables[i].isConnected", i)]
    for i in missing:
        name = await page.evaluate(f"(i) => ({_DESCRIBE_JS})(window.__a11yFocusables[i])", i)
        problems.append(f"{where}: Tab never reaches {name}")
    return problems
