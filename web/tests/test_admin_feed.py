"""An admin adds a feed row (previewing it before saving) and a buyer sees it at home."""

import json

import pytest
from conftest import DESKTOP, PHONE, Names, log_in
from playwright.sync_api import expect

# The buyer and the admin swap languages and devices between the cases; each case adds its
# own row (title and text), so one case's row never answers the other's assertions.
CASES = {
    # case: buyer, buyer's language and device (its locale's region is the feed's country),
    # admin's language and device, position, row title, notice text
    "en-buyer": ("ara@demo.example", "en", PHONE, "ko", DESKTOP, "5", "Flash sale", "Flash sale: 30% off mugs today"),
    "ko-buyer": ("chloe@demo.example", "ko", DESKTOP, "en", PHONE, "6", "반짝 세일", "반짝 세일: 오늘 찻잔 20% 할인"),
}


@pytest.mark.parametrize("case", ["en-buyer", "ko-buyer"], ids=["en-buyer-phone-ko-admin-desktop", "ko-buyer-desktop-en-admin-phone"])
def test_an_admin_adds_a_feed_row_and_a_buyer_sees_it(open_page, case):
    buyer_email, buyer_lang, buyer_device, admin_lang, admin_device, position, title, text = CASES[case]
    bn, an = Names(buyer_lang), Names(admin_lang)
    buyer = open_page("buyer", buyer_lang, buyer_device)
    admin = open_page("admin", admin_lang, admin_device)
    log_in(buyer, buyer_email, names=bn)
    expect(buyer.locator(".feed-row").first).to_be_visible()
    expect(buyer.get_by_text(text)).to_have_count(0)

    log_in(admin, "admin@demo.example", names=an)
    admin.get_by_role("link", name=an["Admin"], exact=True).click()
    preview = admin.get_by_role("region", name=an["Preview"], exact=True)
    expect(preview.locator(".feed-row").first).to_be_visible()
    admin.get_by_role("button", name=an["New row"], exact=True).click()
    admin.get_by_label(an["Row type"], exact=True).select_option("NOTICE")
    admin.get_by_label(an["Position"], exact=True).fill(position)
    admin.get_by_label(an["Title"], exact=True).fill(title)
    admin.get_by_label(an["Template (JSON)"], exact=True).fill("{ not json")
    expect(admin.get_by_text(an.text("admin.preview_stored"))).to_be_visible()
    template = {"component": "notice", "text": text}
    admin.get_by_label(an["Template (JSON)"], exact=True).fill(json.dumps(template, ensure_ascii=False))
    admin.get_by_label(an["Selector (JSON)"], exact=True).fill('{"country_match": ["KR", "US"]}')
    # The unsaved row is already in the preview (as an anonymous visitor in Korea).
    admin.get_by_label(an.text("admin.country"), exact=True).fill("KR")
    expect(preview.get_by_text(text)).to_be_visible()
    admin.get_by_label(an.text("admin.country"), exact=True).fill("JP")
    expect(preview.get_by_text(text)).to_have_count(0)
    admin.get_by_role("button", name=an["Save"], exact=True).click()
    expect(admin.get_by_role("button", name=an.text("admin.edit_named", title=title), exact=True)).to_be_visible()

    # The buyer's browser locale (en-US or ko-KR) names the country the feed is asked for.
    buyer.reload()
    row = buyer.locator(".feed-row", has_text=text)
    expect(row).to_be_visible()
    expect(row).to_have_attribute("data-row-type", "NOTICE_SDU")
    headings = buyer.locator(".feed-row h2").all_inner_texts()
    assert headings.index(title) < headings.index("Shortcuts"), headings
