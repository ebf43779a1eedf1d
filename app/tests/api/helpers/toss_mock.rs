//! A mock of Toss Payments on loopback: payments (confirm, lookup, cancel) and payouts
//! (sellers, payouts, lookup) with JWE bodies, whose behaviour a test steers.

use actix_web::{HttpRequest, HttpResponse, web};
use payment::payouts::crypto::{jwe_decrypt, jwe_encrypt, key_from_hex};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const TOSS_SECRET: &str = "test_sk_money_mock";
pub const SECURITY_KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// How the mock answers the next cancels / payouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Ok,
    Refuse,
    /// Applies it, then answers after the client's timeout.
    Slow,
    ServerError,
}

#[derive(Debug, Clone)]
pub struct MockPayment {
    pub payment_key: String,
    pub status: String,
    pub total: i64,
    pub balance: i64,
    pub cancels: Vec<String>,
}

#[derive(Default)]
pub struct MockState {
    pub payments: HashMap<String, MockPayment>,
    pub cancel_mode: Mode,
    /// Idempotency-Key → applied (a repeat is answered without cancelling again).
    pub cancel_keys: HashMap<String, i64>,
    pub cancels_applied: usize,
    pub payout_mode: Mode,
    /// refPayoutId → status.
    pub payouts: HashMap<String, String>,
    pub payouts_applied: usize,
    /// refPayoutId → POSTs received (every send attempt, answered or not: the mock dedupes
    /// by reference, so only this shows whether the app sent a payout twice).
    pub payout_posts: HashMap<String, usize>,
    pub sellers: usize,
    /// Every raw request body, to check what crosses the wire.
    pub raw_bodies: Vec<String>,
}

pub type MockToss = super::mock_server::MockServer<MockState>;

impl MockToss {
    /// Toss has a paid payment for this order.
    pub fn pay(&self, order_id: &str, payment_key: &str, amount: i64) {
        self.state.lock().unwrap().payments.insert(
            order_id.into(),
            MockPayment {
                payment_key: payment_key.into(),
                status: "DONE".into(),
                total: amount,
                balance: amount,
                cancels: vec![],
            },
        );
    }

    /// Someone cancelled `amount` at Toss (the dashboard, a chargeback).
    pub fn cancel_at_toss(&self, order_id: &str, amount: i64) {
        let mut state = self.state.lock().unwrap();
        let p = state.payments.get_mut(order_id).unwrap();
        p.balance -= amount;
        p.status = if p.balance == 0 { "CANCELED" } else { "PARTIAL_CANCELED" }.into();
        p.cancels.push("dashboard".into());
    }

    pub fn set_cancel_mode(&self, mode: Mode) {
        self.state.lock().unwrap().cancel_mode = mode;
    }

    pub fn set_payout_mode(&self, mode: Mode) {
        self.state.lock().unwrap().payout_mode = mode;
    }
}

fn authorized(req: &HttpRequest) -> bool {
    use base64::Engine;
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{TOSS_SECRET}:")));
    req.headers().get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

type State = web::Data<Arc<Mutex<MockState>>>;

fn payment_json(order: &str, p: &MockPayment) -> Value {
    let cancels: Vec<Value> = p.cancels.iter().map(|r| json!({"cancelReason": r, "cancelAmount": 0})).collect();
    json!({"orderId": order, "paymentKey": p.payment_key, "status": p.status, "totalAmount": p.total,
        "balanceAmount": p.balance, "cancels": if cancels.is_empty() { Value::Null } else { Value::Array(cancels) }})
}

async fn confirm(req: HttpRequest, state: State, body: web::Json<Value>) -> HttpResponse {
    if !authorized(&req) {
        return HttpResponse::Unauthorized().json(json!({"code": "UNAUTHORIZED_KEY", "message": "bad key"}));
    }
    let key = body["paymentKey"].as_str().unwrap_or("").to_string();
    let order = body["orderId"].as_str().unwrap_or("").to_string();
    let amount = body["amount"].as_i64().unwrap_or(0);
    let payment =
        MockPayment { payment_key: key, status: "DONE".into(), total: amount, balance: amount, cancels: vec![] };
    let answer = payment_json(&order, &payment);
    state.lock().unwrap().payments.insert(order, payment);
    HttpResponse::Ok().json(answer)
}

async fn lookup(req: HttpRequest, state: State, order: web::Path<String>) -> HttpResponse {
    if !authorized(&req) {
        return HttpResponse::Unauthorized().json(json!({"code": "UNAUTHORIZED_KEY", "message": "bad key"}));
    }
    match state.lock().unwrap().payments.get(order.as_str()) {
        Some(p) => HttpResponse::Ok().json(payment_json(&order, p)),
        None => HttpResponse::NotFound().json(json!({"code": "NOT_FOUND_PAYMENT", "message": "no such payment"})),
    }
}

async fn cancel(req: HttpRequest, state: State, key: web::Path<String>, body: web::Json<Value>) -> HttpResponse {
    if !authorized(&req) {
        return HttpResponse::Unauthorized().json(json!({"code": "UNAUTHORIZED_KEY", "message": "bad key"}));
    }
    let idempotency = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let amount = body["cancelAmount"].as_i64().unwrap_or(0);
    let reason = body["cancelReason"].as_str().unwrap_or("").to_string();
    let mode = state.lock().unwrap().cancel_mode;
    match mode {
        Mode::Refuse => {
            return HttpResponse::BadRequest()
                .json(json!({"code": "NOT_CANCELABLE_PAYMENT", "message": "cannot cancel"}));
        }
        Mode::ServerError => {
            return HttpResponse::InternalServerError()
                .json(json!({"code": "FAILED_INTERNAL_SYSTEM_PROCESSING", "message": "oops"}));
        }
        _ => {}
    }
    let answer = {
        let mut state = state.lock().unwrap();
        let repeat = state.cancel_keys.contains_key(&idempotency);
        let Some((order, _)) =
            state.payments.iter().find(|(_, p)| p.payment_key == *key).map(|(o, p)| (o.clone(), p.clone()))
        else {
            return HttpResponse::NotFound().json(json!({"code": "NOT_FOUND_PAYMENT", "message": "no such payment"}));
        };
        if !repeat {
            let p = state.payments.get_mut(&order).unwrap();
            if p.balance < amount {
                return HttpResponse::BadRequest()
                    .json(json!({"code": "NOT_CANCELABLE_AMOUNT", "message": "too much"}));
            }
            p.balance -= amount;
            p.status = if p.balance == 0 { "CANCELED" } else { "PARTIAL_CANCELED" }.into();
            p.cancels.push(reason);
            state.cancel_keys.insert(idempotency, amount);
            state.cancels_applied += 1;
        }
        payment_json(&order, &state.payments[&order])
    };
    if mode == Mode::Slow {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
    HttpResponse::Ok().json(answer)
}

fn security_key() -> [u8; 32] {
    key_from_hex(SECURITY_KEY).unwrap()
}

/// Decrypts an encrypted request (refusing a plain one) and encrypts the answer.
// The error is the mock's ready answer; its size does not matter in a test server.
#[allow(clippy::result_large_err)]
fn encrypted(req: &HttpRequest, state: &State, body: &str) -> Result<Value, HttpResponse> {
    state.lock().unwrap().raw_bodies.push(body.to_string());
    if !authorized(req) {
        return Err(HttpResponse::Unauthorized().json(json!({"code": "UNAUTHORIZED_KEY"})));
    }
    if req.headers().get("tosspayments-api-security-mode").and_then(|v| v.to_str().ok()) != Some("ENCRYPTION") {
        return Err(HttpResponse::BadRequest().json(json!({"error": {"code": "ENCRYPTION_REQUIRED"}})));
    }
    let plain = jwe_decrypt(&security_key(), body)
        .map_err(|_| HttpResponse::BadRequest().json(json!({"error": {"code": "DECRYPTION_FAILED"}})))?;
    Ok(serde_json::from_slice(&plain).unwrap())
}

fn envelope(body: Value, error: Value) -> HttpResponse {
    let plain =
        json!({"version": "2022-11-16", "traceId": "t", "entityType": "payout", "entityBody": body, "error": error});
    HttpResponse::Ok()
        .content_type("text/plain")
        .body(jwe_encrypt(&security_key(), plain.to_string().as_bytes(), "2026-12-02T00:00:00+09:00").unwrap())
}

async fn register_seller(req: HttpRequest, state: State, body: String) -> HttpResponse {
    let value = match encrypted(&req, &state, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    assert!(value["account"]["accountNumber"].is_string(), "{value}");
    state.lock().unwrap().sellers += 1;
    envelope(json!({"id": format!("seller_{}", value["refSellerId"].as_str().unwrap_or(""))}), Value::Null)
}

async fn create_payout(req: HttpRequest, state: State, body: String) -> HttpResponse {
    let value = match encrypted(&req, &state, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let item = &value[0];
    let reference = item["refPayoutId"].as_str().unwrap_or("").to_string();
    assert_eq!(item["amount"]["currency"], "KRW");
    *state.lock().unwrap().payout_posts.entry(reference.clone()).or_default() += 1;
    let mode = state.lock().unwrap().payout_mode;
    let status = {
        let mut state = state.lock().unwrap();
        if mode == Mode::ServerError {
            return HttpResponse::InternalServerError().body("oops");
        }
        if let Some(existing) = state.payouts.get(&reference) {
            existing.clone()
        } else {
            let status = if mode == Mode::Refuse { "FAILED" } else { "COMPLETED" }.to_string();
            state.payouts.insert(reference.clone(), status.clone());
            state.payouts_applied += 1;
            status
        }
    };
    if mode == Mode::Slow {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
    envelope(json!({"items": [{"id": "p1", "refPayoutId": reference, "status": status}]}), Value::Null)
}

async fn find_payout(req: HttpRequest, state: State, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    if !authorized(&req) {
        return HttpResponse::Unauthorized().finish();
    }
    let reference = query.get("refPayoutId").cloned().unwrap_or_default();
    let items: Vec<Value> = state
        .lock()
        .unwrap()
        .payouts
        .get(&reference)
        .map(|s| json!({"refPayoutId": reference, "status": s}))
        .into_iter()
        .collect();
    HttpResponse::Ok().json(
        json!({"version": "v", "traceId": "t", "entityType": "payout", "entityBody": {"items": items}, "error": null}),
    )
}

pub fn mock_toss() -> MockToss {
    super::mock_server::mock_server(2, |c| {
        c.route("/v1/payments/confirm", web::post().to(confirm));
        c.route("/v1/payments/orders/{order}", web::get().to(lookup));
        c.route("/v1/payments/{key}/cancel", web::post().to(cancel));
        c.route("/v2/sellers", web::post().to(register_seller));
        c.route("/v2/payouts", web::post().to(create_payout));
        c.route("/v2/payouts", web::get().to(find_payout));
    })
}
