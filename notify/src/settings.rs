use crate::push::FcmSettings;
use platform::config::{FieldErrors, Section, Settings};
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

impl Section for NotifySettings {
    const NAME: &'static str = "notify";

    fn validate(&self, _: &Settings, errors: &mut FieldErrors) {
        errors.check(self.retention_days >= 1, "retention_days", "must be at least 1");
        errors.check(self.sweep_interval_secs >= 1, "sweep_interval_secs", "must be at least 1");
        errors.check(self.fcm.max_attempts >= 1, "fcm.max_attempts", "must be at least 1");
    }
}
