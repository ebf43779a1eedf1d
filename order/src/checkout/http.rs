//! Checkout and order history routes.

use super::{Order, OrderLine, Orders};
use actix_web::{HttpResponse, web};
use contracts::{Page, Role};
use platform::ApiResult;
use platform::auth::AuthUser;
use platform::error::ErrorBody;
use platform::http::{IdempotencyKey, OptionalJson, PageQuery, Validator};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(checkout, my_orders, my_order, seller_orders),
    components(schemas(Order, OrderLine, CheckoutRequest)),
    tags((name = "orders", description = "Checkout and order history"))
)]
pub struct OrdersApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/orders").route(web::post().to(checkout)).route(web::get().to(my_orders)))
        .service(web::resource("/orders/{id}").route(web::get().to(my_order)))
        .service(web::resource("/seller/orders").route(web::get().to(seller_orders)));
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CheckoutRequest {
    /// The total the customer saw; a different current total refuses with `cart_changed`.
    #[schema(minimum = 0)]
    expected_total: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), request_body = Option<CheckoutRequest>,
    params(("Idempotency-Key" = String, Header, description = "1..=128 printable ASCII characters")),
    responses((status = 201, description = "Paid, or the original order of a replayed key", body = Order),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "cart_empty, cart_changed, out_of_stock, insufficient_balance, idempotency_conflict or request_in_progress", body = ErrorBody)))]
async fn checkout(
    orders: web::Data<Orders>,
    user: AuthUser,
    key: IdempotencyKey,
    OptionalJson(body): OptionalJson<CheckoutRequest>,
) -> ApiResult<HttpResponse> {
    user.require(Role::Customer)?;
    if let Some(total) = body.expected_total {
        Validator::default().check(total >= 0, "expected_total", "must be 0 or more").finish()?;
    }
    let order = orders.checkout(user.account_id, key.as_str(), body.expected_total).await?;
    Ok(HttpResponse::Created().json(order))
}

#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<Order>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn my_orders(orders: web::Data<Orders>, user: AuthUser, query: web::Query<PageQuery>) -> ApiResult<HttpResponse> {
    user.require(Role::Customer)?;
    let page = query.validate()?;
    Ok(HttpResponse::Ok().json(orders.buyer_orders(user.account_id, page).await?))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, body = Order), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn my_order(orders: web::Data<Orders>, user: AuthUser, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    user.require(Role::Customer)?;
    Ok(HttpResponse::Ok().json(orders.order(user.account_id, id.into_inner()).await?))
}

#[utoipa::path(get, path = "/api/v1/seller/orders", tag = "orders", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "Orders with the seller's lines; only those lines, totalled", body = Page<Order>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn seller_orders(
    orders: web::Data<Orders>,
    user: AuthUser,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    user.require(Role::Seller)?;
    let page = query.validate()?;
    Ok(HttpResponse::Ok().json(orders.seller_orders(user.account_id, page).await?))
}
