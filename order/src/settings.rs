use platform::config::Settings;
use serde::Deserialize;

/// The `[order]` section.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderSettings {
    /// How long a cart stays cached.
    pub cart_cache_ttl_secs: u64,
    /// A `pending` checkout older than this is finished or undone by recovery.
    pub checkout_recovery_secs: i64,
    /// How often recovery looks for stale checkouts.
    pub recovery_interval_ms: u64,
    /// The platform fee per confirmed line: `floor(line_total × bps / 10000)`.
    pub commission_bps: i64,
    /// A shipped line is confirmed this long after shipping (or after a rejected return).
    pub auto_confirm_secs: i64,
    /// How often the auto-confirmation worker looks for due lines.
    pub auto_confirm_interval_ms: u64,
    /// The longest a rendered product or cart stays in memory (an invalidation lost with a
    /// crashed writer is bounded by it).
    pub hot_cache_ttl_secs: u64,
    /// How many rendered products and carts one instance keeps.
    pub hot_cache_entries: usize,
}

impl OrderSettings {
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let order: OrderSettings = settings.module("order")?;
        if order.checkout_recovery_secs < 5 {
            anyhow::bail!("order.checkout_recovery_secs must be at least 5 (longer than a checkout request)");
        }
        if !(0..=10_000).contains(&order.commission_bps) {
            anyhow::bail!("order.commission_bps must be between 0 and 10000");
        }
        if order.auto_confirm_secs < 1 {
            anyhow::bail!("order.auto_confirm_secs must be at least 1");
        }
        Ok(order)
    }
}
