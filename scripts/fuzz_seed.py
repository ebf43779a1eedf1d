#!/usr/bin/env python3
"""Seeds a freshly started app for the contract fuzzer, through the public API only.

Creates a customer, a second customer, a seller, a streamer (and logs in the admin that
`app create-admin` made), gives them points, a product with items, a cart, an order, a
chat room with a message, a mission with a contribution, and a feed row and ad slot, so that
ids the fuzzer tries (small integers) point at real rows. Prints shell assignments of the
access tokens: CUSTOMER_TOKEN, SELLER_TOKEN, ADMIN_TOKEN.

Usage: fuzz_seed.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD
Standard library only (it runs before or without the fuzzer's virtualenv).
"""

import datetime
import json
import sys
import urllib.error
import urllib.request

PASSWORD = "fuzz password 1"


class Api:
    def __init__(self, base):
        self.base = base.rstrip("/") + "/api/v1"
        self.keys = 0

    def call(self, method, path, body=None, token=None, expect=(200, 201, 204), keyed=False):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        if keyed:
            self.keys += 1
            req.add_header("Idempotency-Key", "fuzz-seed-%d" % self.keys)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                status, text = res.status, res.read().decode()
        except urllib.error.HTTPError as err:
            status, text = err.code, err.read().decode()
        if status not in expect:
            sys.exit("seed: %s %s answered %d: %s" % (method, path, status, text))
        return json.loads(text) if text else None

    def account(self, email, role):
        self.call("POST", "/auth/signup", {"email": email, "password": PASSWORD, "name": "Fuzz " + role, "role": role})
        return self.login(email, PASSWORD)

    def login(self, email, password):
        body = self.call("POST", "/auth/login", {"email": email, "password": password})
        return body["access_token"], body["account"]["id"]


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    api = Api(sys.argv[1])
    admin, _ = api.login(sys.argv[2], sys.argv[3])
    customer, customer_id = api.account("fuzz-customer@example.com", "customer")
    other, other_id = api.account("fuzz-other@example.com", "customer")
    seller, seller_id = api.account("fuzz-seller@example.com", "seller")
    streamer, streamer_id = api.account("fuzz-streamer@example.com", "streamer")

    for token in (customer, other, seller, admin):
        api.call("POST", "/wallet/charges", {"amount": 1_000_000}, token, keyed=True)

    items = [{"name": "Item %d" % i, "price": 100 * i, "stock": 1000} for i in range(1, 4)]
    product = api.call("POST", "/seller/products", {"name": "Fuzz mug", "description": "A mug", "items": items}, seller)
    api.call("POST", "/seller/products", {"name": "Fuzz cup", "description": "", "items": items[:1]}, seller)
    item = product["items"][0]["id"]
    api.call("POST", "/cart/items", {"product_id": product["id"], "item_id": item, "quantity": 1}, customer)
    api.call("GET", "/cart", token=customer)
    api.call("POST", "/orders", {}, customer, keyed=True)
    api.call("POST", "/cart/items", {"product_id": product["id"], "item_id": item, "quantity": 2}, customer)

    room = api.call("POST", "/chat/rooms", {"name": "Fuzz room", "member_ids": [seller_id, other_id]}, customer)
    api.call("POST", "/chat/rooms/%d/messages" % room["id"], {"body": "hello"}, customer)
    api.call("POST", "/chat/rooms/direct", {"user_id": seller_id}, customer)

    deadline = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)).isoformat()
    mission = api.call(
        "POST",
        "/missions",
        {"streamer_id": streamer_id, "title": "Fuzz mission", "description": "", "stake": 100, "deadline": deadline},
        customer,
        keyed=True,
    )
    api.call("POST", "/missions/%d/contributions" % mission["id"], {"amount": 100}, other, keyed=True)

    api.call("POST", "/admin/feed/rows", {"row_provider_type": "NOTICE", "position": 1, "title": "Welcome"}, admin)
    api.call(
        "POST",
        "/admin/feed/ad-slots",
        {"slot_name": "top", "title": "Ad", "image_url": "https://example.com/a.png", "link_url": "https://example.com/"},
        admin,
    )
    del streamer  # the streamer only exists to be a mission target
    print("CUSTOMER_TOKEN=%s" % customer)
    print("SELLER_TOKEN=%s" % seller)
    print("ADMIN_TOKEN=%s" % admin)


if __name__ == "__main__":
    main()
