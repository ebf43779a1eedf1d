"""Browser tests of the web app: Playwright driving Debian's Chromium against a running app
(started by scripts/browser-tests on a fresh seeded SQLite database).

Environment: BASE_URL (the app), MAIL_DIR (its mail.dir), SCREENSHOT_DIR (one PNG per
scenario), REPORT_FILE (measurements), CHROMIUM (default /usr/bin/chromium).

Every page of every test fails the test on a console error, an uncaught exception or a 5xx
response.
"""

import email
import json
import email.policy
import os
import re
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8080").rstrip("/")
MAIL_DIR = Path(os.environ.get("MAIL_DIR", "data/mail"))
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR", "target/browser-screenshots"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
DEMO_PASSWORD = "demo password 1"

# Without the background-networking flags Chromium's own connections are refused by this
# machine's closed network and show up as errors.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 860}}
LOCALES = {"en": "en-US", "ko": "ko-KR"}


@pytest.fixture(scope="session")
def browser():
    # launch() gives the browser a fresh temporary user-data dir of its own.
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watched:
    """A page whose console errors, uncaught exceptions and 5xx responses are collected."""

    def __init__(self, page, name):
        self.page = page
        self.name = name
        self.problems = []
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console error: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        page.on("response", lambda r: r.status >= 500 and self.problems.append(f"{r.status} from {r.url}"))


@pytest.fixture
def open_page(browser, request):
    """`open_page(name, lang="en", device=DESKTOP)`: a page in a fresh context (its own
    storage, so several people can use the app at once)."""
    contexts = []
    pages = []

    def make(name, lang="en", device=None):
        device = device or DESKTOP
        context = browser.new_context(locale=LOCALES[lang], base_url=BASE_URL, **device)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        watched = Watched(page, name)
        pages.append(watched)
        return page

    yield make
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    scenario = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")
    for watched in pages:
        if not watched.page.is_closed():
            watched.page.screenshot(path=str(SCREENSHOT_DIR / f"{scenario}--{watched.name}.png"), full_page=True)
    problems = [f"{w.name}: {p}" for w in pages for p in w.problems]
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


def unique_email(prefix):
    return f"{prefix}-{time.time_ns()}@example.com"


def wait_for_link(to, path, timeout=15.0):
    """The newest link to `BASE_URL{path}?token=…` in an email to `to` (the app's .eml files)."""
    deadline = time.time() + timeout
    pattern = re.compile(re.escape(BASE_URL + path) + r"\?token=[A-Za-z0-9_\-]+")
    while time.time() < deadline:
        files = sorted(MAIL_DIR.glob("*.eml"), key=lambda f: f.stat().st_mtime, reverse=True) if MAIL_DIR.exists() else []
        for file in files:
            message = email.message_from_bytes(file.read_bytes(), policy=email.policy.default)
            if to.lower() not in str(message.get("To", "")).lower():
                continue
            body = message.get_body(preferencelist=("plain",))
            found = pattern.search(body.get_content() if body else "")
            if found:
                return found.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no email to {to} with a link to {path}")


def log_in(page, email_address, password=DEMO_PASSWORD, names=None):
    names = names or Names("en")
    page.goto("/login")
    page.get_by_label(names["Email"], exact=True).fill(email_address)
    page.get_by_label(names["Password"], exact=True).fill(password)
    page.get_by_role("button", name=names["Log in"], exact=True).click()
    page.get_by_role("button", name=names["Log out"], exact=True).wait_for()


# The accessible names of WEB.md, by the catalog key that holds them (English is pinned by
# test_names.py; Korean comes from the catalog the app ships).
NAME_KEYS = {
    "Home": "nav.home", "Cart": "nav.cart", "Orders": "nav.orders", "Wallet": "nav.wallet", "Chat": "nav.chat",
    "Missions": "nav.missions", "Seller center": "nav.seller", "Streamer": "nav.streamer", "Admin": "nav.admin",
    "Log in": "nav.login", "Sign up": "nav.signup", "Log out": "nav.logout", "Search products": "nav.search",
    "Email": "field.email", "Password": "field.password", "Name": "field.name", "Account type": "field.account_type",
    "Customer": "role.customer", "Seller": "role.seller", "Streamer role": "role.streamer",
    "Option": "product.option", "Quantity": "product.quantity", "Add to cart": "product.add_to_cart",
    "Ask the seller": "product.ask_seller", "Check out": "cart.checkout", "Amount": "field.amount",
    "Charge": "wallet.charge", "Balance": "wallet.balance", "Message": "chat.message", "Send": "chat.send",
    "New product": "seller.new", "Product name": "field.product_name", "Description": "field.description",
    "Option name": "field.option_name", "Price": "field.price", "Stock": "field.stock", "Save": "common.save",
    "New mission": "missions.new", "Streamer field": "field.streamer", "Title": "field.title", "Stake": "field.stake",
    "Deadline": "field.deadline", "Create": "missions.create", "Contribute": "mission.contribute",
    "Success": "mission.success", "Failure": "mission.failure", "Reject": "mission.reject", "New row": "admin.new_row",
    "Row type": "admin.row_type", "Position": "admin.position", "Template (JSON)": "admin.template",
    "Selector (JSON)": "admin.selector", "Preview": "admin.preview",
    "Notifications": "nav.notifications", "Cancel": "order.cancel", "Confirm purchase": "order.confirm",
    "Request return": "order.request_return", "Carrier": "field.carrier", "Tracking number": "field.tracking_number",
    "Ship": "seller.ship",
}

_catalogs = {}


def catalog(lang):
    """The app's own catalog for `lang`, read from web/src/i18n/<lang>.js."""
    if lang not in _catalogs:
        source = (Path(__file__).resolve().parent.parent / "src" / "i18n" / f"{lang}.js").read_text(encoding="utf-8")
        pairs = re.findall(r'^\s*"([a-z_.0-9]+)":\s*("(?:[^"\\]|\\.)*"),?\s*$', source, re.M)
        _catalogs[lang] = {key: json.loads(text) for key, text in pairs}
    return _catalogs[lang]


class Names:
    """WEB.md's English names, or the same names in another language."""

    def __init__(self, lang):
        self.lang = lang

    def __getitem__(self, english):
        if self.lang == "en":
            return {"Streamer role": "Streamer", "Streamer field": "Streamer"}.get(english, english)
        return catalog(self.lang)[NAME_KEYS[english]]

    def text(self, key, **params):
        text = catalog(self.lang)[key]
        for name, value in params.items():
            text = text.replace("{" + name + "}", str(value))
        return text


_api_paths = None


def require_api(*paths):
    """Skips the test when this build's API lacks one of `paths` (OpenAPI templates such as
    `/api/v1/seller/orders/{id}/ship`): pages built against API.md before their backend
    merged. Once the backend is in the binary, the test runs and must pass."""
    global _api_paths
    if _api_paths is None:
        with urllib.request.urlopen(f"{BASE_URL}/api-docs/openapi.json", timeout=10) as response:
            _api_paths = set(json.load(response)["paths"])
    missing = [p for p in paths if p not in _api_paths]
    if missing:
        pytest.skip(f"this build's API has no {', '.join(missing)} yet")


def points(n, lang="en"):
    return f"{n:,} P"
