//! `POST /admin/feed/preview`: the feed as a chosen account in a chosen country would get
//! it, optionally with draft row settings in place of the stored ones; nothing is stored.

use crate::helpers::*;
use contracts::Role;
use serde_json::{Value, json};

const ROWS: &str = "/api/v1/admin/feed/rows";
const PREVIEW: &str = "/api/v1/admin/feed/preview";

fn titles(feed: &Value) -> Vec<String> {
    feed["rows"].as_array().unwrap().iter().map(|r| r["meta"]["title"].as_str().unwrap().to_string()).collect()
}

async fn preview(app: &TestApp, admin: &User, body: &Value) -> Value {
    json_of(app.post(PREVIEW, Some(&admin.token), body).await, 200).await
}

async fn add_row(app: &TestApp, admin: &User, body: Value) -> Value {
    json_of(app.post(ROWS, Some(&admin.token), &body).await, 201).await
}

#[tokio::test]
async fn only_admins_preview_and_the_role_is_checked_before_the_body() {
    let app = spawn_app().await;
    let customer = app.user(Role::Customer).await;
    assert_error(app.post(PREVIEW, None, &json!({})).await, 401, "unauthenticated").await;
    for body in [json!({}), json!({ "rows": "not a list" }), json!({ "country": 7 })] {
        assert_error(app.post(PREVIEW, Some(&customer.token), &body).await, 403, "forbidden").await;
    }
    let res = app
        .request(reqwest::Method::POST, PREVIEW)
        .bearer_auth(&customer.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(res, 403, "forbidden").await;
}

#[tokio::test]
async fn the_preview_shows_what_the_chosen_account_and_country_would_get() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let buyer = app.user(Role::Customer).await;
    app.charge(&buyer, 4321).await;
    add_row(&app, &admin, json!({ "row_provider_type": "MY_WALLET", "position": 1, "title": "Points" })).await;
    add_row(&app, &admin, json!({ "row_provider_type": "NOTICE", "position": 2, "title": "Everyone" })).await;
    add_row(
        &app,
        &admin,
        json!({ "row_provider_type": "NOTICE", "position": 3, "title": "Korea only", "selector": { "country_match": ["KR"] } }),
    )
    .await;

    // No body: the stored rows, as an anonymous visitor without a country.
    let res = app.request(reqwest::Method::POST, PREVIEW).bearer_auth(&admin.token).send().await.unwrap();
    let anonymous = json_of(res, 200).await;
    assert_eq!(titles(&anonymous), vec!["Everyone"]);
    let feed = json_of(app.get("/api/v1/feed", None).await, 200).await;
    assert_eq!(titles(&feed), titles(&anonymous), "the same rows GET /feed gives");

    let as_buyer = preview(&app, &admin, &json!({ "account_id": buyer.id, "country": "kr" })).await;
    assert_eq!(titles(&as_buyer), vec!["Points", "Everyone", "Korea only"]);
    assert_eq!(as_buyer["rows"][0]["data"]["balance"], 4321, "the buyer's own balance: {as_buyer}");
    assert_eq!(as_buyer["source"], "database");

    let elsewhere = preview(&app, &admin, &json!({ "account_id": buyer.id, "country": "US" })).await;
    assert_eq!(titles(&elsewhere), vec!["Points", "Everyone"]);
}

#[tokio::test]
async fn draft_rows_replace_the_stored_ones_in_the_preview_and_nothing_is_stored() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let stored = add_row(&app, &admin, json!({ "row_provider_type": "NOTICE", "position": 5, "title": "Saved" })).await;
    add_row(&app, &admin, json!({ "row_provider_type": "NOTICE", "position": 9, "title": "Left out" })).await;
    let before = json_of(app.get(ROWS, Some(&admin.token)).await, 200).await;

    let body = json!({ "rows": [
        { "id": stored["id"], "row_provider_type": "NOTICE", "position": 5, "title": "Edited",
          "template": { "component": "notice", "text": "draft text" }, "ttl_seconds": 60 },
        { "row_provider_type": "NOTICE", "position": 1, "title": "Brand new" },
        { "row_provider_type": "NOTICE", "position": 2, "title": "Switched off", "enabled": false },
    ]});
    let feed = preview(&app, &admin, &body).await;
    assert_eq!(
        titles(&feed),
        vec!["Brand new", "Edited"],
        "position order; disabled drafts hidden; the list replaces the stored one"
    );
    assert_eq!(feed["rows"][0]["row_id"], -2, "unsaved rows get negative ids by list position");
    assert_eq!(feed["rows"][1]["row_id"], stored["id"]);
    assert_eq!(feed["rows"][1]["data"]["template"]["text"], "draft text");
    assert!(feed["rows"][1]["meta"]["expires_at"].is_string());

    assert_eq!(json_of(app.get(ROWS, Some(&admin.token)).await, 200).await, before, "nothing stored");
    assert_eq!(titles(&json_of(app.get("/api/v1/feed", None).await, 200).await), vec!["Saved", "Left out"]);
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
        let err = assert_error(app.post(PREVIEW, Some(&admin.token), &body).await, 400, "validation_failed").await;
        assert!(err["error"]["details"]["fields"][field].is_string(), "{body}: {err}");
    }
    let unknown = json!({ "rows": [{ "row_provider_type": "HOROSCOPE", "position": 1, "title": "x" }] });
    assert_error(app.post(PREVIEW, Some(&admin.token), &unknown).await, 400, "validation_failed").await;
    assert_error(app.post(PREVIEW, Some(&admin.token), &json!({ "colour": "red" })).await, 400, "validation_failed")
        .await;
}
