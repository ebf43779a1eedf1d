"""A viewer creates and funds a mission for a streamer; the streamer decides it."""

import re

from conftest import DESKTOP, PHONE, Names, log_in
from playwright.sync_api import expect


def test_a_viewer_funds_a_mission_and_the_streamer_decides_it(open_page):
    ko = Names("ko")
    en = Names("en")
    viewer = open_page("viewer", "ko", PHONE)
    streamer = open_page("streamer", "en", DESKTOP)
    log_in(viewer, "chloe@demo.example", names=ko)
    log_in(streamer, "streamer@demo.example")

    viewer.get_by_role("link", name=ko["Missions"], exact=True).click()
    viewer.get_by_role("button", name=ko["New mission"], exact=True).click()
    viewer.get_by_label(ko["Streamer field"], exact=True).select_option(label="SpeedrunSora")
    viewer.get_by_label(ko["Title"], exact=True).fill("Glitchless in one sitting")
    viewer.get_by_label(ko["Description"], exact=True).fill("No resets, no glitches.")
    viewer.get_by_label(ko["Stake"], exact=True).fill("2000")
    viewer.get_by_role("button", name=ko["Create"], exact=True).click()
    expect(viewer).to_have_url(re.compile(r"/missions/\d+$"))
    mission = viewer.url.rsplit("/", 1)[1]
    expect(viewer.get_by_role("heading", name="Glitchless in one sitting")).to_be_visible()
    viewer.get_by_label(ko["Amount"], exact=True).fill("1500")
    viewer.get_by_role("button", name=ko["Contribute"], exact=True).click()
    expect(viewer.get_by_text("3,500 P").first).to_be_visible()

    streamer.get_by_role("link", name=en["Streamer"], exact=True).click()
    streamer.get_by_role("link", name="Glitchless in one sitting").click()
    expect(streamer).to_have_url(re.compile(rf"/missions/{mission}$"))
    expect(streamer.get_by_text("3,500 P").first).to_be_visible()
    expect(streamer.get_by_role("button", name=en["Contribute"], exact=True)).to_have_count(0)
    streamer.get_by_role("button", name=en["Success"], exact=True).click()
    expect(streamer.get_by_text(en.text("status.succeeded"), exact=True)).to_be_visible()
    expect(streamer.get_by_role("button", name=en["Success"], exact=True)).to_have_count(0)

    # The viewer's page follows the mission until it is decided.
    expect(viewer.get_by_text(ko.text("status.succeeded"), exact=True)).to_be_visible(timeout=20_000)
    expect(viewer.get_by_role("button", name=ko["Contribute"], exact=True)).to_have_count(0)
