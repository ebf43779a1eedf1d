//! The web app served by the binary: `index.html` for app routes (so client-side routes
//! survive reloads and email links), files under a hashed prefix cached as immutable, ETag
//! revalidation, gzip, and the API's own paths untouched (their JSON 404s stay).

use crate::helpers::*;
use reqwest::Method;
use reqwest::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::io::Read;

fn header(res: &Reply, name: reqwest::header::HeaderName) -> String {
    res.header(name.as_str()).unwrap_or_default().to_string()
}

async fn index(app: &TestApp, path: &str) -> String {
    let res = app.get_root(path).await;
    assert_eq!(res.status(), 200, "{path}");
    assert!(header(&res, CONTENT_TYPE).starts_with("text/html"), "{path}");
    assert_eq!(header(&res, CACHE_CONTROL), "no-cache", "{path}");
    assert!(header(&res, reqwest::header::CONTENT_SECURITY_POLICY).contains("script-src 'self' 'sha256-"), "{path}");
    res.text().await
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
        app.get_root(path).fails(404, "not_found").await;
    }
    let head = app.request_root(Method::HEAD, "/orders/1").await;
    assert_eq!(head.status(), 200);
    app.request_root(Method::POST, "/orders").json(&json!({})).fails(405, "method_not_allowed").await;
    app.post("/nothing-here", &json!({})).fails(404, "not_found").await;
    // The operational endpoints and the documentation are untouched.
    assert_eq!(app.get_root("/healthz").returns::<Value>(200).await["status"], "ok");
    let doc = app.get_root("/api-docs/openapi.json").await;
    assert!(header(&doc, CONTENT_TYPE).starts_with("application/json"));
    let swagger = app.get_root("/swagger-ui/").await;
    assert_eq!(swagger.status(), 200);
    assert!(!swagger.text().await.contains(r#"<div id="app">"#));
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
        let res = app.get_root(&url).await;
        assert_eq!(res.status(), 200, "{url}");
        assert_eq!(header(&res, CACHE_CONTROL), "public, max-age=31536000, immutable", "{url}");
        assert!(!header(&res, ETAG).is_empty(), "{url}");
        let content_type = header(&res, CONTENT_TYPE);
        if url.ends_with(".js") {
            assert!(content_type.starts_with("text/javascript"), "{url}: {content_type}");
            let source = res.text().await;
            for import in relative_imports(&source) {
                queue.push(resolve(&url, &import));
            }
        }
    }
    assert!(seen.len() >= 20, "modules reached: {seen:?}");
    assert!(seen.iter().any(|u| u.ends_with("/src/pages/admin.js")), "lazy pages are reached: {seen:?}");

    // ETags: a match is 304 without a body.
    let url = format!("{prefix}/src/main.js");
    let first = app.get_root(&url).await;
    let etag = header(&first, ETAG);
    let again = app.request_root(Method::GET, &url).header(IF_NONE_MATCH.as_str(), &etag).await;
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, ETAG), etag);
    assert!(again.bytes().await.is_empty());
    let page = app.get_root("/").await;
    let page_etag = header(&page, ETAG);
    let page_again = app.request_root(Method::GET, "/cart").header(IF_NONE_MATCH.as_str(), &page_etag).await;
    assert_eq!(page_again.status(), 304, "the index revalidates by its ETag");

    // Gzip when the client takes it, the same bytes once inflated.
    let plain = first.bytes().await;
    let zipped = app.request_root(Method::GET, &url).header("accept-encoding", "gzip, br").await;
    assert_eq!(header(&zipped, CONTENT_ENCODING), "gzip");
    let packed = zipped.bytes().await;
    assert!(packed.len() < plain.len());
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(&packed[..]).read_to_end(&mut inflated).unwrap();
    assert_eq!(inflated, plain);
    let refused = app.request_root(Method::GET, &url).header("accept-encoding", "gzip;q=0").await;
    assert_eq!(header(&refused, CONTENT_ENCODING), "");

    // A page from before a deploy asks with an old hash: served, but not cached for good.
    let old = app.get_root("/assets/0123456789abcdef/src/main.js").await;
    assert_eq!(old.status(), 200);
    assert_eq!(header(&old, CACHE_CONTROL), "no-cache");
    app.get_root(&format!("{prefix}/index.html")).fails(404, "not_found").await;
    app.get_root(&format!("{prefix}/tests/conftest.py")).fails(404, "not_found").await;
    app.get_root(&format!("{prefix}/package.json")).fails(404, "not_found").await;
}

/// The text of a quoted-printable body as far as URLs need it (soft breaks, `=3D`).
fn unquote(text: &str) -> String {
    text.replace("=\n", "").replace("=3D", "=")
}

#[tokio::test]
async fn email_links_open_the_web_app_pages() {
    let app = spawn_app().await;
    let base = app.assembled.settings.server.public_url.trim_end_matches('/').to_string();
    app.signup("links@example.com", "password one", "Links", "customer").returns::<Value>(201).await;
    let Email { text, token } = app.wait_for_email("links@example.com", |t| t.contains("verify")).await;
    let text = unquote(&text);
    let link = format!("{base}/verify-email?token={token}");
    assert!(text.contains(&link), "{text}");
    let path = link.strip_prefix(&base).unwrap();
    index(&app, path).await;

    let res = app.post("/auth/password-reset", &json!({ "email": "links@example.com" })).await;
    assert_eq!(res.status(), 202);
    let Email { text, token } =
        app.wait_for_email("links@example.com", |t| unquote(t).contains("reset-password")).await;
    let text = unquote(&text);
    assert!(!token.is_empty(), "the token line stays: {text}");
    let link = format!("{base}/reset-password?token={token}");
    assert!(text.contains(&link), "{text}");
    index(&app, link.strip_prefix(&base).unwrap()).await;
}

/// The `path:` of every route in `web/src/routes.js` (`/orders/:id`).
fn web_routes(root: &std::path::Path) -> Vec<String> {
    let source = std::fs::read_to_string(root.join("web/src/routes.js")).unwrap();
    let start = r#"path: ""#;
    source
        .match_indices(start)
        .map(|(at, _)| {
            let rest = &source[at + start.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// Every notification link the notify module can build: its non-test string literals that
/// start with `/`, each `{…}` placeholder filled with an id.
fn notification_links(root: &std::path::Path) -> BTreeSet<String> {
    let mut links = BTreeSet::new();
    for file in ["notify/src/events.rs", "notify/src/service.rs"] {
        let source = std::fs::read_to_string(root.join(file)).unwrap();
        let code = source.split("#[cfg(test)]").next().unwrap();
        for (at, _) in code.match_indices("\"/") {
            let rest = &code[at + 1..];
            let literal = &rest[..rest.find('"').unwrap()];
            let mut link = String::new();
            let mut in_placeholder = false;
            for c in literal.chars() {
                match c {
                    '{' => in_placeholder = true,
                    '}' if in_placeholder => {
                        in_placeholder = false;
                        link.push('7');
                    }
                    _ if in_placeholder => {}
                    other => link.push(other),
                }
            }
            links.insert(link);
        }
    }
    links
}

fn route_matches(route: &str, path: &str) -> bool {
    let (route, path): (Vec<&str>, Vec<&str>) = (route.split('/').collect(), path.split('/').collect());
    route.len() == path.len() && route.iter().zip(&path).all(|(r, p)| r == p || (r.starts_with(':') && !p.is_empty()))
}

/// A notification's link must open a page of the app, not its "page not found".
#[test]
fn every_notification_link_opens_a_web_app_route() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let routes = web_routes(root);
    assert!(routes.contains(&"/orders/:id".to_string()), "routes.js is parsed: {routes:?}");
    let links = notification_links(root);
    for expected in ["/orders/7", "/seller/orders/7", "/missions/7", "/chat/7", "/wallet", "/profile", "/reports/7"] {
        assert!(links.contains(expected), "notify's links are found: {links:?}");
    }
    let broken: Vec<&String> = links.iter().filter(|l| !routes.iter().any(|r| route_matches(r, l))).collect();
    assert!(broken.is_empty(), "links with no route in web/src/routes.js: {broken:?}");
}
