"""An admin adds a feed row (previewing it before saving) and a buyer sees it at home."""

import json

from conftest import DESKTOP, PHONE, Names, log_in
from playwright.sync_api import expect


def test_an_admin_adds_a_feed_row_and_a_buyer_sees_it(open_page):
    ko = Names("ko")
    en = Names("en")
    buyer = open_page("buyer", "en", PHONE)
    admin = open_page("admin", "ko", DESKTOP)
    log_in(buyer, "ara@demo.example")
    expect(buyer.locator(".feed-row").first).to_be_visible()
    expect(buyer.get_by_text("Flash sale: 30% off mugs today")).to_have_count(0)

    log_in(admin, "admin@demo.example", names=ko)
    admin.get_by_role("link", name=ko["Admin"], exact=True).click()
    preview = admin.get_by_role("region", name=ko["Preview"], exact=True)
    expect(preview.locator(".feed-row").first).to_be_visible()
    admin.get_by_role("button", name=ko["New row"], exact=True).click()
    admin.get_by_label(ko["Row type"], exact=True).select_option("NOTICE")
    admin.get_by_label(ko["Position"], exact=True).fill("5")
    admin.get_by_label(ko["Title"], exact=True).fill("Flash sale")
    admin.get_by_label(ko["Template (JSON)"], exact=True).fill("{ not json")
    expect(admin.get_by_text(ko.text("admin.preview_stored"))).to_be_visible()
    template = {"component": "notice", "text": "Flash sale: 30% off mugs today"}
    admin.get_by_label(ko["Template (JSON)"], exact=True).fill(json.dumps(template))
    admin.get_by_label(ko["Selector (JSON)"], exact=True).fill('{"country_match": ["KR", "US"]}')
    # The unsaved row is already in the preview (as an anonymous visitor in Korea).
    admin.get_by_label(ko.text("admin.country"), exact=True).fill("KR")
    expect(preview.get_by_text("Flash sale: 30% off mugs today")).to_be_visible()
    admin.get_by_label(ko.text("admin.country"), exact=True).fill("JP")
    expect(preview.get_by_text("Flash sale: 30% off mugs today")).to_have_count(0)
    admin.get_by_role("button", name=ko["Save"], exact=True).click()
    expect(admin.get_by_role("button", name=ko.text("admin.edit_named", title="Flash sale"), exact=True)).to_be_visible()

    # The buyer's browser says en-US, so the feed is asked for the US.
    buyer.reload()
    row = buyer.locator(".feed-row", has_text="Flash sale: 30% off mugs today")
    expect(row).to_be_visible()
    expect(row).to_have_attribute("data-row-type", "NOTICE_SDU")
    headings = buyer.locator(".feed-row h2").all_inner_texts()
    assert headings.index("Flash sale") < headings.index("Shortcuts"), headings
