"""Shared by the browser tests (tests/e2e/): Chromium, screenshots, axe-core checks.

A uniquely named module (not conftest) so test modules import it unambiguously."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SKILLFORGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTEFACTS = Path(os.environ.get("SKILLFORGE_E2E_ARTEFACTS", REPO / "tests" / "e2e" / "artefacts"))
AXE = REPO / "tests" / "e2e" / "vendor" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


class Shots:
    """Numbered screenshots of one journey: artefacts/<journey>/01-name.png (and -phone.png)."""

    def __init__(self, journey: str, browser, base_url: str) -> None:
        self.dir = ARTEFACTS / journey
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.n = 0
        self.browser = browser
        self.base_url = base_url
        self.console: list[str] = []

    def __call__(self, page, name: str, *, phone: bool = False, full: bool = True) -> Path:
        self.n += 1
        path = self.dir / f"{self.n:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full)
        if phone:
            self.phone(page, name)
        return path

    def phone(self, page, name: str) -> Path:
        """The same page at a phone's width, in a second page sharing the cookies."""
        other = page.context.new_page()
        other.set_viewport_size(PHONE)
        other.goto(page.url)
        other.wait_for_load_state("networkidle")
        path = self.dir / f"{self.n:02d}-{name}-phone.png"
        other.screenshot(path=str(path), full_page=True)
        width = other.evaluate("document.documentElement.scrollWidth")
        other.close()
        assert width <= PHONE["width"], f"{name}: the page is {width}px wide at a {PHONE['width']}px phone width"
        return path


def axe_violations(page, *, exclude: list[str] | None = None) -> list[str]:
    """WCAG 2 A/AA violations on the page as axe-core sees it (contrast, labels, names, landmarks…)."""
    # Evaluated through the DevTools protocol: the site's CSP (script-src 'self') rightly blocks an injected <script>.
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        """async (exclude) => {
            const r = await axe.run({include: [document], exclude: exclude.map(s => [s])},
                                    {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
            const summary = (n) => (n.failureSummary || '').split('\\n').slice(1, 2).join('');
            return r.violations.map(v => `${v.id} (${v.impact}): ${v.help} — ` +
                v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + summary(n)).join(' | '));
        }""", exclude or [])
    return result


def assert_accessible(page, what: str, *, exclude: list[str] | None = None) -> None:
    violations = axe_violations(page, exclude=exclude)
    assert not violations, f"{what}: axe-core found WCAG A/AA violations:\n" + "\n".join(violations)
