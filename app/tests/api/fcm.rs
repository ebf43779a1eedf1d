//! Push through the FCM HTTP v1 API, against a mock FCM (token endpoint + messages:send)
//! on loopback: the OAuth2 service-account JWT, the token cached until expiry, retries
//! with backoff on 429/5xx, unregistered tokens deleted, muted kinds not pushed.

use crate::helpers::*;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use contracts::Role;
use contracts::events::Event;
use contracts::order::OrderPlaced;
use platform::db::write_tx;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A throwaway RSA key made for these tests only (`openssl genrsa 2048 | openssl pkcs8 -topk8 -nocrypt`).
const TEST_KEY: &str = include_str!("data/fcm-test-only-key.pem");
const ACCESS_TOKEN: &str = "ya29.mock-access-token";

#[derive(Default)]
struct FcmState {
    token_requests: Vec<HashMap<String, String>>,
    /// Accepted pushes: (device token, the message).
    sent: Vec<(String, Value)>,
    /// Calls per device token, failures included.
    calls: HashMap<String, usize>,
}

type State = web::Data<Arc<Mutex<FcmState>>>;

async fn token(state: State, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    state.lock().unwrap().token_requests.push(form.into_inner());
    HttpResponse::Ok().json(json!({"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"}))
}

async fn send(req: HttpRequest, state: State, path: web::Path<String>, body: web::Json<Value>) -> HttpResponse {
    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if path.as_str() != "demo-project" || auth != format!("Bearer {ACCESS_TOKEN}") {
        return HttpResponse::Unauthorized().json(json!({"error": {"code": 401, "status": "UNAUTHENTICATED"}}));
    }
    let device = body["message"]["token"].as_str().unwrap_or("").to_string();
    let calls = {
        let mut s = state.lock().unwrap();
        let n = s.calls.entry(device.clone()).or_default();
        *n += 1;
        *n
    };
    match (device.as_str(), calls) {
        ("tok-dead", _) => HttpResponse::NotFound().json(json!({"error": {
            "code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND",
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}})),
        ("tok-flaky", 1) => HttpResponse::ServiceUnavailable()
            .json(json!({"error": {"code": 503, "status": "UNAVAILABLE", "message": "try later"}})),
        ("tok-flaky", 2) => HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", "0"))
            .json(json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota",
                "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "QUOTA_EXCEEDED"}]}})),
        _ => {
            state.lock().unwrap().sent.push((device, body.into_inner()));
            HttpResponse::Ok().json(json!({"name": format!("projects/demo-project/messages/{calls}")}))
        }
    }
}

type MockFcm = MockServer<FcmState>;

fn mock_fcm() -> MockFcm {
    mock_server(1, |c| {
        c.route("/token", web::post().to(token));
        c.route("/v1/projects/{project}/messages:send", web::post().to(send));
    })
}

async fn notify_seller(app: &TestApp, seller_id: i64, order_id: i64) {
    let m = app.assembled.databases.iter().find(|m| m.module == "account").unwrap();
    let (db, outbox) = (m.db.clone(), m.outbox.clone().unwrap());
    let now = platform::clock::Clock::now(&*app.clock);
    let event = OrderPlaced { order_id, buyer_id: 1, seller_ids: vec![seller_id], total: 1, lines: vec![] };
    assert_eq!(event.topic(), "order.order_placed");
    let wake = outbox.clone();
    db.run(move |c| write_tx(c, |c| outbox.publish(c, now, &event))).await.unwrap();
    wake.wake();
}

async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn pushes_go_through_fcm_with_a_cached_token_retries_and_dead_tokens_deleted() {
    let mock = mock_fcm();
    let app = spawn_app_with(
        TestOptions::default()
            .with("notify.fcm.project_id", "demo-project")
            .with("notify.fcm.client_email", "push@demo-project.iam.gserviceaccount.com")
            .with("notify.fcm.private_key", TEST_KEY)
            .with("notify.fcm.token_uri", format!("{}/token", mock.url))
            .with("notify.fcm.api_base", &mock.url)
            .with("notify.fcm.initial_backoff_ms", 10),
    )
    .await;
    let seller = app.user(Role::Seller).await;
    let mut devices = HashMap::new();
    for (platform, token) in [("android", "tok-ok"), ("ios", "tok-flaky"), ("web", "tok-dead")] {
        let d: Device =
            seller.post("/notifications/devices", &json!({"platform": platform, "token": token})).returns(201).await;
        devices.insert(token, d.id);
    }

    notify_seller(&app, seller.id, 1).await;
    wait_until("both live devices pushed", || mock.state.lock().unwrap().sent.len() == 2).await;
    {
        let s = mock.state.lock().unwrap();
        assert_eq!(s.calls["tok-flaky"], 3, "503, then 429, then sent");
        let (_, message) = s.sent.iter().find(|(t, _)| t == "tok-ok").unwrap();
        let m = &message["message"];
        assert_eq!(m["notification"]["title"], "New order");
        assert_eq!(m["data"]["link"], "/seller/orders/1");
        assert_eq!(m["data"]["kind"], "order_placed");
        assert!(m["data"]["notification_id"].is_string(), "FCM data values are strings");
        assert_eq!(m["android"]["collapse_key"], m["apns"]["headers"]["apns-collapse-id"]);
        // The OAuth2 exchange: a JWT bearer grant signed RS256 by the service account.
        assert_eq!(s.token_requests.len(), 1);
        let form = &s.token_requests[0];
        assert_eq!(form["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
        let parts: Vec<&str> = form["assertion"].split('.').collect();
        let decode = |p: &str| -> Value {
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
        };
        assert_eq!(decode(parts[0])["alg"], "RS256");
        let claims = decode(parts[1]);
        assert_eq!(claims["iss"], "push@demo-project.iam.gserviceaccount.com");
        assert_eq!(claims["scope"], "https://www.googleapis.com/auth/firebase.messaging");
        assert_eq!(claims["aud"], format!("{}/token", mock.url));
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
    }
    // The unregistered token's device is gone.
    wait_until("the dead device deleted", || mock.state.lock().unwrap().calls.get("tok-dead") == Some(&1)).await;
    let mut gone = false;
    for _ in 0..100 {
        if seller.delete(&format!("/notifications/devices/{}", devices["tok-dead"])).await.status() == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "FCM said UNREGISTERED: the device was deleted");

    // A second notification: the cached access token is reused; the dead token is not tried.
    notify_seller(&app, seller.id, 2).await;
    wait_until("the second push", || mock.state.lock().unwrap().sent.len() == 4).await;
    assert_eq!(mock.state.lock().unwrap().token_requests.len(), 1, "token cached until expiry");
    assert_eq!(mock.state.lock().unwrap().calls["tok-dead"], 1);

    // Muted kinds are stored but not pushed.
    let _: Preferences =
        seller.put("/notifications/preferences", &json!({"muted_kinds": ["order_placed"]})).returns(200).await;
    notify_seller(&app, seller.id, 3).await;
    let page: NotificationPage = seller.get("/notifications").returns(200).await;
    let stored = page.items.len();
    for _ in 0..40 {
        let page: NotificationPage = seller.get("/notifications").returns(200).await;
        if page.items.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stored <= 3);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let page: NotificationPage = seller.get("/notifications").returns(200).await;
    assert_eq!(page.items.len(), 3, "stored");
    assert_eq!(mock.state.lock().unwrap().sent.len(), 4, "not pushed");
}

#[tokio::test]
async fn without_fcm_settings_nothing_is_pushed() {
    let app = spawn_app().await;
    assert!(!app.assembled.notify.push_enabled(), "push is off unless configured");
}
