"""Money leaves the platform: a buyer refunds a charge's unused points to the card from the
wallet's history, and a seller pays out to a bank account (sandbox gateway: paid at once)."""

import re

from conftest import DESKTOP, PHONE, Names, log_in, points, require_api
from playwright.sync_api import expect


def test_a_buyer_refunds_a_charge_and_a_seller_pays_out(open_page):
    require_api("/api/v1/wallet/charges/{id}/refund", "/api/v1/wallet/payouts")
    ko, en = Names("ko"), Names("en")
    buyer = open_page("buyer", "ko", PHONE)
    seller = open_page("seller", "en", DESKTOP)
    log_in(buyer, "chloe@demo.example", names=ko)
    log_in(seller, "mina.seller@demo.example")

    buyer.get_by_role("link", name=ko["Wallet"], exact=True).click()
    balance = buyer.locator("#balance")
    expect(balance).to_have_text(re.compile(r"\d P$"))
    before = int(re.sub(r"\D", "", balance.inner_text()))
    buyer.get_by_label(ko["Amount"], exact=True).fill("7000")
    buyer.get_by_role("button", name=ko["Charge"], exact=True).click()
    expect(balance).to_have_text(re.compile(rf"{points(before + 7000)}$"))
    refund = buyer.get_by_role("button", name=re.compile(re.escape(points(7000)))).first
    refund.click()
    buyer.get_by_label(ko.text("wallet.refund_amount"), exact=True).fill("2000")
    buyer.get_by_role("button", name=ko.text("wallet.refund_submit"), exact=True).click()
    expect(buyer.get_by_text(ko.text("wallet.refunded", amount=points(2000)))).to_be_visible()
    expect(balance).to_have_text(re.compile(rf"{points(before + 5000)}$"))

    seller.get_by_role("link", name=en["Wallet"], exact=True).click()
    seller.get_by_label(en["Amount"], exact=True).fill("30000")
    seller.get_by_role("button", name=en["Charge"], exact=True).click()
    expect(seller.get_by_text(en.text("wallet.charged", amount=points(30000)))).to_be_visible()
    seller.get_by_role("link", name=en.text("wallet.to_payouts")).click()
    expect(seller).to_have_url(re.compile(r"/payouts$"))
    seller.get_by_label(en["Amount"], exact=True).fill("12000")
    seller.get_by_label(en.text("field.bank"), exact=True).select_option("090")
    seller.get_by_label(en.text("field.account_number"), exact=True).fill("3333-01-1234567")
    seller.get_by_label(en.text("field.account_holder"), exact=True).fill("Mina Cho")
    seller.get_by_role("button", name=en.text("payouts.request"), exact=True).click()
    expect(seller.get_by_text(en.text("payouts.requested", amount=points(12000)))).to_be_visible()
    history = seller.get_by_role("region", name=en.text("payouts.history"))
    row = history.get_by_role("listitem").filter(has_text=points(12000)).first
    expect(row).to_contain_text("Mina Cho")
    expect(row).not_to_contain_text("1234567")
