"""Abuse can be stopped: a buyer reports a seller's chat message, an operator hides it from
the reports queue and the buyer's open room shows it hidden without a reload; the buyer
blocks and unblocks the seller."""

import re
import time

from conftest import DESKTOP, PHONE, Names, log_in, require_api
from playwright.sync_api import expect


def test_a_reported_message_is_hidden_by_an_operator_and_the_room_shows_it_live(open_page):
    require_api("/api/v1/reports", "/api/v1/admin/reports", "/api/v1/admin/reports/{id}/resolve", "/api/v1/chat/blocks")
    en, ko = Names("en"), Names("ko")
    buyer = open_page("buyer", "en", PHONE)
    seller = open_page("seller", "en", DESKTOP)
    admin = open_page("admin", "ko", DESKTOP)
    log_in(buyer, "ben@demo.example")
    log_in(seller, "joon.seller@demo.example")
    log_in(admin, "admin@demo.example", names=ko)

    buyer.goto("/search?q=headlamp")
    buyer.get_by_role("link", name=re.compile("Headlamp 400")).click()
    buyer.get_by_role("button", name=en["Ask the seller"], exact=True).click()
    expect(buyer).to_have_url(re.compile(r"/chat/\d+$"))
    room = buyer.url.rsplit("/", 1)[1]
    expect(buyer.get_by_text(en.text("chat.live"), exact=True)).to_be_visible()
    seller.goto(f"/chat/{room}")
    expect(seller.get_by_text(en.text("chat.live"), exact=True)).to_be_visible()
    body = f"Pay me outside the app, it is cheaper {time.time_ns()}"
    seller.get_by_label(en["Message"], exact=True).fill(body)
    seller.get_by_role("button", name=en["Send"], exact=True).click()
    log = buyer.get_by_role("log")
    expect(log.get_by_text(body)).to_be_visible()

    message = log.locator(".msg").filter(has_text=body)
    message.get_by_role("button", name=en.text("chat.report_named", name="Joon Outdoor")).click()
    buyer.get_by_label(en.text("report.reason"), exact=True).select_option(label=en.text("reason.fraud"))
    buyer.get_by_role("button", name=en.text("report.send"), exact=True).click()
    expect(buyer.get_by_text(en.text("report.sent"))).to_be_visible()

    # The operator (in Korean) finds it in the queue by its content as reported, and hides it.
    admin.get_by_role("link", name=ko["Admin"], exact=True).click()
    admin.get_by_role("main").get_by_role("link", name=ko.text("admin.reports"), exact=True).click()
    item = admin.get_by_role("listitem").filter(has_text=body)
    expect(item).to_have_count(1)
    item.get_by_role("link", name=re.compile(r"#\d+")).first.click()
    expect(admin).to_have_url(re.compile(r"/admin/reports/\d+$"))
    admin.get_by_label(ko.text("admin.note"), exact=True).fill("Off-platform payment")
    admin.get_by_role("button", name=ko.text("admin.hide"), exact=True).click()
    expect(admin.get_by_text(re.compile(re.escape(ko.text("admin.resolved_as", action=ko.text("resolution.hide")))))).to_be_visible()

    # The buyer's room, still open, shows the message hidden.
    expect(log.get_by_text(en.text("chat.hidden"))).to_be_visible()
    expect(log.get_by_text(body)).to_have_count(0)

    # Blocking the seller, then unblocking.
    buyer.get_by_role("button", name=en.text("chat.block_named", name="Joon Outdoor"), exact=True).click()
    expect(buyer.get_by_text(en.text("chat.blocked_note"))).to_be_visible()
    buyer.get_by_role("button", name=en.text("chat.unblock_named", name="Joon Outdoor"), exact=True).click()
    expect(buyer.get_by_role("button", name=en.text("chat.block_named", name="Joon Outdoor"), exact=True)).to_be_visible()

    # The reporter's notification of the outcome opens their own report, resolved.
    report_id = admin.url.rsplit("/", 1)[1]
    buyer.goto("/notifications")
    note = buyer.get_by_role("listitem").filter(has=buyer.locator(f'a[href="/reports/{report_id}"]'))
    expect(note).to_contain_text(en.text("notify_body.report_resolved.hide"))
    note.get_by_role("link", name=en.text("notify_title.report_resolved"), exact=True).click()
    expect(buyer).to_have_url(re.compile(rf"/reports/{report_id}$"))
    expect(buyer.get_by_role("heading", name=en.text("reports.number", id=report_id), exact=True)).to_be_visible()
    expect(buyer.get_by_text(en.text("reports.outcome", outcome=en.text("resolution.hide")))).to_be_visible()
    buyer.get_by_role("link", name=en.text("reports.all"), exact=True).click()
    expect(buyer.get_by_role("link", name=en.text("reports.number", id=report_id), exact=True)).to_be_visible()
