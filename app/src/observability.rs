//! Prometheus metrics: the recorder, the per-route HTTP middleware, and gauges refreshed
//! when `/metrics` is scraped.

use crate::wire::Modules;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Installs the global recorder once per process (tests build many apps in one process).
pub fn install_recorder() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder =
                PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS);
            match builder.and_then(|b| b.install_recorder()) {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// How often [`run_upkeep`] drains the recorder.
pub const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Drains the histogram samples recorded since the last call into their summaries. Without
/// it (`install_recorder()` starts no upkeep task) every request's latency sample stays in
/// memory until `/metrics` is scraped: about 16 bytes per request, without bound on an
/// instance nobody scrapes. The worker spawner calls it every [`UPKEEP_INTERVAL`].
pub fn run_upkeep() {
    if let Some(handle) = install_recorder() {
        handle.run_upkeep();
    }
}

/// Request count and latency by method, route pattern (never the raw path: bounded
/// cardinality) and status.
pub async fn http_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().as_str().to_string();
    let result = next.call(req).await;
    let (route, status) = match &result {
        Ok(res) => (res.request().match_pattern().unwrap_or_else(|| "unmatched".into()), res.status().as_u16()),
        Err(e) => ("unmatched".into(), e.as_response_error().status_code().as_u16()),
    };
    let elapsed = start.elapsed().as_secs_f64();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route).record(elapsed);
    result
}

/// Refreshes the gauges that are read from state (pools, outbox backlog), then renders.
pub async fn render(assembled: &Modules) -> String {
    for module in &assembled.databases {
        let (connections, idle) = module.db.pool_state();
        metrics::gauge!("db_pool_connections", "module" => module.module).set(f64::from(connections));
        metrics::gauge!("db_pool_idle_connections", "module" => module.module).set(f64::from(idle));
        if let Some(outbox) = &module.outbox {
            match platform::outbox::stats(&module.db, outbox).await {
                Ok(stats) => {
                    metrics::gauge!("outbox_backlog", "module" => module.module).set(stats.pending as f64);
                    metrics::gauge!("outbox_parked", "module" => module.module).set(stats.parked as f64);
                }
                Err(e) => tracing::debug!(error = %e, "outbox stats unavailable"),
            }
        }
    }
    match assembled.moderation.open_reports().await {
        Ok(n) => metrics::gauge!("moderation_open_reports").set(n as f64),
        Err(e) => tracing::debug!(error = %e, "open report count unavailable"),
    }
    metrics::gauge!("account_suspended").set(assembled.suspensions.suspended_ids().len() as f64);
    install_recorder().map(PrometheusHandle::render).unwrap_or_default()
}
