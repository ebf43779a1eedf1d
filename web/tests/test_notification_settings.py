"""Notification settings: a streamer mutes every kind, the bell stops counting them (they stay
in the inbox), the choice survives a reload, and unmuting brings the count back."""

import re

from conftest import DESKTOP, Names, log_in, require_api
from playwright.sync_api import expect


def test_muted_kinds_are_kept_but_not_counted_and_the_choice_is_saved(open_page):
    require_api("/api/v1/notifications/preferences")
    en = Names("en")
    page = open_page("streamer", "en", DESKTOP)
    log_in(page, "streamer@demo.example")

    # The seeded "Your fans are backing you" notification is unread: the bell counts it.
    bell = page.locator(".bell .badge")
    expect(bell).to_be_visible()

    page.get_by_role("link", name=en["Notifications"], exact=True).click()
    expect(page.get_by_text("Your fans are backing you")).to_be_visible()
    page.get_by_role("link", name=en.text("notifications.settings"), exact=True).click()
    expect(page).to_have_url(re.compile(r"/notifications/settings$"))
    kinds = page.get_by_role("group", name=en.text("notifications.kinds_legend")).get_by_role("checkbox")
    expect(kinds).to_have_count(18)
    for i in range(18):
        kinds.nth(i).uncheck()
    page.get_by_role("button", name=en.text("notifications.save"), exact=True).click()
    expect(page.get_by_text(en.text("notifications.saved"))).to_be_visible()
    expect(bell).to_have_count(0)

    # Saved on the server: a reload shows every kind muted, and the inbox still has them.
    page.reload()
    expect(page.get_by_label(en.text("notify_kind.mission_contribution"), exact=True)).not_to_be_checked()
    expect(page.get_by_role("checkbox", checked=True)).to_have_count(0)
    page.get_by_role("link", name=en.text("notifications.back"), exact=True).click()
    expect(page.get_by_text("Your fans are backing you")).to_be_visible()

    # Unmuting one kind counts its unread notifications again.
    page.get_by_role("link", name=en.text("notifications.settings"), exact=True).click()
    page.get_by_label(en.text("notify_kind.mission_contribution"), exact=True).check()
    page.get_by_role("button", name=en.text("notifications.save"), exact=True).click()
    expect(page.get_by_text(en.text("notifications.saved"))).to_be_visible()
    expect(bell).to_be_visible()

    # Leave the demo account as it was for the other scenarios.
    for i in range(18):
        kinds.nth(i).check()
    page.get_by_role("button", name=en.text("notifications.save"), exact=True).click()
    expect(page.get_by_text(en.text("notifications.saved"))).to_be_visible()
