//! The authorization matrix: every operation of the OpenAPI document, called as anonymous,
//! customer, another customer, seller, another seller, streamer and admin, on the owner's
//! resources and on others', each answer checked against docs/api.md: 401 without a token, 403
//! for a wrong role, 404 for resources of someone else, 2xx for whoever may call.
//!
//! Every caller a rule refuses up front (anonymous 401, another role 403) is also tried with
//! an empty, a malformed and a non-JSON body: authorization comes before the body is read.
//!
//! Each operation needs a rule below. A new route without a rule, or a rule whose route is
//! gone, fails the test; so does a route mounted in actix but missing from the document.

use crate::helpers::*;
use contracts::Role;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Anonymous,
    Customer,
    OtherCustomer,
    Seller,
    OtherSeller,
    Streamer,
    Admin,
}

const CALLERS: [Who; 7] =
    [Who::Anonymous, Who::Customer, Who::OtherCustomer, Who::Seller, Who::OtherSeller, Who::Streamer, Who::Admin];

impl Who {
    fn role(self) -> Option<Role> {
        match self {
            Who::Anonymous => None,
            Who::Customer | Who::OtherCustomer => Some(Role::Customer),
            Who::Seller | Who::OtherSeller => Some(Role::Seller),
            Who::Streamer => Some(Role::Streamer),
            Who::Admin => Some(Role::Admin),
        }
    }
}

/// Who may call an operation, and what the others get.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Everybody, with or without a token (the token is not looked at).
    Public,
    /// Everybody; a token is optional but an invalid one is 401 (`/feed`, `/products`).
    OptionalToken,
    /// Any authenticated account; anonymous 401.
    Authenticated,
    /// Only this role (both accounts of it); other roles 403, anonymous 401.
    HasRole(Role),
    /// Only these roles; other roles 403, anonymous 401.
    Roles(&'static [Role]),
    /// Only this role, and only on the first account's own resource: the second account
    /// of the role gets 404, other roles 403, anonymous 401.
    Owner(Role),
    /// Any role, only the owner (`Who`): every other account 404, anonymous 401.
    OwnerOnly(Who),
    /// Chat rooms of the customer and the seller: other accounts 404, anonymous 401.
    Members,
    /// Any authenticated account except this one (403), anonymous 401.
    AllBut(Who),
    /// Only this account; the others 403, anonymous 401.
    Only(Who),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Status(u16),
}

impl Access {
    fn expect(self, who: Who) -> Expect {
        use Expect::{Allowed, Status};
        if matches!(self, Access::Public | Access::OptionalToken) {
            return Allowed;
        }
        if who == Who::Anonymous {
            return Status(401);
        }
        match self {
            Access::Public | Access::OptionalToken | Access::Authenticated => Allowed,
            Access::HasRole(role) if who.role() == Some(role) => Allowed,
            Access::HasRole(_) => Status(403),
            Access::Roles(roles) if who.role().is_some_and(|r| roles.contains(&r)) => Allowed,
            Access::Roles(_) => Status(403),
            Access::Owner(role) if who.role() != Some(role) => Status(403),
            Access::Owner(_) if matches!(who, Who::Customer | Who::Seller) => Allowed,
            Access::Owner(_) => Status(404),
            Access::OwnerOnly(owner) if owner == who => Allowed,
            Access::OwnerOnly(_) => Status(404),
            Access::Members if matches!(who, Who::Customer | Who::Seller) => Allowed,
            Access::Members => Status(404),
            Access::AllBut(excluded) if excluded == who => Status(403),
            Access::AllBut(_) => Allowed,
            Access::Only(only) if only == who => Allowed,
            Access::Only(_) => Status(403),
        }
    }
}

/// One call: path parameters, query string, body and extra headers.
#[derive(Default)]
struct Call {
    args: Vec<(&'static str, String)>,
    query: String,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

impl Call {
    fn new() -> Self {
        Call::default()
    }
    fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }
    fn query(mut self, query: impl Into<String>) -> Self {
        self.query = query.into();
        self
    }
    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// State to set up right before an operation's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Before {
    Nothing,
    /// Both customers get one unit of the cart item, read back (no pending messages).
    FillCarts,
}

struct Rule {
    method: &'static str,
    path: &'static str,
    access: Access,
    /// The statuses an allowed caller may get.
    ok: &'static [u16],
    before: Before,
    call: fn(&Fx, Who) -> Call,
}

fn rule(
    method: &'static str,
    path: &'static str,
    access: Access,
    ok: &'static [u16],
    call: fn(&Fx, Who) -> Call,
) -> Rule {
    Rule { method, path, access, ok, before: Before::Nothing, call }
}

/// The fixtures the calls point at.
struct Fx {
    users: BTreeMap<Who, User>,
    bystander: User,
    product: i64,
    cart_item: i64,
    patch_item: i64,
    item_to_delete: i64,
    product_to_delete: i64,
    charge: i64,
    payout: i64,
    order: i64,
    room: i64,
    invite_room: i64,
    message: i64,
    mission: i64,
    decision_mission: i64,
    device: i64,
    row: i64,
    row_to_delete: i64,
    ad_slot_to_delete: i64,
    report: i64,
    suspendable: i64,
    verify_tokens: Mutex<Vec<String>>,
    reset_tokens: Mutex<Vec<String>>,
    refresh_tokens: Mutex<Vec<String>>,
    login: (String, String),
    counter: AtomicUsize,
}

impl Fx {
    fn id(&self, who: Who) -> i64 {
        self.users[&who].id
    }
    fn n(&self) -> usize {
        self.counter.fetch_add(1, Ordering::SeqCst)
    }
    fn pop(list: &Mutex<Vec<String>>) -> String {
        list.lock().unwrap().pop().expect("enough single-use tokens prepared")
    }
    fn password(&self, who: Who) -> String {
        self.users.get(&who).map(|u| u.password.clone()).unwrap_or_default()
    }
}

const OK: &[u16] = &[200];
/// Who may cash out earnings.
const EARNERS: &[Role] = &[Role::Seller, Role::Streamer];

fn payout_body() -> Value {
    json!({ "amount": 10_000, "bank_code": "088", "account_number": "1104455667788", "account_holder": "Matrix" })
}
const CREATED: &[u16] = &[201];
const NO_CONTENT: &[u16] = &[204];
const ACCEPTED: &[u16] = &[202];

fn deadline() -> String {
    (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339()
}

/// Every operation of the document, in the order they are exercised (state-changing ones
/// last within their resource, and on resources of their own).
fn rules() -> Vec<Rule> {
    use Access::*;
    vec![
        // Operations.
        rule("GET", "/healthz", Public, OK, |_, _| Call::new()),
        rule("GET", "/readyz", Public, OK, |_, _| Call::new()),
        rule("GET", "/metrics", Public, OK, |_, _| Call::new()),
        // Accounts and auth.
        rule("POST", "/api/v1/auth/signup", Public, CREATED, |fx, _| {
            Call::new().body(json!({
                "email": format!("matrix-signup-{}-{}@example.com", fx.n(), platform::testkit::unique_suffix().replace('_', "-")),
                "password": "correct horse battery", "name": "Signup", "role": "customer"
            }))
        }),
        rule("GET", "/api/v1/auth/verify-email", Public, OK, |fx, _| {
            Call::new().query(format!("token={}", Fx::pop(&fx.verify_tokens)))
        }),
        rule("POST", "/api/v1/auth/verify-email", Public, OK, |fx, _| {
            Call::new().body(json!({ "token": Fx::pop(&fx.verify_tokens) }))
        }),
        rule("POST", "/api/v1/auth/resend-verification", Public, ACCEPTED, |fx, _| {
            Call::new().body(json!({ "email": fx.bystander.email }))
        }),
        rule("POST", "/api/v1/auth/login", Public, OK, |fx, _| {
            Call::new().body(json!({ "email": fx.login.0, "password": fx.login.1 }))
        }),
        rule("POST", "/api/v1/auth/refresh", Public, OK, |fx, _| {
            Call::new().body(json!({ "refresh_token": Fx::pop(&fx.refresh_tokens) }))
        }),
        rule("POST", "/api/v1/auth/logout", Public, NO_CONTENT, |fx, _| {
            Call::new().body(json!({ "refresh_token": Fx::pop(&fx.refresh_tokens) }))
        }),
        rule("POST", "/api/v1/auth/password-reset", Public, ACCEPTED, |fx, _| {
            Call::new().body(json!({ "email": fx.bystander.email }))
        }),
        rule("POST", "/api/v1/auth/password-reset/confirm", Public, NO_CONTENT, |fx, _| {
            Call::new().body(json!({ "token": Fx::pop(&fx.reset_tokens), "new_password": "another horse battery" }))
        }),
        rule("GET", "/api/v1/accounts/me", Authenticated, OK, |_, _| Call::new()),
        rule("PATCH", "/api/v1/accounts/me", Authenticated, OK, |fx, _| {
            Call::new().body(json!({ "name": format!("Renamed {}", fx.n()) }))
        }),
        rule("POST", "/api/v1/accounts/me/password", Authenticated, NO_CONTENT, |fx, who| {
            // The same password again: the change goes through and later logins still work.
            Call::new().body(json!({ "current_password": fx.password(who), "new_password": fx.password(who) }))
        }),
        rule("GET", "/api/v1/accounts/{id}", Authenticated, OK, |fx, _| Call::new().arg("id", fx.id(Who::Seller))),
        rule("GET", "/api/v1/accounts", Authenticated, OK, |_, _| Call::new().query("q=test&page=0&size=5")),
        // Wallet.
        rule("GET", "/api/v1/wallet", Authenticated, OK, |_, _| Call::new()),
        rule("GET", "/api/v1/wallet/entries", Authenticated, OK, |_, _| Call::new().query("limit=10")),
        rule("POST", "/api/v1/wallet/charges", Authenticated, CREATED, |_, _| {
            Call::new().body(json!({ "amount": 1000 }))
        }),
        rule("GET", "/api/v1/wallet/charges/{id}", OwnerOnly(Who::Customer), OK, |fx, _| {
            Call::new().arg("id", fx.charge)
        }),
        rule("POST", "/api/v1/wallet/charges/{id}/confirm", OwnerOnly(Who::Customer), OK, |fx, _| {
            Call::new().arg("id", fx.charge).body(json!({ "payment_key": "sandbox-key" }))
        }),
        rule("POST", "/api/v1/wallet/charges/{id}/refund", OwnerOnly(Who::Customer), &[200, 202, 409], |fx, _| {
            Call::new().arg("id", fx.charge).body(json!({ "amount": 1 }))
        }),
        rule("GET", "/api/v1/wallet/payouts", Authenticated, OK, |_, _| Call::new()),
        rule("GET", "/api/v1/wallet/payouts/{id}", OwnerOnly(Who::Seller), OK, |fx, _| {
            Call::new().arg("id", fx.payout)
        }),
        rule("POST", "/api/v1/wallet/payouts", Roles(EARNERS), CREATED, |_, _| Call::new().body(payout_body())),
        rule("GET", "/api/v1/admin/charges", HasRole(Role::Admin), OK, |_, _| Call::new().query("attention=true")),
        rule("GET", "/api/v1/admin/payouts", HasRole(Role::Admin), OK, |_, _| Call::new()),
        rule("GET", "/api/v1/admin/ledger/audit", HasRole(Role::Admin), OK, |_, _| Call::new()),
        rule("GET", "/api/v1/admin/outbox", HasRole(Role::Admin), OK, |_, _| Call::new().query("status=parked")),
        // No parked row in the fixtures: an admin gets past authorization to the unknown id.
        rule("POST", "/api/v1/admin/outbox/{module}/{id}/retry", HasRole(Role::Admin), &[404], |_, _| {
            Call::new().arg("module", "mission").arg("id", i64::MAX)
        }),
        rule("POST", "/webhooks/toss", Public, OK, |_, _| {
            Call::new().body(json!({ "eventType": "PAYMENT_STATUS_CHANGED" }))
        }),
        // Catalog.
        rule("GET", "/api/v1/products", OptionalToken, OK, |_, _| Call::new().query("q=matrix&page=0&size=10")),
        rule("GET", "/api/v1/products/{id}", OptionalToken, OK, |fx, _| Call::new().arg("id", fx.product)),
        rule("POST", "/api/v1/seller/products", HasRole(Role::Seller), CREATED, |fx, _| {
            Call::new().body(json!({
                "name": format!("Matrix new {}", fx.n()), "description": "made by the matrix",
                "items": [{ "name": "only", "price": 10, "stock": 1 }]
            }))
        }),
        rule("GET", "/api/v1/seller/products", HasRole(Role::Seller), OK, |_, _| Call::new().query("page=0&size=10")),
        rule("PATCH", "/api/v1/seller/products/{id}", Owner(Role::Seller), OK, |fx, _| {
            Call::new().arg("id", fx.product).body(json!({ "description": format!("edited {}", fx.n()) }))
        }),
        rule("POST", "/api/v1/seller/products/{id}/items", Owner(Role::Seller), CREATED, |fx, _| {
            Call::new()
                .arg("id", fx.product)
                .body(json!({ "name": format!("extra {}", fx.n()), "price": 5, "stock": 5 }))
        }),
        rule("PATCH", "/api/v1/seller/products/{id}/items/{item_id}", Owner(Role::Seller), OK, |fx, _| {
            Call::new().arg("id", fx.product).arg("item_id", fx.patch_item).body(json!({ "stock": 50 }))
        }),
        rule("DELETE", "/api/v1/seller/products/{id}/items/{item_id}", Owner(Role::Seller), NO_CONTENT, |fx, _| {
            Call::new().arg("id", fx.product).arg("item_id", fx.item_to_delete)
        }),
        rule("DELETE", "/api/v1/seller/products/{id}", Owner(Role::Seller), NO_CONTENT, |fx, _| {
            Call::new().arg("id", fx.product_to_delete)
        }),
        // Cart.
        rule("GET", "/api/v1/cart", HasRole(Role::Customer), OK, |_, _| Call::new()),
        rule("POST", "/api/v1/cart/items", HasRole(Role::Customer), OK, |fx, _| {
            Call::new().body(json!({ "product_id": fx.product, "item_id": fx.cart_item, "quantity": 1 }))
        }),
        rule("PATCH", "/api/v1/cart/items/{item_id}", HasRole(Role::Customer), OK, |fx, _| {
            Call::new().arg("item_id", fx.cart_item).body(json!({ "quantity": 1 }))
        }),
        rule("DELETE", "/api/v1/cart/items/{item_id}", HasRole(Role::Customer), OK, |fx, _| {
            Call::new().arg("item_id", fx.cart_item)
        }),
        rule("DELETE", "/api/v1/cart", HasRole(Role::Customer), NO_CONTENT, |_, _| Call::new()),
        // Orders.
        Rule {
            before: Before::FillCarts,
            ..rule("POST", "/api/v1/orders", HasRole(Role::Customer), CREATED, |_, _| Call::new().body(json!({})))
        },
        rule("GET", "/api/v1/orders", HasRole(Role::Customer), OK, |_, _| Call::new().query("page=0&size=10")),
        rule("GET", "/api/v1/orders/{id}", Owner(Role::Customer), OK, |fx, _| Call::new().arg("id", fx.order)),
        rule("GET", "/api/v1/seller/orders", HasRole(Role::Seller), OK, |_, _| Call::new().query("page=0&size=10")),
        rule("GET", "/api/v1/seller/orders/{id}", Owner(Role::Seller), OK, |fx, _| Call::new().arg("id", fx.order)),
        rule("GET", "/api/v1/admin/orders/{id}", HasRole(Role::Admin), OK, |fx, _| Call::new().arg("id", fx.order)),
        // Transitions: allowed callers get 200, or 409 once an earlier rule moved the line on.
        rule("POST", "/api/v1/orders/{id}/returns", Owner(Role::Customer), &[200, 409], |fx, _| {
            Call::new().arg("id", fx.order).body(json!({ "reason": "matrix" }))
        }),
        rule("POST", "/api/v1/orders/{id}/confirm", Owner(Role::Customer), &[200, 409], |fx, _| {
            Call::new().arg("id", fx.order).body(json!({}))
        }),
        rule("POST", "/api/v1/seller/orders/{id}/ship", Owner(Role::Seller), &[200, 409], |fx, _| {
            Call::new().arg("id", fx.order).body(json!({ "carrier": "CJ", "tracking_number": "1" }))
        }),
        rule("POST", "/api/v1/seller/orders/{id}/returns/reject", Owner(Role::Seller), &[200, 409], |fx, _| {
            Call::new().arg("id", fx.order).body(json!({ "reason": "matrix" }))
        }),
        rule("POST", "/api/v1/seller/orders/{id}/returns/accept", Owner(Role::Seller), &[200, 409], |fx, _| {
            Call::new().arg("id", fx.order).body(json!({ "restock": true }))
        }),
        rule("POST", "/api/v1/orders/{id}/cancel", Owner(Role::Customer), &[200, 409], |fx, _| {
            Call::new().arg("id", fx.order).body(json!({}))
        }),
        rule("POST", "/api/v1/seller/orders/{id}/cancel", Owner(Role::Seller), &[200, 409], |fx, _| {
            Call::new().arg("id", fx.order).body(json!({ "reason": "matrix" }))
        }),
        rule("POST", "/api/v1/admin/orders/{id}/refund", HasRole(Role::Admin), &[200, 409], |fx, _| {
            Call::new().arg("id", fx.order).body(json!({ "reason": "matrix" }))
        }),
        // Chat.
        rule("POST", "/api/v1/chat/rooms", Authenticated, CREATED, |fx, _| {
            Call::new().body(json!({ "name": "matrix", "member_ids": [fx.bystander.id] }))
        }),
        rule("POST", "/api/v1/chat/rooms/direct", Authenticated, &[200, 201], |fx, who| {
            let other = if who == Who::Streamer { fx.id(Who::Customer) } else { fx.id(Who::Streamer) };
            Call::new().body(json!({ "user_id": other }))
        }),
        rule("GET", "/api/v1/chat/rooms", Authenticated, OK, |_, _| Call::new()),
        rule("GET", "/api/v1/chat/rooms/{id}", Members, OK, |fx, _| Call::new().arg("id", fx.room)),
        rule("GET", "/api/v1/chat/rooms/{id}/members", Members, OK, |fx, _| Call::new().arg("id", fx.room)),
        rule("POST", "/api/v1/chat/rooms/{id}/members", Members, OK, |fx, _| {
            Call::new().arg("id", fx.invite_room).body(json!({ "user_ids": [fx.bystander.id] }))
        }),
        rule("POST", "/api/v1/chat/rooms/{id}/messages", Members, CREATED, |fx, _| {
            Call::new().arg("id", fx.room).body(json!({ "body": "hello from the matrix" }))
        }),
        rule("GET", "/api/v1/chat/rooms/{id}/messages", Members, OK, |fx, _| {
            Call::new().arg("id", fx.room).query("limit=10")
        }),
        rule("POST", "/api/v1/chat/rooms/{id}/read", Members, NO_CONTENT, |fx, _| {
            Call::new().arg("id", fx.room).body(json!({ "message_id": fx.message }))
        }),
        rule("GET", "/api/v1/chat/users", Authenticated, OK, |_, _| Call::new().query("q=test&role=seller")),
        rule("GET", "/api/v1/chat/ws", Authenticated, &[101], |_, _| {
            Call::new()
                .header("Connection", "Upgrade")
                .header("Upgrade", "websocket")
                .header("Sec-WebSocket-Version", "13")
                .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        }),
        // Missions.
        rule("POST", "/api/v1/missions", AllBut(Who::Streamer), CREATED, |fx, _| {
            Call::new().body(json!({
                "streamer_id": fx.id(Who::Streamer), "title": format!("Matrix {}", fx.n()),
                "description": "", "stake": 100, "deadline": deadline()
            }))
        }),
        rule("GET", "/api/v1/missions", Authenticated, OK, |_, _| Call::new().query("status=open&page=0&size=10")),
        rule("GET", "/api/v1/missions/{id}", Authenticated, OK, |fx, _| Call::new().arg("id", fx.mission)),
        rule("POST", "/api/v1/missions/{id}/contributions", AllBut(Who::Streamer), CREATED, |fx, _| {
            Call::new().arg("id", fx.mission).body(json!({ "amount": 100 }))
        }),
        rule("GET", "/api/v1/missions/{id}/contributions", Authenticated, OK, |fx, _| {
            Call::new().arg("id", fx.mission).query("page=0&size=10")
        }),
        rule("POST", "/api/v1/missions/{id}/decision", Only(Who::Streamer), OK, |fx, _| {
            Call::new().arg("id", fx.decision_mission).body(json!({ "result": "success" }))
        }),
        // Notifications: everyone has an inbox; devices are their owner's.
        rule("GET", "/api/v1/notifications", Authenticated, OK, |_, _| Call::new().query("limit=10&unread=true")),
        rule("GET", "/api/v1/notifications/unread-count", Authenticated, OK, |_, _| Call::new()),
        rule("POST", "/api/v1/notifications/read", Authenticated, NO_CONTENT, |_, _| {
            Call::new().body(json!({ "all": true }))
        }),
        rule("POST", "/api/v1/notifications/devices", Authenticated, CREATED, |fx, _| {
            Call::new().body(json!({ "platform": "android", "token": format!("matrix-token-{}", fx.n()) }))
        }),
        rule("DELETE", "/api/v1/notifications/devices/{id}", OwnerOnly(Who::Customer), NO_CONTENT, |fx, _| {
            Call::new().arg("id", fx.device)
        }),
        rule("GET", "/api/v1/notifications/preferences", Authenticated, OK, |_, _| Call::new()),
        rule("PUT", "/api/v1/notifications/preferences", Authenticated, OK, |_, _| {
            Call::new().body(json!({ "muted_kinds": ["chat_message"] }))
        }),
        // Feed.
        rule("GET", "/api/v1/feed", OptionalToken, OK, |_, _| Call::new().header("X-Country", "KR")),
        rule("GET", "/api/v1/admin/feed/rows", HasRole(Role::Admin), OK, |_, _| Call::new()),
        rule("POST", "/api/v1/admin/feed/rows", HasRole(Role::Admin), CREATED, |fx, _| {
            Call::new()
                .body(json!({ "row_provider_type": "NOTICE", "position": 50, "title": format!("Notice {}", fx.n()) }))
        }),
        rule("PUT", "/api/v1/admin/feed/rows/{id}", HasRole(Role::Admin), OK, |fx, _| {
            Call::new()
                .arg("id", fx.row)
                .body(json!({ "row_provider_type": "NOTICE", "position": 51, "title": "Replaced" }))
        }),
        rule("DELETE", "/api/v1/admin/feed/rows/{id}", HasRole(Role::Admin), NO_CONTENT, |fx, _| {
            Call::new().arg("id", fx.row_to_delete)
        }),
        rule("POST", "/api/v1/admin/feed/preview", HasRole(Role::Admin), OK, |fx, _| {
            Call::new().body(json!({ "account_id": fx.id(Who::Customer), "country": "KR" }))
        }),
        rule("GET", "/api/v1/admin/feed/ad-slots", HasRole(Role::Admin), OK, |_, _| Call::new()),
        // Reports and moderation.
        // Each caller reports the bystander: a first report (201), or the same one again (200).
        rule("POST", "/api/v1/reports", Authenticated, &[200, 201], |fx, _| {
            Call::new().body(json!({ "target_type": "account", "target_id": fx.bystander.id, "reason": "spam" }))
        }),
        rule("GET", "/api/v1/reports", Authenticated, OK, |_, _| Call::new().query("page=0&size=10")),
        rule("GET", "/api/v1/admin/reports", HasRole(Role::Admin), OK, |_, _| Call::new().query("status=open")),
        rule("POST", "/api/v1/admin/reports/{id}/resolve", HasRole(Role::Admin), OK, |fx, _| {
            Call::new().arg("id", fx.report).body(json!({ "action": "dismiss", "note": "matrix" }))
        }),
        rule("GET", "/api/v1/admin/accounts", HasRole(Role::Admin), OK, |_, _| Call::new().query("q=test&page=0")),
        rule("POST", "/api/v1/admin/accounts/{id}/suspend", HasRole(Role::Admin), OK, |fx, _| {
            Call::new().arg("id", fx.suspendable).body(json!({ "reason": "matrix" }))
        }),
        rule("POST", "/api/v1/admin/accounts/{id}/reinstate", HasRole(Role::Admin), OK, |fx, _| {
            Call::new().arg("id", fx.suspendable)
        }),
        // Chat blocks (of the bystander, whom nobody else talks to in the matrix).
        rule("POST", "/api/v1/chat/blocks", Authenticated, CREATED, |fx, _| {
            Call::new().body(json!({ "user_id": fx.bystander.id }))
        }),
        rule("GET", "/api/v1/chat/blocks", Authenticated, OK, |_, _| Call::new()),
        rule("DELETE", "/api/v1/chat/blocks/{user_id}", Authenticated, NO_CONTENT, |fx, _| {
            Call::new().arg("user_id", fx.bystander.id)
        }),
        rule("POST", "/api/v1/admin/feed/ad-slots", HasRole(Role::Admin), CREATED, |fx, _| {
            Call::new().body(json!({
                "slot_name": format!("matrix-{}", fx.n()), "title": "Ad",
                "image_url": "https://example.com/a.png", "link_url": "https://example.com/"
            }))
        }),
        rule("DELETE", "/api/v1/admin/feed/ad-slots/{id}", HasRole(Role::Admin), NO_CONTENT, |fx, _| {
            Call::new().arg("id", fx.ad_slot_to_delete)
        }),
    ]
}

/// `(METHOD, path)` of every operation in the document.
fn document_operations() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(app::openapi_document()).unwrap();
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete", "head", "options", "trace"] {
            if item.get(method).is_some() {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

/// The statuses the document declares for each `(METHOD, path)`.
fn declared_statuses() -> BTreeMap<(String, String), BTreeSet<u16>> {
    let doc = serde_json::to_value(app::openapi_document()).unwrap();
    let mut declared = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(responses) = operation.get("responses").and_then(Value::as_object) else { continue };
            let statuses = responses.keys().filter_map(|s| s.parse().ok()).collect();
            declared.insert((method.to_uppercase(), path.clone()), statuses);
        }
    }
    declared
}

fn fill(template: &str, args: &[(&str, String)]) -> String {
    let mut path = template.to_string();
    for (name, value) in args {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    assert!(!path.contains('{'), "unfilled path parameter in {path}");
    path
}

async fn prepare(fx: &Fx, before: Before) {
    match before {
        Before::Nothing => {}
        Before::FillCarts => {
            for who in [Who::Customer, Who::OtherCustomer] {
                let customer = &fx.users[&who];
                let body = json!({ "product_id": fx.product, "item_id": fx.cart_item, "quantity": 1 });
                customer.post("/cart/items", &body).returns::<Cart>(200).await;
                customer.get("/cart").returns::<Cart>(200).await;
            }
        }
    }
}

/// The call at the document's full path (`/healthz`, `/api/v1/…`).
async fn send(app: &TestApp, method: &str, path: &str, token: Option<&str>, call: &Call) -> (u16, String) {
    let url = if call.query.is_empty() { path.to_string() } else { format!("{path}?{}", call.query) };
    let caller = match token {
        Some(token) => app.with_token(token),
        None => app.client().clone(),
    };
    let mut req = caller.request_root(Method::from_bytes(method.as_bytes()).unwrap(), &url);
    if method == "POST" {
        req = req.idempotency_key(format!("matrix-{}", platform::testkit::unique_suffix()));
    }
    for (name, value) in &call.headers {
        req = req.header(name, value);
    }
    if let Some(body) = &call.body {
        req = req.json(body);
    }
    let res = req.await;
    let status = res.status();
    (status, res.text().await)
}

#[tokio::test]
async fn every_operation_answers_each_caller_as_api_md_says() {
    let app = spawn_app().await;
    let rules = rules();

    // Every operation has exactly one rule, and every rule an operation.
    let documented = document_operations();
    let ruled: BTreeSet<(String, String)> = rules.iter().map(|r| (r.method.to_string(), r.path.to_string())).collect();
    assert_eq!(ruled.len(), rules.len(), "two rules for one operation");
    let unruled: Vec<_> = documented.difference(&ruled).collect();
    let stale: Vec<_> = ruled.difference(&documented).collect();
    assert!(unruled.is_empty(), "operations without an authorization rule: {unruled:?}");
    assert!(stale.is_empty(), "rules for operations not in the document: {stale:?}");

    let declared = declared_statuses();
    let fx = fixtures(&app).await;
    let mut failures = Vec::new();
    let mut calls = 0;
    for rule in &rules {
        calls += refuse_before_reading_the_body(&app, &fx, rule, &mut failures).await;
        prepare(&fx, rule.before).await;
        // Denied callers first, so that allowed state changes come last.
        let mut callers = CALLERS.to_vec();
        callers.sort_by_key(|who| (rule.access.expect(*who) == Expect::Allowed, *who));
        for who in callers {
            let call = (rule.call)(&fx, who);
            let path = fill(rule.path, &call.args);
            let token = fx.users.get(&who).map(|u| u.token.as_str());
            let (status, body) = send(&app, rule.method, &path, token, &call).await;
            calls += 1;
            // Every answer, allowed or not, is one the document declares for the operation.
            if !declared[&(rule.method.to_string(), rule.path.to_string())].contains(&status) {
                failures.push(format!(
                    "{} {} as {who:?}: {status} is not declared in the document",
                    rule.method, rule.path
                ));
            }
            let ok = match rule.access.expect(who) {
                Expect::Allowed => rule.ok.contains(&status),
                Expect::Status(expected) => status == expected,
            };
            if !ok {
                failures.push(format!(
                    "{} {} as {who:?}: got {status}, expected {:?} {:?}: {body}",
                    rule.method,
                    path,
                    rule.access.expect(who),
                    rule.ok
                ));
            }
        }
        if matches!(rule.access, Access::OptionalToken) {
            let call = (rule.call)(&fx, Who::Anonymous);
            let path = fill(rule.path, &call.args);
            let (status, body) = send(&app, rule.method, &path, Some("not-a-token"), &call).await;
            calls += 1;
            if status != 401 {
                failures
                    .push(format!("{} {path} with an invalid token: got {status}, expected 401: {body}", rule.method));
            }
        }
    }
    assert!(failures.is_empty(), "{} problems in {calls} calls:\n{}", failures.len(), failures.join("\n"));
    eprintln!("authorization matrix: {} operations, {calls} calls", rules.len());
}

/// Bodies a caller who may not call an operation sends to probe it: empty, malformed, not JSON,
/// and over the body limit. The last is refused by `Json<T>` from its `Content-Length` without
/// waiting for the body (413), so it catches a handler whose body extractor comes before its
/// caller extractor.
fn invalid_bodies() -> [(&'static str, String); 4] {
    let oversized = format!("{{\"pad\":\"{}\"}}", "x".repeat(70_000));
    [
        ("application/json", "{}".to_string()),
        ("application/json", "{".to_string()),
        ("text/plain", "{".to_string()),
        ("application/json", oversized),
    ]
}

/// Whom `access` refuses before looking at the request: anonymous callers of any route that
/// needs a token (401) and, on role-gated routes, callers of another role (403).
fn refused_up_front(access: Access, who: Who) -> Option<u16> {
    match (access, access.expect(who)) {
        (_, Expect::Status(401)) => Some(401),
        (Access::HasRole(_) | Access::Roles(_) | Access::Owner(_), Expect::Status(403)) => Some(403),
        _ => None,
    }
}

/// Authorization comes before validation: the callers `refused_up_front` get their 401/403
/// whatever the body, and the answer names none of the operation's fields (a wrong role must
/// not learn the schema). Returns the number of calls made.
async fn refuse_before_reading_the_body(app: &TestApp, fx: &Fx, rule: &Rule, failures: &mut Vec<String>) -> usize {
    let mut calls = 0;
    for who in CALLERS {
        let Some(expected) = refused_up_front(rule.access, who) else { continue };
        let call = (rule.call)(fx, who);
        let path = fill(rule.path, &call.args);
        let mut fields = BTreeSet::new();
        if let Some(body) = &call.body {
            field_names(body, &mut fields);
        }
        for (content_type, invalid) in invalid_bodies() {
            let url = if call.query.is_empty() { path.clone() } else { format!("{path}?{}", call.query) };
            let caller = match fx.users.get(&who) {
                Some(user) => app.with_token(&user.token),
                None => app.client().clone(),
            };
            let res = caller
                .request_root(Method::from_bytes(rule.method.as_bytes()).unwrap(), &url)
                .idempotency_key(format!("matrix-{}", platform::testkit::unique_suffix()))
                .header("Content-Type", content_type)
                .raw_body(invalid.clone())
                .await;
            calls += 1;
            let status = res.status();
            let text = res.text().await;
            let code =
                serde_json::from_str::<Value>(&text).ok().and_then(|b| b["error"]["code"].as_str().map(String::from));
            let expected_code = if expected == 401 { "unauthenticated" } else { "forbidden" };
            let named: Vec<_> = fields.iter().filter(|f| text.contains(&format!("\"{f}\""))).collect();
            if status != expected
                || code.as_deref() != Some(expected_code)
                || text.contains("\"fields\"")
                || !named.is_empty()
            {
                failures.push(format!(
                    "{} {path} as {who:?} with a {content_type} body of {} bytes: got {status} {text}, expected {expected} \
                     {expected_code} naming no field",
                    rule.method,
                    invalid.len()
                ));
            }
        }
    }
    calls
}

/// Every object key in `body`, nested ones included.
fn field_names(body: &Value, out: &mut BTreeSet<String>) {
    match body {
        Value::Object(map) => {
            for (key, value) in map {
                out.insert(key.clone());
                field_names(value, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| field_names(v, out)),
        _ => {}
    }
}

async fn fixtures(app: &TestApp) -> Fx {
    let mut users = BTreeMap::new();
    for who in CALLERS {
        let user = match who.role() {
            None => continue,
            Some(Role::Admin) => app.admin().await,
            Some(role) => app.user(role).await,
        };
        users.insert(who, user);
    }
    let bystander = app.user(Role::Customer).await;
    for who in [Who::Customer, Who::OtherCustomer, Who::Seller, Who::OtherSeller, Who::Streamer, Who::Admin] {
        users[&who].charge(100_000).await;
    }
    let (customer, seller, admin) = (&users[&Who::Customer], &users[&Who::Seller], &users[&Who::Admin]);

    let product =
        seller.create_product("Matrix mug", &[("cart", 1000, 100), ("patch", 10, 10), ("gone", 10, 10)]).await;
    let product_to_delete = seller.create_product("Matrix doomed", &[("x", 10, 1)]).await.id;
    // Something from each seller in the other seller's name space, so 404s are not empty catalogs.
    users[&Who::OtherSeller].create_product("Other seller's mug", &[("x", 10, 1)]).await;

    let charge = customer.charge(500).await.id;
    let payout: Value =
        seller.post("/wallet/payouts", &payout_body()).idempotency_key("matrix-payout").returns(201).await;
    let payout = payout["id"].as_i64().unwrap();
    // The customer's order (and a cart left with the item for the cart routes).
    assert_eq!(customer.add_to_cart(&product, 0, 1).await.status(), 200);
    let order: Order = customer.checkout("matrix-order", &json!({})).returns(201).await;
    for who in [Who::Customer, Who::OtherCustomer] {
        assert_eq!(users[&who].add_to_cart(&product, 0, 1).await.status(), 200);
    }

    let members = json!({ "name": "matrix room", "member_ids": [seller.id] });
    let room: Room = customer.post("/chat/rooms", &members).returns(201).await;
    let invite_room: Room = customer.post("/chat/rooms", &members).returns(201).await;
    let message: Message =
        customer.post(&format!("/chat/rooms/{}/messages", room.id), &json!({ "body": "first" })).returns(201).await;

    let mission_body = |title: &str| json!({ "streamer_id": users[&Who::Streamer].id, "title": title, "stake": 100, "deadline": deadline() });
    let mission: Mission = customer.post("/missions", &mission_body("Matrix")).idempotency_key("m1").returns(201).await;
    let decision_mission: Mission =
        customer.post("/missions", &mission_body("Decide")).idempotency_key("m2").returns(201).await;

    let device: Device = customer
        .post("/notifications/devices", &json!({ "platform": "web", "token": "matrix-device" }))
        .returns(201)
        .await;

    let row_body = json!({ "row_provider_type": "NOTICE", "position": 40, "title": "Matrix notice" });
    let row: RowSetting = admin.post("/admin/feed/rows", &row_body).returns(201).await;
    let row_to_delete: RowSetting = admin.post("/admin/feed/rows", &row_body).returns(201).await;
    let slot = json!({ "slot_name": "doomed", "title": "Ad", "image_url": "https://example.com/a.png",
        "link_url": "https://example.com/" });
    let ad_slot_to_delete: AdSlot = admin.post("/admin/feed/ad-slots", &slot).returns(201).await;
    let report: Report = customer
        .post("/reports", &json!({ "target_type": "product", "target_id": product.id, "reason": "spam" }))
        .returns(201)
        .await;
    // Suspended and reinstated by the matrix; an account of its own so no caller is locked out.
    let suspendable = app.user(Role::Customer).await.id;

    // Single-use tokens: verification links of fresh sign-ups, password-reset links, and
    // refresh tokens from logins, one per call.
    let mut verify_tokens = Vec::new();
    let mut reset_tokens = Vec::new();
    for i in 0..2 * CALLERS.len() {
        let email = format!("matrix-{i}-{}@example.com", platform::testkit::unique_suffix().replace('_', "-"));
        let res = app.signup(&email, "correct horse battery", "Matrix", "customer").await;
        assert_eq!(res.status(), 201);
        verify_tokens.push(app.email_token(&email).await);
        if i < CALLERS.len() {
            let res = app.post("/auth/password-reset", &json!({ "email": email })).await;
            assert_eq!(res.status(), 202);
            reset_tokens.push(app.wait_for_email(&email, |text| text.contains("reset")).await.token);
        }
    }
    let login = (bystander.email.clone(), bystander.password.clone());
    let mut refresh_tokens = Vec::new();
    for _ in 0..2 * CALLERS.len() {
        refresh_tokens.push(app.login_user(&login.0, &login.1).await.refresh_token);
    }

    Fx {
        product: product.id,
        cart_item: product.item_id(0),
        patch_item: product.item_id(1),
        item_to_delete: product.item_id(2),
        product_to_delete,
        charge,
        payout,
        order: order.id,
        room: room.id,
        invite_room: invite_room.id,
        message: message.id,
        mission: mission.id,
        decision_mission: decision_mission.id,
        device: device.id,
        row: row.id,
        row_to_delete: row_to_delete.id,
        ad_slot_to_delete: ad_slot_to_delete.id,
        report: report.id,
        suspendable,
        verify_tokens: Mutex::new(verify_tokens),
        reset_tokens: Mutex::new(reset_tokens),
        refresh_tokens: Mutex::new(refresh_tokens),
        login,
        users,
        bystander,
        counter: AtomicUsize::new(0),
    }
}

/// `(METHOD, path)` of every route mounted with `web::resource(...)` in the workspace's
/// sources: module routes under `/api/v1`, the app's own at the root. Read from the code so
/// that a route added anywhere is seen without being listed here.
fn mounted_routes() -> BTreeSet<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let mut files = Vec::new();
    collect_rust_files(&root, &mut files);
    let mut routes = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        if !source.contains("web::resource(") || file.components().any(|c| c.as_os_str() == "tests") {
            continue;
        }
        let prefix = if file.starts_with(root.join("app")) { "" } else { "/api/v1" };
        for (method, path) in routes_in(&source) {
            // Gateways' webhooks are mounted by app at the root (`configure_webhooks`).
            let prefix = if path.starts_with("/webhooks/") { "" } else { prefix };
            routes.insert((method, format!("{prefix}{path}")));
        }
    }
    routes
}

fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" && !name.starts_with("target") {
                collect_rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// Routes of one source file: each `web::resource("…")` with the `.route(web::method()…)`
/// calls chained on it, under the `web::scope("…")` it sits in.
fn routes_in(source: &str) -> Vec<(String, String)> {
    let bytes = source.as_bytes();
    // (depth at which the scope's enclosing call closes, prefix)
    let mut scopes: Vec<(usize, String)> = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut routes = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let literal_at = |at: usize| -> String {
        let rest = &source[at..];
        let start = rest.find('"').unwrap() + 1;
        let end = rest[start..].find('"').unwrap();
        rest[start..start + end].to_string()
    };
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
            continue;
        }
        if rest.starts_with("web::scope(") {
            scopes.push((depth, literal_at(i)));
        } else if rest.starts_with("web::resource(") {
            let prefix: String = scopes.iter().map(|(_, p)| p.as_str()).collect();
            current = Some((depth, format!("{prefix}{}", literal_at(i))));
        } else if let Some(method) =
            ["get", "post", "put", "patch", "delete"].iter().find(|m| rest.starts_with(&format!(".route(web::{m}()")))
            && let Some((_, path)) = &current
        {
            routes.push((method.to_uppercase(), path.clone()));
        }
        match bytes[i] {
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if current.as_ref().is_some_and(|(d, _)| depth < *d) {
                    current = None;
                }
                while scopes.last().is_some_and(|(d, _)| depth < *d) {
                    scopes.pop();
                }
            }
            _ => {}
        }
        i += 1;
    }
    routes
}

#[test]
fn every_mounted_route_is_in_the_openapi_document() {
    let mounted = mounted_routes();
    assert!(mounted.len() > 50, "the route scan found too little: {mounted:?}");
    let documented = document_operations();
    let missing: Vec<_> = mounted.difference(&documented).collect();
    assert!(missing.is_empty(), "routes missing from the OpenAPI document: {missing:?}");
    let unmounted: Vec<_> = documented.difference(&mounted).collect();
    assert!(unmounted.is_empty(), "documented operations that no code mounts: {unmounted:?}");
}

#[test]
fn the_route_scan_reads_scopes_and_chained_methods() {
    let source = r#"
        cfg.service(web::scope("/auth").wrap(x).service(web::resource("/a").route(web::post().to(a)))
            .service(web::resource("/b").route(web::get().to(b)).route(web::post().to(c))))
        .service(web::resource("/c/{id}").route(web::delete().to(d)));
    "#;
    let routes = routes_in(source);
    assert_eq!(
        routes,
        vec![
            ("POST".to_string(), "/auth/a".to_string()),
            ("GET".to_string(), "/auth/b".to_string()),
            ("POST".to_string(), "/auth/b".to_string()),
            ("DELETE".to_string(), "/c/{id}".to_string()),
        ]
    );
}
