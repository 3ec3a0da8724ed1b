"""Screenshot an HTML file with headless Chromium (Debian's package), for the docs.

python scripts/screenshot.py results/leaderboard/leaderboard.html docs/leaderboard.png
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    page_path, image_path = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(page_path.as_uri())
        page.screenshot(path=str(image_path), full_page=True)
        browser.close()
    print(f"wrote {image_path}")


if __name__ == "__main__":
    main()
