use crate::push::FcmSettings;
use platform::config::Settings;
use serde::Deserialize;

/// The `[notify]` section.
#[derive(Debug, Clone, Deserialize)]
pub struct NotifySettings {
    /// Notifications untouched for this long are deleted.
    pub retention_days: i64,
    /// How often the retention sweep runs.
    pub sweep_interval_secs: u64,
    /// Push through FCM; off while `notify.fcm.project_id` (or its service account file)
    /// is unset.
    pub fcm: FcmSettings,
}

impl NotifySettings {
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let s: NotifySettings = settings.module("notify")?;
        if s.retention_days < 1 {
            anyhow::bail!("notify.retention_days must be at least 1");
        }
        Ok(s)
    }
}
