//! Per-client-IP rate limits (actix-governor) keyed on the address seen through trusted
//! proxies, answering docs/api.md's 429 body with `Retry-After`.

use crate::error::ApiError;
use crate::http::client_ip;
use actix_governor::governor::NotUntil;
use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::{Governor, GovernorConfig, GovernorConfigBuilder, KeyExtractor};
use actix_web::dev::ServiceRequest;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy)]
pub struct ClientIpKey;

impl KeyExtractor for ClientIpKey {
    type Key = IpAddr;
    type KeyExtractionError = ApiError;

    fn extract(&self, req: &ServiceRequest) -> Result<IpAddr, ApiError> {
        client_ip(req.request()).ok_or_else(|| ApiError::internal(anyhow::anyhow!("no peer address")))
    }

    fn exceed_rate_limit_response(&self, negative: &NotUntil<QuantaInstant>, _: HttpResponseBuilder) -> HttpResponse {
        let wait = negative.wait_time_from(DefaultClock::default().now());
        ApiError::rate_limited(wait.as_secs_f64().ceil() as u64).error_response()
    }
}

/// `per_second` requests per second sustained, bursts of `burst`.
/// Shared by all workers (the limiter state is behind an `Arc`); make each worker's
/// middleware with [`IpRateLimit::middleware`].
#[derive(Clone)]
pub struct IpRateLimit(GovernorConfig<ClientIpKey, NoOpMiddleware<QuantaInstant>>);

impl IpRateLimit {
    pub fn middleware(&self) -> Governor<ClientIpKey, NoOpMiddleware<QuantaInstant>> {
        Governor::new(&self.0)
    }

    /// Drops the state of IPs that are back to a full budget; call periodically so the
    /// key map does not grow with every address ever seen.
    pub fn forget_idle(&self) {
        let limiter = self.0.limiter();
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
}

/// `per_second` requests per second sustained, bursts of `burst`.
pub fn per_ip(per_second: u64, burst: u32) -> anyhow::Result<IpRateLimit> {
    let nanos = 1_000_000_000 / per_second.max(1);
    let config: GovernorConfig<ClientIpKey, NoOpMiddleware<QuantaInstant>> = GovernorConfigBuilder::default()
        .key_extractor(ClientIpKey)
        .nanoseconds_per_request(nanos)
        .burst_size(burst.max(1))
        .finish()
        .ok_or_else(|| anyhow::anyhow!("invalid rate limit"))?;
    Ok(IpRateLimit(config))
}
