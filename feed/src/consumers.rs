//! Consumers: one per row type, turning provider results into a row. A failed or late
//! provider reaches them as an error; what each row does then is documented here:
//!
//! | row type | on provider failure |
//! | --- | --- |
//! | `WALLET_UI`, `CART_UI` | default content (`unavailable: true`), marked `degraded` |
//! | `QUICK_BUTTON_UI` | buttons without the missing badges, marked `degraded` |
//! | `PRODUCT_CAROUSEL_UI`, `MISSION_UI`, `CHAT_UI`, `BANNER_AD` | omitted |
//! | `NOTICE_SDU` | no provider |

use crate::model::{ProviderType, RenderType, RowProviderType, RowSetting};
use crate::providers::ProviderData;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use utoipa::ToSchema;

/// Why a provider produced nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Error,
    Timeout,
    /// Not called: its circuit breaker is open after repeated failures.
    Skipped,
}

pub type Results = HashMap<ProviderType, Result<ProviderData, Failure>>;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedRow {
    pub row_id: i64,
    /// e.g. `WALLET_UI`, `PRODUCT_CAROUSEL_UI`.
    pub row_type: &'static str,
    pub render_type: RenderType,
    #[schema(value_type = Object)]
    pub data: Value,
    #[schema(value_type = Object)]
    pub meta: Value,
}

fn get(results: &Results, p: ProviderType) -> Option<&ProviderData> {
    results.get(&p).and_then(|r| r.as_ref().ok())
}

/// Picks the `index_match` item, or the whole list.
fn pick<T: Serialize>(items: &[T], index: Option<i64>) -> Option<Value> {
    if items.is_empty() {
        return None;
    }
    match index {
        None => serde_json::to_value(items).ok(),
        Some(i) => items.get(usize::try_from(i).ok()?).and_then(|item| serde_json::to_value([item]).ok()),
    }
}

/// The row for `setting`, or `None` when it is omitted.
pub fn build(setting: &RowSetting, results: &Results, now: DateTime<Utc>) -> Option<FeedRow> {
    let index = setting.selector.index_match;
    let mut degraded = false;
    let data = match setting.row_provider_type {
        RowProviderType::MyWallet => match get(results, ProviderType::Wallet) {
            Some(ProviderData::Wallet { balance }) => json!({ "balance": balance, "unit": "point" }),
            _ => {
                degraded = true;
                json!({ "balance": null, "unit": "point", "unavailable": true })
            }
        },
        RowProviderType::MyCart => match get(results, ProviderType::Cart) {
            Some(ProviderData::Cart(c)) => json!({ "lines": c.lines, "quantity": c.quantity, "total": c.total }),
            _ => {
                degraded = true;
                json!({ "lines": null, "quantity": null, "total": null, "unavailable": true })
            }
        },
        RowProviderType::QuickButtons => {
            let balance = match get(results, ProviderType::Wallet) {
                Some(ProviderData::Wallet { balance }) => Some(*balance),
                _ => None,
            };
            let in_cart = match get(results, ProviderType::Cart) {
                Some(ProviderData::Cart(c)) => Some(c.quantity),
                _ => None,
            };
            let unread = match get(results, ProviderType::Chat) {
                Some(ProviderData::Chat(c)) => Some(c.unread_messages),
                _ => None,
            };
            degraded = balance.is_none() || in_cart.is_none() || unread.is_none();
            json!({ "buttons": [
                { "id": "wallet", "label": "Points", "badge": balance, "link": "app://wallet" },
                { "id": "cart", "label": "Cart", "badge": in_cart, "link": "app://cart" },
                { "id": "chat", "label": "Chat", "badge": unread, "link": "app://chat" },
            ] })
        }
        RowProviderType::NewProducts => match get(results, ProviderType::Products) {
            Some(ProviderData::Products(items)) => json!({ "items": pick(items, index)? }),
            _ => return None,
        },
        RowProviderType::MyMissions => match get(results, ProviderType::Missions) {
            Some(ProviderData::Missions(items)) => json!({ "items": pick(items, index)? }),
            _ => return None,
        },
        RowProviderType::UnreadChats => match get(results, ProviderType::Chat) {
            Some(ProviderData::Chat(c)) if c.unread_rooms > 0 => json!({
                "unread_rooms": c.unread_rooms,
                "unread_messages": c.unread_messages,
                "rooms": pick(&c.rooms, index)?,
            }),
            _ => return None,
        },
        RowProviderType::Banner => match get(results, ProviderType::AdSlots) {
            Some(ProviderData::AdSlots(slots)) => {
                let slot = match (&setting.selector.slot_match, index) {
                    (Some(name), _) => slots.iter().find(|s| &s.slot_name == name),
                    (None, Some(i)) => slots.get(usize::try_from(i).ok()?),
                    (None, None) => slots.first(),
                }?;
                json!({ "slot_name": slot.slot_name, "title": slot.title, "image_url": slot.image_url, "link_url": slot.link_url })
            }
            _ => return None,
        },
        RowProviderType::Notice => json!({}),
    };
    let mut data = data;
    if setting.row_provider_type.render_type() == RenderType::Sdu
        && let (Some(template), Some(obj)) = (&setting.template, data.as_object_mut())
    {
        obj.insert("template".into(), template.clone());
    }
    let expires_at =
        [setting.ttl_seconds.filter(|t| *t > 0).map(|t| now + Duration::seconds(i64::from(t))), setting.ends_at]
            .into_iter()
            .flatten()
            .min();
    let mut meta = json!({ "title": setting.title, "position": setting.position });
    if let Some(expires_at) = expires_at {
        meta["expires_at"] = json!(expires_at);
    }
    if degraded {
        meta["degraded"] = json!(true);
    }
    Some(FeedRow {
        row_id: setting.id,
        row_type: setting.row_provider_type.row_type(),
        render_type: setting.row_provider_type.render_type(),
        data,
        meta,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AdSlot, Selector};

    fn setting(kind: RowProviderType) -> RowSetting {
        RowSetting {
            id: 7,
            row_provider_type: kind,
            position: 3,
            enabled: true,
            title: "Row".into(),
            selector: Selector::default(),
            template: None,
            ttl_seconds: None,
            starts_at: None,
            ends_at: None,
        }
    }

    fn slot(name: &str) -> AdSlot {
        AdSlot {
            id: 1,
            slot_name: name.into(),
            title: "Ad".into(),
            image_url: "https://x/i.png".into(),
            link_url: "https://x".into(),
            country: None,
        }
    }

    #[test]
    fn failed_wallets_show_default_content_and_failed_lists_are_omitted() {
        let results: Results = HashMap::from([
            (ProviderType::Wallet, Err(Failure::Timeout)),
            (ProviderType::Products, Err(Failure::Error)),
        ]);
        let wallet = build(&setting(RowProviderType::MyWallet), &results, Utc::now()).unwrap();
        assert_eq!(wallet.data["unavailable"], true);
        assert_eq!(wallet.meta["degraded"], true);
        assert!(build(&setting(RowProviderType::NewProducts), &results, Utc::now()).is_none());
    }

    #[test]
    fn banners_pick_by_slot_name_or_index_and_are_omitted_without_one() {
        let results: Results =
            HashMap::from([(ProviderType::AdSlots, Ok(ProviderData::AdSlots(vec![slot("home"), slot("side")])))]);
        let mut s = setting(RowProviderType::Banner);
        s.selector.slot_match = Some("side".into());
        assert_eq!(build(&s, &results, Utc::now()).unwrap().data["slot_name"], "side");
        s.selector.slot_match = Some("none".into());
        assert!(build(&s, &results, Utc::now()).is_none());
        s.selector.slot_match = None;
        s.selector.index_match = Some(1);
        assert_eq!(build(&s, &results, Utc::now()).unwrap().data["slot_name"], "side");
        s.selector.index_match = Some(5);
        assert!(build(&s, &results, Utc::now()).is_none());
    }

    #[test]
    fn expiry_is_the_earlier_of_ttl_and_end() {
        let now = Utc::now();
        let mut s = setting(RowProviderType::Notice);
        s.ttl_seconds = Some(60);
        let row = build(&s, &HashMap::new(), now).unwrap();
        assert_eq!(row.meta["expires_at"], json!(now + Duration::seconds(60)));
        s.ends_at = Some(now + Duration::seconds(10));
        let row = build(&s, &HashMap::new(), now).unwrap();
        assert_eq!(row.meta["expires_at"], json!(now + Duration::seconds(10)));
        s.ttl_seconds = Some(0);
        s.ends_at = None;
        assert!(build(&s, &HashMap::new(), now).unwrap().meta.get("expires_at").is_none());
    }
}
