//! Request-side helpers every module's handlers use: a JSON extractor that answers with
//! docs/api.md's error codes, the Idempotency-Key header, paging parameters, the client IP
//! behind trusted proxies, and a field validator.

use crate::error::{ApiError, ErrorCode};
use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{FromRequest, HttpRequest, web};
use contracts::PageRequest;
use futures::StreamExt;
use futures::future::{LocalBoxFuture, Ready, ready};
use ipnet::IpNet;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use utoipa::IntoParams;

/// Largest accepted request body (docs/api.md: 64 KiB), settable per app.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl Default for BodyLimit {
    fn default() -> Self {
        BodyLimit(64 * 1024)
    }
}

/// Deepest accepted JSON nesting; deeper bodies are refused before parsing.
pub const MAX_JSON_DEPTH: usize = 32;

/// A JSON body. Errors: 415 without a JSON content type, 413 over the body limit,
/// 400 `invalid_json` for malformed JSON, 400 `validation_failed` naming the field for
/// wrong types or missing fields.
#[derive(Debug)]
pub struct Json<T>(pub T);

/// Like [`Json`], but an empty body (with or without a content type) reads as `{}`.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload, false);
        Box::pin(async move { Ok(Json(parse_json(&body.await?)?)) })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload, true);
        Box::pin(async move {
            let bytes = body.await?;
            let bytes = if bytes.iter().all(u8::is_ascii_whitespace) { web::Bytes::from_static(b"{}") } else { bytes };
            Ok(OptionalJson(parse_json(&bytes)?))
        })
    }
}

fn is_json_content_type(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| m == "application/json" || (m.starts_with("application/") && m.ends_with("+json")))
}

fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
    optional: bool,
) -> impl Future<Output = Result<web::Bytes, ApiError>> + 'static {
    let limit = req.app_data::<BodyLimit>().copied().unwrap_or_default().0;
    let json = is_json_content_type(req);
    let declared: Option<usize> =
        req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let mut payload = payload.take();
    async move {
        if declared.is_some_and(|n| n > limit) {
            return Err(ApiError::payload_too_large());
        }
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| match e {
                actix_web::error::PayloadError::Overflow => ApiError::payload_too_large(),
                other => ApiError::invalid_json(format!("could not read the request body: {other}")),
            })?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::payload_too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let empty = body.iter().all(u8::is_ascii_whitespace);
        if !(json || (optional && empty)) {
            return Err(ApiError::unsupported_media_type());
        }
        Ok(body.freeze())
    }
}

/// Nesting depth of a JSON text, counted outside strings; stops early past the limit.
fn exceeds_depth(bytes: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Parses with the path of the offending field, so wrong types name their field.
/// Every request body of the API is a JSON object: an array is refused even where serde
/// would read a struct from it positionally (`[1000]` as `{"amount": 1000}`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if exceeds_depth(bytes, MAX_JSON_DEPTH) {
        return Err(ApiError::invalid_json(format!("JSON nested deeper than {MAX_JSON_DEPTH} levels")));
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Err(e) => ApiError::invalid_json(format!(
                "The request body is not valid JSON: {}",
                strip_position(&e.to_string())
            )),
            Ok(_) => ApiError::invalid_field("body", "must be a JSON object"),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        json_error(&path, &inner)
    })?;
    de.end().map_err(|e| ApiError::invalid_json(strip_position(&e.to_string())))?;
    Ok(value)
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn json_error(path: &str, err: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let message = strip_position(&err.to_string());
    match err.classify() {
        Category::Data => {
            // "missing field `email`" is reported at the parent: name the field itself.
            let field = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
                .map(|name| if path == "." { name.to_string() } else { format!("{path}.{name}") })
                .unwrap_or_else(|| if path == "." { "body".to_string() } else { path.to_string() });
            let problem = if message.starts_with("missing field") { "is required".to_string() } else { message };
            ApiError::invalid_field(&field, problem)
        }
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::invalid_json(format!("The request body is not valid JSON: {message}"))
        }
    }
}

/// The `Idempotency-Key` header: 1..=128 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub String);

pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        if raw.is_empty() || raw.len() > 128 || !raw.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(ApiError::invalid_field(IDEMPOTENCY_KEY_HEADER, "must be 1 to 128 printable ASCII characters"));
        }
        Ok(IdempotencyKey(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.headers().get(IDEMPOTENCY_KEY_HEADER) {
            None => Err(ApiError::new(
                ErrorCode::IdempotencyKeyRequired,
                "This request moves money: send an Idempotency-Key header.",
            )),
            Some(value) => value
                .to_str()
                .map_err(|_| ApiError::invalid_field(IDEMPOTENCY_KEY_HEADER, "must be printable ASCII"))
                .and_then(IdempotencyKey::parse),
        })
    }
}

/// `?page=0&size=20`
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Zero-based page number (default 0).
    #[param(minimum = 0)]
    pub page: Option<i64>,
    /// Items per page, 1..=100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub size: Option<i64>,
}

impl PageQuery {
    pub fn validate(&self) -> Result<PageRequest, ApiError> {
        let mut v = Validator::default();
        let page = self.page.unwrap_or(0);
        let size = self.size.unwrap_or(i64::from(PageRequest::DEFAULT_SIZE));
        v.check(page >= 0 && page <= i64::from(u32::MAX / 128), "page", "must be 0 or more");
        v.check((1..=i64::from(PageRequest::MAX_SIZE)).contains(&size), "size", "must be between 1 and 100");
        v.finish()?;
        Ok(PageRequest { page: page as u32, size: size as u32 })
    }
}

/// A query struct of its own fields plus `?page=&size=` as
/// [`PageQuery`](crate::http::PageQuery) documents them, and `page()` to validate those two:
/// actix's `Query` cannot read a `#[serde(flatten)]`ed `PageQuery`, so the fields are declared
/// again here, once for every paged search.
#[macro_export]
macro_rules! paged_query {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, ::serde::Deserialize, ::utoipa::IntoParams)]
        #[into_params(parameter_in = Query)]
        $vis struct $name {
            $($(#[$fmeta])* $field: $ty,)*
            /// Zero-based page number (default 0).
            #[param(minimum = 0)]
            page: Option<i64>,
            /// Items per page, 1..=100 (default 20).
            #[param(minimum = 1, maximum = 100)]
            size: Option<i64>,
        }

        impl $name {
            pub fn page(&self) -> $crate::http::PageQuery {
                $crate::http::PageQuery { page: self.page, size: self.size }
            }
        }
    };
}

/// `?before=<id>&limit=50`
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CursorQuery {
    /// Only items with an id below this one.
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// 1..=100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// A validated cursor request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub before: Option<i64>,
    pub limit: i64,
}

impl CursorQuery {
    pub fn validate(&self) -> Result<Cursor, ApiError> {
        let limit = self.limit.unwrap_or(50);
        let mut v = Validator::default();
        v.check((1..=100).contains(&limit), "limit", "must be between 1 and 100");
        v.check(self.before.is_none_or(|b| b > 0), "before", "must be a positive id");
        v.finish()?;
        Ok(Cursor { before: self.before, limit })
    }
}

/// `{"items": [...], "next_before": id | null}`
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CursorPage<T> {
    pub items: Vec<T>,
    pub next_before: Option<i64>,
}

impl<T> CursorPage<T> {
    /// `rows` were fetched with `limit + 1`; the extra row only says whether more exist.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, id_of: impl Fn(&T) -> i64) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        let next_before = if more { rows.last().map(&id_of) } else { None };
        CursorPage { items: rows, next_before }
    }
}

/// For PATCH bodies: an absent field is `None`, `null` is `Some(None)`, a value is
/// `Some(Some(v))`. Use with `#[serde(default, deserialize_with = "double_option")]`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `{"items": [...]}`
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// Collects field problems and answers them all at once as `validation_failed`.
#[derive(Debug, Default)]
pub struct Validator {
    fields: BTreeMap<String, String>,
}

impl Validator {
    pub fn check(&mut self, ok: bool, field: &str, problem: &str) -> &mut Self {
        if !ok {
            self.fields.entry(field.to_string()).or_insert_with(|| problem.to_string());
        }
        self
    }

    pub fn add(&mut self, field: &str, problem: impl Into<String>) -> &mut Self {
        self.fields.entry(field.to_string()).or_insert_with(|| problem.into());
        self
    }

    /// Length in characters (not bytes) within `min..=max`.
    pub fn length(&mut self, value: &str, field: &str, min: usize, max: usize) -> &mut Self {
        let n = value.chars().count();
        self.check((min..=max).contains(&n), field, &format!("must be {min} to {max} characters"))
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn finish(&mut self) -> Result<(), ApiError> {
        if self.fields.is_empty() { Ok(()) } else { Err(ApiError::validation(std::mem::take(&mut self.fields))) }
    }
}

/// Peers whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

impl TrustedProxies {
    pub fn parse(entries: &[String]) -> anyhow::Result<Self> {
        let mut nets = Vec::new();
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => {
                    IpNet::from(entry.parse::<IpAddr>().map_err(|_| anyhow::anyhow!("bad proxy address {entry}"))?)
                }
            };
            nets.push(net);
        }
        Ok(TrustedProxies(Arc::new(nets)))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client as seen through trusted proxies: walk `X-Forwarded-For` from the right,
    /// skipping trusted hops; a hop we do not trust is the client.
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> =
            forwarded_for.iter().flat_map(|h| h.split(',')).filter_map(|h| h.trim().parse().ok()).collect();
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            client = hop;
            if !self.contains(hop) {
                break;
            }
        }
        client
    }
}

/// The client address used for rate limits and logs.
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let Some(trusted) = req.app_data::<TrustedProxies>() else { return Some(peer) };
    let forwarded: Vec<&str> = req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()).collect();
    Some(trusted.client_ip(peer, &forwarded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Charge {
        amount: i64,
        note: Option<String>,
    }

    #[test]
    fn wrong_types_name_the_field() {
        let err = parse_json::<Charge>(br#"{"amount": "ten"}"#).unwrap_err();
        assert_eq!(err.code(), "validation_failed");
        assert!(err.details()["fields"]["amount"].is_string());
    }

    #[test]
    fn missing_fields_are_required() {
        let err = parse_json::<Charge>(br#"{"note": "x"}"#).unwrap_err();
        assert_eq!(err.details()["fields"]["amount"], "is required");
    }

    #[test]
    fn malformed_json_is_invalid_json() {
        assert_eq!(parse_json::<Charge>(br#"{"amount": 1"#).unwrap_err().code(), "invalid_json");
        assert_eq!(parse_json::<Charge>(br#"{"amount": 1} x"#).unwrap_err().code(), "invalid_json");
        assert_eq!(parse_json::<Charge>(b"[1]").unwrap_err().code(), "validation_failed");
    }

    #[test]
    fn arrays_are_not_read_as_objects() {
        // serde's derived structs accept a sequence of their fields; the API does not.
        let err = parse_json::<Charge>(b"[1000, null]").unwrap_err();
        assert_eq!(err.code(), "validation_failed");
        assert_eq!(err.details()["fields"]["body"], "must be a JSON object");
        assert_eq!(parse_json::<Charge>(b" [1000").unwrap_err().code(), "invalid_json");
        assert_eq!(parse_json::<Charge>(br#"{"amount": 1000}"#).unwrap().amount, 1000);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(exceeds_depth(deep.as_bytes(), MAX_JSON_DEPTH));
        assert!(!exceeds_depth(br#"{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}"#, MAX_JSON_DEPTH));
        assert_eq!(parse_json::<serde_json::Value>(deep.as_bytes()).unwrap_err().code(), "invalid_json");
    }

    #[test]
    fn idempotency_keys_are_bounded_printable_ascii() {
        assert!(IdempotencyKey::parse("abc-123 x").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse(&"a".repeat(129)).is_err());
        assert!(IdempotencyKey::parse("tab\tkey").is_err());
    }

    #[test]
    fn page_bounds() {
        assert!(PageQuery { page: Some(-1), size: None }.validate().is_err());
        assert!(PageQuery { page: None, size: Some(0) }.validate().is_err());
        assert!(PageQuery { page: None, size: Some(101) }.validate().is_err());
        assert_eq!(PageQuery::default().validate().unwrap(), PageRequest { page: 0, size: 20 });
    }

    #[test]
    fn cursor_pages_know_whether_more_exist() {
        let page = CursorPage::from_rows(vec![9, 8, 7], 2, |x| *x);
        assert_eq!(page.items, vec![9, 8]);
        assert_eq!(page.next_before, Some(8));
        let last = CursorPage::from_rows(vec![2, 1], 2, |x| *x);
        assert_eq!(last.next_before, None);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap();
        let alb: IpAddr = "10.0.1.5".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        // A client cannot spoof its address by sending the header itself.
        assert_eq!(proxies.client_ip(stranger, &["1.2.3.4"]), stranger);
        // Through the ALB, the right-most untrusted hop is the client.
        assert_eq!(proxies.client_ip(alb, &["1.2.3.4, 198.51.100.7"]), "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(proxies.client_ip(alb, &["198.51.100.7", "10.0.2.2"]), "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(proxies.client_ip(alb, &[]), alb);
    }
}
