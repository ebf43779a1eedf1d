//! The web app (`web/`): plain ES modules, CSS and `index.html`, embedded at compile time
//! (debug builds read the same files from disk at start-up) and served as the fallback of
//! every path the API and the operational endpoints do not claim.
//!
//! Files are served under `/assets/<hash>/…`, where `<hash>` digests every embedded file, so
//! they can be cached as `immutable` and relative module imports resolve under the same
//! prefix; `index.html` (answered for every app route, so client-side routes survive a
//! reload and open from email links) is `no-cache` with an ETag, and names the prefix.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, http::Method};
use flate2::Compression;
use flate2::write::GzEncoder;
use platform::ApiError;
use rust_embed::Embed;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::sync::LazyLock;

#[derive(Embed)]
#[folder = "../web/"]
#[exclude = "tests/*"]
#[exclude = "node_modules/*"]
#[exclude = "package.json"]
#[exclude = "package-lock.json"]
#[exclude = "*.sh"]
#[exclude = "*.py"]
#[exclude = ".*"]
struct WebFiles;

/// Path prefixes the web app never answers (they keep their JSON 404s).
const RESERVED: [&str; 8] =
    ["/api", "/api-docs", "/swagger-ui", "/healthz", "/readyz", "/metrics", "/webhooks", "/assets"];
/// Placeholder in `index.html` replaced by the hashed asset prefix.
const PREFIX_PLACEHOLDER: &str = "%ASSETS%";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

struct Asset {
    body: Vec<u8>,
    /// Present when gzip makes the file smaller.
    gzip: Option<Vec<u8>>,
    content_type: &'static str,
    etag: String,
}

impl Asset {
    fn new(body: Vec<u8>, content_type: &'static str) -> Asset {
        let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
        let gzip = compressible(content_type).then(|| gzip(&body)).flatten().filter(|g| g.len() < body.len());
        Asset { body, gzip, content_type, etag }
    }
}

struct Site {
    /// `/assets/<hash>`.
    prefix: String,
    hash: String,
    index: Asset,
    /// The Content-Security-Policy of `index.html` (its inline scripts by hash).
    policy: String,
    files: HashMap<String, Asset>,
}

static SITE: LazyLock<Site> = LazyLock::new(load);

fn load() -> Site {
    let mut names: Vec<String> = WebFiles::iter().map(|n| n.into_owned()).collect();
    names.sort();
    let mut digest = Sha256::new();
    let mut files = HashMap::new();
    for name in names {
        let Some(file) = WebFiles::get(&name) else { continue };
        digest.update(name.as_bytes());
        digest.update(file.metadata.sha256_hash());
        files.insert(name.clone(), Asset::new(file.data.into_owned(), content_type(&name)));
    }
    let hash = hex::encode(digest.finalize())[..16].to_string();
    let prefix = format!("/assets/{hash}");
    let template =
        files.get("index.html").map(|a| String::from_utf8_lossy(&a.body).into_owned()).unwrap_or_else(|| {
            tracing::error!("web/index.html is missing from the embedded files");
            String::from("<!doctype html><title>Web app missing</title>")
        });
    let html = template.replace(PREFIX_PLACEHOLDER, &prefix);
    let policy = content_security_policy(&html);
    Site { index: Asset::new(html.into_bytes(), "text/html; charset=utf-8"), prefix, hash, policy, files }
}

/// Loads (and compresses) the files now rather than on the first request.
pub fn preload() {
    LazyLock::force(&SITE);
}

/// The hashed prefix the current `index.html` points at (tests follow it).
pub fn asset_prefix() -> &'static str {
    &SITE.prefix
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/") || content_type == "image/svg+xml" || content_type == "application/json"
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

/// Scripts from the site itself, plus the inline ones of `index.html` (the import map and
/// the boot script) by their hashes; API calls and the chat socket to the same origin.
fn content_security_policy(html: &str) -> String {
    use base64::Engine;
    let mut hashes = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else { break };
        let Some(close) = after.find("</script>") else { break };
        if !after[..open_end].contains(" src=") {
            let body = &after[open_end + 1..close];
            let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body.as_bytes()));
            hashes.push_str(&format!(" 'sha256-{hash}'"));
        }
        rest = &after[close + "</script>".len()..];
    }
    format!(
        "default-src 'self'; script-src 'self'{hashes}; style-src 'self'; img-src 'self' https: data:; \
         connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    )
}

fn reserved(path: &str) -> bool {
    RESERVED.iter().any(|p| path == *p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/')))
}

fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers().get_all(header::ACCEPT_ENCODING).filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        },
    )
}

fn respond(req: &HttpRequest, asset: &Asset, cache_control: &'static str) -> HttpResponse {
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag || t.trim() == "*"));
    let mut response = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .insert_header((header::ETAG, asset.etag.as_str()))
        .insert_header((header::CACHE_CONTROL, cache_control))
        .insert_header((header::VARY, "Accept-Encoding"));
    if fresh {
        return response.finish();
    }
    response.insert_header((header::CONTENT_TYPE, asset.content_type));
    let body = match &asset.gzip {
        Some(gzip) if accepts_gzip(req) => {
            response.insert_header((header::CONTENT_ENCODING, "gzip"));
            gzip.clone()
        }
        _ => asset.body.clone(),
    };
    if req.method() == Method::HEAD {
        response.insert_header((header::CONTENT_LENGTH, HeaderValue::from(body.len())));
        return response.finish();
    }
    response.body(body)
}

/// The default service: the web app for app routes and its files, the JSON 404 for every
/// path the API owns.
pub async fn serve(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    let site = &*SITE;
    if let Some(rest) = path.strip_prefix("/assets/") {
        let (hash, name) = rest.split_once('/').ok_or_else(ApiError::not_found)?;
        let asset = site.files.get(name).filter(|_| name != "index.html").ok_or_else(ApiError::not_found)?;
        if !matches!(*req.method(), Method::GET | Method::HEAD) {
            return Err(ApiError::method_not_allowed());
        }
        // A page from before a deploy may ask for an old hash: current content, not cached for long.
        let cache = if hash == site.hash { IMMUTABLE } else { REVALIDATE };
        return Ok(respond(&req, asset, cache));
    }
    if reserved(path) {
        return Err(ApiError::not_found());
    }
    if path.rsplit('/').next().unwrap_or("").contains('.') {
        // A file by its plain name (such as /favicon.svg or the demo's ad images), not
        // cached for long; any other file name is no app route.
        let name = &path[1..];
        let asset = site.files.get(name).filter(|_| name != "index.html");
        return match asset {
            Some(asset) if matches!(*req.method(), Method::GET | Method::HEAD) => Ok(respond(&req, asset, REVALIDATE)),
            Some(_) => Err(ApiError::method_not_allowed()),
            None => Err(ApiError::not_found()),
        };
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return Err(ApiError::method_not_allowed());
    }
    let mut response = respond(&req, &site.index, REVALIDATE);
    if let Ok(policy) = HeaderValue::from_str(&site.policy) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_prefixes_match_whole_segments() {
        for path in ["/api", "/api/v1/nope", "/api-docs/x", "/swagger-ui/", "/healthz", "/metrics", "/webhooks/toss"] {
            assert!(reserved(path), "{path}");
        }
        for path in ["/", "/apis", "/orders/7", "/metricsx", "/chat/3"] {
            assert!(!reserved(path), "{path}");
        }
    }

    #[test]
    fn inline_scripts_are_allowed_by_hash_and_others_by_origin() {
        let policy = content_security_policy(
            r#"<script type="importmap">{}</script><script type="module" src="/a.js"></script>"#,
        );
        assert!(policy.contains("'sha256-RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o='"), "{policy}");
        assert_eq!(policy.matches("'sha256-").count(), 1, "{policy}");
        assert!(!policy.contains("unsafe-inline"));
    }
}
