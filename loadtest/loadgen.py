#!/usr/bin/env python3
"""Load and fault suite driver for the commerce backend (issue 7, items 5 and 6).

Three phases, each a subcommand, all talking to two app instances that share one private
MariaDB + Redis (started by ctl.sh):

  setup  sign up the load-test population (customers, sellers, streamers) through the API,
         verify their emails with SQL, log them in, create products, chat rooms and the
         opening wallet charges; write state.json (tokens, catalogue, rooms, initial stock).
  run    N virtual users for D seconds with a weighted mix of real traffic (browse/search,
         cart edits, keyed checkouts, wallet reads and charges, chat over WebSocket with
         cross-instance delivery latency, missions: create/contribute/decide/expire, feed);
         with --faults, kill -9 instance B and restart it, restart Redis, and stop MariaDB
         for 10 s at fixed offsets, recording each outage window. Writes run.json.
  check  wait for the sagas and the outbox to settle, verify the invariants with SQL
         against the private MariaDB, prove that missed live chat messages are retrievable
         with ?after=, classify every 5xx against the outage windows, and write
         report.json + report.txt. Exit status 1 when any check fails.

Only loopback addresses are ever contacted; every loop is bounded in time.
"""

import argparse
import asyncio
import collections
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid

import aiohttp
import pymysql

API = "/api/v1"
PASSWORD = "loadtest password 1"
REQUEST_TIMEOUT = 10.0  # seconds; a request that takes longer is a "hang"
KEYED_RETRY_FOR = 30.0  # a client retries a money-moving request this long
# order.commission_bps of the instances (ctl.sh leaves config/default.toml's 500).
COMMISSION_BPS = int(os.environ.get("LT_COMMISSION_BPS", "500"))
ADJECTIVES = ["blue", "red", "green", "black", "white", "oak", "steel", "linen", "wool", "clay",
              "amber", "jade", "silver", "golden", "tiny", "grand", "soft", "rugged", "retro", "urban"]
NOUNS = ["mug", "cup", "bowl", "vase", "lamp", "chair", "table", "scarf", "jacket", "boots",
         "tent", "stove", "kettle", "spoon", "plate", "basket", "pillow", "blanket", "clock", "mirror"]


def now_wall():
    return time.time()


def rfc3339(ts):
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


# --------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------

class Stats:
    """Per-endpoint latencies and status histograms, plus every 5xx, hang and connection
    error with its wall-clock interval (for classification against outage windows)."""

    def __init__(self):
        self.lat = collections.defaultdict(list)  # endpoint -> [ms]
        self.codes = collections.defaultdict(collections.Counter)  # endpoint -> status -> n
        self.err_codes = collections.defaultdict(collections.Counter)  # endpoint -> "409 out_of_stock" -> n
        self.by_instance = collections.Counter()
        self.events = []  # dicts: kind (5xx|hang|conn), endpoint, inst, t0, t1, status, code
        self.t_start = None
        self.t_end = None

    def record(self, endpoint, inst, t0, t1, status, code=None):
        ms = (t1 - t0) * 1000.0
        self.lat[endpoint].append(ms)
        self.codes[endpoint][str(status)] += 1
        self.by_instance[inst] += 1
        if code and isinstance(status, int) and status >= 400:
            self.err_codes[endpoint][f"{status} {code}"] += 1
        kind = None
        # An answer that arrives after the client timeout is a hang too (aiohttp may deliver a
        # response that lands in the same event-loop turn as its timeout).
        if status == "timeout" or ms >= REQUEST_TIMEOUT * 1000.0:
            kind = "hang"
        elif status == "conn_error":
            kind = "conn"
        elif isinstance(status, int) and status >= 500:
            kind = "5xx"
        elif ms > 5000.0:
            kind = "slow"  # answered, but later than the 5 s docs/api.md allows an outage to take
        if kind:
            self.events.append({"kind": kind, "endpoint": endpoint, "inst": inst, "t0": t0, "t1": t1,
                                "status": status, "code": code, "ms": round(ms, 1)})


class Client:
    def __init__(self, bases, stats):
        self.bases = bases  # {"A": url, "B": url}
        self.stats = stats
        self.session = None

    async def __aenter__(self):
        # keepalive below actix's 5 s keep-alive, so an idle connection closed by the server
        # is never reused (that would look like a connection error).
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=2.0, force_close=False)
        self.session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT))
        return self

    async def __aexit__(self, *exc):
        await self.session.close()

    async def call(self, inst, method, endpoint, path, token=None, body=None, params=None, headers=None,
                   record=True):
        """One request. Returns (status, json-or-None, headers); status is an int, or
        "timeout" / "conn_error"."""
        h = {}
        if token:
            h["Authorization"] = f"Bearer {token}"
        if headers:
            h.update(headers)
        url = self.bases[inst] + path
        t0 = now_wall()
        m0 = time.monotonic()
        status, data, rh, code = None, None, {}, None
        try:
            async with self.session.request(method, url, json=body, params=params, headers=h) as r:
                raw = await r.read()
                status = r.status
                rh = r.headers
                if raw:
                    try:
                        data = json.loads(raw)
                    except ValueError:
                        data = None
                if status >= 400 and isinstance(data, dict):
                    code = (data.get("error") or {}).get("code")
        except asyncio.TimeoutError:
            status = "timeout"
        except (aiohttp.ClientError, OSError):
            status = "conn_error"
        t1 = t0 + (time.monotonic() - m0)
        if record:
            self.stats.record(endpoint, inst, t0, t1, status, code)
        return status, data, rh


def other(inst):
    return "B" if inst == "A" else "A"


# --------------------------------------------------------------------------------------
# Setup
# --------------------------------------------------------------------------------------

def sql_connect(args, timeout=60):
    return pymysql.connect(host="127.0.0.1", port=args.db_port, user="root", password="", database="loadtest",
                           autocommit=True, connect_timeout=min(5, timeout), read_timeout=timeout)


async def setup(args):
    stats = Stats()
    rnd = random.Random(args.seed)
    state = {"bases": {"A": args.a, "B": args.b}, "customers": [], "sellers": [], "streamers": []}
    async with Client(state["bases"], stats) as c:
        sem = asyncio.Semaphore(4)

        async def signup(kind, i):
            email = f"lt-{kind}-{i}@loadtest.example"
            role = {"c": "customer", "s": "seller", "t": "streamer"}[kind]
            name = {"c": f"Buyer {i}", "s": f"Seller {i}", "t": f"Streamer {i}"}[kind]
            async with sem:
                st, data, _ = await c.call("A", "POST", "signup", API + "/auth/signup",
                                           body={"email": email, "password": PASSWORD, "name": name, "role": role})
            if st != 201:
                raise SystemExit(f"signup {email}: {st} {data}")
            return {"email": email, "id": data["id"], "role": role, "name": name}

        people = []
        people += await asyncio.gather(*[signup("c", i) for i in range(args.concurrency)])
        people += await asyncio.gather(*[signup("s", i) for i in range(args.sellers)])
        people += await asyncio.gather(*[signup("t", i) for i in range(args.streamers)])
        # Email verification is proven by the API test suite; here it is a bulk SQL update.
        db = sql_connect(args)
        with db.cursor() as cur:
            cur.execute("UPDATE accounts SET email_verified = TRUE WHERE email LIKE %s", ("%@loadtest.example",))
        db.close()

        async def login(p, inst):
            async with sem:
                st, data, _ = await c.call(inst, "POST", "login", API + "/auth/login",
                                           body={"email": p["email"], "password": PASSWORD})
            if st != 200:
                raise SystemExit(f"login {p['email']}: {st} {data}")
            p["token"] = data["access_token"]

        await asyncio.gather(*[login(p, "AB"[i % 2]) for i, p in enumerate(people)])
        for p in people:
            {"customer": state["customers"], "seller": state["sellers"], "streamer": state["streamers"]}[
                p["role"]].append(p)
        for i, p in enumerate(state["customers"]):
            p["home"] = "AB"[i % 2]
        for i, p in enumerate(state["sellers"]):
            p["home"] = "AB"[i % 2]

        # Catalogue: every seller lists products with two or three items; a few items are
        # scarce so that checkouts race for them (out_of_stock must never oversell).
        products = []

        async def create_product(seller, n):
            name = f"{rnd.choice(ADJECTIVES).title()} {rnd.choice(NOUNS).title()} {seller['id']}-{n}"
            items = []
            for k in range(rnd.choice([2, 2, 3])):
                scarce = rnd.random() < 0.12
                items.append({"name": f"variant {k}", "price": rnd.randrange(500, 20000, 100),
                              "stock": rnd.randint(3, 10) if scarce else rnd.randint(40, 400)})
            async with sem:
                st, data, _ = await c.call("AB"[n % 2], "POST", "seller create product", API + "/seller/products",
                                           token=seller["token"],
                                           body={"name": name, "description": "load-test product", "items": items})
            if st != 201:
                raise SystemExit(f"create product: {st} {data}")
            products.append({"id": data["id"], "name": name,
                             "items": [{"id": it["id"], "price": it["price"]} for it in data["items"]]})

        await asyncio.gather(*[create_product(s, n) for s in state["sellers"] for n in range(args.products_per_seller)])
        state["products"] = sorted(products, key=lambda p: p["id"])

        # Chat rooms of four customers whose homes alternate A, B, A, B: every message has
        # receivers on both instances.
        cust = state["customers"]
        rooms = []
        for k in range(0, len(cust) - 1, 4):
            members = cust[k:k + 4]
            if len(members) < 2:
                continue
            st, data, _ = await c.call(members[0]["home"], "POST", "create room", API + "/chat/rooms",
                                       token=members[0]["token"],
                                       body={"name": f"load room {k // 4}", "member_ids": [m["id"] for m in members[1:]]})
            if st != 201:
                raise SystemExit(f"create room: {st} {data}")
            rooms.append({"id": data["id"], "members": [m["id"] for m in members]})
        state["rooms"] = rooms

        # Opening balances: one keyed sandbox charge per customer.
        async def opening(p):
            async with sem:
                st, data, _ = await c.call(p["home"], "POST", "charge", API + "/wallet/charges", token=p["token"],
                                           body={"amount": args.opening_balance},
                                           headers={"Idempotency-Key": f"lt-opening-{p['id']}"})
            if st != 201:
                raise SystemExit(f"opening charge: {st} {data}")

        await asyncio.gather(*[opening(p) for p in cust])

    db = sql_connect(args)
    with db.cursor() as cur:
        cur.execute("SELECT id, stock FROM product_items")
        state["initial_stock"] = {str(i): s for i, s in cur.fetchall()}
        # Shipments and restocks after this moment are the run's (seed-demo's came before).
        cur.execute("SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%d %H:%i:%s.%f')")
        state["t_setup_db"] = cur.fetchone()[0]
    db.close()
    with open(os.path.join(args.out, "state.json"), "w") as f:
        json.dump(state, f)
    print(f"setup: {len(cust)} customers, {len(state['sellers'])} sellers, {len(state['streamers'])} streamers, "
          f"{len(products)} products ({sum(len(p['items']) for p in products)} items), {len(rooms)} chat rooms")


# --------------------------------------------------------------------------------------
# Run
# --------------------------------------------------------------------------------------

class ChatTracker:
    """Every chat message sent in the run, who should have got it live, and who did."""

    def __init__(self):
        self.msgs = {}  # token -> record

    def new(self, room, sender, sender_inst, expected, via):
        token = uuid.uuid4().hex[:16]
        self.msgs[token] = {"token": token, "room": room, "sender": sender, "sender_inst": sender_inst,
                            "expected": dict(expected), "delivered": {}, "via": via, "m0": time.monotonic(),
                            "wall": now_wall(), "id": None, "stored_ack": False, "recovered": {}}
        return token

    def recovered(self, token, vu_id):
        """A receiver fetched the message with ?after= (after a resync frame or a reconnect)."""
        rec = self.msgs.get(token)
        if rec is not None and vu_id not in rec["delivered"]:
            rec["recovered"][vu_id] = True

    def delivered(self, token, vu_id, inst):
        rec = self.msgs.get(token)
        if rec is None or vu_id in rec["delivered"]:
            return
        rec["delivered"][vu_id] = ((time.monotonic() - rec["m0"]) * 1000.0, inst)


class Socket:
    """One customer's WebSocket to its home instance: reconnects when dropped (with a
    catch-up via ?after=, as a real client does), answers acks, records live deliveries."""

    def __init__(self, run, vu):
        self.run = run
        self.vu = vu
        self.ws = None
        self.connected = False
        self.pending = {}
        self.last_id = {}  # room -> newest message id seen
        self.caught_up = 0
        self.reconnects = 0
        self.resyncs = 0

    async def loop(self):
        r = self.run
        first = True
        while not r.stopping:
            inst = self.vu["home"]
            url = r.client.bases[inst].replace("http://", "ws://") + API + "/chat/ws"
            t0 = now_wall()
            m0 = time.monotonic()
            try:
                ws = await r.client.session.ws_connect(url, headers={"Authorization": f"Bearer {self.vu['token']}"},
                                                       timeout=aiohttp.ClientWSTimeout(ws_close=5), autoping=True,
                                                       heartbeat=None)
            except asyncio.TimeoutError:
                r.stats.record("WS connect", inst, t0, t0 + time.monotonic() - m0, "timeout")
                await asyncio.sleep(0.5)
                continue
            except aiohttp.WSServerHandshakeError as e:
                r.stats.record("WS connect", inst, t0, t0 + time.monotonic() - m0, e.status)
                await asyncio.sleep(0.5)
                continue
            except (aiohttp.ClientError, OSError):
                r.stats.record("WS connect", inst, t0, t0 + time.monotonic() - m0, "conn_error")
                await asyncio.sleep(0.5)
                continue
            r.stats.record("WS connect", inst, t0, t0 + time.monotonic() - m0, 101)
            self.ws = ws
            self.connected = True
            if not first:
                self.reconnects += 1
                asyncio.ensure_future(self.catch_up())
            first = False
            try:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        continue
                    frame = json.loads(msg.data)
                    kind = frame.get("type")
                    if kind == "message":
                        m = frame["message"]
                        self.seen(m)
                        body = m.get("body", "")
                        if body.startswith("lt|"):
                            r.chat.delivered(body.split("|")[1], self.vu["id"], inst)
                    elif kind == "resync":
                        # The server's pub/sub reconnected or lagged: live deliveries may
                        # have been missed; a client catches up with ?after=.
                        self.resyncs += 1
                        asyncio.ensure_future(self.catch_up())
                    elif kind in ("ack", "error"):
                        fut = self.pending.pop(frame.get("client_id"), None)
                        if fut and not fut.done():
                            fut.set_result(frame)
            except (aiohttp.ClientError, OSError, asyncio.CancelledError):
                pass
            finally:
                self.connected = False
                self.ws = None
                for fut in self.pending.values():
                    if not fut.done():
                        fut.set_result(None)
                self.pending.clear()
            if not r.stopping:
                await asyncio.sleep(0.3)

    def seen(self, m):
        room = m["room_id"]
        if m["id"] > self.last_id.get(room, 0):
            self.last_id[room] = m["id"]

    async def catch_up(self):
        """After a reconnect: fetch what was missed while away (`?after=`)."""
        r = self.run
        for room in self.vu["rooms"]:
            after = self.last_id.get(room)
            if after is None:
                continue
            st, data, _ = await r.client.call(self.vu["home"], "GET", "GET /chat/rooms/{id}/messages?after",
                                              f"{API}/chat/rooms/{room}/messages", token=self.vu["token"],
                                              params={"after": after, "limit": 100})
            if st == 200:
                for m in data["items"]:
                    self.seen(m)
                    self.caught_up += 1
                    body = m.get("body", "")
                    if body.startswith("lt|"):
                        r.chat.recovered(body.split("|")[1], self.vu["id"])

    async def send(self, room, body, client_id):
        """Returns the ack/error frame, None if the socket dropped, "timeout" on no answer."""
        ws = self.ws
        if ws is None or not self.connected:
            return None
        fut = asyncio.get_running_loop().create_future()
        self.pending[client_id] = fut
        try:
            await ws.send_str(json.dumps({"type": "send", "room_id": room, "body": body, "client_id": client_id}))
            return await asyncio.wait_for(fut, REQUEST_TIMEOUT)
        except asyncio.TimeoutError:
            return "timeout"
        except (aiohttp.ClientError, OSError, ConnectionResetError, RuntimeError):
            return None
        finally:
            self.pending.pop(client_id, None)


ERROR_STATUS = {"unavailable": 503, "internal": 500, "not_found": 404, "validation_failed": 400,
                "forbidden": 403, "unauthenticated": 401, "rate_limited": 429}


class Run:
    def __init__(self, args, state):
        self.args = args
        self.state = state
        self.stats = Stats()
        self.chat = ChatTracker()
        self.client = None
        self.stopping = False
        self.rnd = random.Random(args.seed)
        self.products = state["products"]
        self.items = [(p["id"], it["id"], it["price"]) for p in self.products for it in p["items"]]
        self.open_missions = {}  # id -> deadline (epoch)
        self.windows = []
        self.backlog = []
        self.ok = {"charges": {}, "orders": {}, "contributions": {}, "missions": {}, "decisions": {}}
        self.gave_up = collections.Counter()
        self.gave_up_detail = []
        self.keyed_retries = collections.Counter()
        self.sockets = {}
        self.action_counts = collections.Counter()
        self.transitions = collections.Counter()
        room_of = collections.defaultdict(list)
        for room in state["rooms"]:
            for m in room["members"]:
                room_of[m].append(room["id"])
        self.room_members = {room["id"]: room["members"] for room in state["rooms"]}
        self.customer_by_id = {c["id"]: c for c in state["customers"]}
        for c in state["customers"]:
            c["rooms"] = room_of.get(c["id"], [])

    # -- helpers -----------------------------------------------------------------------

    async def keyed(self, vu, endpoint, path, body, key):
        """A money-moving request as a real client sends it: retried with the same key and
        body on 503, 500, timeouts and dropped connections (failing over to the other
        instance, as a load balancer would), and on 409 request_in_progress."""
        inst = vu["home"]
        deadline = time.monotonic() + KEYED_RETRY_FOR
        delay = 0.2
        attempt = 0
        while True:
            st, data, rh = await self.client.call(inst, "POST", endpoint, path, token=vu["token"], body=body,
                                                  headers={"Idempotency-Key": key})
            code = (data or {}).get("error", {}).get("code") if isinstance(data, dict) else None
            retry = st in ("timeout", "conn_error") or st in (500, 502, 503, 504) or (
                st == 409 and code == "request_in_progress")
            if not retry:
                return st, data
            attempt += 1
            self.keyed_retries[endpoint] += 1
            if time.monotonic() > deadline or self.stopping and attempt > 20:
                self.gave_up[endpoint] += 1
                self.gave_up_detail.append({"endpoint": endpoint, "key": key, "last_status": st, "last_code": code,
                                            "attempts": attempt, "at": now_wall()})
                return st, data
            if st == "conn_error":
                inst = other(inst)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def get(self, vu, endpoint, path, params=None, token=True, headers=None):
        st, data, _ = await self.client.call(vu["home"], "GET", endpoint, path, token=vu["token"] if token else None,
                                             params=params, headers=headers)
        return st, data

    # -- actions -------------------------------------------------------------------------

    async def a_browse(self, vu):
        await self.get(vu, "GET /products", API + "/products", {"page": self.rnd.randint(0, 5), "size": 20},
                       token=self.rnd.random() < 0.5)

    async def a_search(self, vu):
        words = [self.rnd.choice(ADJECTIVES), self.rnd.choice(NOUNS)]
        if self.rnd.random() < 0.5:
            words = [words[0][:3], words[1][:2]]  # word prefixes: "blu mu"
        q = " ".join(words[: self.rnd.randint(1, 2)])
        await self.get(vu, "GET /products?q", API + "/products", {"q": q, "size": 20}, token=self.rnd.random() < 0.5)

    async def a_detail(self, vu):
        p = self.rnd.choice(self.products)
        await self.get(vu, "GET /products/{id}", f"{API}/products/{p['id']}", token=self.rnd.random() < 0.5)

    async def a_feed(self, vu):
        anon = self.rnd.random() < 0.25
        headers = {"X-Country": "KR"} if self.rnd.random() < 0.3 else None
        await self.get(vu, "GET /feed", API + "/feed", token=not anon, headers=headers)

    async def a_cart_add(self, vu):
        pid, iid, _ = self.rnd.choice(self.items)
        st, data, _ = await self.client.call(vu["home"], "POST", "POST /cart/items", API + "/cart/items",
                                             token=vu["token"],
                                             body={"product_id": pid, "item_id": iid, "quantity": self.rnd.randint(1, 2)})
        if st == 200:
            vu["cart"] = [ln["item_id"] for ln in data["items"]]

    async def a_cart_view(self, vu):
        st, data = await self.get(vu, "GET /cart", API + "/cart")
        if st == 200:
            vu["cart"] = [ln["item_id"] for ln in data["items"]]
        return st, data

    async def a_cart_update(self, vu):
        if not vu.get("cart"):
            return await self.a_cart_add(vu)
        iid = self.rnd.choice(vu["cart"])
        st, data, _ = await self.client.call(vu["home"], "PATCH", "PATCH /cart/items/{item_id}",
                                             f"{API}/cart/items/{iid}", token=vu["token"],
                                             body={"quantity": self.rnd.randint(0, 3)})
        if st == 200:
            vu["cart"] = [ln["item_id"] for ln in data["items"]]

    async def a_cart_remove(self, vu):
        if not vu.get("cart"):
            return await self.a_cart_add(vu)
        iid = self.rnd.choice(vu["cart"])
        st, data, _ = await self.client.call(vu["home"], "DELETE", "DELETE /cart/items/{item_id}",
                                             f"{API}/cart/items/{iid}", token=vu["token"])
        if st == 200:
            vu["cart"] = [ln["item_id"] for ln in data["items"]]

    async def a_checkout(self, vu):
        st, cart = await self.a_cart_view(vu)
        if st != 200:
            return
        if not cart["items"]:
            await self.a_cart_add(vu)
            st, cart = await self.a_cart_view(vu)
            if st != 200 or not cart["items"]:
                return
        key = f"lt-order-{uuid.uuid4().hex}"
        st, data = await self.keyed(vu, "POST /orders", API + "/orders", {"expected_total": cart["total"]}, key)
        if st == 201:
            self.ok["orders"][key] = {"id": data["id"], "total": data["total"], "buyer": vu["id"]}
            vu["cart"] = []

    async def a_orders(self, vu):
        await self.get(vu, "GET /orders", API + "/orders", {"size": 10})

    async def transition(self, vu, endpoint, path, body):
        """An order transition: idempotent by state and unkeyed, so not retried; a 409
        `invalid_order_state` is the normal loser of a race (buyer cancels, seller ships)."""
        st, data, _ = await self.client.call(vu["home"], "POST", endpoint, path, token=vu["token"], body=body)
        if st == 200:
            self.transitions[endpoint] += 1
        return st, data

    async def a_order_act(self, vu):
        """The buyer acts on one line of a recent order: a shipped line is confirmed (3 of 4)
        or returned; a paid line is sometimes cancelled, otherwise left for the seller."""
        st, data = await self.get(vu, "GET /orders", API + "/orders", {"size": 10})
        if st != 200:
            return
        lines = [(o["id"], ln["item_id"], ln["status"]) for o in data["items"] for ln in o["items"]
                 if ln["status"] in ("paid", "shipped")]
        if not lines:
            return
        oid, iid, status = self.rnd.choice(lines)
        body = {"item_ids": [iid]}
        if status == "shipped":
            if self.rnd.random() < 0.75:
                await self.transition(vu, "POST /orders/{id}/confirm", f"{API}/orders/{oid}/confirm", body)
            else:
                await self.transition(vu, "POST /orders/{id}/returns", f"{API}/orders/{oid}/returns",
                                      {**body, "reason": "not as described"})
        elif self.rnd.random() < 0.3:
            await self.transition(vu, "POST /orders/{id}/cancel", f"{API}/orders/{oid}/cancel",
                                  {**body, "reason": "changed my mind"})

    async def a_wallet(self, vu):
        await self.get(vu, "GET /wallet", API + "/wallet")

    async def a_entries(self, vu):
        await self.get(vu, "GET /wallet/entries", API + "/wallet/entries", {"limit": 20})

    async def a_charge(self, vu):
        key = f"lt-charge-{uuid.uuid4().hex}"
        amount = self.rnd.randrange(10_000, 100_000, 1000)
        st, data = await self.keyed(vu, "POST /wallet/charges", API + "/wallet/charges", {"amount": amount}, key)
        if st == 201:
            self.ok["charges"][key] = {"id": data["id"], "amount": amount, "account": vu["id"]}

    async def a_rooms(self, vu):
        await self.get(vu, "GET /chat/rooms", API + "/chat/rooms")

    async def a_history(self, vu):
        if vu["rooms"]:
            room = self.rnd.choice(vu["rooms"])
            await self.get(vu, "GET /chat/rooms/{id}/messages", f"{API}/chat/rooms/{room}/messages", {"limit": 30})

    def expected_receivers(self, room, exclude_socket_of):
        exp = {}
        for m in self.room_members[room]:
            if m == exclude_socket_of:
                continue
            s = self.sockets.get(m)
            if s is not None and s.connected:
                exp[m] = self.customer_by_id[m]["home"]
        return exp

    async def a_chat_send(self, vu, via_ws=True):
        if not vu["rooms"]:
            return
        room = self.rnd.choice(vu["rooms"])
        sock = self.sockets.get(vu["id"])
        if via_ws and sock is not None and sock.connected:
            token = self.chat.new(room, vu["id"], vu["home"], self.expected_receivers(room, vu["id"]), "ws")
            t0 = now_wall()
            m0 = time.monotonic()
            reply = await sock.send(room, f"lt|{token}| hello from {vu['id']}", token)
            t1 = t0 + time.monotonic() - m0
            if reply == "timeout":
                self.stats.record("WS chat send", vu["home"], t0, t1, "timeout")
            elif reply is None:
                self.stats.record("WS chat send", vu["home"], t0, t1, "conn_error")
            elif reply.get("type") == "ack":
                self.stats.record("WS chat send", vu["home"], t0, t1, 200)
                rec = self.chat.msgs[token]
                rec["id"] = reply["message"]["id"]
                rec["stored_ack"] = True
                sock.seen(reply["message"])
            else:
                code = reply.get("code")
                self.stats.record("WS chat send", vu["home"], t0, t1, ERROR_STATUS.get(code, 400), code)
            return
        # No socket (or the HTTP path of the mix): POST; the sender's own socket receives it too.
        token = self.chat.new(room, vu["id"], vu["home"], self.expected_receivers(room, None), "http")
        st, data, _ = await self.client.call(vu["home"], "POST", "POST /chat/rooms/{id}/messages",
                                             f"{API}/chat/rooms/{room}/messages", token=vu["token"],
                                             body={"body": f"lt|{token}| posted by {vu['id']}"})
        if st == 201:
            rec = self.chat.msgs[token]
            rec["id"] = data["id"]
            rec["stored_ack"] = True

    async def a_chat_post(self, vu):
        await self.a_chat_send(vu, via_ws=False)

    async def a_missions(self, vu):
        st, data = await self.get(vu, "GET /missions", API + "/missions", {"status": "open", "size": 50})
        if st == 200:
            fresh = {}
            for m in data["items"]:
                fresh[m["id"]] = dt.datetime.fromisoformat(m["deadline"].replace("Z", "+00:00")).timestamp()
            self.open_missions = fresh

    async def a_contribute(self, vu):
        live = [(mid, d) for mid, d in self.open_missions.items() if d > now_wall() + 1]
        if not live:
            return await self.a_missions(vu)
        mid, _ = self.rnd.choice(live)
        key = f"lt-contrib-{uuid.uuid4().hex}"
        amount = self.rnd.randrange(100, 3000, 100)
        st, data = await self.keyed(vu, "POST /missions/{id}/contributions", f"{API}/missions/{mid}/contributions",
                                    {"amount": amount}, key)
        if st == 201:
            self.ok["contributions"][key] = {"id": data["id"], "mission": mid, "amount": amount, "account": vu["id"]}

    async def a_mission_create(self, vu):
        streamer = self.rnd.choice(self.state["streamers"])
        key = f"lt-mission-{uuid.uuid4().hex}"
        deadline = now_wall() + self.rnd.uniform(*self.args.mission_deadline)
        body = {"streamer_id": streamer["id"], "title": f"Load mission {key[-6:]}", "description": "load test",
                "stake": self.rnd.randrange(100, 5000, 100), "deadline": rfc3339(deadline)}
        st, data = await self.keyed(vu, "POST /missions", API + "/missions", body, key)
        if st == 201:
            self.ok["missions"][key] = {"id": data["id"], "stake": body["stake"], "creator": vu["id"]}
            self.open_missions[data["id"]] = deadline

    MIX = [
        ("browse", a_browse, 10), ("search", a_search, 14), ("detail", a_detail, 16), ("feed", a_feed, 12),
        ("cart_add", a_cart_add, 8), ("cart_view", a_cart_view, 5), ("cart_update", a_cart_update, 3),
        ("cart_remove", a_cart_remove, 2), ("checkout", a_checkout, 5), ("orders", a_orders, 2),
        ("order_act", a_order_act, 4),
        ("wallet", a_wallet, 5), ("entries", a_entries, 2), ("charge", a_charge, 2),
        ("chat_ws", a_chat_send, 6), ("chat_post", a_chat_post, 1), ("rooms", a_rooms, 2), ("history", a_history, 2),
        ("missions", a_missions, 3), ("contribute", a_contribute, 4), ("mission_create", a_mission_create, 1),
    ]

    async def vu_loop(self, vu):
        names = [m[0] for m in self.MIX]
        funcs = [m[1] for m in self.MIX]
        weights = [m[2] for m in self.MIX]
        rnd = random.Random(self.args.seed * 1000 + vu["id"])
        while not self.stopping:
            i = rnd.choices(range(len(funcs)), weights)[0]
            self.action_counts[names[i]] += 1
            errs_before = len(self.stats.events)
            await funcs[i](self, vu)
            # A client whose instance is gone backs off a little instead of spinning.
            if len(self.stats.events) > errs_before and self.stats.events[-1]["kind"] == "conn":
                await asyncio.sleep(0.2)
            await asyncio.sleep(rnd.uniform(0, self.args.think_ms / 1000.0))

    async def streamer_loop(self, streamer, inst):
        """A streamer decides some of their open missions; the rest expire."""
        rnd = random.Random(streamer["id"])
        vu = {"home": inst, "token": streamer["token"], "id": streamer["id"]}
        while not self.stopping:
            await asyncio.sleep(rnd.uniform(1.0, 2.0))
            st, data = await self.get(vu, "GET /missions?streamer_id", API + "/missions",
                                      {"streamer_id": streamer["id"], "status": "open", "size": 50})
            if st != 200:
                continue
            for m in data["items"]:
                deadline = dt.datetime.fromisoformat(m["deadline"].replace("Z", "+00:00")).timestamp()
                if deadline < now_wall() + 3 or rnd.random() > 0.25:
                    continue
                result = rnd.choices(["success", "failure", "rejected"], [5, 3, 2])[0]
                st, d, _ = await self.client.call(inst, "POST", "POST /missions/{id}/decision",
                                                  f"{API}/missions/{m['id']}/decision", token=streamer["token"],
                                                  body={"result": result})
                if st == 200:
                    self.ok["decisions"][m["id"]] = result

    async def seller_loop(self, seller):
        """A seller works through their orders: ships most paid lines (cancels one in ten)
        and decides return requests (accepts 3 of 5, restocking half of those; rejects the
        rest, which restarts the auto-confirm clock). What is left is auto-confirmed."""
        rnd = random.Random(seller["id"] * 31)
        vu = {"home": seller["home"], "token": seller["token"], "id": seller["id"]}
        base = API + "/seller/orders"
        while not self.stopping:
            await asyncio.sleep(rnd.uniform(0.2, 0.5))
            for status, pages in (("paid", 1), ("in_progress", 3)):
                for page in range(pages):
                    st, data = await self.get(vu, "GET /seller/orders", base,
                                              {"status": status, "page": page, "size": 50})
                    if st != 200:
                        break
                    for o in data["items"]:
                        if self.stopping:
                            return
                        mine = collections.defaultdict(list)
                        for ln in o["items"]:
                            mine[ln["status"]].append(ln["item_id"])
                        if mine["paid"]:
                            if rnd.random() < 0.9:
                                await self.transition(vu, "POST /seller/orders/{id}/ship", f"{base}/{o['id']}/ship",
                                                      {"item_ids": mine["paid"], "carrier": "LoadPost",
                                                       "tracking_number": f"LT{o['id']}x{seller['id']}"})
                            else:
                                await self.transition(vu, "POST /seller/orders/{id}/cancel",
                                                      f"{base}/{o['id']}/cancel",
                                                      {"item_ids": mine["paid"], "reason": "out of stock here"})
                        for iid in mine["return_requested"]:
                            if rnd.random() < 0.6:
                                await self.transition(vu, "POST /seller/orders/{id}/returns/accept",
                                                      f"{base}/{o['id']}/returns/accept",
                                                      {"item_ids": [iid], "restock": rnd.random() < 0.5})
                            else:
                                await self.transition(vu, "POST /seller/orders/{id}/returns/reject",
                                                      f"{base}/{o['id']}/returns/reject",
                                                      {"item_ids": [iid], "reason": "used"})
                    if len(data["items"]) < 50:
                        break

    # -- faults --------------------------------------------------------------------------

    async def ctl(self, *argv):
        proc = await asyncio.create_subprocess_exec(self.args.ctl, *argv, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
        out, _ = await proc.communicate()
        sys.stderr.write(out.decode(errors="replace"))
        if proc.returncode != 0:
            raise RuntimeError(f"ctl.sh {' '.join(argv)} failed ({proc.returncode})")

    async def ready(self, inst, timeout=60.0):
        """Polls /readyz until it is 200 (databases reachable)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st, _, _ = await self.client.call(inst, "GET", "readyz", "/readyz", record=False)
            if st == 200:
                return True
            await asyncio.sleep(0.2)
        return False

    async def faults(self, t0):
        d = self.args.duration
        db_fault = "freeze MariaDB (SIGSTOP) for 10 s" if self.args.db_freeze else "stop MariaDB for 10 s"
        plan = [(0.20 * d, "kill -9 instance B"), (0.43 * d, "restart Redis"), (0.63 * d, db_fault)]
        for at, name in plan:
            await asyncio.sleep(max(0.0, t0 + at - now_wall()))
            w = {"fault": name, "start": now_wall()}
            if name.startswith("kill"):
                await self.ctl("app-kill", "b")
                w["down_at"] = now_wall()
                await asyncio.sleep(self.args.b_down)
                await self.ctl("app-start", "b")
                await self.ready("B")
            elif name.startswith("restart Redis"):
                await self.ctl("redis-restart")
            else:
                await self.ctl("db-freeze" if self.args.db_freeze else "db-stop")
                w["down_at"] = now_wall()
                await asyncio.sleep(max(0.0, w["start"] + 10.0 - now_wall()))
                await self.ctl("db-thaw" if self.args.db_freeze else "db-start")
                w["db_up_at"] = now_wall()
                await asyncio.gather(self.ready("A"), self.ready("B"))
            w["end"] = now_wall()
            self.windows.append(w)
            print(f"fault: {name}: {w['end'] - w['start']:.1f} s window", file=sys.stderr)

    # -- backlog monitor ---------------------------------------------------------------

    def sample_backlog(self):
        try:
            if self.mon_db is None:
                self.mon_db = sql_connect(self.args, timeout=2)
            with self.mon_db.cursor() as cur:
                cur.execute("SELECT (SELECT COUNT(*) FROM account_outbox WHERE status = 'pending') + "
                            "(SELECT COUNT(*) FROM mission_outbox WHERE status = 'pending'), "
                            "(SELECT COUNT(*) FROM orders WHERE status = 'pending')")
                outbox, orders = cur.fetchone()
                return int(outbox), int(orders)
        except pymysql.MySQLError:
            try:
                if self.mon_db is not None:
                    self.mon_db.close()
            except pymysql.MySQLError:
                pass
            self.mon_db = None
            return None, None

    async def monitor(self):
        """Outbox backlog and pending checkouts once a second (None while MariaDB is down)."""
        self.mon_db = None
        while True:
            outbox, orders = await asyncio.to_thread(self.sample_backlog)
            self.backlog.append((now_wall(), outbox, orders))
            await asyncio.sleep(1.0)

    # -- main ----------------------------------------------------------------------------

    async def main(self):
        args = self.args
        async with Client(self.state["bases"], self.stats) as client:
            self.client = client
            customers = self.state["customers"]
            sock_tasks = []
            for c in customers:
                if c["rooms"]:
                    s = Socket(self, c)
                    self.sockets[c["id"]] = s
                    sock_tasks.append(asyncio.ensure_future(s.loop()))
            for _ in range(100):
                if all(s.connected for s in self.sockets.values()):
                    break
                await asyncio.sleep(0.1)
            t0 = now_wall()
            self.stats.t_start = t0
            await self.a_missions({"home": "A", "token": customers[0]["token"], "id": customers[0]["id"]})
            tasks = [asyncio.ensure_future(self.vu_loop(c)) for c in customers]
            tasks += [asyncio.ensure_future(self.streamer_loop(s, "AB"[i % 2]))
                      for i, s in enumerate(self.state["streamers"])]
            tasks += [asyncio.ensure_future(self.seller_loop(s)) for s in self.state["sellers"]]
            fault_task = asyncio.ensure_future(self.faults(t0)) if args.faults else None
            progress = asyncio.ensure_future(self.progress(t0))
            monitor = asyncio.ensure_future(self.monitor())
            await asyncio.sleep(args.duration)
            if fault_task and not fault_task.done():
                print("waiting for the fault sequence to finish", file=sys.stderr)
                await fault_task
            self.stopping = True
            # In-flight requests finish (each is bounded by the client timeout; keyed retries
            # stop after 20 attempts).
            await asyncio.wait(tasks, timeout=KEYED_RETRY_FOR + REQUEST_TIMEOUT)
            for t in tasks:
                t.cancel()
            self.stats.t_end = now_wall()
            progress.cancel()
            monitor.cancel()
            if fault_task:
                await fault_task
            # Live deliveries still on the wire get a grace period before sockets close.
            await asyncio.sleep(3.0)
            for s in self.sockets.values():
                if s.ws is not None:
                    await s.ws.close()
            await asyncio.wait(sock_tasks, timeout=10)
            for t in sock_tasks:
                t.cancel()
        self.save()

    async def progress(self, t0):
        last = 0
        while True:
            await asyncio.sleep(10)
            n = sum(len(v) for v in self.stats.lat.values())
            ev = collections.Counter(e["kind"] for e in self.stats.events)
            print(f"  t={now_wall() - t0:5.0f}s  {(n - last) / 10:7.1f} req/s  5xx={ev['5xx']} hangs={ev['hang']} "
                  f"conn_errors={ev['conn']}", file=sys.stderr, flush=True)
            last = n

    def save(self):
        st = self.stats
        out = {
            "duration": st.t_end - st.t_start, "t_start": st.t_start, "t_end": st.t_end,
            "concurrency": self.args.concurrency, "faults": self.args.faults,
            "mix": {name: w for name, _, w in self.MIX}, "action_counts": dict(self.action_counts),
            "latencies": {k: v for k, v in st.lat.items()}, "codes": {k: dict(v) for k, v in st.codes.items()},
            "err_codes": {k: dict(v) for k, v in st.err_codes.items()},
            "by_instance": dict(st.by_instance), "events": st.events, "windows": self.windows,
            "ok": self.ok, "transitions": dict(self.transitions), "gave_up": dict(self.gave_up), "gave_up_detail": self.gave_up_detail, "keyed_retries": dict(self.keyed_retries),
            "chat": list(self.chat.msgs.values()), "backlog": self.backlog,
            "sockets": {str(k): {"reconnects": s.reconnects, "caught_up": s.caught_up, "resyncs": s.resyncs}
                        for k, s in self.sockets.items()},
        }
        for m in out["chat"]:
            m.pop("m0", None)
        with open(os.path.join(self.args.out, "run.json"), "w") as f:
            json.dump(out, f)


async def run(args):
    with open(os.path.join(args.out, "state.json")) as f:
        state = json.load(f)
    await Run(args, state).main()


# --------------------------------------------------------------------------------------
# Check
# --------------------------------------------------------------------------------------

class Checks:
    def __init__(self, outbox_bound=60.0):
        self.items = []
        self.outbox_bound = outbox_bound
        self.outbox_delay = {}

    def add(self, name, ok, detail=""):
        self.items.append({"check": name, "ok": bool(ok), "detail": str(detail)})

    @property
    def failed(self):
        return [c for c in self.items if not c["ok"]]


def q(db, sql, params=None):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def q1(db, sql, params=None):
    rows = q(db, sql, params)
    return rows[0][0] if rows else None


def settle_state(db):
    """What still has to settle: pending orders, funding missions, pending contributions,
    open missions past their deadline, decided/expired missions not settled, outbox rows."""
    return {
        "pending_orders": q1(db, "SELECT COUNT(*) FROM orders WHERE status = 'pending'"),
        # An order line's money step (sale + fee, or refund) still owed after its transition.
        "line_money_due": q1(db, "SELECT COUNT(*) FROM order_lines WHERE money_due IS NOT NULL"),
        # Shipped lines the auto-confirmation worker will confirm soon (all of them when the
        # suite runs with its short order.auto_confirm_secs): no confirmation races the checks.
        "auto_confirm_due_within_30s": q1(db, "SELECT COUNT(*) FROM order_lines WHERE status = 'shipped' "
                                              "AND auto_confirm_at <= UTC_TIMESTAMP(6) + INTERVAL 30 SECOND"),
        "funding_missions": q1(db, "SELECT COUNT(*) FROM missions WHERE status = 'funding'"),
        "pending_contributions": q1(db, "SELECT COUNT(*) FROM mission_contributions WHERE status = 'pending'"),
        # Open missions about to expire are waited for too, so that no expiry races the checks.
        "open_due_within_20s": q1(db, "SELECT COUNT(*) FROM missions WHERE status = 'open' "
                                      "AND deadline <= UTC_TIMESTAMP(6) + INTERVAL 20 SECOND"),
        "unsettled": q1(db, "SELECT COUNT(*) FROM missions WHERE status IN ('succeeded','failed','rejected','expired') "
                            "AND NOT settled"),
        "outbox_pending": q1(db, "SELECT (SELECT COUNT(*) FROM account_outbox WHERE status = 'pending') + "
                                 "(SELECT COUNT(*) FROM mission_outbox WHERE status = 'pending') + "
                                 "(SELECT COUNT(*) FROM order_outbox WHERE status = 'pending')"),
    }


def wait_settled(db, limit, run_end):
    """Polls until nothing is left to settle (or `limit` seconds); returns (state, seconds
    after the end of the load when the outbox was empty, seconds waited)."""
    t0 = time.time()
    drained_at = None
    first = True
    while True:
        s = settle_state(db)
        if s["outbox_pending"] == 0 and drained_at is None:
            drained_at = time.time()
        if all(v == 0 for v in s.values()):
            if drained_at is None:
                drained_at = time.time()
            return s, (drained_at - run_end, first and s["outbox_pending"] == 0), time.time() - t0
        if s["outbox_pending"] != 0:
            drained_at = None
        if time.time() - t0 > limit:
            return s, None, time.time() - t0
        first = False
        time.sleep(1.0)


def invariants(db, state, runj, checks):
    # ---- money -------------------------------------------------------------------------
    total = q1(db, "SELECT CAST(COALESCE(SUM(balance),0) AS SIGNED) FROM wallets")
    checks.add("money conserved: all wallet balances (system, escrow, accounts) sum to 0", total == 0, f"sum={total}")
    gateway = q1(db, "SELECT balance FROM wallets WHERE wallet_key = 'system:gateway'") or 0
    confirmed = q1(db, "SELECT CAST(COALESCE(SUM(amount),0) AS SIGNED) FROM charges WHERE status = 'confirmed'")
    checks.add("money in = confirmed charges: -balance(system:gateway) == sum of confirmed charges",
               -gateway == confirmed, f"gateway={gateway} confirmed={confirmed}")
    # Confirmed lines' fees sit in system:fees: still money charged in, held by the platform.
    held = q1(db, "SELECT CAST(COALESCE(SUM(balance),0) AS SIGNED) FROM wallets "
                  "WHERE wallet_key NOT LIKE 'system:%' OR wallet_key = 'system:fees'")
    checks.add("money held by accounts, escrows and system:fees == money charged in", held == confirmed,
               f"held={held} charged={confirmed}")
    bad = q(db, "SELECT w.wallet_key, w.balance, CAST(COALESCE(SUM(e.amount),0) AS SIGNED) s FROM wallets w "
                "LEFT JOIN ledger_entries e ON e.wallet_id = w.id GROUP BY w.id HAVING w.balance <> s")
    checks.add("every wallet balance == sum of its ledger entries", not bad, f"{len(bad)} mismatched {bad[:3]}")
    bad = q(db, "SELECT w.wallet_key, w.balance, e.balance_after FROM wallets w JOIN ledger_entries e ON e.id = "
                "(SELECT MAX(id) FROM ledger_entries x WHERE x.wallet_id = w.id) WHERE e.balance_after <> w.balance")
    checks.add("every wallet balance == balance_after of its last entry", not bad, f"{len(bad)} mismatched {bad[:3]}")
    bad = q(db, "SELECT t.id, t.amount, COUNT(e.id), CAST(COALESCE(SUM(e.amount),0) AS SIGNED) s, "
                "CAST(COALESCE(SUM(ABS(e.amount)),0) AS SIGNED) a FROM transfers t LEFT JOIN ledger_entries e "
                "ON e.transfer_id = t.id WHERE NOT t.cancelled GROUP BY t.id HAVING COUNT(e.id) <> 2 OR s <> 0 "
                "OR a <> 2 * t.amount")
    checks.add("every applied transfer has exactly two entries, -amount and +amount", not bad,
               f"{len(bad)} bad {bad[:3]}")
    orphan = q1(db, "SELECT COUNT(*) FROM ledger_entries e LEFT JOIN transfers t ON t.id = e.transfer_id "
                    "WHERE t.id IS NULL OR t.cancelled")
    checks.add("no ledger entry without an applied transfer", orphan == 0, f"{orphan} orphans")
    neg = q(db, "SELECT wallet_key, balance FROM wallets WHERE balance < 0 AND NOT allow_negative")
    checks.add("no negative balance (except system wallets, which the design allows)", not neg, f"{neg[:5]}")
    neg_ok = q(db, "SELECT wallet_key FROM wallets WHERE allow_negative AND wallet_key NOT LIKE 'system:%'")
    checks.add("only system:* wallets may go negative", not neg_ok, f"{neg_ok[:5]}")
    # Every charge the client saw confirmed is stored once, confirmed, with its amount.
    acked = runj["ok"]["charges"]
    rows = {r[0]: r for r in q(db, "SELECT id, amount, status, account_id FROM charges")}
    missing = [k for k, v in acked.items() if v["id"] not in rows or rows[v["id"]][2] != "confirmed"
               or rows[v["id"]][1] != v["amount"]]
    checks.add("every charge acknowledged to a client (201) is confirmed with its amount", not missing,
               f"{len(acked)} acknowledged, {len(missing)} missing")
    dup = q1(db, "SELECT COUNT(*) FROM (SELECT account_id, client_key FROM charges GROUP BY account_id, client_key "
                 "HAVING COUNT(*) > 1) x")
    checks.add("no charge applied twice for one Idempotency-Key", dup == 0, f"{dup} duplicated keys")
    # ---- stock and orders ----------------------------------------------------------------
    # Orders past checkout: their status is derived from the lines (API.md "Line status").
    placed = "o.status IN ('paid','in_progress','completed','cancelled')"
    neg = q1(db, "SELECT COUNT(*) FROM product_items WHERE stock < 0 OR reserved < 0 OR reserved > stock")
    checks.add("no negative stock, 0 <= reserved <= stock", neg == 0, f"{neg} items off")
    # On hand moves only by shipping (stock -= q) and by a return accepted with restock (+= q).
    t_setup = state["t_setup_db"]
    shipped = dict(q(db, "SELECT l.item_id, CAST(SUM(l.quantity) AS SIGNED) FROM order_shipments s JOIN order_lines l "
                         "ON l.order_id = s.order_id AND l.item_id = s.item_id WHERE s.shipped_at >= %s "
                         "GROUP BY l.item_id", (t_setup,)))
    restocked = collections.Counter()
    for (payload,) in q(db, "SELECT payload FROM order_outbox WHERE topic = 'order.order_refunded' AND created_at >= %s",
                        (t_setup,)):
        ev = json.loads(payload)
        ev = ev.get("payload", ev) if isinstance(ev, dict) else ev
        if ev.get("restocked"):
            restocked[ev["line"]["item_id"]] += ev["line"]["quantity"]
    cur = {i: (st, rs) for i, st, rs in q(db, "SELECT id, stock, reserved FROM product_items")}
    bad = [(i, s0, cur.get(int(i)), shipped.get(int(i), 0), restocked.get(int(i), 0))
           for i, s0 in state["initial_stock"].items()
           if s0 - cur.get(int(i), (0, 0))[0] != shipped.get(int(i), 0) - restocked.get(int(i), 0)]
    checks.add("stock conserved: initial - on hand == shipped - restocked, for every item", not bad,
               f"{len(bad)} items off {bad[:3]}; {sum(shipped.values())} units shipped, "
               f"{sum(restocked.values())} restocked")
    held = dict(q(db, "SELECT l.item_id, CAST(SUM(l.quantity) AS SIGNED) FROM order_lines l JOIN orders o ON "
                      "o.id = l.order_id WHERE (" + placed + " AND l.status = 'paid') OR o.status = 'pending' "
                      "GROUP BY l.item_id"))
    bad = [(i, rs, held.get(i, 0)) for i, (_, rs) in cur.items() if rs != held.get(i, 0)]
    checks.add("reserved == quantity of unshipped (paid) lines and pending checkouts, for every item", not bad,
               f"{len(bad)} items off {bad[:3]}")
    pend = q(db, "SELECT status, COUNT(*) FROM orders WHERE status = 'pending' GROUP BY status")
    checks.add("no order stuck pending (after the saga recovery ran)", not pend, f"{pend}")
    bad = q(db, "SELECT o.id, o.total, t.amount FROM orders o LEFT JOIN transfers t ON t.idempotency_key = "
                "CONCAT('order:', o.id, ':debit') AND NOT t.cancelled WHERE " + placed + " AND o.total > 0 "
                "AND (t.id IS NULL OR t.amount <> o.total)")
    checks.add("every placed order debited its buyer exactly its total", not bad, f"{len(bad)} bad {bad[:3]}")
    bad = q(db, "SELECT o.id, o.total, CAST(COALESCE(SUM(l.price * l.quantity),0) AS SIGNED) s FROM orders o "
                "LEFT JOIN order_lines l ON l.order_id = o.id WHERE " + placed + " GROUP BY o.id HAVING s <> o.total")
    checks.add("every placed order's total == sum of its lines", not bad, f"{len(bad)} bad {bad[:3]}")
    # Money per line (keys order:{id}:line:{item}:sale|fee|refund): a confirmed line paid its
    # seller line_total - fee and system:fees the fee; a cancelled or refunded line returned
    # line_total to the buyer; any other line moved nothing yet.
    leg = ("CAST(COALESCE((SELECT SUM(t.amount) FROM transfers t WHERE t.idempotency_key = CONCAT('order:', "
           "l.order_id, ':line:', l.item_id, ':{}') AND NOT t.cancelled), 0) AS SIGNED)")
    lines = q(db, "SELECT l.order_id, l.item_id, l.status, CAST(l.price * l.quantity AS SIGNED), l.fee, "
                  f"{leg.format('sale')}, {leg.format('fee')}, {leg.format('refund')} "
                  "FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE " + placed)
    by_status = collections.Counter(ln[2] for ln in lines)
    bad_fee, bad_money = [], []
    for oid, iid, status, total, fee, sale, fee_paid, refund in lines:
        if fee != total * COMMISSION_BPS // 10000:
            bad_fee.append((oid, iid, total, fee))
        if status == "confirmed":
            want = (total - fee, fee, 0)
        elif status in ("cancelled", "refunded"):
            want = (0, 0, total)
        else:
            want = (0, 0, 0)
        if (sale, fee_paid, refund) != want:
            bad_money.append((oid, iid, status, total, fee, (sale, fee_paid, refund), want))
    checks.add(f"every line's fee == floor(line_total x {COMMISSION_BPS} / 10000)", not bad_fee,
               f"{len(bad_fee)} bad {bad_fee[:3]}")
    checks.add("confirmed lines paid their seller line_total - fee and system:fees the fee; cancelled and "
               "refunded lines returned line_total to the buyer; other lines moved nothing", not bad_money,
               f"{len(lines)} lines {dict(by_status)}; {len(bad_money)} bad {bad_money[:3]}")
    fees = q1(db, "SELECT balance FROM wallets WHERE wallet_key = 'system:fees'") or 0
    want = sum(ln[4] for ln in lines if ln[2] == "confirmed")
    checks.add("system:fees holds exactly the fees of the confirmed lines", fees == want,
               f"system:fees={fees} sum of confirmed fees={want}")
    bad = q(db, "SELECT o.id, o.status, COALESCE(w.balance, 0) b, CAST(COALESCE(SUM(CASE WHEN l.status IN "
                "('paid','shipped','return_requested') THEN l.price * l.quantity ELSE 0 END), 0) AS SIGNED) open_total "
                "FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id LEFT JOIN wallets w ON w.wallet_key = "
                "CONCAT('escrow:order:', o.id) WHERE o.status <> 'pending' GROUP BY o.id, o.status, w.balance "
                "HAVING b <> CASE WHEN o.status = 'failed' THEN 0 ELSE open_total END")
    finals = q1(db, "SELECT COUNT(*) FROM orders o WHERE " + placed + " AND NOT EXISTS (SELECT 1 FROM order_lines l "
                    "WHERE l.order_id = o.id AND l.status NOT IN ('confirmed','cancelled','refunded'))")
    checks.add("every order's escrow holds exactly its lines not yet final: 0 once every line is final "
               "(and for every failed checkout)", not bad, f"{finals} orders all final; {len(bad)} bad {bad[:3]}")
    bad = q(db, "SELECT o.id FROM orders o JOIN transfers t ON t.idempotency_key = CONCAT('order:', o.id, ':debit') "
                "AND NOT t.cancelled WHERE o.status = 'failed'")
    checks.add("no failed (compensated) order kept the buyer's money", not bad, f"{len(bad)} bad {bad[:3]}")
    n = q1(db, "SELECT COUNT(*) FROM order_lines WHERE money_due IS NOT NULL")
    checks.add("no order line still owes a money step", n == 0, f"{n} owed")
    acked = runj["ok"]["orders"]
    rows = {r[0]: r for r in q(db, "SELECT id, status, total, buyer_id FROM orders o WHERE " + placed)}
    missing = [k for k, v in acked.items() if v["id"] not in rows or rows[v["id"]][2] != v["total"]]
    checks.add("every order acknowledged to a client (201) is placed with its total", not missing,
               f"{len(acked)} acknowledged, {len(missing)} missing")
    # What became of the keyed requests a client gave up on (reported, not judged: the
    # client never learnt the outcome; GET /orders would show it).
    for g in runj.get("gave_up_detail", []):
        if g["endpoint"] == "POST /orders":
            row = q(db, "SELECT id, status FROM orders WHERE client_key = %s", (g["key"],))
            g["outcome"] = f"order {row[0][0]} {row[0][1]}" if row else "no order holds the key (failed, key freed)"
        elif g["endpoint"] == "POST /wallet/charges":
            row = q(db, "SELECT id, status FROM charges WHERE client_key = %s", (g["key"],))
            g["outcome"] = f"charge {row[0][0]} {row[0][1]}" if row else "no charge"
        elif g["endpoint"] == "POST /missions/{id}/contributions":
            row = q(db, "SELECT id, status FROM mission_contributions WHERE client_key = %s", (g["key"],))
            g["outcome"] = f"contribution {row[0][0]} {row[0][1]}" if row else "no contribution holds the key"
        elif g["endpoint"] == "POST /missions":
            row = q(db, "SELECT id, status FROM missions WHERE client_key = %s", (g["key"],))
            g["outcome"] = f"mission {row[0][0]} {row[0][1]}" if row else "no mission holds the key"
    # ---- missions ------------------------------------------------------------------------
    n = q1(db, "SELECT COUNT(*) FROM missions WHERE status = 'open' AND deadline <= UTC_TIMESTAMP(6)")
    checks.add("no mission open past its deadline", n == 0, f"{n}")
    n = q1(db, "SELECT COUNT(*) FROM missions WHERE deadline <= UTC_TIMESTAMP(6) AND status <> 'void' "
               "AND NOT settled")
    checks.add("every mission past its deadline is settled", n == 0, f"{n} unsettled")
    n = q1(db, "SELECT COUNT(*) FROM missions WHERE status IN ('succeeded','failed','rejected','expired') AND NOT settled")
    checks.add("every decided or expired mission is settled", n == 0, f"{n} unsettled")
    n = q1(db, "SELECT COUNT(*) FROM missions WHERE status = 'funding'")
    m = q1(db, "SELECT COUNT(*) FROM mission_contributions WHERE status = 'pending'")
    checks.add("no mission stuck funding, no contribution stuck pending", n == 0 and m == 0, f"funding={n} pending={m}")
    bad = q(db, "SELECT m.id, m.pool, CAST(COALESCE(SUM(c.amount),0) AS SIGNED) s FROM missions m LEFT JOIN "
                "mission_contributions c ON c.mission_id = m.id AND c.status = 'done' WHERE m.status <> 'void' "
                "GROUP BY m.id HAVING s <> m.pool")
    checks.add("every mission's pool == sum of its done contributions (stake included)", not bad,
               f"{len(bad)} bad {bad[:3]}")
    bad = q(db, "SELECT m.id, w.balance FROM missions m JOIN wallets w ON w.wallet_key = CONCAT('escrow:mission:', m.id) "
                "WHERE m.settled AND w.balance <> 0")
    checks.add("every settled mission's escrow holds 0", not bad, f"{len(bad)} bad {bad[:3]}")
    bad = q(db, "SELECT m.id, m.pool, COALESCE(w.balance, 0) FROM missions m LEFT JOIN wallets w ON w.wallet_key = "
                "CONCAT('escrow:mission:', m.id) WHERE m.status = 'open' AND COALESCE(w.balance, 0) <> m.pool")
    checks.add("every open mission's escrow holds exactly its pool", not bad, f"{len(bad)} bad {bad[:3]}")
    bad = q(db, "SELECT m.id, m.pool, CAST(COALESCE(SUM(t.amount),0) AS SIGNED) s FROM missions m LEFT JOIN transfers t "
                "ON t.idempotency_key = CONCAT('mission:', m.id, ':payout') AND NOT t.cancelled "
                "WHERE m.status = 'succeeded' AND m.settled GROUP BY m.id HAVING s <> m.pool")
    checks.add("every succeeded mission paid its whole pool to the streamer", not bad, f"{len(bad)} bad {bad[:3]}")
    bad = q(db, "SELECT m.id, m.pool, CAST(COALESCE(SUM(t.amount),0) AS SIGNED) s FROM missions m LEFT JOIN transfers t "
                "ON t.idempotency_key LIKE CONCAT('mission:', m.id, ':refund:%') AND NOT t.cancelled "
                "WHERE m.status IN ('failed','rejected','expired') AND m.settled GROUP BY m.id HAVING s <> m.pool")
    checks.add("every failed/rejected/expired mission refunded exactly its pool", not bad, f"{len(bad)} bad {bad[:3]}")
    acked = runj["ok"]["contributions"]
    done = {r[0] for r in q(db, "SELECT id FROM mission_contributions WHERE status = 'done'")}
    missing = [k for k, v in acked.items() if v["id"] not in done]
    checks.add("every contribution acknowledged to a client (201) is done", not missing,
               f"{len(acked)} acknowledged, {len(missing)} missing")
    # ---- outbox --------------------------------------------------------------------------
    delays = []
    for table in ("account_outbox", "mission_outbox", "order_outbox"):
        delays += [float(d) for (d,) in q(db, f"SELECT TIMESTAMPDIFF(MICROSECOND, created_at, processed_at) / 1e6 "
                                             f"FROM {table} WHERE status = 'done' AND processed_at IS NOT NULL")]
    delays.sort()
    checks.outbox_delay = {"rows": len(delays), "p50_s": pct(delays, 50), "p99_s": pct(delays, 99),
                           "max_s": delays[-1] if delays else None}
    checks.add(f"outbox drains in bounded time: every row processed within {checks.outbox_bound:.0f} s of its commit",
               not delays or delays[-1] <= checks.outbox_bound,
               f"{len(delays)} rows, p50 {pct(delays, 50)} s, p99 {pct(delays, 99)} s, max {delays[-1] if delays else None} s")
    for table in ("account_outbox", "mission_outbox", "order_outbox"):
        pending = q1(db, f"SELECT COUNT(*) FROM {table} WHERE status = 'pending'")
        parked = q1(db, f"SELECT COUNT(*) FROM {table} WHERE status = 'parked'")
        checks.add(f"{table} drained (no pending rows) and nothing parked", pending == 0 and parked == 0,
                   f"pending={pending} parked={parked}")
    # ---- chat ----------------------------------------------------------------------------
    acked = [m for m in runj["chat"] if m["stored_ack"]]
    stored = {}
    ids = [m["id"] for m in acked]
    for i in range(0, len(ids), 1000):
        chunk = ids[i:i + 1000]
        if chunk:
            for mid, room, sender, body in q(db, "SELECT id, room_id, sender_id, body FROM chat_messages WHERE id IN (" +
                                             ",".join(str(int(x)) for x in chunk) + ")"):
                stored[mid] = (room, sender, body)
    lost = [m for m in acked if m["id"] not in stored or stored[m["id"]][0] != m["room"]
            or f"lt|{m['token']}|" not in stored[m["id"]][2]]
    checks.add("no chat message lost: every acknowledged message is stored in its room", not lost,
               f"{len(acked)} acknowledged, {len(lost)} lost")


async def verify_missed(state, runj, misses):
    """Every live message a socket missed must be retrievable by that receiver with ?after=."""
    tokens = {c["id"]: (c["token"], c["home"]) for c in state["customers"]}
    by_receiver_room = collections.defaultdict(set)
    for m, receiver in misses:
        by_receiver_room[(receiver, m["room"])].add(m["id"])
    found = 0
    not_found = 0
    stats = Stats()
    async with Client(state["bases"], stats) as c:
        for (receiver, room), ids in by_receiver_room.items():
            token, home = tokens[receiver]
            after = min(ids) - 1
            want = set(ids)
            top = max(ids)
            for _ in range(1000):
                st, data, _ = await c.call(home, "GET", "after", f"{API}/chat/rooms/{room}/messages", token=token,
                                           params={"after": after, "limit": 100})
                if st != 200:
                    st, data, _ = await c.call(other(home), "GET", "after", f"{API}/chat/rooms/{room}/messages",
                                               token=token, params={"after": after, "limit": 100})
                if st != 200 or not data["items"]:
                    break
                for it in data["items"]:
                    want.discard(it["id"])
                after = data["items"][-1]["id"]
                if after >= top or not want:
                    break
            found += len(ids) - len(want)
            not_found += len(want)
    return found, not_found


# The statuses below 500 that docs/api.md allows for each request as the load sends it (5xx,
# timeouts and connection errors are judged by the other checks). Products and items are
# never deleted during the run, so e.g. a 404 for a checkout or a product is a bug.
ALLOWED = {
    "GET /products": {200}, "GET /products?q": {200}, "GET /products/{id}": {200}, "GET /feed": {200},
    "POST /cart/items": {200, 409}, "GET /cart": {200},
    # the line may have gone meanwhile (bought, or removed by reconciliation at stock 0)
    "PATCH /cart/items/{item_id}": {200, 404, 409}, "DELETE /cart/items/{item_id}": {200, 404},
    "POST /orders": {201, 409}, "GET /orders": {200}, "GET /seller/orders": {200},
    # 409 invalid_order_state: the line moved meanwhile (a race between buyer and seller)
    "POST /orders/{id}/confirm": {200, 409}, "POST /orders/{id}/returns": {200, 409},
    "POST /orders/{id}/cancel": {200, 409}, "POST /seller/orders/{id}/ship": {200, 409},
    "POST /seller/orders/{id}/cancel": {200, 409}, "POST /seller/orders/{id}/returns/accept": {200, 409},
    "POST /seller/orders/{id}/returns/reject": {200, 409},
    "GET /wallet": {200}, "GET /wallet/entries": {200}, "POST /wallet/charges": {201},
    "GET /chat/rooms": {200}, "GET /chat/rooms/{id}/messages": {200}, "GET /chat/rooms/{id}/messages?after": {200},
    "POST /chat/rooms/{id}/messages": {201}, "WS chat send": {200}, "WS connect": {101},
    "GET /missions": {200}, "GET /missions?streamer_id": {200}, "POST /missions": {201, 409},
    "POST /missions/{id}/contributions": {201, 409}, "POST /missions/{id}/decision": {200, 409},
}


def in_window(ev, windows, grace):
    for w in windows:
        if ev["t1"] >= w["start"] and ev["t0"] <= w["end"] + grace:
            return w["fault"]
    return None


def build_report(args, state, runj, checks, settle, drained_after, waited):
    dur = runj["duration"]
    endpoints = {}
    total = 0
    for ep, lats in sorted(runj["latencies"].items()):
        s = sorted(lats)
        total += len(s)
        endpoints[ep] = {"count": len(s), "rps": round(len(s) / dur, 2), "p50": pct(s, 50), "p90": pct(s, 90),
                         "p99": pct(s, 99), "max": s[-1] if s else None, "codes": runj["codes"].get(ep, {}),
                         "errors": runj["err_codes"].get(ep, {})}
    events = runj["events"]
    windows = runj["windows"]
    grace = args.grace
    fivexx = [e for e in events if e["kind"] == "5xx"]
    hangs = [e for e in events if e["kind"] == "hang"]
    conns = [e for e in events if e["kind"] == "conn"]
    for e in events:
        e["window"] = in_window(e, windows, grace)
    not503 = [e for e in fivexx if e["status"] != 503]
    outside = [e for e in fivexx if e["window"] is None]
    kill_windows = [w for w in windows if w["fault"].startswith("kill")]
    conn_expected = [e for e in conns if e["inst"] == "B" and any(
        e["t1"] >= w["start"] and e["t0"] <= w["end"] + grace for w in kill_windows)]
    conn_unexpected = [e for e in conns if e not in conn_expected]
    # Chat delivery.
    lat_same, lat_cross = [], []
    delivered = missed = recovered_by_client = 0
    misses = []
    for m in runj["chat"]:
        if not m["stored_ack"]:
            continue
        for rid, inst in m["expected"].items():
            got = m["delivered"].get(rid) or m["delivered"].get(int(rid))
            if got:
                delivered += 1
                (lat_same if inst == m["sender_inst"] else lat_cross).append(got[0])
            else:
                missed += 1
                misses.append((m, int(rid)))
                rec = m.get("recovered") or {}
                if rid in rec or str(rid) in rec:
                    recovered_by_client += 1
    found, not_found = asyncio.run(verify_missed(state, runj, misses)) if misses else (0, 0)
    checks.add("every live chat message a socket missed is retrievable with ?after=", not_found == 0,
               f"{missed} missed live, {found} retrieved, {not_found} not retrievable")
    lat_all = sorted(lat_same + lat_cross)
    lat_cross.sort()
    misses_by_window = collections.Counter(
        in_window({"t0": m["wall"], "t1": m["wall"]}, windows, grace) or "outside windows" for m, _ in misses)
    chat = {"messages_sent": len(runj["chat"]), "acknowledged": sum(1 for m in runj["chat"] if m["stored_ack"]),
            "expected_live_deliveries": delivered + missed, "delivered": delivered, "missed": missed,
            "missed_by_window": dict(misses_by_window), "missed_retrieved_with_after": found,
            "missed_recovered_by_client_catch_up": recovered_by_client,
            "resync_frames": sum(s.get("resyncs", 0) for s in runj["sockets"].values()),
            "p50_ms": pct(lat_all, 50), "p90_ms": pct(lat_all, 90), "p99_ms": pct(lat_all, 99),
            "max_ms": lat_all[-1] if lat_all else None,
            "cross_instance": {"n": len(lat_cross), "p50_ms": pct(lat_cross, 50), "p99_ms": pct(lat_cross, 99)},
            "socket_reconnects": sum(s["reconnects"] for s in runj["sockets"].values()),
            "caught_up_after_reconnect": sum(s["caught_up"] for s in runj["sockets"].values())}
    # Checks on the traffic itself.
    unexpected = []
    for ep, codes in runj["codes"].items():
        for code, n in codes.items():
            if code.isdigit() and int(code) < 500 and int(code) not in ALLOWED.get(ep, {int(code)}):
                unexpected.append(f"{ep} {code} x{n} {runj['err_codes'].get(ep, {})}")
    checks.add("every status below 500 is one the contract allows for that request", not unexpected,
               "; ".join(unexpected))
    checks.add("no 5xx other than 503", not not503, f"{len(not503)}: " + "; ".join(
        f"{e['status']} {e['endpoint']} on {e['inst']} ({e['code']}, window={e['window']})" for e in not503[:10]))
    slow503 = [e for e in fivexx if e["status"] == 503 and e["ms"] > 5000]
    checks.add("every 503 answered within 5 s (docs/api.md)", not slow503, f"{len(slow503)} slower; slowest " + str(max(
        [e["ms"] for e in fivexx if e["status"] == 503] or [0])) + " ms")
    checks.add("no 5xx outside the outage windows", not outside, f"{len(outside)}: " + "; ".join(
        f"{e['status']} {e['endpoint']} on {e['inst']} at +{e['t0'] - runj['t_start']:.1f}s" for e in outside[:10]))
    checks.add("no hangs (no request without an answer within 10 s)", not hangs, f"{len(hangs)}: " + "; ".join(
        f"{e['endpoint']} on {e['inst']} at +{e['t0'] - runj['t_start']:.1f}s" for e in hangs[:10]))
    checks.add("no connection errors except to the killed instance while it was down", not conn_unexpected,
               f"{len(conn_unexpected)} unexpected: " + "; ".join(
                   f"{e['endpoint']} on {e['inst']} at +{e['t0'] - runj['t_start']:.1f}s" for e in conn_unexpected[:10]))
    if args.drain_limit is not None:
        checks.add(f"sagas and outbox settle within {args.drain_limit:.0f} s after the load",
                   all(v == 0 for v in settle.values()), f"{settle} after waiting {waited:.0f} s")
    per_window = []
    for w in windows:
        evs = [e for e in events if e["window"] == w["fault"]]
        slow503 = max([e["ms"] for e in evs if e["kind"] == "5xx" and e["status"] == 503] or [0])
        per_window.append({
            "fault": w["fault"], "start_offset_s": round(w["start"] - runj["t_start"], 1),
            "end_offset_s": round(w["end"] - runj["t_start"], 1), "length_s": round(w["end"] - w["start"], 1),
            "statuses": dict(collections.Counter(str(e["status"]) for e in evs if e["kind"] != "slow")),
            "by_instance": dict(collections.Counter(e["inst"] for e in evs if e["kind"] != "slow")),
            "slowest_503_ms": slow503, "chat_missed_live": misses_by_window.get(w["fault"], 0),
            "answers_slower_than_5s": sum(1 for e in evs if e["ms"] > 5000),
        })
    backlog = runj.get("backlog", [])
    peak = max([b[1] for b in backlog if b[1] is not None] or [0])
    peak_orders = max([b[2] for b in backlog if b[2] is not None] or [0])
    db_windows = [w for w in windows if "MariaDB" in w["fault"]]
    drained_after_db = None
    if db_windows:
        w_end = db_windows[-1]["end"]
        after = [b for b in backlog if b[0] >= w_end and b[1] is not None]
        zero = next((b for b in after if b[1] == 0), None)
        drained_after_db = None if zero is None else round(zero[0] - w_end, 1)
    report = {
        "mode": "faults" if runj["faults"] else "load", "duration_s": round(dur, 1),
        "concurrency": runj["concurrency"], "mix_weights": runj["mix"], "actions": runj["action_counts"],
        "requests": total, "rps": round(total / dur, 1), "by_instance": runj["by_instance"],
        "endpoints": endpoints, "chat": chat,
        "errors": {"answers_slower_than_5s": sum(1 for e in events if e["ms"] > 5000), "5xx": len(fivexx), "5xx_not_503": len(not503), "5xx_outside_windows": len(outside),
                   "hangs": len(hangs), "conn_errors": len(conns), "conn_errors_to_killed_instance": len(conn_expected),
                   "conn_errors_unexpected": len(conn_unexpected)},
        "windows": per_window, "grace_s": grace,
        "order_transitions": runj.get("transitions", {}), "client_acknowledged": {k: len(v) for k, v in runj["ok"].items()},
        "keyed_retries": runj["keyed_retries"], "keyed_gave_up": runj["gave_up"],
        "keyed_gave_up_detail": [dict(g, at_offset_s=round(g["at"] - runj["t_start"], 1))
                                 for g in runj.get("gave_up_detail", [])],
        "backlog": {"outbox_pending_peak": peak, "pending_checkouts_peak": peak_orders,
                    "outbox_empty_s_after_mariadb_back": drained_after_db},
        "outbox_delay": checks.outbox_delay,
        "settle": {"remaining": settle, "outbox_drained_s_after_load": None if drained_after is None
                   else round(drained_after[0], 1),
                   "outbox_already_empty_at_first_check": None if drained_after is None else drained_after[1],
                   "waited_s": round(waited, 1)},
        "checks": checks.items, "passed": not checks.failed,
    }
    return report


def fmt_ms(v):
    return "-" if v is None else f"{v:.0f}" if v >= 10 else f"{v:.1f}"


def text_report(r):
    lines = []
    lines.append(f"== {r['mode']} run: {r['duration_s']} s, {r['concurrency']} virtual users, two instances ==")
    lines.append(f"requests: {r['requests']}  throughput: {r['rps']} req/s  per instance: {r['by_instance']}")
    lines.append("")
    lines.append(f"{'endpoint':44} {'count':>7} {'req/s':>7} {'p50':>6} {'p90':>6} {'p99':>6} {'max':>6}  statuses")
    for ep, e in sorted(r["endpoints"].items(), key=lambda kv: -kv[1]["count"]):
        codes = " ".join(f"{k}:{v}" for k, v in sorted(e["codes"].items()))
        lines.append(f"{ep[:44]:44} {e['count']:7d} {e['rps']:7.1f} {fmt_ms(e['p50']):>6} {fmt_ms(e['p90']):>6} "
                     f"{fmt_ms(e['p99']):>6} {fmt_ms(e['max']):>6}  {codes}")
    lines.append("(latencies in ms)")
    lines.append("")
    errs = collections.Counter()
    for e in r["endpoints"].values():
        errs.update(e["errors"])
    if errs:
        lines.append("4xx/5xx by code: " + ", ".join(f"{k} ×{v}" for k, v in errs.most_common()))
    c = r["chat"]
    lines.append(f"chat: {c['acknowledged']}/{c['messages_sent']} messages acknowledged; live deliveries "
                 f"{c['delivered']}/{c['expected_live_deliveries']} (missed {c['missed']}: {c['missed_by_window']}; "
                 f"{c['missed_retrieved_with_after']} of them retrieved with ?after= by the checker, "
                 f"{c.get('missed_recovered_by_client_catch_up', 0)} already fetched by the clients' own catch-up after "
                 f"{c.get('resync_frames', 0)} resync frames / reconnects); latency p50 {fmt_ms(c['p50_ms'])} "
                 f"p90 {fmt_ms(c['p90_ms'])} p99 {fmt_ms(c['p99_ms'])} max {fmt_ms(c['max_ms'])} ms; cross-instance "
                 f"(sender on one, receiver on the other) n={c['cross_instance']['n']} p50 "
                 f"{fmt_ms(c['cross_instance']['p50_ms'])} p99 {fmt_ms(c['cross_instance']['p99_ms'])} ms; "
                 f"socket reconnects {c['socket_reconnects']}, caught up {c['caught_up_after_reconnect']}")
    lines.append(f"order transitions answered 200: {r['order_transitions']}")
    lines.append(f"acknowledged to clients: {r['client_acknowledged']}; keyed retries: {r['keyed_retries']}; "
                 f"gave up: {r['keyed_gave_up']}")
    for g in r.get("keyed_gave_up_detail", []):
        lines.append(f"  gave up: {g['endpoint']} after {g['attempts']} retries at +{g['at_offset_s']} s, last answer "
                     f"{g['last_status']} {g['last_code'] or ''} (key {g['key']}); in the end: {g.get('outcome', '?')}")
    e = r["errors"]
    lines.append(f"errors: 5xx={e['5xx']} (not 503: {e['5xx_not_503']}, outside windows: {e['5xx_outside_windows']}), "
                 f"hangs={e['hangs']}, connection errors={e['conn_errors']} (to the killed instance: "
                 f"{e['conn_errors_to_killed_instance']}, unexpected: {e['conn_errors_unexpected']}); "
                 f"answers slower than 5 s (hangs included): {e['answers_slower_than_5s']}")
    for w in r["windows"]:
        lines.append(f"fault '{w['fault']}': +{w['start_offset_s']} s .. +{w['end_offset_s']} s ({w['length_s']} s, "
                     f"grace {r['grace_s']} s): {w['statuses'] or 'no errors'} by instance {w['by_instance']}; "
                     f"slowest 503 {w['slowest_503_ms']:.0f} ms; answers slower than 5 s {w['answers_slower_than_5s']}; "
                     f"live chat messages missed {w['chat_missed_live']}")
    s = r["settle"]
    b = r["backlog"]
    lines.append(f"during the run: outbox backlog peak {b['outbox_pending_peak']} rows, pending checkouts peak "
                 f"{b['pending_checkouts_peak']}" + ("" if b["outbox_empty_s_after_mariadb_back"] is None and
                                                    not r["windows"] else
                                                    f"; outbox empty {b['outbox_empty_s_after_mariadb_back']} s after "
                                                    f"MariaDB was back"))
    when = ("never (limit reached)" if s["outbox_drained_s_after_load"] is None else
            f"{'<= ' if s['outbox_already_empty_at_first_check'] else ''}{s['outbox_drained_s_after_load']} s after the "
            f"load{' (already empty at the first check)' if s['outbox_already_empty_at_first_check'] else ''}")
    lines.append(f"settling: outbox empty for good {when} (missions expiring after the load keep adding rows); "
                 f"waited {s['waited_s']} s for everything to settle; left: {s['remaining']}")
    od = r.get("outbox_delay") or {}
    if od:
        lines.append(f"outbox delay (commit -> processed) over {od['rows']} rows: p50 {od['p50_s']} s, "
                     f"p99 {od['p99_s']} s, max {od['max_s']} s")
    lines.append("")
    lines.append("checks:")
    for ch in r["checks"]:
        lines.append(f"  [{'PASS' if ch['ok'] else 'FAIL'}] {ch['check']}" + (f"  ({ch['detail']})" if ch["detail"] else ""))
    n_fail = sum(1 for ch in r["checks"] if not ch["ok"])
    lines.append(f"{len(r['checks']) - n_fail} passed, {n_fail} failed")
    return "\n".join(lines)


def check(args):
    with open(os.path.join(args.out, "state.json")) as f:
        state = json.load(f)
    with open(os.path.join(args.out, "run.json")) as f:
        runj = json.load(f)
    db = sql_connect(args)
    print(f"check: waiting up to {args.drain_limit:.0f} s for sagas, expiry and the outbox to settle", file=sys.stderr)
    settle, drained_after, waited = wait_settled(db, args.drain_limit, runj["t_end"])
    checks = Checks(args.outbox_bound)
    invariants(db, state, runj, checks)
    db.close()
    report = build_report(args, state, runj, checks, settle, drained_after, waited)
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    text = text_report(report)
    with open(os.path.join(args.out, "report.txt"), "w") as f:
        f.write(text + "\n")
    print(text)
    return 0 if report["passed"] else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("phase", choices=["setup", "run", "check"])
    p.add_argument("--a", default="http://127.0.0.1:18281", help="base URL of instance A")
    p.add_argument("--b", default="http://127.0.0.1:18282", help="base URL of instance B")
    p.add_argument("--db-port", type=int, default=3407)
    p.add_argument("--out", required=True, help="results directory (state.json, run.json, report.*)")
    p.add_argument("--concurrency", type=int, default=32, help="virtual users (customers)")
    p.add_argument("--duration", type=float, default=120.0)
    p.add_argument("--sellers", type=int, default=4)
    p.add_argument("--streamers", type=int, default=3)
    p.add_argument("--products-per-seller", type=int, default=30)
    p.add_argument("--opening-balance", type=int, default=3_000_000)
    p.add_argument("--think-ms", type=float, default=20.0, help="max think time between a user's actions")
    p.add_argument("--mission-deadline", type=float, nargs=2, default=[15.0, 60.0], metavar=("MIN", "MAX"),
                   help="seconds from creation to a new mission's deadline")
    p.add_argument("--faults", action="store_true")
    p.add_argument("--db-freeze", action="store_true", help="SIGSTOP MariaDB instead of stopping it")
    p.add_argument("--b-down", type=float, default=8.0, help="seconds instance B stays dead")
    p.add_argument("--ctl", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "ctl.sh"))
    p.add_argument("--grace", type=float, default=3.0, help="seconds after a window's end still counted in it")
    p.add_argument("--outbox-bound", type=float, default=60.0, help="max seconds from enqueue to processing")
    p.add_argument("--drain-limit", type=float, default=150.0, help="max seconds to wait for settling")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.phase == "setup":
        asyncio.run(setup(args))
    elif args.phase == "run":
        asyncio.run(run(args))
    else:
        sys.exit(check(args))


if __name__ == "__main__":
    main()
