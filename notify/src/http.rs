//! Notification routes; any authenticated account, each on its own inbox and devices only.

use crate::model::{Kind, Notification};
use crate::service::{Device, Notify};
use actix_web::{HttpResponse, web};
use platform::ApiResult;
use platform::auth::AuthUser;
use platform::error::ErrorBody;
use platform::http::{CursorPage, Json, Validator};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(list, unread_count, mark_read, register_device, delete_device, get_preferences, put_preferences),
    components(schemas(Notification, Kind, Device, NotificationPage, UnreadCount, ReadRequest, DeviceRequest, Preferences)),
    tags((name = "notifications", description = "Inbox, read marks, devices for push, preferences; live on GET /api/v1/chat/ws"))
)]
pub struct NotifyApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/notifications").route(web::get().to(list)))
        .service(web::resource("/notifications/unread-count").route(web::get().to(unread_count)))
        .service(web::resource("/notifications/read").route(web::post().to(mark_read)))
        .service(web::resource("/notifications/devices").route(web::post().to(register_device)))
        .service(web::resource("/notifications/devices/{id}").route(web::delete().to(delete_device)))
        .service(
            web::resource("/notifications/preferences")
                .route(web::get().to(get_preferences))
                .route(web::put().to(put_preferences)),
        );
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Notifications with an id below this one.
    #[param(minimum = 1)]
    before: Option<i64>,
    /// 1..=100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// Only unread ones.
    unread: Option<bool>,
}

/// `{"items": [...], "next_before": id | null}`, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    items: Vec<Notification>,
    next_before: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = NotificationPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list(user: AuthUser, notify: web::Data<Notify>, query: web::Query<ListQuery>) -> ApiResult<HttpResponse> {
    let limit = query.limit.unwrap_or(50);
    let mut v = Validator::default();
    v.check((1..=100).contains(&limit), "limit", "must be between 1 and 100");
    v.check(query.before.is_none_or(|b| b > 0), "before", "must be a positive id");
    v.finish()?;
    let rows = notify.list(user.account_id, query.before, limit, query.unread.unwrap_or(false)).await?;
    let page = CursorPage::from_rows(rows, limit, |n| n.id);
    Ok(HttpResponse::Ok().json(NotificationPage { items: page.items, next_before: page.next_before }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UnreadCount {
    /// Unread notifications whose kind is not muted.
    count: i64,
}

#[utoipa::path(get, path = "/api/v1/notifications/unread-count", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = UnreadCount), (status = 401, body = ErrorBody)))]
async fn unread_count(user: AuthUser, notify: web::Data<Notify>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(UnreadCount { count: notify.unread_count(user.account_id).await? }))
}

/// Exactly one of `ids` (1..=500 of your notifications; others' are ignored) or `all: true`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadRequest {
    #[schema(max_items = 500)]
    ids: Option<Vec<i64>>,
    all: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", security(("bearer" = [])), request_body = ReadRequest,
    responses((status = 204, description = "Marked read"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn mark_read(
    user: AuthUser,
    notify: web::Data<Notify>,
    Json(body): Json<ReadRequest>,
) -> ApiResult<HttpResponse> {
    let ids = match (body.ids, body.all) {
        (Some(ids), None | Some(false)) => {
            let mut v = Validator::default();
            v.check((1..=500).contains(&ids.len()), "ids", "must list 1 to 500 notification ids");
            v.finish()?;
            Some(ids)
        }
        (None, Some(true)) => None,
        (Some(_), Some(true)) => {
            return Err(platform::ApiError::invalid_field("all", "use either ids or all, not both"));
        }
        (None, _) => return Err(platform::ApiError::invalid_field("ids", "send ids or all: true")),
    };
    notify.mark_read(user.account_id, ids).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeviceRequest {
    /// `android`, `ios` or `web`.
    platform: String,
    /// The FCM registration token (1..=255 printable ASCII characters).
    #[schema(min_length = 1, max_length = 255)]
    token: String,
}

#[utoipa::path(post, path = "/api/v1/notifications/devices", tag = "notifications", security(("bearer" = [])), request_body = DeviceRequest,
    responses((status = 201, body = Device), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn register_device(
    user: AuthUser,
    notify: web::Data<Notify>,
    Json(body): Json<DeviceRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(notify.register_device(user.account_id, &body.platform, &body.token).await?))
}

#[utoipa::path(delete, path = "/api/v1/notifications/devices/{id}", tag = "notifications", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Device id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_device(user: AuthUser, notify: web::Data<Notify>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    notify.delete_device(user.account_id, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Preferences {
    /// Kinds still stored, but neither pushed nor counted unread.
    muted_kinds: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/notifications/preferences", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = Preferences), (status = 401, body = ErrorBody)))]
async fn get_preferences(user: AuthUser, notify: web::Data<Notify>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Preferences { muted_kinds: notify.muted_kinds(user.account_id).await? }))
}

#[utoipa::path(put, path = "/api/v1/notifications/preferences", tag = "notifications", security(("bearer" = [])), request_body = Preferences,
    responses((status = 200, body = Preferences), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn put_preferences(
    user: AuthUser,
    notify: web::Data<Notify>,
    Json(body): Json<Preferences>,
) -> ApiResult<HttpResponse> {
    let muted_kinds = notify.set_muted_kinds(user.account_id, body.muted_kinds).await?;
    Ok(HttpResponse::Ok().json(Preferences { muted_kinds }))
}
