//! Row settings, ad slots and the fixed tables that tie row types to providers. Every
//! mapping is an exhaustive `match`: a new row type or provider without its mapping and
//! implementation does not compile.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// What an operator picks for a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RowProviderType {
    MyWallet,
    MyCart,
    QuickButtons,
    NewProducts,
    MyMissions,
    UnreadChats,
    Banner,
    Notice,
}

/// An integration a row consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProviderType {
    Wallet,
    Cart,
    Chat,
    Products,
    Missions,
    AdSlots,
}

impl ProviderType {
    pub const ALL: [ProviderType; 6] = [
        ProviderType::Wallet,
        ProviderType::Cart,
        ProviderType::Chat,
        ProviderType::Products,
        ProviderType::Missions,
        ProviderType::AdSlots,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderType::Wallet => "WALLET",
            ProviderType::Cart => "CART",
            ProviderType::Chat => "CHAT",
            ProviderType::Products => "PRODUCTS",
            ProviderType::Missions => "MISSIONS",
            ProviderType::AdSlots => "AD_SLOTS",
        }
    }

    /// Whether the provider answers per account (and cannot run for anonymous callers).
    pub fn personal(self) -> bool {
        match self {
            ProviderType::Wallet | ProviderType::Cart | ProviderType::Chat | ProviderType::Missions => true,
            ProviderType::Products | ProviderType::AdSlots => false,
        }
    }
}

impl fmt::Display for ProviderType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum RenderType {
    Sdu,
    Native,
    Ad,
}

impl RowProviderType {
    pub fn row_type(self) -> &'static str {
        match self {
            RowProviderType::MyWallet => "WALLET_UI",
            RowProviderType::MyCart => "CART_UI",
            RowProviderType::QuickButtons => "QUICK_BUTTON_UI",
            RowProviderType::NewProducts => "PRODUCT_CAROUSEL_UI",
            RowProviderType::MyMissions => "MISSION_UI",
            RowProviderType::UnreadChats => "CHAT_UI",
            RowProviderType::Banner => "BANNER_AD",
            RowProviderType::Notice => "NOTICE_SDU",
        }
    }

    pub fn render_type(self) -> RenderType {
        match self {
            RowProviderType::MyWallet | RowProviderType::MyCart | RowProviderType::UnreadChats => RenderType::Native,
            RowProviderType::QuickButtons
            | RowProviderType::NewProducts
            | RowProviderType::MyMissions
            | RowProviderType::Notice => RenderType::Sdu,
            RowProviderType::Banner => RenderType::Ad,
        }
    }

    pub fn providers(self) -> &'static [ProviderType] {
        match self {
            RowProviderType::MyWallet => &[ProviderType::Wallet],
            RowProviderType::MyCart => &[ProviderType::Cart],
            RowProviderType::QuickButtons => &[ProviderType::Wallet, ProviderType::Cart, ProviderType::Chat],
            RowProviderType::NewProducts => &[ProviderType::Products],
            RowProviderType::MyMissions => &[ProviderType::Missions],
            RowProviderType::UnreadChats => &[ProviderType::Chat],
            RowProviderType::Banner => &[ProviderType::AdSlots],
            RowProviderType::Notice => &[],
        }
    }

    pub fn needs_account(self) -> bool {
        self.providers().iter().any(|p| p.personal())
    }

    /// Whether `index_match` picks from a list this row shows.
    pub fn has_list(self) -> bool {
        match self {
            RowProviderType::NewProducts
            | RowProviderType::MyMissions
            | RowProviderType::UnreadChats
            | RowProviderType::Banner => true,
            RowProviderType::MyWallet
            | RowProviderType::MyCart
            | RowProviderType::QuickButtons
            | RowProviderType::Notice => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModuloRule {
    pub modulo: i64,
    pub remainders: Vec<i64>,
}

/// Which requests a row is served to, and which item it shows. All present conditions apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// Show the ad slot with this name (BANNER); the row is omitted when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_match: Option<String>,
    /// Show the item at this index of the row's list; omitted when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_match: Option<i64>,
    /// Serve only when `account_id % modulo` is one of `remainders` (never to anonymous callers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_modulo_rule: Option<ModuloRule>,
    /// Serve only when `X-Country` is one of these (never without the header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_match: Option<Vec<String>>,
}

impl Selector {
    /// Whether the request (caller, country) passes the selector's filters.
    pub fn admits(&self, account_id: Option<i64>, country: Option<&str>) -> bool {
        if let Some(rule) = &self.random_modulo_rule {
            let Some(id) = account_id else { return false };
            if rule.modulo < 1 || !rule.remainders.contains(&id.rem_euclid(rule.modulo)) {
                return false;
            }
        }
        if let Some(countries) = &self.country_match {
            let Some(country) = country else { return false };
            if !countries.iter().any(|c| c.eq_ignore_ascii_case(country)) {
                return false;
            }
        }
        true
    }
}

/// A row setting as stored and as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RowSetting {
    pub id: i64,
    pub row_provider_type: RowProviderType,
    pub position: i32,
    pub enabled: bool,
    pub title: String,
    pub selector: Selector,
    #[schema(value_type = Option<Object>)]
    pub template: Option<serde_json::Value>,
    pub ttl_seconds: Option<i32>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

impl RowSetting {
    /// Enabled and inside its time window.
    pub fn live_at(&self, now: DateTime<Utc>) -> bool {
        self.enabled && self.starts_at.is_none_or(|s| s <= now) && self.ends_at.is_none_or(|e| now < e)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdSlot {
    pub id: i64,
    pub slot_name: String,
    pub title: String,
    pub image_url: String,
    pub link_url: String,
    /// ISO 3166 alpha-2; `null` serves everywhere.
    pub country: Option<String>,
}

impl AdSlot {
    pub fn serves(&self, country: Option<&str>) -> bool {
        match (&self.country, country) {
            (None, _) => true,
            (Some(slot), Some(req)) => slot.eq_ignore_ascii_case(req),
            (Some(_), None) => false,
        }
    }
}

/// An ISO 3166 alpha-2 code, upper-cased.
pub fn parse_country(raw: &str) -> Option<String> {
    let c = raw.trim();
    (c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic())).then(|| c.to_ascii_uppercase())
}

/// Checks a row setting; returns the problems by field.
pub fn validate_row(row: &RowSetting) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let title = row.title.trim();
    if !(1..=100).contains(&title.chars().count()) {
        problems.push(("title", "must be 1 to 100 characters".to_string()));
    }
    if !(0..=10_000).contains(&row.position) {
        problems.push(("position", "must be between 0 and 10000".to_string()));
    }
    if let Some(ttl) = row.ttl_seconds
        && !(0..=31_536_000).contains(&ttl)
    {
        problems.push(("ttl_seconds", "must be between 0 and 31536000".to_string()));
    }
    if let (Some(start), Some(end)) = (row.starts_at, row.ends_at)
        && end <= start
    {
        problems.push(("ends_at", "must be after starts_at".to_string()));
    }
    if let Some(template) = &row.template
        && !template.is_object()
    {
        problems.push(("template", "must be a JSON object".to_string()));
    }
    let s = &row.selector;
    if let Some(slot) = &s.slot_match {
        if row.row_provider_type != RowProviderType::Banner {
            problems.push(("selector.slot_match", "only BANNER rows show ad slots".to_string()));
        } else if !(1..=100).contains(&slot.chars().count()) {
            problems.push(("selector.slot_match", "must be 1 to 100 characters".to_string()));
        }
    }
    if let Some(index) = s.index_match {
        if !row.row_provider_type.has_list() {
            problems.push(("selector.index_match", "this row type shows no list".to_string()));
        } else if !(0..=100).contains(&index) {
            problems.push(("selector.index_match", "must be between 0 and 100".to_string()));
        }
    }
    if let Some(rule) = &s.random_modulo_rule
        && (!(1..=10_000).contains(&rule.modulo)
            || rule.remainders.is_empty()
            || rule.remainders.iter().any(|r| !(0..rule.modulo).contains(r)))
    {
        problems.push(("selector.random_modulo_rule", "modulo 1..=10000 and remainders in 0..modulo".to_string()));
    }
    if let Some(countries) = &s.country_match
        && (countries.is_empty() || countries.iter().any(|c| parse_country(c).is_none()))
    {
        problems.push(("selector.country_match", "must list ISO 3166 alpha-2 codes".to_string()));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: RowProviderType) -> RowSetting {
        RowSetting {
            id: 1,
            row_provider_type: kind,
            position: 1,
            enabled: true,
            title: "t".into(),
            selector: Selector::default(),
            template: None,
            ttl_seconds: None,
            starts_at: None,
            ends_at: None,
        }
    }

    #[test]
    fn the_provider_table_matches_the_contract() {
        use ProviderType::*;
        use RowProviderType::*;
        assert_eq!(QuickButtons.providers(), &[Wallet, Cart, Chat]);
        assert_eq!(Notice.providers(), &[] as &[ProviderType]);
        assert!(MyWallet.needs_account() && MyMissions.needs_account() && UnreadChats.needs_account());
        assert!(!NewProducts.needs_account() && !Banner.needs_account() && !Notice.needs_account());
        assert_eq!((Banner.row_type(), Banner.render_type()), ("BANNER_AD", RenderType::Ad));
        assert_eq!(serde_json::to_string(&MyWallet).unwrap(), "\"MY_WALLET\"");
        assert_eq!(serde_json::to_string(&RenderType::Native).unwrap(), "\"NATIVE\"");
    }

    #[test]
    fn selectors_filter_by_modulo_and_country() {
        let s = Selector {
            random_modulo_rule: Some(ModuloRule { modulo: 2, remainders: vec![1] }),
            country_match: Some(vec!["KR".into()]),
            ..Default::default()
        };
        assert!(s.admits(Some(3), Some("kr")));
        assert!(!s.admits(Some(4), Some("KR")));
        assert!(!s.admits(None, Some("KR")), "never to anonymous callers");
        assert!(!s.admits(Some(3), None), "never without the header");
        assert!(!s.admits(Some(3), Some("US")));
    }

    #[test]
    fn invalid_settings_are_reported_by_field() {
        let mut r = row(RowProviderType::MyWallet);
        r.selector.slot_match = Some("home".into());
        r.selector.index_match = Some(0);
        r.starts_at = Some(Utc::now());
        r.ends_at = r.starts_at;
        r.template = Some(serde_json::json!([1]));
        let fields: Vec<&str> = validate_row(&r).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec!["ends_at", "template", "selector.slot_match", "selector.index_match"]);
        let mut ok = row(RowProviderType::Banner);
        ok.selector.slot_match = Some("home".into());
        ok.selector.country_match = Some(vec!["kr".into()]);
        assert!(validate_row(&ok).is_empty());
    }

    #[test]
    fn rows_are_live_inside_their_window() {
        let now = Utc::now();
        let mut r = row(RowProviderType::Notice);
        assert!(r.live_at(now));
        r.ends_at = Some(now);
        assert!(!r.live_at(now), "ends_at is exclusive");
        r.ends_at = None;
        r.starts_at = Some(now + chrono::Duration::seconds(1));
        assert!(!r.live_at(now));
        r.starts_at = None;
        r.enabled = false;
        assert!(!r.live_at(now));
    }
}
