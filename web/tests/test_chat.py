"""A buyer asks a seller about a product and they chat live, each in their own browser."""

import re

import pytest
from conftest import DESKTOP, PHONE, Names, log_in
from playwright.sync_api import expect


# Each journey runs at both widths and in both languages: the two people swap devices
# (and, in the catch-up test, languages) between the cases. Each case has its own pair and
# its own messages, so the cases never see each other's rooms on the shared seeded app.
LIVE = {
    # lang: buyer, buyer's name, buyer's device, seller, shop, seller's device, search, product, question, answer
    "en": ("ben@demo.example", "Ben Park", PHONE, "mina.seller@demo.example", "Mina's Ceramics", DESKTOP,
           "moon%20jar", "Moon jar", "Is the moon jar still available?", "Yes, one left. It ships tomorrow."),
    "ko": ("ara@demo.example", "Ara Kim", DESKTOP, "joon.seller@demo.example", "Joon Outdoor", PHONE,
           "vest", "Trail running vest", "조끼 S/M 사이즈 아직 있나요?", "네, 두 벌 남았어요. 내일 보내드려요."),
}


@pytest.mark.parametrize("lang", ["en", "ko"], ids=["en-buyer-phone-seller-desktop", "ko-buyer-desktop-seller-phone"])
def test_a_buyer_and_a_seller_chat_live(open_page, lang):
    n = Names(lang)
    buyer_email, buyer_name, buyer_device, seller_email, shop, seller_device, search, product, question, answer = LIVE[lang]
    buyer = open_page("buyer", lang, buyer_device)
    seller = open_page("seller", lang, seller_device)
    log_in(buyer, buyer_email, names=n)
    log_in(seller, seller_email, names=n)

    buyer.goto(f"/search?q={search}")
    buyer.get_by_role("link", name=re.compile(product)).click()
    buyer.get_by_role("button", name=n["Ask the seller"], exact=True).click()
    expect(buyer).to_have_url(re.compile(r"/chat/\d+$"))
    room = buyer.url.rsplit("/", 1)[1]
    expect(buyer.get_by_role("heading", name=shop)).to_be_visible()
    expect(buyer.get_by_text(n.text("chat.live"), exact=True)).to_be_visible()

    seller.get_by_role("link", name=n["Chat"], exact=True).click()
    seller.get_by_role("link", name=buyer_name).click()
    expect(seller).to_have_url(re.compile(rf"/chat/{room}$"))
    expect(seller.get_by_text(n.text("chat.live"), exact=True)).to_be_visible()

    buyer.get_by_label(n["Message"], exact=True).fill(question)
    buyer.get_by_role("button", name=n["Send"], exact=True).click()
    expect(seller.get_by_role("log").get_by_text(question)).to_be_visible()

    seller.get_by_label(n["Message"], exact=True).fill(answer)
    seller.get_by_role("button", name=n["Send"], exact=True).click()
    expect(buyer.get_by_role("log").get_by_text(answer)).to_be_visible()
    expect(seller.get_by_role("log").get_by_text(answer)).to_have_count(1)

    # The buyer read everything: the seller's reply is not left unread in the room list.
    buyer.get_by_role("link", name=n["Chat"], exact=True).click()
    row = buyer.get_by_role("listitem").filter(has=buyer.get_by_role("link", name=shop))
    expect(row).to_contain_text(answer)
    expect(row.locator(".badge")).to_have_count(0)


CATCH_UP = {
    # case: buyer, buyer's language and device, seller, seller's language and device, search, product,
    # the message lost before the resync, the one lost before the reconnect
    "ko-buyer": ("chloe@demo.example", "ko", DESKTOP, "joon.seller@demo.example", "en", PHONE, "spork", "Titanium spork",
                 "First, while frames were lost", "Second, before the reconnect"),
    "en-buyer": ("ara@demo.example", "en", PHONE, "mina.seller@demo.example", "ko", DESKTOP, "celadon", "Celadon tea cup",
                 "첫 번째: 프레임이 사라지는 동안", "두 번째: 다시 연결되기 전"),
}


@pytest.mark.parametrize("case", ["ko-buyer", "en-buyer"], ids=["ko-buyer-desktop-en-seller-phone", "en-buyer-phone-ko-seller-desktop"])
def test_a_room_catches_up_after_a_resync_frame_and_after_a_reconnect(open_page, case):
    """Frames the buyer's socket never got are fetched with `?after=` when the server asks
    for a resync and when the socket comes back."""
    buyer_email, buyer_lang, buyer_device, seller_email, seller_lang, seller_device, search, product, first, second = CATCH_UP[case]
    bn, sn = Names(buyer_lang), Names(seller_lang)
    buyer = open_page("buyer", buyer_lang, buyer_device)
    seller = open_page("seller", seller_lang, seller_device)
    state = {"drop": False, "sockets": []}

    def proxy(ws):
        server = ws.connect_to_server()
        state["sockets"].append(ws)
        ws.on_message(lambda message: server.send(message))
        server.on_message(lambda message: None if state["drop"] and '"type":"message"' in message else ws.send(message))

    buyer.route_web_socket(re.compile(r".*/api/v1/chat/ws.*"), proxy)
    log_in(buyer, buyer_email, names=bn)
    log_in(seller, seller_email, names=sn)
    buyer.goto(f"/search?q={search}")
    buyer.get_by_role("link", name=re.compile(product)).click()
    buyer.get_by_role("button", name=bn["Ask the seller"], exact=True).click()
    expect(buyer.get_by_text(bn.text("chat.live"), exact=True)).to_be_visible()
    room = buyer.url.rsplit("/", 1)[1]
    seller.goto(f"/chat/{room}")
    expect(seller.get_by_text(sn.text("chat.live"), exact=True)).to_be_visible()
    log = buyer.get_by_role("log")

    # The buyer's socket loses the live frame; the server's resync hint brings it.
    state["drop"] = True
    seller.get_by_label(sn["Message"], exact=True).fill(first)
    seller.get_by_role("button", name=sn["Send"], exact=True).click()
    expect(seller.get_by_role("log").get_by_text(first)).to_be_visible()
    buyer.wait_for_timeout(500)
    expect(log.get_by_text(first)).to_have_count(0)
    state["drop"] = False
    state["sockets"][-1].send('{"type":"resync"}')
    expect(log.get_by_text(first)).to_be_visible()

    # Lost again, then the socket drops: the reconnected socket catches up.
    state["drop"] = True
    seller.get_by_label(sn["Message"], exact=True).fill(second)
    seller.get_by_role("button", name=sn["Send"], exact=True).click()
    expect(seller.get_by_role("log").get_by_text(second)).to_be_visible()
    buyer.wait_for_timeout(500)
    expect(log.get_by_text(second)).to_have_count(0)
    state["drop"] = False
    sockets_before = len(state["sockets"])
    state["sockets"][-1].close()
    expect(log.get_by_text(second)).to_be_visible()
    assert len(state["sockets"]) > sockets_before, "the app opened a new socket"
    expect(log.get_by_text(first)).to_have_count(1)
