//! `POST /admin/feed/preview`: the feed as a chosen account in a chosen country would get
//! it, optionally with draft row settings in place of the stored ones; nothing is stored.

use crate::helpers::*;
use contracts::Role;
use serde_json::{Value, json};

const ROWS: &str = "/admin/feed/rows";
const PREVIEW: &str = "/admin/feed/preview";

fn titles(feed: &Value) -> Vec<String> {
    feed["rows"].as_array().unwrap().iter().map(|r| r["meta"]["title"].as_str().unwrap().to_string()).collect()
}

async fn preview(admin: &User, body: &Value) -> Value {
    admin.post(PREVIEW, body).returns(200).await
}

async fn add_row(admin: &User, body: Value) -> Value {
    admin.post(ROWS, &body).returns(201).await
}

#[tokio::test]
async fn only_admins_preview_and_the_role_is_checked_before_the_body() {
    let app = spawn_app().await;
    let customer = app.user(Role::Customer).await;
    app.post(PREVIEW, &json!({})).fails(401, "unauthenticated").await;
    for body in [json!({}), json!({ "rows": "not a list" }), json!({ "country": 7 })] {
        customer.post(PREVIEW, &body).fails(403, "forbidden").await;
    }
    customer
        .request(reqwest::Method::POST, PREVIEW)
        .header("content-type", "application/json")
        .raw_body("{not json")
        .fails(403, "forbidden")
        .await;
}

#[tokio::test]
async fn the_preview_shows_what_the_chosen_account_and_country_would_get() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let buyer = app.user(Role::Customer).await;
    buyer.charge(4321).await;
    add_row(&admin, json!({ "row_provider_type": "MY_WALLET", "position": 1, "title": "Points" })).await;
    add_row(&admin, json!({ "row_provider_type": "NOTICE", "position": 2, "title": "Everyone" })).await;
    add_row(
        &admin,
        json!({ "row_provider_type": "NOTICE", "position": 3, "title": "Korea only", "selector": { "country_match": ["KR"] } }),
    )
    .await;

    // No body: the stored rows, as an anonymous visitor without a country.
    let anonymous: Value = admin.request(reqwest::Method::POST, PREVIEW).returns(200).await;
    assert_eq!(titles(&anonymous), vec!["Everyone"]);
    let feed: Value = app.get("/feed").returns(200).await;
    assert_eq!(titles(&feed), titles(&anonymous), "the same rows GET /feed gives");

    let as_buyer = preview(&admin, &json!({ "account_id": buyer.id, "country": "kr" })).await;
    assert_eq!(titles(&as_buyer), vec!["Points", "Everyone", "Korea only"]);
    assert_eq!(as_buyer["rows"][0]["data"]["balance"], 4321, "the buyer's own balance: {as_buyer}");
    assert_eq!(as_buyer["source"], "database");

    let elsewhere = preview(&admin, &json!({ "account_id": buyer.id, "country": "US" })).await;
    assert_eq!(titles(&elsewhere), vec!["Points", "Everyone"]);
}

#[tokio::test]
async fn draft_rows_replace_the_stored_ones_in_the_preview_and_nothing_is_stored() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let stored = add_row(&admin, json!({ "row_provider_type": "NOTICE", "position": 5, "title": "Saved" })).await;
    add_row(&admin, json!({ "row_provider_type": "NOTICE", "position": 9, "title": "Left out" })).await;
    let before: Value = admin.get(ROWS).returns(200).await;

    let body = json!({ "rows": [
        { "id": stored["id"], "row_provider_type": "NOTICE", "position": 5, "title": "Edited",
          "template": { "component": "notice", "text": "draft text" }, "ttl_seconds": 60 },
        { "row_provider_type": "NOTICE", "position": 1, "title": "Brand new" },
        { "row_provider_type": "NOTICE", "position": 2, "title": "Switched off", "enabled": false },
    ]});
    let feed = preview(&admin, &body).await;
    assert_eq!(
        titles(&feed),
        vec!["Brand new", "Edited"],
        "position order; disabled drafts hidden; the list replaces the stored one"
    );
    assert_eq!(feed["rows"][0]["row_id"], -2, "unsaved rows get negative ids by list position");
    assert_eq!(feed["rows"][1]["row_id"], stored["id"]);
    assert_eq!(feed["rows"][1]["data"]["template"]["text"], "draft text");
    assert!(feed["rows"][1]["meta"]["expires_at"].is_string());

    assert_eq!(admin.get(ROWS).returns::<Value>(200).await, before, "nothing stored");
    assert_eq!(titles(&app.get("/feed").returns(200).await), vec!["Saved", "Left out"]);
}

#[tokio::test]
async fn invalid_previews_are_refused_by_field() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let cases = [
        (json!({ "country": "Korea" }), "country"),
        (json!({ "account_id": 0 }), "account_id"),
        (json!({ "rows": [{ "row_provider_type": "NOTICE", "position": 1, "title": "" }] }), "rows[0].title"),
        (
            json!({ "rows": [
                { "row_provider_type": "NOTICE", "position": 1, "title": "fine" },
                { "row_provider_type": "MY_WALLET", "position": 1, "title": "x", "selector": { "slot_match": "home" } },
            ] }),
            "rows[1].selector.slot_match",
        ),
    ];
    for (body, field) in cases {
        let err = admin.post(PREVIEW, &body).fails(400, "validation_failed").await;
        assert!(err.error.details.fields.as_ref().is_some_and(|f| f.contains_key(field)), "{body}: {err:?}");
    }
    let unknown = json!({ "rows": [{ "row_provider_type": "HOROSCOPE", "position": 1, "title": "x" }] });
    admin.post(PREVIEW, &unknown).fails(400, "validation_failed").await;
    admin.post(PREVIEW, &json!({ "colour": "red" })).fails(400, "validation_failed").await;
}
