//! The OpenAPI document, merged from each module's, and the bundled Swagger UI.

use actix_web::{HttpResponse, web};
use platform::error::ErrorBody;
use std::sync::OnceLock;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Commerce API", version = "1", description = "Products, carts, orders, wallets, chat, missions and the SDU feed."),
    paths(crate::operations::healthz, crate::operations::readyz, crate::operations::metrics),
    components(schemas(crate::operations::Health, crate::operations::Readiness, crate::operations::Unready, ErrorBody)),
    tags((name = "operations", description = "Liveness, readiness and metrics")),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// Declares, on every operation, the error answers the shared layers give whatever the
/// handler does (docs/api.md's "Errors" table), each with the error body:
/// - 400 where a body, query or header is read (`invalid_json`, `validation_failed`,
///   `idempotency_key_required`);
/// - 401 where a token is checked (required, or optional but invalid);
/// - 404 where the path carries an id (a non-integer id is 404);
/// - 413 and 415 where a JSON body is read;
/// - 429 on `/auth/*` (per-IP limit, per-account lock-out);
/// - 503 on every API route (a database that does not answer within the checkout timeout).
struct CommonErrors;

impl CommonErrors {
    fn add(operation: &mut Operation, status: &str, description: &str) {
        if operation.responses.responses.contains_key(status) {
            return;
        }
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(ErrorBody::name()))).build();
        let response = ResponseBuilder::new().description(description).content("application/json", content).build();
        operation.responses.responses.insert(status.to_string(), RefOr::T(response));
    }

    /// The shape the server enforces on the headers it reads (see `platform::http`).
    fn constrain_headers(operation: &mut Operation) {
        for parameter in operation.parameters.iter_mut().flatten() {
            let RefOr::T(parameter) = parameter else { continue };
            if parameter.parameter_in != ParameterIn::Header {
                continue;
            }
            let (min, max, pattern) = match parameter.name.as_str() {
                // 1..=128 printable ASCII characters.
                "Idempotency-Key" => (1, 128, "^[ -~]+$"),
                // ISO 3166 alpha-2.
                "X-Country" => (2, 2, "^[A-Za-z]{2}$"),
                _ => continue,
            };
            let schema = ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(min))
                .max_length(Some(max))
                .pattern(Some(pattern))
                .build();
            parameter.schema = Some(RefOr::T(schema.into()));
        }
    }

    fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
        [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head]
            .into_iter()
            .filter_map(Option::as_mut)
    }
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let api = path.starts_with("/api/v1/");
            let auth = path.starts_with("/api/v1/auth/");
            // `/products` and `/feed` take an optional token: a bad one is still 401.
            let optional_token = matches!(path.as_str(), "/api/v1/products" | "/api/v1/products/{id}" | "/api/v1/feed");
            for operation in Self::operations(item) {
                Self::constrain_headers(operation);
                let parameters = operation.parameters.as_deref().unwrap_or_default();
                let reads_input = operation.request_body.is_some()
                    || parameters.iter().any(|p| matches!(p, RefOr::T(p) if p.parameter_in != ParameterIn::Path));
                let has_path_id =
                    parameters.iter().any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path));
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                if reads_input {
                    Self::add(operation, "400", "invalid_json, validation_failed or idempotency_key_required");
                }
                if secured || optional_token {
                    Self::add(operation, "401", "unauthenticated or token_expired");
                }
                if secured || optional_token {
                    Self::add(operation, "403", "account_suspended (or forbidden: the wrong role)");
                }
                if has_path_id {
                    Self::add(operation, "404", "not_found");
                }
                if operation.request_body.is_some() {
                    Self::add(operation, "413", "payload_too_large (bodies over 64 KiB)");
                    Self::add(operation, "415", "unsupported_media_type (the body must be JSON)");
                }
                if auth {
                    Self::add(operation, "429", "rate_limited (see Retry-After)");
                }
                if api {
                    Self::add(operation, "503", "unavailable: a backing service is down");
                }
            }
        }
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(account::http::AccountApi::openapi());
    doc.merge(payment::http::PaymentApi::openapi());
    doc.merge(payment::charges::http::ChargesApi::openapi());
    doc.merge(payment::payouts::http::PayoutsApi::openapi());
    doc.merge(order::catalog::http::CatalogApi::openapi());
    doc.merge(order::cart::http::CartApi::openapi());
    doc.merge(order::checkout::http::OrdersApi::openapi());
    doc.merge(chat::http::ChatApi::openapi());
    doc.merge(mission::http::MissionApi::openapi());
    doc.merge(feed::http::FeedApi::openapi());
    doc.merge(notify::http::NotifyApi::openapi());
    doc.merge(crate::outbox_admin::OutboxApi::openapi());
    doc.merge(moderation::http::ModerationApi::openapi());
    BearerAuth.modify(&mut doc);
    CommonErrors.modify(&mut doc);
    doc
}

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/api-docs/openapi.json";

/// The document, built and serialized once per process (building it merges every module's
/// and walks each operation; serializing it on each request cost milliseconds).
fn rendered() -> &'static web::Bytes {
    static RENDERED: OnceLock<web::Bytes> = OnceLock::new();
    RENDERED.get_or_init(|| match serde_json::to_vec(&document()) {
        Ok(json) => web::Bytes::from(json),
        // Unreachable with utoipa's types (plain maps and strings); an empty object keeps the route up.
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document does not serialize");
            web::Bytes::from_static(b"{}")
        }
    })
}

async fn serve_document() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(rendered().clone())
}

/// `GET /api-docs/openapi.json` (pre-rendered) and the Swagger UI that reads it.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(DOCUMENT_PATH, web::get().to(serve_document))
        .service(SwaggerUi::new("/swagger-ui/{_:.*}").config(Config::new([DOCUMENT_PATH])));
}
