"""A buyer asks a seller about a product and they chat live, each in their own browser."""

import re

from conftest import DESKTOP, PHONE, Names, log_in
from playwright.sync_api import expect


def test_a_buyer_and_a_seller_chat_live(open_page):
    en = Names("en")
    buyer = open_page("buyer", "en", PHONE)
    seller = open_page("seller", "en", DESKTOP)
    log_in(buyer, "ben@demo.example")
    log_in(seller, "mina.seller@demo.example")

    buyer.goto("/search?q=moon%20jar")
    buyer.get_by_role("link", name=re.compile("Moon jar")).click()
    buyer.get_by_role("button", name=en["Ask the seller"], exact=True).click()
    expect(buyer).to_have_url(re.compile(r"/chat/\d+$"))
    room = buyer.url.rsplit("/", 1)[1]
    expect(buyer.get_by_role("heading", name="Mina's Ceramics")).to_be_visible()
    expect(buyer.get_by_text(en.text("chat.live"), exact=True)).to_be_visible()

    seller.get_by_role("link", name=en["Chat"], exact=True).click()
    seller.get_by_role("link", name="Ben Park").click()
    expect(seller).to_have_url(re.compile(rf"/chat/{room}$"))
    expect(seller.get_by_text(en.text("chat.live"), exact=True)).to_be_visible()

    buyer.get_by_label(en["Message"], exact=True).fill("Is the moon jar still available?")
    buyer.get_by_role("button", name=en["Send"], exact=True).click()
    expect(seller.get_by_role("log").get_by_text("Is the moon jar still available?")).to_be_visible()

    seller.get_by_label(en["Message"], exact=True).fill("Yes, one left. It ships tomorrow.")
    seller.get_by_role("button", name=en["Send"], exact=True).click()
    expect(buyer.get_by_role("log").get_by_text("Yes, one left. It ships tomorrow.")).to_be_visible()
    expect(seller.get_by_role("log").get_by_text("Yes, one left. It ships tomorrow.")).to_have_count(1)

    # The buyer read everything: the seller's reply is not left unread in the room list.
    buyer.get_by_role("link", name=en["Chat"], exact=True).click()
    row = buyer.get_by_role("listitem").filter(has=buyer.get_by_role("link", name="Mina's Ceramics"))
    expect(row).to_contain_text("Yes, one left.")
    expect(row.locator(".badge")).to_have_count(0)


def test_a_room_catches_up_after_a_resync_frame_and_after_a_reconnect(open_page):
    """Frames the buyer's socket never got are fetched with `?after=` when the server asks
    for a resync and when the socket comes back."""
    ko = Names("ko")
    en = Names("en")
    buyer = open_page("buyer", "ko", DESKTOP)
    seller = open_page("seller", "en", PHONE)
    state = {"drop": False, "sockets": []}

    def proxy(ws):
        server = ws.connect_to_server()
        state["sockets"].append(ws)
        ws.on_message(lambda message: server.send(message))
        server.on_message(lambda message: None if state["drop"] and '"type":"message"' in message else ws.send(message))

    buyer.route_web_socket(re.compile(r".*/api/v1/chat/ws.*"), proxy)
    log_in(buyer, "chloe@demo.example", names=ko)
    log_in(seller, "joon.seller@demo.example")
    buyer.goto("/search?q=spork")
    buyer.get_by_role("link", name=re.compile("Titanium spork")).click()
    buyer.get_by_role("button", name=ko["Ask the seller"], exact=True).click()
    expect(buyer.get_by_text(ko.text("chat.live"), exact=True)).to_be_visible()
    room = buyer.url.rsplit("/", 1)[1]
    seller.goto(f"/chat/{room}")
    expect(seller.get_by_text(en.text("chat.live"), exact=True)).to_be_visible()
    log = buyer.get_by_role("log")

    # The buyer's socket loses the live frame; the server's resync hint brings it.
    state["drop"] = True
    seller.get_by_label(en["Message"], exact=True).fill("First, while frames were lost")
    seller.get_by_role("button", name=en["Send"], exact=True).click()
    expect(seller.get_by_role("log").get_by_text("First, while frames were lost")).to_be_visible()
    buyer.wait_for_timeout(500)
    expect(log.get_by_text("First, while frames were lost")).to_have_count(0)
    state["drop"] = False
    state["sockets"][-1].send('{"type":"resync"}')
    expect(log.get_by_text("First, while frames were lost")).to_be_visible()

    # Lost again, then the socket drops: the reconnected socket catches up.
    state["drop"] = True
    seller.get_by_label(en["Message"], exact=True).fill("Second, before the reconnect")
    seller.get_by_role("button", name=en["Send"], exact=True).click()
    expect(seller.get_by_role("log").get_by_text("Second, before the reconnect")).to_be_visible()
    buyer.wait_for_timeout(500)
    expect(log.get_by_text("Second, before the reconnect")).to_have_count(0)
    state["drop"] = False
    sockets_before = len(state["sockets"])
    state["sockets"][-1].close()
    expect(log.get_by_text("Second, before the reconnect")).to_be_visible()
    assert len(state["sockets"]) > sockets_before, "the app opened a new socket"
    expect(log.get_by_text("First, while frames were lost")).to_have_count(1)
