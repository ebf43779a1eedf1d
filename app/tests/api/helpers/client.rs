//! The typed test client. A `Client` is an app's address plus, for a user, an access token;
//! the `Api` verbs build a `Call`, awaiting it sends it and gives a `Reply`.
//!
//! ```ignore
//! let cart: Cart = buyer.get("/cart").returns(200).await;
//! seller.post("/seller/products", &body).fails(409, "name_taken").await;
//! let order: Order = buyer.post("/orders", &json!({})).idempotency_key("k").returns(201).await;
//! assert_eq!(app.get_root("/healthz").await.status(), 200);
//! ```

use super::assertions::assert_error_body;
use super::dto::ErrorBody;
use super::spawn::TestApp;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

/// docs/api.md's base path: the `Api` verbs put it in front of the paths they are given.
pub const BASE_PATH: &str = "/api/v1";

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    address: String,
    token: Option<String>,
}

impl Client {
    pub(super) fn anonymous(address: &str) -> Client {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        Client { http, address: address.to_string(), token: None }
    }

    /// The access token it sends.
    pub fn token(&self) -> &str {
        self.token.as_deref().expect("an anonymous client has no token")
    }

    fn call(&self, method: Method, path: &str) -> Call {
        let mut builder = self.http.request(method, format!("{}{path}", self.address));
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token);
        }
        Call { builder }
    }
}

/// What every caller can send: an app (anonymous), a `Client`, a `User` (through its client).
/// Paths are docs/api.md's, under `/api/v1`; the `_root` calls take paths outside it (`/healthz`).
pub trait Api {
    fn client(&self) -> &Client;

    fn request(&self, method: Method, path: &str) -> Call {
        self.client().call(method, &format!("{BASE_PATH}{path}"))
    }

    fn get(&self, path: &str) -> Call {
        self.request(Method::GET, path)
    }

    fn delete(&self, path: &str) -> Call {
        self.request(Method::DELETE, path)
    }

    fn post(&self, path: &str, body: &impl Serialize) -> Call {
        self.request(Method::POST, path).json(body)
    }

    fn put(&self, path: &str, body: &impl Serialize) -> Call {
        self.request(Method::PUT, path).json(body)
    }

    fn patch(&self, path: &str, body: &impl Serialize) -> Call {
        self.request(Method::PATCH, path).json(body)
    }

    fn request_root(&self, method: Method, path: &str) -> Call {
        self.client().call(method, path)
    }

    fn get_root(&self, path: &str) -> Call {
        self.request_root(Method::GET, path)
    }

    /// The same caller presenting `token` instead (any string: tests send broken ones too).
    fn with_token(&self, token: &str) -> Client {
        Client { token: Some(token.to_string()), ..self.client().clone() }
    }
}

impl Api for Client {
    fn client(&self) -> &Client {
        self
    }
}

impl Api for TestApp {
    fn client(&self) -> &Client {
        self.anonymous()
    }
}

/// A request not sent yet: add headers or a body, then await it (or `returns`/`fails`).
#[must_use = "a call is sent only when awaited"]
pub struct Call {
    builder: reqwest::RequestBuilder,
}

impl Call {
    pub fn idempotency_key(self, key: impl AsRef<str>) -> Call {
        self.header("Idempotency-Key", key)
    }

    pub fn header(self, name: &str, value: impl AsRef<str>) -> Call {
        Call { builder: self.builder.header(name, value.as_ref()) }
    }

    pub fn json(self, body: &impl Serialize) -> Call {
        Call { builder: self.builder.json(body) }
    }

    /// A body sent as it is (set its content type with `header`).
    pub fn raw_body(self, body: impl Into<reqwest::Body>) -> Call {
        Call { builder: self.builder.body(body) }
    }

    pub async fn send(self) -> Reply {
        Reply { response: self.builder.send().await.unwrap() }
    }

    /// Sends it, asserts the status and reads the body as `T`.
    pub async fn returns<T: DeserializeOwned>(self, status: u16) -> T {
        self.send().await.returns(status).await
    }

    /// Sends it and asserts docs/api.md's error answer: the status, a JSON error body, the code.
    pub async fn fails(self, status: u16, code: &str) -> ErrorBody {
        self.send().await.fails(status, code).await
    }
}

/// Sends the call `make` builds, again with the same Idempotency-Key while it answers "retry
/// later" (docs/api.md: 503 `unavailable`, or 409 `request_in_progress`, both with
/// `Retry-After`) or the answer is lost (the client's 30 s timeout), as a client does. A
/// burst of 100 requests on one row of a loaded 2-core machine can outlast
/// `database.operation_timeout_ms`, and the client's patience; what the tests check is that
/// the retried requests still move money and stock once.
pub async fn send_retrying(make: impl Fn() -> Call) -> Reply {
    for _ in 0..60 {
        let Ok(response) = make().builder.send().await else { continue };
        let (status, headers) = (response.status(), response.headers().clone());
        let Ok(body) = response.bytes().await else { continue };
        let later = status == 503 || (status == 409 && headers.contains_key("Retry-After"));
        if !later {
            let mut buffered = http::Response::new(body);
            *buffered.status_mut() = status;
            *buffered.headers_mut() = headers;
            return Reply { response: buffered.into() };
        }
        let wait = headers.get("Retry-After").and_then(|v| v.to_str().ok()?.parse::<u64>().ok()).unwrap_or(1);
        tokio::time::sleep(std::time::Duration::from_millis(250 * wait.clamp(1, 4))).await;
    }
    panic!("no answer but 'retry later' after 60 attempts")
}

impl IntoFuture for Call {
    type Output = Reply;
    type IntoFuture = Pin<Box<dyn Future<Output = Reply> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// An answer: its status and headers, then its body once.
pub struct Reply {
    response: reqwest::Response,
}

impl Reply {
    pub fn status(&self) -> u16 {
        self.response.status().as_u16()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.response.headers().get(name).map(|v| v.to_str().unwrap())
    }

    /// The body as text (what went wrong, when it cannot be read: some answers, like a
    /// WebSocket upgrade, have none to read).
    pub async fn text(self) -> String {
        self.response.text().await.unwrap_or_else(|e| format!("(no readable body: {e})"))
    }

    /// The body as bytes, unchanged (compressed answers stay compressed).
    pub async fn bytes(self) -> Vec<u8> {
        self.response.bytes().await.unwrap().to_vec()
    }

    /// The body as `T`, whatever the status.
    pub async fn json<T: DeserializeOwned>(self) -> T {
        decode(&self.text().await)
    }

    /// Asserts the status; the body as `T`.
    pub async fn returns<T: DeserializeOwned>(self, status: u16) -> T {
        let actual = self.status();
        let text = self.text().await;
        assert_eq!(actual, status, "{text}");
        decode(&text)
    }

    /// Asserts docs/api.md's error answer: the status, a JSON error body, the code.
    pub async fn fails(self, status: u16, code: &str) -> ErrorBody {
        assert_error_body(self, status, code).await
    }

    /// The status and the body: `T` for a 2xx, else the error body (for concurrent calls
    /// whose outcomes differ).
    pub async fn outcome<T: DeserializeOwned>(self) -> (u16, Result<T, ErrorBody>) {
        let status = self.status();
        if (200..300).contains(&status) { (status, Ok(self.json().await)) } else { (status, Err(self.json().await)) }
    }
}

fn decode<T: DeserializeOwned>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not a {}: {e}: {text}", std::any::type_name::<T>()))
}
