//! Mission routes (any authenticated account).

use crate::repo::{ListFilter, PUBLIC_STATUSES};
use crate::service::{Contribution, Decision, Mission, Missions, NewMissionRequest};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use contracts::Page;
use platform::ApiResult;
use platform::auth::AuthUser;
use platform::error::{ApiError, ErrorBody};
use platform::http::{IdempotencyKey, Json, PageQuery, Validator};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(create_mission, list_missions, get_mission, contribute, list_contributions, decide),
    components(schemas(Mission, Contribution, CreateMissionRequest, ContributionRequest, DecisionRequest)),
    tags((name = "missions", description = "Viewer-funded streamer challenges"))
)]
pub struct MissionApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/missions").route(web::post().to(create_mission)).route(web::get().to(list_missions)))
        .service(web::resource("/missions/{id}").route(web::get().to(get_mission)))
        .service(
            web::resource("/missions/{id}/contributions")
                .route(web::post().to(contribute))
                .route(web::get().to(list_contributions)),
        )
        .service(web::resource("/missions/{id}/decision").route(web::post().to(decide)));
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateMissionRequest {
    streamer_id: i64,
    /// 1..=100 characters.
    #[schema(min_length = 1, max_length = 100)]
    title: String,
    /// At most 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    description: String,
    /// Points the creator puts in first (its first contribution); at least
    /// `mission.min_contribution` (default 100).
    #[schema(minimum = 100)]
    stake: i64,
    /// RFC 3339; in the future and at most 30 days away.
    deadline: DateTime<Utc>,
}

#[utoipa::path(post, path = "/api/v1/missions", tag = "missions", security(("bearer" = [])), request_body = CreateMissionRequest,
    params(("Idempotency-Key" = String, Header, description = "1..=128 printable ASCII characters")),
    responses((status = 201, body = Mission), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "The streamer itself", body = ErrorBody),
        (status = 409, description = "insufficient_balance, limit_exceeded, idempotency_conflict", body = ErrorBody)))]
async fn create_mission(
    user: AuthUser,
    missions: web::Data<Missions>,
    key: IdempotencyKey,
    Json(body): Json<CreateMissionRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validator::default();
    let title = body.title.trim().to_string();
    let description = body.description.trim().to_string();
    v.length(&title, "title", 1, 100).length(&description, "description", 0, 2000);
    v.finish()?;
    let request = NewMissionRequest {
        streamer_id: body.streamer_id,
        title,
        description,
        stake: body.stake,
        deadline: body.deadline,
    };
    let mission = missions.create(user.account(), key.as_str(), request).await?;
    Ok(HttpResponse::Created().json(mission))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open`, `succeeded`, `failed`, `rejected` or `expired`.
    #[param(pattern = "^(open|succeeded|failed|rejected|expired)$")]
    status: Option<String>,
    streamer_id: Option<i64>,
    creator_id: Option<i64>,
    /// Zero-based page number (default 0).
    #[param(minimum = 0)]
    page: Option<i64>,
    /// Items per page, 1..=100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    size: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/missions", tag = "missions", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Page<Mission>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_missions(
    _user: AuthUser,
    missions: web::Data<Missions>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let page = PageQuery { page: query.page, size: query.size }.validate()?;
    let status = match &query.status {
        None => None,
        Some(raw) => Some(raw.parse().ok().filter(|s| PUBLIC_STATUSES.contains(s)).ok_or_else(|| {
            ApiError::invalid_field("status", "must be open, succeeded, failed, rejected or expired")
        })?),
    };
    let filter = ListFilter { status, streamer_id: query.streamer_id, creator_id: query.creator_id };
    Ok(HttpResponse::Ok().json(missions.list(filter, page).await?))
}

#[utoipa::path(get, path = "/api/v1/missions/{id}", tag = "missions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Mission id")),
    responses((status = 200, body = Mission), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_mission(_user: AuthUser, missions: web::Data<Missions>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(missions.get(id.into_inner().into()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ContributionRequest {
    /// At least `mission.min_contribution` (default 100).
    #[schema(minimum = 100)]
    amount: i64,
}

#[utoipa::path(post, path = "/api/v1/missions/{id}/contributions", tag = "missions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Mission id"), ("Idempotency-Key" = String, Header, description = "1..=128 printable ASCII characters")),
    request_body = ContributionRequest,
    responses((status = 201, body = Contribution), (status = 400, body = ErrorBody), (status = 403, description = "The streamer", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "mission_closed, insufficient_balance, limit_exceeded, idempotency_conflict", body = ErrorBody)))]
async fn contribute(
    user: AuthUser,
    missions: web::Data<Missions>,
    id: web::Path<i64>,
    key: IdempotencyKey,
    Json(body): Json<ContributionRequest>,
) -> ApiResult<HttpResponse> {
    let contribution = missions.contribute(user.account(), id.into_inner().into(), key.as_str(), body.amount).await?;
    Ok(HttpResponse::Created().json(contribution))
}

#[utoipa::path(get, path = "/api/v1/missions/{id}/contributions", tag = "missions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Mission id"), PageQuery),
    responses((status = 200, body = Page<Contribution>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_contributions(
    _user: AuthUser,
    missions: web::Data<Missions>,
    id: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = query.validate()?;
    Ok(HttpResponse::Ok().json(missions.contributions(id.into_inner().into(), page).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DecisionRequest {
    /// `success`, `failure` or `rejected`.
    #[schema(pattern = "^(success|failure|rejected)$")]
    result: String,
}

#[utoipa::path(post, path = "/api/v1/missions/{id}/decision", tag = "missions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Mission id")), request_body = DecisionRequest,
    responses((status = 200, body = Mission), (status = 400, body = ErrorBody), (status = 403, description = "Not the mission's streamer", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "mission_closed", body = ErrorBody)))]
async fn decide(
    user: AuthUser,
    missions: web::Data<Missions>,
    id: web::Path<i64>,
    Json(body): Json<DecisionRequest>,
) -> ApiResult<HttpResponse> {
    let decision = match body.result.as_str() {
        "success" => Decision::Success,
        "failure" => Decision::Failure,
        "rejected" => Decision::Rejected,
        _ => return Err(platform::ApiError::invalid_field("result", "must be success, failure or rejected")),
    };
    Ok(HttpResponse::Ok().json(missions.decide(user.account(), id.into_inner().into(), decision).await?))
}
