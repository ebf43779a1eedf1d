//! The OpenAPI document, merged from each module's, and the bundled Swagger UI.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Commerce API", version = "1", description = "Products, carts, orders, wallets, chat, missions and the SDU feed."),
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

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(account::http::AccountApi::openapi());
    doc.merge(payment::http::PaymentApi::openapi());
    doc.merge(order::catalog::http::CatalogApi::openapi());
    doc.merge(order::cart::http::CartApi::openapi());
    doc.merge(order::checkout::http::OrdersApi::openapi());
    doc.merge(chat::http::ChatApi::openapi());
    doc.merge(mission::http::MissionApi::openapi());
    doc.merge(feed::http::FeedApi::openapi());
    BearerAuth.modify(&mut doc);
    doc
}

pub fn swagger() -> SwaggerUi {
    SwaggerUi::new("/swagger-ui/{_:.*}").url("/api-docs/openapi.json", document())
}
