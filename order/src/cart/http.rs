//! Cart routes (customers only).

use super::{CartEdit, CartItem, CartView, Carts, MAX_QUANTITY};
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, web};
use platform::ApiResult;
use platform::auth::AsCustomer;
use platform::error::ErrorBody;
use platform::http::{Json, Validator};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(get_cart, add_item, set_quantity, remove_item, clear_cart),
    components(schemas(CartView, CartItem, AddItemRequest, QuantityRequest)),
    tags((name = "cart", description = "The customer's cart, reconciled with the catalog"))
)]
pub struct CartApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/cart").route(web::get().to(get_cart)).route(web::delete().to(clear_cart)))
        .service(web::resource("/cart/items").route(web::post().to(add_item)))
        .service(
            web::resource("/cart/items/{item_id}")
                .route(web::patch().to(set_quantity))
                .route(web::delete().to(remove_item)),
        );
}

#[utoipa::path(get, path = "/api/v1/cart", tag = "cart", security(("bearer" = [])),
    responses((status = 200, body = CartView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn get_cart(user: AsCustomer, carts: web::Data<Carts>) -> ApiResult<HttpResponse> {
    let body = carts.view_json(user.account()).await?;
    Ok(HttpResponse::Ok().content_type(ContentType::json()).body(body))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddItemRequest {
    product_id: i64,
    item_id: i64,
    /// 1..=1000; added to the quantity already in the cart.
    #[schema(minimum = 1, maximum = 1000)]
    quantity: i64,
}

#[utoipa::path(post, path = "/api/v1/cart/items", tag = "cart", security(("bearer" = [])), request_body = AddItemRequest,
    responses((status = 200, body = CartView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "out_of_stock", body = ErrorBody)))]
async fn add_item(
    user: AsCustomer,
    carts: web::Data<Carts>,
    Json(body): Json<AddItemRequest>,
) -> ApiResult<HttpResponse> {
    Validator::default()
        .check((1..=MAX_QUANTITY).contains(&body.quantity), "quantity", "must be between 1 and 1000")
        .finish()?;
    let edit = CartEdit::Add { product_id: body.product_id, item_id: body.item_id, quantity: body.quantity };
    Ok(HttpResponse::Ok().json(carts.edit(user.account(), edit).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct QuantityRequest {
    /// 0..=1000; 0 removes the line.
    #[schema(minimum = 0, maximum = 1000)]
    quantity: i64,
}

#[utoipa::path(patch, path = "/api/v1/cart/items/{item_id}", tag = "cart", security(("bearer" = [])),
    params(("item_id" = i64, Path, description = "Item id")), request_body = QuantityRequest,
    responses((status = 200, body = CartView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "out_of_stock", body = ErrorBody)))]
async fn set_quantity(
    user: AsCustomer,
    carts: web::Data<Carts>,
    item_id: web::Path<i64>,
    Json(body): Json<QuantityRequest>,
) -> ApiResult<HttpResponse> {
    Validator::default()
        .check((0..=MAX_QUANTITY).contains(&body.quantity), "quantity", "must be between 0 and 1000")
        .finish()?;
    let edit = CartEdit::SetQuantity { item_id: item_id.into_inner(), quantity: body.quantity };
    Ok(HttpResponse::Ok().json(carts.edit(user.account(), edit).await?))
}

#[utoipa::path(delete, path = "/api/v1/cart/items/{item_id}", tag = "cart", security(("bearer" = [])),
    params(("item_id" = i64, Path, description = "Item id")),
    responses((status = 200, body = CartView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_item(user: AsCustomer, carts: web::Data<Carts>, item_id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let edit = CartEdit::Remove { item_id: item_id.into_inner() };
    Ok(HttpResponse::Ok().json(carts.edit(user.account(), edit).await?))
}

#[utoipa::path(delete, path = "/api/v1/cart", tag = "cart", security(("bearer" = [])),
    responses((status = 204, description = "Emptied"), (status = 403, body = ErrorBody)))]
async fn clear_cart(user: AsCustomer, carts: web::Data<Carts>) -> ApiResult<HttpResponse> {
    carts.edit(user.account(), CartEdit::Clear).await?;
    Ok(HttpResponse::NoContent().finish())
}
