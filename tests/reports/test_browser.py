"""The sample collaborative's reports as people open them: in Chromium (Debian's ``chromium``,
headless, driven by Playwright's Python client pointed at the system browser; no browser
download), at desktop and phone widths and printed to PDF.

``./kit test`` installs Chromium with apt where it runs as root (as CI does); elsewhere, without
a Chromium, these tests are skipped with a message saying so.
"""

import re
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium not installed (as root, ./kit test installs it: apt-get install chromium); "
                             "the report browser tests did not run")

A4_PT = (595.28, 841.89)          # ISO 216 A4 in PostScript points
PRINT_WIDTH_PX = round((210 - 24) / 25.4 * 96)   # A4 less the report's 12 mm side margins, in CSS px
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield b
        b.close()


def _pages(sample_run):
    code, folder = sample_run
    assert code == 0
    pages = sorted(folder.glob("*.html"))
    assert len(pages) >= 8  # six providers, the collaborative report and the index
    return pages


def _open(browser, page, viewport, media="screen"):
    pg = browser.new_page(viewport=viewport)
    pg.emulate_media(media=media)
    pg.goto(page.as_uri())
    return pg


def test_no_horizontal_overflow_on_a_phone(browser, sample_run):
    for page in _pages(sample_run):
        pg = _open(browser, page, PHONE)
        width = pg.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
        # what sticks out: the widest elements not inside a box that scrolls on its own
        culprits = pg.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                         && !e.closest('.qi-scroll, figure.qi-figure'))
            .slice(0, 5).map(e => e.tagName + '.' + e.className)""")
        assert width <= PHONE["width"], (page.name, width, culprits)
        # charts keep a legible size on a phone (at least the 8 pt text of an 8-inch chart: 10 px),
        # scrolling sideways inside their own box instead
        shrunk = pg.evaluate("""() => [...document.querySelectorAll('figure.qi-figure img')]
            .filter(i => i.naturalWidth > 0 && i.getBoundingClientRect().width < 0.99 * i.naturalWidth).length""")
        assert shrunk == 0, page.name
        pg.close()


def test_every_image_and_icon_has_a_text_alternative(browser, sample_run):
    from qi_equity.reports.internals import NO_ALT

    for page in _pages(sample_run):
        pg = _open(browser, page, DESKTOP)
        images = pg.evaluate("[...document.images].map(i => i.alt)")
        assert all(len(a.strip()) >= 10 and a != NO_ALT for a in images), page.name
        icons = pg.evaluate("[...document.querySelectorAll('svg.qi-icon')].map(s => s.getAttribute('aria-label'))")
        assert all(a and "_" not in a for a in icons), page.name
        if page.name not in ("index.html",):
            assert pg.title() and pg.title() != "Notebook"
        pg.close()


def test_provider_reports_show_the_icons(browser, sample_run):
    pg = _open(browser, sample_run[1] / "XQC.html", DESKTOP)
    labels = pg.evaluate("[...document.querySelectorAll('svg.qi-icon')].map(s => s.getAttribute('aria-label'))")
    assert any(a.startswith("special cause") for a in labels) and "consistently misses the target" in labels
    pg.close()


def _pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """Width and height (points) of every page of a PDF (Chromium writes each page's MediaBox)."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    return [(float(w), float(h)) for w, h in boxes]


def test_printed_reports_are_a4_with_nothing_cut(browser, sample_run):
    folder = sample_run[1]
    for name in ("XQC.html", "XQF.html", "collaborative.html"):
        pg = _open(browser, folder / name, {"width": PRINT_WIDTH_PX, "height": 1000}, media="print")
        # what the print stylesheet promises: nothing wider than the page, no scrolling boxes
        over = pg.evaluate("""() => [...document.querySelectorAll('table, figure, img, pre')]
            .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .map(e => e.tagName + ' ' + (e.textContent || '').slice(0, 40))""")
        assert not over, (name, over)
        scrolling = pg.evaluate("""() => [...document.querySelectorAll('*')]
            .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)).length""")
        assert scrolling == 0, name
        # the findings start on page 1 (above the first page's printable height)
        first = pg.evaluate("""() => { const h = [...document.querySelectorAll('h2')]
                                .find(e => e.textContent.startsWith('What stands out'));
                                return h ? h.getBoundingClientRect().top + window.scrollY : null; }""")
        assert first is not None and first < (297 - 28) / 25.4 * 96, (name, first)
        breaks = pg.evaluate("""() => [...document.querySelectorAll('h2')].map(h =>
                                [h.textContent.replace('\u00b6', '').trim(), getComputedStyle(h).breakBefore])""")
        at = next(i for i, (t, _) in enumerate(breaks) if t.startswith("What stands out"))
        assert all(b != "page" for _, b in breaks[:at + 1]), (name, breaks[:at + 1])  # nothing pushes page 1 on
        assert all(b == "page" for _, b in breaks[at + 1:]), (name, breaks)  # each later section on a new page
        pdf = pg.pdf(prefer_css_page_size=True, print_background=True)
        sizes = _pdf_pages(pdf)
        assert len(sizes) >= 2, name
        assert all(abs(w - A4_PT[0]) < 2 and abs(h - A4_PT[1]) < 2 for w, h in sizes), (name, set(sizes))
        pg.close()


def test_page_titles_in_the_browser(browser, sample_run):
    pg = _open(browser, sample_run[1] / "XQA.html", DESKTOP)
    assert pg.title() == "Ashbrook Hospitals NHS Trust (XQA): equity report"
    pg.close()
