"""Screenshots of a provider report for the README (docs/images/): its first screen at desktop
(1280 px) and phone (390 px) widths, and its printed page 1 (the report printed to A4 PDF by
Chromium, page 1 rendered to PNG with poppler's pdftoppm).

    .venv/bin/python tools/screenshots.py REPORT.html [OUT_DIR]

Uses Debian's chromium through Playwright (no browser download), as the browser tests do.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main(report: str, out: str = "docs/images") -> None:
    from playwright.sync_api import sync_playwright

    report_path, out_dir = Path(report).resolve(), Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium")
    if chromium is None or shutil.which("pdftoppm") is None:
        sys.exit("needs Debian's chromium and poppler-utils (apt-get install chromium poppler-utils)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu",
                                                             "--disable-background-networking", "--no-first-run"])
        for name, viewport in (("provider_report_1280.png", {"width": 1280, "height": 900}),
                               ("provider_report_390.png", {"width": 390, "height": 844})):
            pg = b.new_page(viewport=viewport, device_scale_factor=1)
            pg.goto(report_path.as_uri())
            pg.screenshot(path=str(out_dir / name))
            pg.close()
        pg = b.new_page()
        pg.goto(report_path.as_uri())
        pdf = pg.pdf(prefer_css_page_size=True, print_background=True)
        b.close()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "r.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "80", "-f", "1", "-l", "1", "-png", "-singlefile", str(Path(tmp) / "r.pdf"),
                        str(out_dir / "provider_report_print_page1")], check=True)
    print("written:", *sorted(p.name for p in out_dir.glob("provider_report_*.png")))


if __name__ == "__main__":
    main(*sys.argv[1:])
