//! The operators' view of every module's outbox: parked rows listed and queued again
//! (`GET /admin/outbox`, `POST /admin/outbox/{module}/{id}/retry`, and `app outbox list|retry`,
//! which go through the same [`Modules`] methods). The queries are `platform::outbox`'s.

use crate::wire::Modules;
use actix_web::{HttpResponse, web};
use contracts::{Page, PageRequest};
use platform::auth::AsAdmin;
use platform::db::DbError;
use platform::error::{ErrorBody, ErrorCode};
use platform::outbox::{self, ModuleOutbox, OutboxRow, RetryOutcome};
use platform::{ApiError, ApiResult};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(list_outbox, retry_outbox), components(schemas(OutboxRow)))]
pub struct OutboxApi;

/// Mounted at the root with full paths (the app's routes are; the modules' live in `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/admin/outbox").route(web::get().to(list_outbox)))
        .service(web::resource("/api/v1/admin/outbox/{module}/{id}/retry").route(web::post().to(retry_outbox)));
}

/// The statuses operators can list (`done` rows are history, swept after `outbox.retention_days`).
pub fn parse_status(status: Option<&str>) -> Option<&'static str> {
    match status.map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("parked") => Some("parked"),
        Some("pending") => Some("pending"),
        Some(_) => None,
    }
}

impl Modules {
    /// Every module's outbox, in the order of `databases` (which is also the list's order).
    fn outboxes(&self) -> Vec<ModuleOutbox<'_>> {
        self.databases
            .iter()
            .filter_map(|m| m.outbox.as_ref().map(|outbox| ModuleOutbox { module: m.module, db: &m.db, outbox }))
            .collect()
    }

    /// One page of the rows in `status` across every module, by module then id.
    pub async fn outbox_list(
        &self,
        module: Option<&str>,
        status: &'static str,
        page: PageRequest,
    ) -> Result<Page<OutboxRow>, DbError> {
        let outboxes: Vec<_> = self.outboxes().into_iter().filter(|o| module.is_none_or(|m| m == o.module)).collect();
        outbox::list(&outboxes, status, page).await
    }

    /// Queues a parked row again with fresh attempts; `NotFound` for an unknown module too.
    pub async fn outbox_retry(&self, module: &str, id: i64) -> Result<RetryOutcome, DbError> {
        let Some(source) = self.outboxes().into_iter().find(|o| o.module == module) else {
            return Ok(RetryOutcome::NotFound);
        };
        outbox::retry(source, id, self.clock.now()).await
    }
}

platform::paged_query! {
    pub struct OutboxFilter {
        /// `parked` (the default) or `pending`.
        status: Option<String>,
    }
}

#[utoipa::path(get, path = "/api/v1/admin/outbox", tag = "admin", security(("bearer" = [])), params(OutboxFilter),
    responses((status = 200, description = "A page of outbox rows of every module, by module then id", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_outbox(
    _: AsAdmin,
    modules: web::Data<Modules>,
    query: web::Query<OutboxFilter>,
) -> ApiResult<HttpResponse> {
    let page = query.page().validate()?;
    let status = parse_status(query.status.as_deref())
        .ok_or_else(|| ApiError::invalid_field("status", "must be parked or pending"))?;
    Ok(HttpResponse::Ok().json(modules.outbox_list(None, status, page).await?))
}

/// Puts a parked row back in its module's queue with fresh attempts; the dispatcher delivers it again.
#[utoipa::path(post, path = "/api/v1/admin/outbox/{module}/{id}/retry", tag = "admin", security(("bearer" = [])),
    params(("module" = String, Path, description = "The module whose outbox holds the row, e.g. `mission`"),
        ("id" = i64, Path, description = "Outbox row id")),
    responses((status = 200, description = "Queued again (`status: pending`, `attempts: 0`)", body = OutboxRow),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "not_found: unknown module or id", body = ErrorBody),
        (status = 409, description = "invalid_outbox_state: the row is not parked", body = ErrorBody)))]
async fn retry_outbox(
    _: AsAdmin,
    modules: web::Data<Modules>,
    path: web::Path<(String, i64)>,
) -> ApiResult<HttpResponse> {
    let (module, id) = path.into_inner();
    match modules.outbox_retry(&module, id).await? {
        RetryOutcome::Queued(row) => Ok(HttpResponse::Ok().json(row)),
        RetryOutcome::NotFound => Err(ApiError::not_found()),
        RetryOutcome::NotParked(row) => Err(ApiError::new(
            ErrorCode::InvalidOutboxState,
            format!("Outbox row {module}/{id} is {}, not parked.", row.status),
        )
        .with_details(serde_json::json!({ "status": row.status }))),
    }
}
