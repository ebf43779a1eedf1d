//! Report routes: any authenticated account files and lists its own; operators (role
//! `admin`) see the queue and resolve.

use crate::model::{Action, AdminReport, MAX_DETAILS_CHARS, MAX_NOTE_CHARS, Reason, Report, TargetType};
use crate::service::Moderation;
use actix_web::{HttpResponse, web};
use contracts::Page;
use platform::ApiResult;
use platform::auth::{AsAdmin, AuthUser};
use platform::error::ErrorBody;
use platform::http::{Json, PageQuery, Validator};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(file_report, my_reports, admin_reports, resolve),
    components(schemas(Report, AdminReport, TargetType, Reason, Action, ReportRequest, ResolveRequest, Page<Report>,
        Page<AdminReport>)),
    tags((name = "moderation", description = "Reports, the operators' queue, suspension"))
)]
pub struct ModerationApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/reports").route(web::post().to(file_report)).route(web::get().to(my_reports)))
        .service(web::resource("/admin/reports").route(web::get().to(admin_reports)))
        .service(web::resource("/admin/reports/{id}/resolve").route(web::post().to(resolve)));
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReportRequest {
    /// `product`, `chat_message`, `account` or `mission`.
    target_type: String,
    target_id: i64,
    /// `spam`, `fraud`, `abuse`, `inappropriate` or `other`.
    reason: String,
    /// At most 1000 characters.
    #[schema(max_length = 1000)]
    details: Option<String>,
}

/// Reports something the caller can see (a chat message only of a room they are in). The
/// same target again while the caller's report on it is open: 200 with that report.
#[utoipa::path(post, path = "/api/v1/reports", tag = "moderation", security(("bearer" = [])), request_body = ReportRequest,
    responses((status = 201, body = Report), (status = 200, description = "Your open report on this target", body = Report),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, description = "Over moderation.reports_per_hour", body = ErrorBody)))]
async fn file_report(
    user: AuthUser,
    moderation: web::Data<Moderation>,
    Json(body): Json<ReportRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validator::default();
    let kind = body
        .target_type
        .parse::<TargetType>()
        .map_err(|_| v.add("target_type", format!("must be {}", TargetType::choices())))
        .ok();
    let reason =
        body.reason.parse::<Reason>().map_err(|_| v.add("reason", format!("must be {}", Reason::choices()))).ok();
    let details = body.details.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
    if let Some(d) = &details {
        v.length(d, "details", 0, MAX_DETAILS_CHARS);
    }
    v.check(body.target_id > 0, "target_id", "must be a positive id");
    v.finish()?;
    let (Some(kind), Some(reason)) = (kind, reason) else {
        return Err(platform::ApiError::internal(anyhow::anyhow!("validator passed with missing fields")));
    };
    let (report, created) = moderation.report(user.account_id, kind, body.target_id, reason, details).await?;
    Ok(if created { HttpResponse::Created().json(report) } else { HttpResponse::Ok().json(report) })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    #[param(minimum = 0)]
    page: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    size: Option<i64>,
}

/// The caller's reports, newest first.
#[utoipa::path(get, path = "/api/v1/reports", tag = "moderation", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<Report>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn my_reports(
    user: AuthUser,
    moderation: web::Data<Moderation>,
    query: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let page = PageQuery { page: query.page, size: query.size }.validate()?;
    Ok(HttpResponse::Ok().json(moderation.my_reports(user.account_id, page).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// `open` (default: one entry per target, most reported first) or `resolved`.
    status: Option<String>,
    /// `product`, `chat_message`, `account` or `mission`.
    target_type: Option<String>,
    #[param(minimum = 0)]
    page: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    size: Option<i64>,
}

/// The operators' queue: each report with the target as it was reported and the number of
/// open reports on that target.
#[utoipa::path(get, path = "/api/v1/admin/reports", tag = "moderation", security(("bearer" = [])), params(QueueParams),
    responses((status = 200, body = Page<AdminReport>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn admin_reports(
    _: AsAdmin,
    moderation: web::Data<Moderation>,
    query: web::Query<QueueParams>,
) -> ApiResult<HttpResponse> {
    let page = PageQuery { page: query.page, size: query.size }.validate()?;
    let mut v = Validator::default();
    let open = match query.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("open") => true,
        Some("resolved") => false,
        Some(_) => {
            v.add("status", "must be open or resolved");
            true
        }
    };
    let kind = match query.target_type.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(t) => {
            t.parse::<TargetType>().map_err(|_| v.add("target_type", format!("must be {}", TargetType::choices()))).ok()
        }
    };
    v.finish()?;
    Ok(HttpResponse::Ok().json(moderation.queue(open, kind, page).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResolveRequest {
    /// `dismiss`, `hide` (the target) or `suspend` (the account that owns the target).
    action: String,
    /// Why, for the record (at most 1000 characters); also the suspension's reason.
    #[schema(max_length = 1000)]
    note: String,
}

/// Resolves every open report on this report's target at once, after acting on it.
#[utoipa::path(post, path = "/api/v1/admin/reports/{id}/resolve", tag = "moderation", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Report id")), request_body = ResolveRequest,
    responses((status = 200, body = AdminReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn resolve(
    user: AsAdmin,
    moderation: web::Data<Moderation>,
    id: web::Path<i64>,
    Json(body): Json<ResolveRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validator::default();
    let action =
        body.action.parse::<Action>().map_err(|_| v.add("action", format!("must be {}", Action::choices()))).ok();
    v.length(&body.note, "note", 0, MAX_NOTE_CHARS);
    v.finish()?;
    let Some(action) = action else {
        return Err(platform::ApiError::internal(anyhow::anyhow!("validator passed with missing fields")));
    };
    Ok(HttpResponse::Ok().json(moderation.resolve(user.account_id, id.into_inner(), action, body.note).await?))
}
