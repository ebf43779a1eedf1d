//! Checkout, order history and order transition routes.

use super::lifecycle::Action;
use super::{LineStatus, ORDER_STATUSES, Order, OrderLine, OrderStatus, Orders, Shipment, Viewer};
use actix_web::{Handler, HttpResponse, web};
use contracts::Page;
use platform::ApiResult;
use platform::auth::{AdminRole, AsAdmin, AsCustomer, AsSeller, Authorized, CustomerRole, Roles, SellerRole};
use platform::error::{ApiError, ErrorBody};
use platform::http::{IdempotencyKey, OptionalJson, PageQuery, Validator};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(checkout, my_orders, my_order, seller_orders, seller_order, admin_order, buyer_cancel, buyer_confirm,
        buyer_return, seller_ship, seller_cancel, seller_accept_return, seller_reject_return, admin_refund),
    components(schemas(Order, OrderLine, Shipment, CheckoutRequest, ItemsRequest, ReasonRequest, CancelRequest,
        ShipRequest, AcceptReturnRequest)),
    tags((name = "orders", description = "Checkout, order history and the order lifecycle"))
)]
pub struct OrdersApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/orders").route(web::post().to(checkout)).route(web::get().to(my_orders)))
        .service(web::resource("/orders/{id}").route(web::get().to(my_order)))
        .service(
            web::resource("/orders/{id}/cancel").route(web::post().to(transition::<CustomerRole, _>(buyer_cancel))),
        )
        .service(
            web::resource("/orders/{id}/confirm").route(web::post().to(transition::<CustomerRole, _>(buyer_confirm))),
        )
        .service(
            web::resource("/orders/{id}/returns").route(web::post().to(transition::<CustomerRole, _>(buyer_return))),
        )
        .service(web::resource("/seller/orders").route(web::get().to(seller_orders)))
        .service(web::resource("/seller/orders/{id}").route(web::get().to(seller_order)))
        .service(
            web::resource("/seller/orders/{id}/ship").route(web::post().to(transition::<SellerRole, _>(seller_ship))),
        )
        .service(
            web::resource("/seller/orders/{id}/cancel")
                .route(web::post().to(transition::<SellerRole, _>(seller_cancel))),
        )
        .service(
            web::resource("/seller/orders/{id}/returns/accept")
                .route(web::post().to(transition::<SellerRole, _>(seller_accept_return))),
        )
        .service(
            web::resource("/seller/orders/{id}/returns/reject")
                .route(web::post().to(transition::<SellerRole, _>(seller_reject_return))),
        )
        .service(web::resource("/admin/orders/{id}").route(web::get().to(admin_order)))
        .service(
            web::resource("/admin/orders/{id}/refund").route(web::post().to(transition::<AdminRole, _>(admin_refund))),
        );
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CheckoutRequest {
    /// The total the customer saw; a different current total refuses with `cart_changed`.
    #[schema(minimum = 0)]
    expected_total: Option<i64>,
}

/// `?status=&page=&size=`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct OrdersQuery {
    /// `paid`, `in_progress`, `completed` or `cancelled`.
    status: Option<String>,
    page: Option<i64>,
    size: Option<i64>,
}

impl OrdersQuery {
    fn validate(&self) -> ApiResult<(Option<OrderStatus>, contracts::PageRequest)> {
        let page = PageQuery { page: self.page, size: self.size }.validate()?;
        let status = match &self.status {
            None => None,
            Some(raw) => Some(raw.parse().ok().filter(|s| ORDER_STATUSES.contains(s)).ok_or_else(|| {
                ApiError::invalid_field("status", "must be one of paid, in_progress, completed, cancelled")
            })?),
        };
        Ok((status, page))
    }
}

/// `?status=&line_status=&page=&size=` (the seller's list).
#[derive(Debug, Deserialize, IntoParams)]
pub struct SellerOrdersQuery {
    /// `paid`, `in_progress`, `completed` or `cancelled` (derived from the seller's lines).
    status: Option<String>,
    /// Only orders with at least one of the seller's lines in this status (`paid`,
    /// `shipped`, `confirmed`, `cancelled`, `return_requested` or `refunded`).
    line_status: Option<String>,
    page: Option<i64>,
    size: Option<i64>,
}

impl SellerOrdersQuery {
    fn validate(&self) -> ApiResult<(Option<OrderStatus>, Option<LineStatus>, contracts::PageRequest)> {
        let (status, page) =
            OrdersQuery { status: self.status.clone(), page: self.page, size: self.size }.validate()?;
        let line_status = match &self.line_status {
            None => None,
            Some(raw) => Some(raw.parse().map_err(|_| {
                ApiError::invalid_field("line_status", format!("must be one of {}", LineStatus::choices()))
            })?),
        };
        Ok((status, line_status, page))
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ItemsRequest {
    /// The lines (by `item_id`); omitted: every line the transition applies to.
    item_ids: Option<Vec<i64>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CancelRequest {
    item_ids: Option<Vec<i64>>,
    /// Optional for buyers, required for sellers (1..=500 characters).
    reason: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReasonRequest {
    item_ids: Option<Vec<i64>>,
    /// 1..=500 characters.
    reason: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ShipRequest {
    item_ids: Option<Vec<i64>>,
    /// 1..=100 characters.
    carrier: Option<String>,
    /// 1..=100 characters.
    tracking_number: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AcceptReturnRequest {
    item_ids: Option<Vec<i64>>,
    /// Put the returned units back in stock.
    restock: Option<bool>,
}

fn check_items(v: &mut Validator, ids: &Option<Vec<i64>>) {
    if let Some(ids) = ids {
        v.check(!ids.is_empty() && ids.len() <= 100, "item_ids", "must list 1..=100 item ids");
    }
}

fn text(v: &mut Validator, field: &str, raw: &Option<String>, required: bool, max: usize) -> Option<String> {
    let value = raw.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    match &value {
        None if required => {
            v.check(false, field, "is required");
        }
        Some(s) => {
            v.length(s, field, 1, max);
            v.check(!s.chars().any(char::is_control), field, "must not contain control characters");
        }
        None => {}
    }
    value
}

type Id = web::Path<i64>;

#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), request_body = Option<CheckoutRequest>,
    params(("Idempotency-Key" = String, Header, description = "1..=128 printable ASCII characters")),
    responses((status = 201, description = "Paid into escrow, or the original order of a replayed key", body = Order),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "cart_empty, cart_changed, out_of_stock, insufficient_balance, idempotency_conflict or request_in_progress", body = ErrorBody),
        (status = 503, description = "unavailable: interrupted; retry with the same key", body = ErrorBody)))]
async fn checkout(
    user: AsCustomer,
    orders: web::Data<Orders>,
    key: IdempotencyKey,
    OptionalJson(body): OptionalJson<CheckoutRequest>,
) -> ApiResult<HttpResponse> {
    if let Some(total) = body.expected_total {
        Validator::default().check(total >= 0, "expected_total", "must be 0 or more").finish()?;
    }
    let order = orders.checkout(user.account(), key.as_str(), body.expected_total).await?;
    Ok(HttpResponse::Created().json(order))
}

#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), params(OrdersQuery),
    responses((status = 200, body = Page<Order>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn my_orders(
    user: AsCustomer,
    orders: web::Data<Orders>,
    query: web::Query<OrdersQuery>,
) -> ApiResult<HttpResponse> {
    let (status, page) = query.validate()?;
    Ok(HttpResponse::Ok().json(orders.buyer_orders(user.account(), status, page).await?))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, body = Order), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn my_order(user: AsCustomer, orders: web::Data<Orders>, id: Id) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(orders.order(Viewer::Buyer(user.account_id), id.into_inner().into()).await?))
}

#[utoipa::path(get, path = "/api/v1/seller/orders", tag = "orders", security(("bearer" = [])), params(SellerOrdersQuery),
    responses((status = 200, description = "Orders with the seller's lines; only those lines, totalled, with fee and net", body = Page<Order>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn seller_orders(
    user: AsSeller,
    orders: web::Data<Orders>,
    query: web::Query<SellerOrdersQuery>,
) -> ApiResult<HttpResponse> {
    let (status, line_status, page) = query.validate()?;
    Ok(HttpResponse::Ok().json(orders.seller_orders(user.account(), status, line_status, page).await?))
}

#[utoipa::path(get, path = "/api/v1/seller/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "The seller's lines of the order, with fee and net", body = Order),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn seller_order(user: AsSeller, orders: web::Data<Orders>, id: Id) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(orders.order(Viewer::Seller(user.account_id), id.into_inner().into()).await?))
}

#[utoipa::path(get, path = "/api/v1/admin/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, body = Order), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn admin_order(_: AsAdmin, orders: web::Data<Orders>, id: Id) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(orders.order(Viewer::Admin, id.into_inner().into()).await?))
}

/// What a transition route's body asks for: the selected lines and the action. Each route's
/// function below validates its own fields (into `v`) and documents the route.
type Asked = (Option<Vec<i64>>, Action);

/// The roles that move order lines, each with the view of the order it acts from.
trait ActsAs: Roles {
    fn viewer(account_id: i64) -> Viewer;
}

impl ActsAs for CustomerRole {
    fn viewer(account_id: i64) -> Viewer {
        Viewer::Buyer(account_id)
    }
}

impl ActsAs for SellerRole {
    fn viewer(account_id: i64) -> Viewer {
        Viewer::Seller(account_id)
    }
}

impl ActsAs for AdminRole {
    fn viewer(_: i64) -> Viewer {
        Viewer::Admin
    }
}

/// The one handler behind every transition route: the caller's role first (before the body
/// is read, so a wrong role never learns the schema), then the body (the common `item_ids`
/// rule plus the route's own fields), then [`Orders::transition`] as the role's viewer.
fn transition<R: ActsAs + 'static, B: DeserializeOwned + 'static>(
    asked: fn(B, &mut Validator) -> Asked,
) -> impl Handler<(Authorized<R>, web::Data<Orders>, Id, OptionalJson<B>), Output = ApiResult<HttpResponse>> {
    move |user: Authorized<R>, orders: web::Data<Orders>, id: Id, OptionalJson(body): OptionalJson<B>| async move {
        let mut v = Validator::default();
        let (item_ids, action) = asked(body, &mut v);
        check_items(&mut v, &item_ids);
        v.finish()?;
        let item_ids = item_ids.map(|ids| ids.into_iter().map(contracts::ItemId::from).collect());
        Ok(HttpResponse::Ok()
            .json(orders.transition(R::viewer(user.account_id), id.into_inner().into(), item_ids, action).await?))
    }
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = [])), request_body = Option<CancelRequest>,
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "Cancelled lines: stock released, line_total back to the buyer", body = Order),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "invalid_order_state", body = ErrorBody)))]
fn buyer_cancel(body: CancelRequest, v: &mut Validator) -> Asked {
    let reason = text(v, "reason", &body.reason, false, 500);
    (body.item_ids, Action::Cancel { reason })
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/confirm", tag = "orders", security(("bearer" = [])), request_body = Option<ItemsRequest>,
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "Confirmed lines: the seller is paid line_total - fee", body = Order),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "invalid_order_state", body = ErrorBody)))]
fn buyer_confirm(body: ItemsRequest, _: &mut Validator) -> Asked {
    (body.item_ids, Action::Confirm)
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/returns", tag = "orders", security(("bearer" = [])), request_body = ReasonRequest,
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "Return requested: the auto-confirm clock stops", body = Order),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "invalid_order_state", body = ErrorBody)))]
fn buyer_return(body: ReasonRequest, v: &mut Validator) -> Asked {
    let reason = text(v, "reason", &body.reason, true, 500).unwrap_or_default();
    (body.item_ids, Action::RequestReturn { reason })
}

#[utoipa::path(post, path = "/api/v1/seller/orders/{id}/ship", tag = "orders", security(("bearer" = [])), request_body = ShipRequest,
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "Shipped lines: stock taken off the shelf; auto-confirmation scheduled", body = Order),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "invalid_order_state", body = ErrorBody)))]
fn seller_ship(body: ShipRequest, v: &mut Validator) -> Asked {
    let carrier = text(v, "carrier", &body.carrier, true, 100).unwrap_or_default();
    let tracking_number = text(v, "tracking_number", &body.tracking_number, true, 100).unwrap_or_default();
    (body.item_ids, Action::Ship { carrier, tracking_number })
}

#[utoipa::path(post, path = "/api/v1/seller/orders/{id}/cancel", tag = "orders", security(("bearer" = [])), request_body = ReasonRequest,
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "Cancelled lines: stock released, line_total back to the buyer", body = Order),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "invalid_order_state", body = ErrorBody)))]
fn seller_cancel(body: ReasonRequest, v: &mut Validator) -> Asked {
    let reason = text(v, "reason", &body.reason, true, 500);
    (body.item_ids, Action::Cancel { reason })
}

#[utoipa::path(post, path = "/api/v1/seller/orders/{id}/returns/accept", tag = "orders", security(("bearer" = [])), request_body = AcceptReturnRequest,
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "Refunded lines: line_total back to the buyer; restocked if asked", body = Order),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "invalid_order_state", body = ErrorBody)))]
fn seller_accept_return(body: AcceptReturnRequest, v: &mut Validator) -> Asked {
    v.check(body.restock.is_some(), "restock", "is required");
    (body.item_ids, Action::AcceptReturn { restock: body.restock.unwrap_or(false) })
}

#[utoipa::path(post, path = "/api/v1/seller/orders/{id}/returns/reject", tag = "orders", security(("bearer" = [])), request_body = ReasonRequest,
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "Back to shipped; the auto-confirm clock restarts", body = Order),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "invalid_order_state", body = ErrorBody)))]
fn seller_reject_return(body: ReasonRequest, v: &mut Validator) -> Asked {
    let reason = text(v, "reason", &body.reason, true, 500).unwrap_or_default();
    (body.item_ids, Action::RejectReturn { reason })
}

#[utoipa::path(post, path = "/api/v1/admin/orders/{id}/refund", tag = "orders", security(("bearer" = [])), request_body = ReasonRequest,
    params(("id" = i64, Path, description = "Order id")),
    responses((status = 200, description = "Refunded lines (any not confirmed, cancelled or refunded)", body = Order),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "invalid_order_state", body = ErrorBody)))]
fn admin_refund(body: ReasonRequest, v: &mut Validator) -> Asked {
    let reason = text(v, "reason", &body.reason, true, 500).unwrap_or_default();
    (body.item_ids, Action::Refund { reason })
}
