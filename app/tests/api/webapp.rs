//! The web app served by the binary: `index.html` for app routes (so client-side routes
//! survive reloads and email links), files under a hashed prefix cached as immutable, ETag
//! revalidation, gzip, and the API's own paths untouched (their JSON 404s stay).

use crate::helpers::*;
use reqwest::Method;
use reqwest::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use serde_json::json;
use std::collections::BTreeSet;
use std::io::Read;

fn header(res: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    res.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

async fn index(app: &TestApp, path: &str) -> String {
    let res = app.get(path, None).await;
    assert_eq!(res.status(), 200, "{path}");
    assert!(header(&res, CONTENT_TYPE).starts_with("text/html"), "{path}");
    assert_eq!(header(&res, CACHE_CONTROL), "no-cache", "{path}");
    assert!(header(&res, reqwest::header::CONTENT_SECURITY_POLICY).contains("script-src 'self' 'sha256-"), "{path}");
    res.text().await.unwrap()
}

/// Every `%ASSETS%`-prefixed URL the page names (`href="/assets/<hash>/…"`, import map).
fn asset_urls(html: &str, prefix: &str) -> BTreeSet<String> {
    html.match_indices(prefix)
        .map(|(at, _)| {
            let rest = &html[at..];
            rest[..rest.find(['"', '\'']).unwrap()].to_string()
        })
        .collect()
}

/// The relative module specifiers a JS file imports (`from "./x.js"`, `import("../y.js")`).
fn relative_imports(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for quote in ['"', '\''] {
        for start in [format!("from {quote}."), format!("import({quote}.")] {
            for (at, _) in source.match_indices(&start) {
                let begin = at + start.len() - 1;
                let end = begin + source[begin..].find(quote).unwrap();
                found.push(source[begin..end].to_string());
            }
        }
    }
    found
}

fn resolve(base: &str, relative: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').collect();
    parts.pop();
    for segment in relative.split('/') {
        match segment {
            "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[tokio::test]
async fn app_routes_answer_the_index_and_api_paths_keep_their_json_404() {
    let app = spawn_app().await;
    let home = index(&app, "/").await;
    assert!(home.contains(r#"<div id="app">"#));
    let prefix = app::webapp::asset_prefix();
    assert!(home.contains(&format!("{prefix}/src/main.js")), "{home}");
    assert!(!home.contains("%ASSETS%"));
    for path in ["/orders/7", "/verify-email?token=abc", "/reset-password?token=abc", "/chat/3", "/admin", "/a/b/c/d"] {
        assert_eq!(index(&app, path).await, home, "{path}");
    }
    for path in [
        "/api/v1/no-such-route",
        "/api",
        "/api/",
        "/api-docs/nope",
        "/webhooks/nope",
        "/healthz/extra",
        "/metrics/x",
        "/assets/",
        "/assets/0000/no-such-file.js",
        "/robots.txt",
        "/src/nope.js",
    ] {
        assert_error(app.get(path, None).await, 404, "not_found").await;
    }
    let head = app.request(Method::HEAD, "/orders/1").send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_error(app.post("/orders", None, &json!({})).await, 405, "method_not_allowed").await;
    assert_error(app.post("/api/v1/nothing-here", None, &json!({})).await, 404, "not_found").await;
    // The operational endpoints and the documentation are untouched.
    assert_eq!(json_of(app.get("/healthz", None).await, 200).await["status"], "ok");
    let doc = app.get("/api-docs/openapi.json", None).await;
    assert!(header(&doc, CONTENT_TYPE).starts_with("application/json"));
    let swagger = app.get("/swagger-ui/", None).await;
    assert_eq!(swagger.status(), 200);
    assert!(!swagger.text().await.unwrap().contains(r#"<div id="app">"#));
}

#[tokio::test]
async fn files_are_immutable_under_the_hashed_prefix_and_revalidate_by_etag() {
    let app = spawn_app().await;
    let home = index(&app, "/").await;
    let prefix = app::webapp::asset_prefix();
    let named = asset_urls(&home, prefix);
    for wanted in ["/src/main.js", "/app.css", "/vendor/preact.module.js", "/favicon.svg"] {
        assert!(named.contains(&format!("{prefix}{wanted}")), "{wanted} not named in {named:?}");
    }

    // Every module the page names, and every module they import in turn, is served.
    let mut queue: Vec<String> = named.into_iter().collect();
    let mut seen = BTreeSet::new();
    while let Some(url) = queue.pop() {
        if !seen.insert(url.clone()) {
            continue;
        }
        let res = app.get(&url, None).await;
        assert_eq!(res.status(), 200, "{url}");
        assert_eq!(header(&res, CACHE_CONTROL), "public, max-age=31536000, immutable", "{url}");
        assert!(!header(&res, ETAG).is_empty(), "{url}");
        let content_type = header(&res, CONTENT_TYPE);
        if url.ends_with(".js") {
            assert!(content_type.starts_with("text/javascript"), "{url}: {content_type}");
            let source = res.text().await.unwrap();
            for import in relative_imports(&source) {
                queue.push(resolve(&url, &import));
            }
        }
    }
    assert!(seen.len() >= 20, "modules reached: {seen:?}");
    assert!(seen.iter().any(|u| u.ends_with("/src/pages/admin.js")), "lazy pages are reached: {seen:?}");

    // ETags: a match is 304 without a body.
    let url = format!("{prefix}/src/main.js");
    let first = app.get(&url, None).await;
    let etag = header(&first, ETAG);
    let again = app.request(Method::GET, &url).header(IF_NONE_MATCH, &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, ETAG), etag);
    assert!(again.bytes().await.unwrap().is_empty());
    let page = app.get("/", None).await;
    let page_etag = header(&page, ETAG);
    let page_again = app.request(Method::GET, "/cart").header(IF_NONE_MATCH, &page_etag).send().await.unwrap();
    assert_eq!(page_again.status(), 304, "the index revalidates by its ETag");

    // Gzip when the client takes it, the same bytes once inflated.
    let plain = first.bytes().await.unwrap();
    let zipped = app.request(Method::GET, &url).header("accept-encoding", "gzip, br").send().await.unwrap();
    assert_eq!(header(&zipped, CONTENT_ENCODING), "gzip");
    let packed = zipped.bytes().await.unwrap();
    assert!(packed.len() < plain.len());
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(&packed[..]).read_to_end(&mut inflated).unwrap();
    assert_eq!(inflated, plain.to_vec());
    let refused = app.request(Method::GET, &url).header("accept-encoding", "gzip;q=0").send().await.unwrap();
    assert_eq!(header(&refused, CONTENT_ENCODING), "");

    // A page from before a deploy asks with an old hash: served, but not cached for good.
    let old = app.get("/assets/0123456789abcdef/src/main.js", None).await;
    assert_eq!(old.status(), 200);
    assert_eq!(header(&old, CACHE_CONTROL), "no-cache");
    assert_error(app.get(&format!("{prefix}/index.html"), None).await, 404, "not_found").await;
    assert_error(app.get(&format!("{prefix}/tests/conftest.py"), None).await, 404, "not_found").await;
    assert_error(app.get(&format!("{prefix}/package.json"), None).await, 404, "not_found").await;
}

/// The text of a quoted-printable body as far as URLs need it (soft breaks, `=3D`).
fn unquote(text: &str) -> String {
    text.replace("=\n", "").replace("=3D", "=")
}

#[tokio::test]
async fn email_links_open_the_web_app_pages() {
    let app = spawn_app().await;
    let base = app.assembled.settings.server.public_url.trim_end_matches('/').to_string();
    json_of(app.signup("links@example.com", "password one", "Links", "customer").await, 201).await;
    let (text, token) = app.wait_for_email("links@example.com", |t| t.contains("verify")).await;
    let text = unquote(&text);
    let link = format!("{base}/verify-email?token={token}");
    assert!(text.contains(&link), "{text}");
    let path = link.strip_prefix(&base).unwrap();
    index(&app, path).await;

    let res = app.post("/api/v1/auth/password-reset", None, &json!({ "email": "links@example.com" })).await;
    assert_eq!(res.status(), 202);
    let (text, token) = app.wait_for_email("links@example.com", |t| unquote(t).contains("reset-password")).await;
    let text = unquote(&text);
    assert!(!token.is_empty(), "the token line stays: {text}");
    let link = format!("{base}/reset-password?token={token}");
    assert!(text.contains(&link), "{text}");
    index(&app, link.strip_prefix(&base).unwrap()).await;
}
