//! `GET /feed` and the admin routes for rows and ad slots.

use crate::consumers::FeedRow;
use crate::model::{AdSlot, ModuloRule, RenderType, RowProviderType, RowSetting, Selector, parse_country};
use crate::service::{Feed, FeedResponse};
use crate::store::Source;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use platform::auth::{AsAdmin, MaybeAuthUser};
use platform::error::ErrorBody;
use platform::http::{Items, Json, OptionalJson, Validator};
use platform::{ApiError, ApiResult};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(feed, list_rows, create_row, replace_row, delete_row, preview, list_ad_slots, create_ad_slot, delete_ad_slot),
    components(schemas(FeedResponse, FeedRow, Source, RenderType, RowSetting, RowProviderType, Selector, ModuloRule,
        AdSlot, RowInput, DraftRow, PreviewInput, AdSlotInput)),
    tags((name = "feed", description = "The server-driven home feed"), (name = "feed-admin", description = "Feed rows and ad slots (admins)"))
)]
pub struct FeedApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/feed").route(web::get().to(feed)))
        .service(web::resource("/admin/feed/rows").route(web::get().to(list_rows)).route(web::post().to(create_row)))
        .service(
            web::resource("/admin/feed/rows/{id}")
                .route(web::put().to(replace_row))
                .route(web::delete().to(delete_row)),
        )
        .service(web::resource("/admin/feed/preview").route(web::post().to(preview)))
        .service(
            web::resource("/admin/feed/ad-slots")
                .route(web::get().to(list_ad_slots))
                .route(web::post().to(create_ad_slot)),
        )
        .service(web::resource("/admin/feed/ad-slots/{id}").route(web::delete().to(delete_ad_slot)));
}

#[utoipa::path(get, path = "/api/v1/feed", tag = "feed",
    params(("X-Country" = Option<String>, Header, description = "ISO 3166 alpha-2")),
    responses((status = 200, body = FeedResponse), (status = 400, body = ErrorBody), (status = 401, description = "A token was sent and is invalid", body = ErrorBody)))]
async fn feed(user: MaybeAuthUser, feed: web::Data<Feed>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let country = match req.headers().get("x-country") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(parse_country)
                .ok_or_else(|| ApiError::invalid_field("X-Country", "must be an ISO 3166 alpha-2 code"))?,
        ),
    };
    let response = feed.generate(user.0.map(|u| u.account_id), country).await;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "private, no-store")).json(response))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RowInput {
    row_provider_type: RowProviderType,
    /// 0..=10,000; rows are ordered by it, then by id.
    #[schema(minimum = 0, maximum = 10_000)]
    position: i32,
    #[serde(default = "default_true")]
    enabled: bool,
    /// 1..=100 characters.
    #[schema(min_length = 1, max_length = 100)]
    title: String,
    #[serde(default)]
    selector: Selector,
    #[schema(value_type = Option<Object>)]
    template: Option<serde_json::Value>,
    #[schema(minimum = 0, maximum = 31_536_000)]
    ttl_seconds: Option<i32>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
}

fn default_true() -> bool {
    true
}

impl RowInput {
    fn into_setting(self, id: i64) -> RowSetting {
        RowSetting {
            id,
            row_provider_type: self.row_provider_type,
            position: self.position,
            enabled: self.enabled,
            title: self.title.trim().to_string(),
            selector: Selector {
                country_match: self
                    .selector
                    .country_match
                    .map(|c| c.iter().map(|c| c.trim().to_ascii_uppercase()).collect()),
                ..self.selector
            },
            template: self.template,
            ttl_seconds: self.ttl_seconds,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/admin/feed/rows", tag = "feed-admin", security(("bearer" = [])),
    responses((status = 200, body = Items<RowSetting>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_rows(_: AsAdmin, feed: web::Data<Feed>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Items { items: feed.rows().await? }))
}

#[utoipa::path(post, path = "/api/v1/admin/feed/rows", tag = "feed-admin", security(("bearer" = [])), request_body = RowInput,
    responses((status = 201, body = RowSetting), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_row(_: AsAdmin, feed: web::Data<Feed>, Json(body): Json<RowInput>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(feed.create_row(body.into_setting(0)).await?))
}

#[utoipa::path(put, path = "/api/v1/admin/feed/rows/{id}", tag = "feed-admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Row id")), request_body = RowInput,
    responses((status = 200, body = RowSetting), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn replace_row(
    _: AsAdmin,
    feed: web::Data<Feed>,
    id: web::Path<i64>,
    Json(body): Json<RowInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(feed.replace_row(body.into_setting(id.into_inner())).await?))
}

#[utoipa::path(delete, path = "/api/v1/admin/feed/rows/{id}", tag = "feed-admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Row id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_row(_: AsAdmin, feed: web::Data<Feed>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    feed.delete_row(id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A row setting under edit: the body `POST /admin/feed/rows` takes, plus the `id` of the
/// stored row it stands for (absent for a row not saved yet).
#[derive(Debug, Deserialize, ToSchema)]
pub struct DraftRow {
    id: Option<i64>,
    #[serde(flatten)]
    row: RowInput,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    /// See the feed as this account would (absent: as an anonymous visitor).
    #[schema(minimum = 1)]
    account_id: Option<i64>,
    /// ISO 3166 alpha-2, as `GET /feed`'s `X-Country` header (absent: no header).
    country: Option<String>,
    /// Row settings to use instead of the stored ones (the whole list, as the editor has it,
    /// saved or not); absent: the stored rows.
    #[schema(max_items = 200)]
    rows: Option<Vec<DraftRow>>,
}

/// Most draft rows one preview takes.
const MAX_PREVIEW_ROWS: usize = 200;

/// The feed as `account_id` in `country` would get it now, optionally with draft row settings
/// in place of the stored ones (rows not saved yet get negative `row_id`s, in list order).
/// Nothing is stored. The role is checked before the body is read.
#[utoipa::path(post, path = "/api/v1/admin/feed/preview", tag = "feed-admin", security(("bearer" = [])),
    request_body(content = Option<PreviewInput>, description = "Optional; an empty body previews the stored rows for an anonymous visitor"),
    responses((status = 200, body = FeedResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn preview(
    _: AsAdmin,
    feed: web::Data<Feed>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let OptionalJson(body) = OptionalJson::<PreviewInput>::from_request(&req, &mut payload.into_inner()).await?;
    let mut v = Validator::default();
    if let Some(id) = body.account_id {
        v.check(id >= 1, "account_id", "must be a positive account id");
    }
    let country = body.country.as_deref().map(|c| {
        let parsed = parse_country(c);
        v.check(parsed.is_some(), "country", "must be an ISO 3166 alpha-2 code");
        parsed
    });
    if let Some(rows) = &body.rows {
        v.check(rows.len() <= MAX_PREVIEW_ROWS, "rows", "at most 200 rows");
    }
    v.finish()?;
    let rows = body.rows.map(|rows| {
        rows.into_iter()
            .zip(1..)
            .map(|(draft, n): (DraftRow, i64)| draft.row.into_setting(draft.id.unwrap_or(-n)))
            .collect()
    });
    let response = feed.preview(body.account_id, country.flatten(), rows).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "private, no-store")).json(response))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AdSlotInput {
    /// 1..=100 characters.
    #[schema(min_length = 1, max_length = 100)]
    slot_name: String,
    /// 1..=200 characters.
    #[schema(min_length = 1, max_length = 200)]
    title: String,
    /// http(s) URL.
    #[schema(max_length = 2000)]
    image_url: String,
    /// http(s) URL.
    #[schema(max_length = 2000)]
    link_url: String,
    /// ISO 3166 alpha-2; absent serves everywhere.
    country: Option<String>,
}

fn check_url(v: &mut Validator, field: &str, raw: &str) {
    let ok = raw.len() <= 2000 && url::Url::parse(raw).is_ok_and(|u| u.scheme() == "https" || u.scheme() == "http");
    v.check(ok, field, "must be an http(s) URL of at most 2000 characters");
}

#[utoipa::path(get, path = "/api/v1/admin/feed/ad-slots", tag = "feed-admin", security(("bearer" = [])),
    responses((status = 200, body = Items<AdSlot>), (status = 403, body = ErrorBody)))]
async fn list_ad_slots(_: AsAdmin, feed: web::Data<Feed>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Items { items: feed.ad_slots().await? }))
}

#[utoipa::path(post, path = "/api/v1/admin/feed/ad-slots", tag = "feed-admin", security(("bearer" = [])), request_body = AdSlotInput,
    responses((status = 201, body = AdSlot), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_ad_slot(_: AsAdmin, feed: web::Data<Feed>, Json(body): Json<AdSlotInput>) -> ApiResult<HttpResponse> {
    let mut v = Validator::default();
    let slot_name = body.slot_name.trim().to_string();
    let title = body.title.trim().to_string();
    v.length(&slot_name, "slot_name", 1, 100).length(&title, "title", 1, 200);
    check_url(&mut v, "image_url", &body.image_url);
    check_url(&mut v, "link_url", &body.link_url);
    let country = match body.country.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => {
            let parsed = parse_country(c);
            v.check(parsed.is_some(), "country", "must be an ISO 3166 alpha-2 code");
            parsed
        }
    };
    v.finish()?;
    let slot = AdSlot { id: 0, slot_name, title, image_url: body.image_url, link_url: body.link_url, country };
    Ok(HttpResponse::Created().json(feed.create_ad_slot(slot).await?))
}

#[utoipa::path(delete, path = "/api/v1/admin/feed/ad-slots/{id}", tag = "feed-admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Ad slot id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_ad_slot(_: AsAdmin, feed: web::Data<Feed>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    feed.delete_ad_slot(id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
