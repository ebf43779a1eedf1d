"""A new buyer: sign up, verify through the emailed link, log in, charge, search, add to
cart, check out, see the order. In English on a desktop and in Korean on a phone."""

import re

import pytest
from conftest import DESKTOP, PHONE, Names, unique_email, wait_for_link
from playwright.sync_api import expect


@pytest.mark.parametrize("lang,device", [("en", DESKTOP), ("ko", PHONE)], ids=["en-desktop", "ko-phone"])
def test_a_new_buyer_signs_up_charges_and_checks_out(open_page, lang, device):
    n = Names(lang)
    page = open_page(f"buyer-{lang}", lang, device)
    address = unique_email(f"journey-{lang}")
    password = "journey password 1"

    page.goto("/")
    page.get_by_role("link", name=n["Sign up"], exact=True).click()
    page.get_by_label(n["Name"], exact=True).fill("Journey Buyer")
    page.get_by_label(n["Email"], exact=True).fill(address)
    page.get_by_label(n["Password"], exact=True).fill(password)
    page.get_by_label(n["Account type"], exact=True).select_option(label=n["Customer"])
    page.get_by_role("button", name=n["Sign up"], exact=True).click()
    expect(page.get_by_role("heading", name=n.text("signup.check_title"))).to_be_visible()

    # The link of the verification email opens the web app's page, which verifies.
    page.goto(wait_for_link(address, "/verify-email"))
    expect(page.get_by_text(n.text("verify.done", email=address))).to_be_visible()

    page.get_by_role("main").get_by_role("link", name=n["Log in"], exact=True).click()
    page.get_by_label(n["Email"], exact=True).fill(address)
    page.get_by_label(n["Password"], exact=True).fill(password)
    page.get_by_role("button", name=n["Log in"], exact=True).click()
    expect(page.get_by_role("button", name=n["Log out"], exact=True)).to_be_visible()

    page.get_by_role("link", name=n["Wallet"], exact=True).click()
    expect(page.locator("#balance")).to_have_text(re.compile(rf"^{re.escape(n['Balance'])}\s*0 P$"))
    page.get_by_label(n["Amount"], exact=True).fill("50000")
    page.get_by_role("button", name=n["Charge"], exact=True).click()
    expect(page.locator("#balance")).to_have_text(re.compile(rf"^{re.escape(n['Balance'])}\s*50,000 P$"))
    expect(page.get_by_role("main").get_by_text("+50,000 P")).to_be_visible()

    page.get_by_label(n["Search products"], exact=True).fill("speckled mug")
    page.get_by_label(n["Search products"], exact=True).press("Enter")
    page.get_by_role("link", name=re.compile("Speckled mug")).click()
    expect(page.get_by_role("heading", name="Speckled mug")).to_be_visible()
    page.get_by_role("radio", name=re.compile("charcoal")).check()
    page.get_by_label(n["Quantity"], exact=True).fill("2")
    page.get_by_role("button", name=n["Add to cart"], exact=True).click()
    expect(page.get_by_text(n.text("product.added"))).to_be_visible()

    page.get_by_role("link", name=n["Cart"], exact=True).click()
    expect(page.get_by_role("main").get_by_text("44,000 P").last).to_be_visible()
    page.get_by_role("button", name=n["Check out"], exact=True).click()
    expect(page).to_have_url(re.compile(r"/orders/\d+$"))
    order_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", name=n.text("order.number", id=order_id))).to_be_visible()
    expect(page.get_by_role("main").get_by_text("Speckled mug")).to_be_visible()

    page.get_by_role("link", name=n["Orders"], exact=True).click()
    expect(page.get_by_role("link", name=n.text("order.number", id=order_id))).to_be_visible()
    page.get_by_role("link", name=n["Wallet"], exact=True).click()
    expect(page.locator("#balance")).to_have_text(re.compile(r"6,000 P$"))
