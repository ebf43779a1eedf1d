"""A viewer creates and funds a mission for a streamer; the streamer decides it."""

import re

import pytest
from conftest import DESKTOP, PHONE, Names, log_in, points
from playwright.sync_api import expect

# The viewer and the streamer swap languages and devices between the cases; each case has
# its own viewer, mission and amounts (one streamer decides both).
CASES = {
    # case: viewer, viewer's language and device, streamer's language and device, title, description, stake, contribution
    "ko-viewer": ("chloe@demo.example", "ko", PHONE, "en", DESKTOP, "Glitchless in one sitting", "No resets, no glitches.",
                  2_000, 1_500),
    "en-viewer": ("ben@demo.example", "en", DESKTOP, "ko", PHONE, "한 번에 노데스 클리어", "리셋 없이, 한 번도 죽지 않고.",
                  3_000, 1_200),
}


@pytest.mark.parametrize("case", ["ko-viewer", "en-viewer"], ids=["ko-viewer-phone-en-streamer-desktop", "en-viewer-desktop-ko-streamer-phone"])
def test_a_viewer_funds_a_mission_and_the_streamer_decides_it(open_page, case):
    viewer_email, viewer_lang, viewer_device, streamer_lang, streamer_device, title, description, stake, amount = CASES[case]
    vn, sn = Names(viewer_lang), Names(streamer_lang)
    pool = points(stake + amount)
    viewer = open_page("viewer", viewer_lang, viewer_device)
    streamer = open_page("streamer", streamer_lang, streamer_device)
    log_in(viewer, viewer_email, names=vn)
    log_in(streamer, "streamer@demo.example", names=sn)

    viewer.get_by_role("link", name=vn["Missions"], exact=True).click()
    viewer.get_by_role("button", name=vn["New mission"], exact=True).click()
    viewer.get_by_label(vn["Streamer field"], exact=True).select_option(label="SpeedrunSora")
    viewer.get_by_label(vn["Title"], exact=True).fill(title)
    viewer.get_by_label(vn["Description"], exact=True).fill(description)
    viewer.get_by_label(vn["Stake"], exact=True).fill(str(stake))
    viewer.get_by_role("button", name=vn["Create"], exact=True).click()
    expect(viewer).to_have_url(re.compile(r"/missions/\d+$"))
    mission = viewer.url.rsplit("/", 1)[1]
    expect(viewer.get_by_role("heading", name=title)).to_be_visible()
    viewer.get_by_label(vn["Amount"], exact=True).fill(str(amount))
    viewer.get_by_role("button", name=vn["Contribute"], exact=True).click()
    expect(viewer.get_by_text(pool).first).to_be_visible()

    streamer.get_by_role("link", name=sn["Streamer"], exact=True).click()
    streamer.get_by_role("link", name=title).click()
    expect(streamer).to_have_url(re.compile(rf"/missions/{mission}$"))
    expect(streamer.get_by_text(pool).first).to_be_visible()
    expect(streamer.get_by_role("button", name=sn["Contribute"], exact=True)).to_have_count(0)
    streamer.get_by_role("button", name=sn["Success"], exact=True).click()
    expect(streamer.get_by_text(sn.text("status.succeeded"), exact=True)).to_be_visible()
    expect(streamer.get_by_role("button", name=sn["Success"], exact=True)).to_have_count(0)

    # The viewer's page follows the mission until it is decided.
    expect(viewer.get_by_text(vn.text("status.succeeded"), exact=True)).to_be_visible(timeout=20_000)
    expect(viewer.get_by_role("button", name=vn["Contribute"], exact=True)).to_have_count(0)
