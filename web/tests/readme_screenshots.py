"""Takes the README's screenshots (docs/screenshots/*.png, small: one device pixel per CSS
pixel, the first screen only) from a running app seeded with `app seed-demo`:

    BASE_URL=http://127.0.0.1:8080 target/browser-venv/bin/python web/tests/readme_screenshots.py
"""

import os
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8080").rstrip("/")
OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 760}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1100, "height": 720}, "device_scale_factor": 1}


def page_for(browser, locale, device, email=None):
    context = browser.new_context(locale=locale, base_url=BASE_URL, **device)
    page = context.new_page()
    if email:
        page.goto("/login")
        page.locator("main input[type=email]").fill(email)
        page.locator("main input[type=password]").fill("demo password 1")
        page.locator("main form button[type=submit]").click()
        page.locator("header button.link").wait_for()
    return page


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=["--headless", "--no-sandbox"])
        home = page_for(browser, "en-US", PHONE, "ara@demo.example")
        home.goto("/")
        home.locator(".feed-row").nth(3).wait_for()
        home.wait_for_timeout(500)
        home.screenshot(path=str(OUT / "home-phone-en.png"))

        chat = page_for(browser, "ko-KR", PHONE, "ara@demo.example")
        chat.goto("/chat")
        chat.get_by_role("link", name="Mina's Ceramics").click()
        chat.get_by_role("log").locator(".msg").first.wait_for()
        chat.wait_for_timeout(500)
        chat.screenshot(path=str(OUT / "chat-phone-ko.png"))

        admin = page_for(browser, "en-US", DESKTOP, "admin@demo.example")
        admin.goto("/admin")
        admin.get_by_role("region", name="Preview").locator(".feed-row").first.wait_for()
        admin.wait_for_timeout(500)
        admin.screenshot(path=str(OUT / "admin-feed-desktop-en.png"))

        seller = page_for(browser, "en-US", DESKTOP, "mina.seller@demo.example")
        seller.goto("/seller")
        seller.locator("table").first.wait_for()
        seller.screenshot(path=str(OUT / "seller-desktop-en.png"))
        browser.close()
    for file in sorted(OUT.glob("*.png")):
        print(file.relative_to(OUT.parents[1]), f"{file.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
