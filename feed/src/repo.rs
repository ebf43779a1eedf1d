//! Feed row settings and ad slots in the feed's own tables.

use crate::model::{AdSlot, RowSetting};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use platform::clock::{from_db, to_db};
use platform::db::{DbConn, DbError, last_insert_id};

diesel::table! {
    feed_rows (id) {
        id -> BigInt,
        row_provider_type -> Text,
        position -> Integer,
        enabled -> Bool,
        title -> Text,
        selector -> Text,
        template -> Nullable<Text>,
        ttl_seconds -> Nullable<Integer>,
        starts_at -> Nullable<Timestamp>,
        ends_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    feed_ad_slots (id) {
        id -> BigInt,
        slot_name -> Text,
        title -> Text,
        image_url -> Text,
        link_url -> Text,
        country -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

type RowTuple =
    (i64, String, i32, bool, String, String, Option<String>, Option<i32>, Option<NaiveDateTime>, Option<NaiveDateTime>);

fn to_setting(t: RowTuple) -> Result<RowSetting, DbError> {
    let bad = |what: &str, e: serde_json::Error| DbError::Task(format!("feed row {}: bad {what}: {e}", t.0));
    Ok(RowSetting {
        id: t.0,
        row_provider_type: serde_json::from_value(serde_json::Value::String(t.1.clone()))
            .map_err(|e| bad("type", e))?,
        position: t.2,
        enabled: t.3,
        title: t.4.clone(),
        selector: serde_json::from_str(&t.5).map_err(|e| bad("selector", e))?,
        template: t.6.as_deref().map(serde_json::from_str).transpose().map_err(|e| bad("template", e))?,
        ttl_seconds: t.7,
        starts_at: t.8.map(from_db),
        ends_at: t.9.map(from_db),
    })
}

fn type_name(row: &RowSetting) -> String {
    serde_json::to_value(row.row_provider_type).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn json_text(value: &impl serde::Serialize) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|e| DbError::Task(e.to_string()))
}

pub fn rows(conn: &mut DbConn) -> Result<Vec<RowSetting>, DbError> {
    let tuples: Vec<RowTuple> = feed_rows::table
        .order((feed_rows::position.asc(), feed_rows::id.asc()))
        .select((
            feed_rows::id,
            feed_rows::row_provider_type,
            feed_rows::position,
            feed_rows::enabled,
            feed_rows::title,
            feed_rows::selector,
            feed_rows::template,
            feed_rows::ttl_seconds,
            feed_rows::starts_at,
            feed_rows::ends_at,
        ))
        .load(conn)?;
    tuples.into_iter().map(to_setting).collect()
}

/// The stored columns of a row setting, for both insert and update.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = feed_rows, treat_none_as_null = true)]
struct RowValues {
    row_provider_type: String,
    position: i32,
    enabled: bool,
    title: String,
    selector: String,
    template: Option<String>,
    ttl_seconds: Option<i32>,
    starts_at: Option<NaiveDateTime>,
    ends_at: Option<NaiveDateTime>,
    updated_at: NaiveDateTime,
}

fn values(row: &RowSetting, now: DateTime<Utc>) -> Result<RowValues, DbError> {
    Ok(RowValues {
        row_provider_type: type_name(row),
        position: row.position,
        enabled: row.enabled,
        title: row.title.trim().to_string(),
        selector: json_text(&row.selector)?,
        template: row.template.as_ref().map(json_text).transpose()?,
        ttl_seconds: row.ttl_seconds,
        starts_at: row.starts_at.map(to_db),
        ends_at: row.ends_at.map(to_db),
        updated_at: to_db(now),
    })
}

pub fn insert_row(conn: &mut DbConn, row: &RowSetting, now: DateTime<Utc>) -> Result<i64, DbError> {
    diesel::insert_into(feed_rows::table)
        .values((values(row, now)?, feed_rows::created_at.eq(to_db(now))))
        .execute(conn)?;
    Ok(last_insert_id(conn)?)
}

/// `false` when no row has this id.
pub fn update_row(conn: &mut DbConn, row: &RowSetting, now: DateTime<Utc>) -> Result<bool, DbError> {
    let n = diesel::update(feed_rows::table.find(row.id)).set(values(row, now)?).execute(conn)?;
    Ok(n == 1)
}

pub fn delete_row(conn: &mut DbConn, id: i64) -> Result<bool, DbError> {
    Ok(diesel::delete(feed_rows::table.find(id)).execute(conn)? == 1)
}

pub fn ad_slots(conn: &mut DbConn) -> Result<Vec<AdSlot>, DbError> {
    let rows: Vec<(i64, String, String, String, String, Option<String>)> = feed_ad_slots::table
        .order(feed_ad_slots::id.asc())
        .select((
            feed_ad_slots::id,
            feed_ad_slots::slot_name,
            feed_ad_slots::title,
            feed_ad_slots::image_url,
            feed_ad_slots::link_url,
            feed_ad_slots::country,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, slot_name, title, image_url, link_url, country)| AdSlot {
            id,
            slot_name,
            title,
            image_url,
            link_url,
            country,
        })
        .collect())
}

pub fn insert_ad_slot(conn: &mut DbConn, slot: &AdSlot, now: DateTime<Utc>) -> Result<i64, DbError> {
    diesel::insert_into(feed_ad_slots::table)
        .values((
            feed_ad_slots::slot_name.eq(&slot.slot_name),
            feed_ad_slots::title.eq(&slot.title),
            feed_ad_slots::image_url.eq(&slot.image_url),
            feed_ad_slots::link_url.eq(&slot.link_url),
            feed_ad_slots::country.eq(&slot.country),
            feed_ad_slots::created_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(last_insert_id(conn)?)
}

pub fn delete_ad_slot(conn: &mut DbConn, id: i64) -> Result<bool, DbError> {
    Ok(diesel::delete(feed_ad_slots::table.find(id)).execute(conn)? == 1)
}
