//! Missions: stakes and contributions into escrow, decisions, expiry, exactly-once settlement.

use crate::helpers::*;
use chrono::Duration;
use contracts::Role;
use contracts::wallet::{WalletRef, WalletService};
use platform::clock::Clock;
use serde_json::{Value, json};
use std::collections::HashMap;

fn deadline(app: &TestApp, from_now: Duration) -> String {
    (app.clock.now() + from_now).to_rfc3339()
}

/// Creates a mission due two hours after the app started (a stable deadline, so that
/// replaying a request sends the same body).
async fn create(app: &TestApp, creator: &User, streamer: &User, stake: i64, key: &str) -> reqwest::Response {
    let due = app.started_at + Duration::hours(2);
    let body = json!({
        "streamer_id": streamer.id, "title": "Beat the boss blindfolded", "description": "No hits taken",
        "stake": stake, "deadline": due.to_rfc3339(),
    });
    app.post_keyed("/api/v1/missions", &creator.token, key, &body).await
}

async fn contribute(app: &TestApp, user: &User, mission: &Value, amount: i64, key: &str) -> reqwest::Response {
    app.post_keyed(
        &format!("/api/v1/missions/{}/contributions", mission["id"]),
        &user.token,
        key,
        &json!({"amount": amount}),
    )
    .await
}

async fn decide(app: &TestApp, user: &User, mission: &Value, result: &str) -> reqwest::Response {
    app.post(&format!("/api/v1/missions/{}/decision", mission["id"]), Some(&user.token), &json!({"result": result}))
        .await
}

async fn funded(app: &TestApp, role: Role, points: i64) -> User {
    let user = app.user(role).await;
    app.charge(&user, points).await;
    user
}

/// Waits until the mission is settled; returns it.
async fn settled(app: &TestApp, viewer: &User, id: &Value) -> Value {
    let found = platform::testkit::eventually(std::time::Duration::from_secs(20), || async {
        let m = json_of(app.get(&format!("/api/v1/missions/{id}"), Some(&viewer.token)).await, 200).await;
        (m["settled"] == true).then_some(m)
    })
    .await;
    found.unwrap_or_else(|| panic!("mission {id} not settled"))
}

async fn escrow_balance(app: &TestApp, id: &Value) -> i64 {
    app.assembled.wallets.balance(&mission::escrow(id.as_i64().unwrap())).await.unwrap()
}

async fn kinds(app: &TestApp, user: &User) -> Vec<(String, i64)> {
    let page = json_of(app.get("/api/v1/wallet/entries?limit=100", Some(&user.token)).await, 200).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_string(), e["amount"].as_i64().unwrap()))
        .collect()
}

#[tokio::test]
async fn creating_a_mission_moves_the_stake_into_escrow() {
    let app = spawn_app().await;
    let (creator, streamer) = (funded(&app, Role::Customer, 10_000).await, app.user(Role::Streamer).await);
    let mission = json_of(create(&app, &creator, &streamer, 3_000, "m1").await, 201).await;
    assert_eq!(
        (mission["status"].as_str(), mission["pool"].as_i64(), mission["contributors"].as_i64()),
        (Some("open"), Some(3_000), Some(1))
    );
    assert_eq!(
        (mission["creator_id"].as_i64(), mission["streamer_id"].as_i64()),
        (Some(creator.id), Some(streamer.id))
    );
    assert_eq!((mission["settled"].as_bool(), &mission["decided_at"]), (Some(false), &Value::Null));
    assert_eq!(app.balance(&creator).await, 7_000);
    assert_eq!(escrow_balance(&app, &mission["id"]).await, 3_000);
    assert_eq!(kinds(&app, &creator).await[0], ("mission_stake".into(), -3_000));
    let list = json_of(
        app.get(&format!("/api/v1/missions/{}/contributions", mission["id"]), Some(&streamer.token)).await,
        200,
    )
    .await;
    assert_eq!(
        (list["total"].as_i64(), list["items"][0]["account_id"].as_i64(), list["items"][0]["amount"].as_i64()),
        (Some(1), Some(creator.id), Some(3_000))
    );
    let again = json_of(create(&app, &creator, &streamer, 3_000, "m1").await, 201).await;
    assert_eq!(again, mission, "a replay returns the same mission");
    assert_error(create(&app, &creator, &streamer, 3_001, "m1").await, 409, "idempotency_conflict").await;
    assert_eq!(app.balance(&creator).await, 7_000);
}

#[tokio::test]
async fn mission_creation_is_validated() {
    let app =
        spawn_app_with(TestOptions::default().with("mission.max_open_per_creator", 2).with("mission.max_pool", 50_000))
            .await;
    let (creator, streamer) = (funded(&app, Role::Customer, 100_000).await, app.user(Role::Streamer).await);
    let not_streamer = app.user(Role::Seller).await;
    assert_error(create(&app, &streamer, &streamer, 500, "self").await, 403, "forbidden").await;
    assert_error(create(&app, &creator, &not_streamer, 500, "seller").await, 400, "validation_failed").await;
    assert_error(create(&app, &creator, &streamer, 99, "tiny").await, 400, "validation_failed").await;
    assert_error(create(&app, &creator, &streamer, 50_001, "huge").await, 409, "limit_exceeded").await;
    for (when, key) in [(Duration::minutes(-1), "past"), (Duration::days(31), "far")] {
        let body = json!({"streamer_id": streamer.id, "title": "t", "stake": 500, "deadline": deadline(&app, when)});
        assert_error(app.post_keyed("/api/v1/missions", &creator.token, key, &body).await, 400, "validation_failed")
            .await;
    }
    let body =
        json!({"streamer_id": streamer.id, "title": "", "stake": 500, "deadline": deadline(&app, Duration::hours(1))});
    assert_error(app.post_keyed("/api/v1/missions", &creator.token, "empty", &body).await, 400, "validation_failed")
        .await;
    let body = json!({"streamer_id": streamer.id, "title": "t", "stake": 500, "deadline": "tomorrow"});
    assert_error(app.post_keyed("/api/v1/missions", &creator.token, "bad-date", &body).await, 400, "validation_failed")
        .await;
    let res = app.post("/api/v1/missions", Some(&creator.token), &json!({})).await;
    assert_error(res, 400, "idempotency_key_required").await;
    json_of(create(&app, &creator, &streamer, 500, "one").await, 201).await;
    json_of(create(&app, &creator, &streamer, 500, "two").await, 201).await;
    assert_error(create(&app, &creator, &streamer, 500, "three").await, 409, "limit_exceeded").await;
    assert_eq!(app.balance(&creator).await, 99_000, "only the two missions took a stake");
}

#[tokio::test]
async fn a_stake_the_creator_cannot_pay_changes_nothing() {
    let app = spawn_app().await;
    let (creator, streamer) = (funded(&app, Role::Customer, 400).await, app.user(Role::Streamer).await);
    assert_error(create(&app, &creator, &streamer, 500, "k").await, 409, "insufficient_balance").await;
    let list =
        json_of(app.get(&format!("/api/v1/missions?creator_id={}", creator.id), Some(&creator.token)).await, 200).await;
    assert_eq!(list["total"], 0, "no mission left behind");
    app.charge(&creator, 100).await;
    json_of(create(&app, &creator, &streamer, 500, "k").await, 201).await;
    assert_eq!(app.balance(&creator).await, 0);
}

#[tokio::test]
async fn contributions_follow_the_rules() {
    let app = spawn_app_with(TestOptions::default().with("mission.max_pool", 10_000)).await;
    let (creator, streamer) = (funded(&app, Role::Customer, 50_000).await, app.user(Role::Streamer).await);
    let viewer = funded(&app, Role::Customer, 50_000).await;
    let mission = json_of(create(&app, &creator, &streamer, 1_000, "m").await, 201).await;
    let c = json_of(contribute(&app, &viewer, &mission, 2_000, "c1").await, 201).await;
    assert_eq!(
        (c["mission_id"].as_i64(), c["account_id"].as_i64(), c["amount"].as_i64()),
        (mission["id"].as_i64(), Some(viewer.id), Some(2_000))
    );
    assert_eq!(json_of(contribute(&app, &viewer, &mission, 2_000, "c1").await, 201).await, c, "replay");
    assert_error(contribute(&app, &viewer, &mission, 3_000, "c1").await, 409, "idempotency_conflict").await;
    assert_error(contribute(&app, &streamer, &mission, 1_000, "s").await, 403, "forbidden").await;
    assert_error(contribute(&app, &viewer, &mission, 99, "small").await, 400, "validation_failed").await;
    assert_error(contribute(&app, &viewer, &mission, 7_001, "over").await, 409, "limit_exceeded").await;
    let poor = funded(&app, Role::Customer, 100).await;
    assert_error(contribute(&app, &poor, &mission, 500, "p").await, 409, "insufficient_balance").await;
    app.charge(&poor, 400).await;
    json_of(contribute(&app, &poor, &mission, 500, "p").await, 201).await;
    json_of(contribute(&app, &viewer, &mission, 1_000, "c2").await, 201).await;
    let m = json_of(app.get(&format!("/api/v1/missions/{}", mission["id"]), Some(&viewer.token)).await, 200).await;
    assert_eq!((m["pool"].as_i64(), m["contributors"].as_i64()), (Some(4_500), Some(3)));
    assert_eq!(escrow_balance(&app, &mission["id"]).await, 4_500);
    assert_error(app.get("/api/v1/missions/999999", Some(&viewer.token)).await, 404, "not_found").await;
    assert_error(contribute(&app, &viewer, &json!(999999), 500, "x").await, 404, "not_found").await;
}

#[tokio::test]
async fn only_the_streamer_decides_and_success_pays_the_pool_once() {
    let app = spawn_app().await;
    let (creator, streamer) = (funded(&app, Role::Customer, 10_000).await, app.user(Role::Streamer).await);
    let viewer = funded(&app, Role::Customer, 10_000).await;
    let mission = json_of(create(&app, &creator, &streamer, 1_000, "m").await, 201).await;
    json_of(contribute(&app, &viewer, &mission, 2_000, "c").await, 201).await;
    assert_error(decide(&app, &creator, &mission, "success").await, 403, "forbidden").await;
    assert_error(decide(&app, &viewer, &mission, "success").await, 403, "forbidden").await;
    assert_error(decide(&app, &streamer, &mission, "maybe").await, 400, "validation_failed").await;
    let decided = json_of(decide(&app, &streamer, &mission, "success").await, 200).await;
    assert_eq!(decided["status"], "succeeded");
    assert!(decided["decided_at"].is_string());
    assert_error(decide(&app, &streamer, &mission, "failure").await, 409, "mission_closed").await;
    assert_error(contribute(&app, &viewer, &mission, 500, "late").await, 409, "mission_closed").await;
    settled(&app, &viewer, &mission["id"]).await;
    assert_eq!(app.balance(&streamer).await, 3_000);
    assert_eq!(kinds(&app, &streamer).await, vec![("mission_payout".to_string(), 3_000)]);
    assert_eq!(escrow_balance(&app, &mission["id"]).await, 0);
    assert_eq!((app.balance(&creator).await, app.balance(&viewer).await), (9_000, 8_000));
    // One email per person: both contributors and the streamer.
    for user in [&creator, &viewer, &streamer] {
        app.wait_for_email(&user.email, |t| t.contains("succeeded")).await;
        assert_eq!(app.emails_to(&user.email).into_iter().filter(|t| t.contains("Mission")).count(), 1);
    }
}

#[tokio::test]
async fn failure_and_rejection_refund_each_contributor_their_total_once() {
    let app = spawn_app().await;
    for result in ["failure", "rejected"] {
        let (creator, streamer) = (funded(&app, Role::Customer, 10_000).await, app.user(Role::Streamer).await);
        let viewer = funded(&app, Role::Customer, 10_000).await;
        let mission = json_of(create(&app, &creator, &streamer, 1_000, &format!("m-{result}")).await, 201).await;
        json_of(contribute(&app, &viewer, &mission, 700, &format!("a-{result}")).await, 201).await;
        json_of(contribute(&app, &viewer, &mission, 300, &format!("b-{result}")).await, 201).await;
        json_of(contribute(&app, &creator, &mission, 200, &format!("c-{result}")).await, 201).await;
        let decided = json_of(decide(&app, &streamer, &mission, result).await, 200).await;
        assert_eq!(decided["status"], if result == "failure" { "failed" } else { "rejected" });
        settled(&app, &viewer, &mission["id"]).await;
        assert_eq!(
            (app.balance(&creator).await, app.balance(&viewer).await, app.balance(&streamer).await),
            (10_000, 10_000, 0)
        );
        assert_eq!(kinds(&app, &viewer).await[0], ("mission_refund".to_string(), 1_000), "one refund of the total");
        assert_eq!(kinds(&app, &creator).await[0], ("mission_refund".to_string(), 1_200));
        assert_eq!(escrow_balance(&app, &mission["id"]).await, 0);
        let (text, _) = app.wait_for_email(&viewer.email, |t| t.contains("refunded")).await;
        assert!(text.contains("1000 points"), "{text}");
    }
}

#[tokio::test]
async fn open_missions_past_their_deadline_expire_and_refund() {
    let app = spawn_app_with(TestOptions::default().with("mission.sweep_interval_ms", 100)).await;
    let (creator, streamer) = (funded(&app, Role::Customer, 10_000).await, app.user(Role::Streamer).await);
    let viewer = funded(&app, Role::Customer, 10_000).await;
    let mission = json_of(create(&app, &creator, &streamer, 1_000, "m").await, 201).await;
    json_of(contribute(&app, &viewer, &mission, 400, "c").await, 201).await;
    app.clock.advance(Duration::hours(3));
    let (creator, viewer, streamer) = (
        app.login_user(&creator.email, &creator.password).await,
        app.login_user(&viewer.email, &viewer.password).await,
        app.login_user(&streamer.email, &streamer.password).await,
    );
    assert_error(decide(&app, &streamer, &mission, "success").await, 409, "mission_closed").await;
    assert_error(contribute(&app, &viewer, &mission, 400, "late").await, 409, "mission_closed").await;
    let done = settled(&app, &viewer, &mission["id"]).await;
    assert_eq!(done["status"], "expired");
    assert_eq!((app.balance(&creator).await, app.balance(&viewer).await), (10_000, 10_000));
    let expired = json_of(app.get("/api/v1/missions?status=expired", Some(&viewer.token)).await, 200).await;
    assert_eq!(expired["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_racing_decisions_have_one_winner() {
    let app = spawn_app().await;
    let (creator, streamer) = (funded(&app, Role::Customer, 50_000).await, app.user(Role::Streamer).await);
    for i in 0..5 {
        let mission = json_of(create(&app, &creator, &streamer, 500, &format!("race-{i}")).await, 201).await;
        let (a, b) =
            tokio::join!(decide(&app, &streamer, &mission, "success"), decide(&app, &streamer, &mission, "failure"));
        let mut codes = vec![a.status().as_u16(), b.status().as_u16()];
        codes.sort();
        assert_eq!(codes, vec![200, 409]);
        settled(&app, &streamer, &mission["id"]).await;
    }
    // Each mission either paid the streamer or refunded the creator: never both.
    assert_eq!(app.balance(&creator).await + app.balance(&streamer).await, 50_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_decision_racing_the_deadline_either_wins_or_finds_the_mission_expired() {
    let app = spawn_app_with(
        TestOptions::default().with("mission.sweep_interval_ms", 20).with("mission.max_open_per_creator", 10),
    )
    .await;
    let (creator, streamer) = (funded(&app, Role::Customer, 50_000).await, app.user(Role::Streamer).await);
    let mut missions = Vec::new();
    for i in 0..6 {
        let body = json!({"streamer_id": streamer.id, "title": "quick", "stake": 500, "deadline": deadline(&app, Duration::seconds(3))});
        missions.push(
            json_of(app.post_keyed("/api/v1/missions", &creator.token, &format!("q{i}"), &body).await, 201).await,
        );
    }
    let first = chrono::DateTime::parse_from_rfc3339(missions[0]["deadline"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let wait = (first - app.clock.now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait.saturating_sub(std::time::Duration::from_millis(60))).await;
    let mut outcomes = Vec::new();
    for (i, mission) in missions.iter().enumerate() {
        tokio::time::sleep(std::time::Duration::from_millis(20 * i as u64)).await;
        let sweep = app.assembled.missions.sweep();
        let (decision, _) = tokio::join!(decide(&app, &streamer, mission, "success"), sweep);
        outcomes.push(decision.status().as_u16());
    }
    let mut paid = 0;
    for (mission, code) in missions.iter().zip(&outcomes) {
        let m = settled(&app, &streamer, &mission["id"]).await;
        match (code, m["status"].as_str()) {
            (200, Some("succeeded")) => paid += 500,
            (409, Some("expired")) => {}
            other => panic!("inconsistent: {other:?}"),
        }
    }
    assert_eq!(app.balance(&streamer).await, paid);
    assert_eq!(app.balance(&creator).await, 50_000 - paid);
}

#[tokio::test]
async fn missions_are_listed_with_filters() {
    let app = spawn_app().await;
    let (creator, s1, s2) =
        (funded(&app, Role::Customer, 10_000).await, app.user(Role::Streamer).await, app.user(Role::Streamer).await);
    let m1 = json_of(create(&app, &creator, &s1, 500, "a").await, 201).await;
    json_of(create(&app, &creator, &s2, 500, "b").await, 201).await;
    json_of(decide(&app, &s1, &m1, "rejected").await, 200).await;
    let t = Some(creator.token.as_str());
    assert_eq!(json_of(app.get("/api/v1/missions", t).await, 200).await["total"], 2);
    let open = json_of(app.get("/api/v1/missions?status=open", t).await, 200).await;
    assert_eq!((open["total"].as_i64(), open["items"][0]["streamer_id"].as_i64()), (Some(1), Some(s2.id)));
    assert_eq!(json_of(app.get(&format!("/api/v1/missions?streamer_id={}", s1.id), t).await, 200).await["total"], 1);
    assert_eq!(
        json_of(app.get(&format!("/api/v1/missions?creator_id={}&status=rejected", creator.id), t).await, 200).await["total"],
        1
    );
    assert_error(app.get("/api/v1/missions?status=funding", t).await, 400, "validation_failed").await;
    assert_error(app.get("/api/v1/missions", None).await, 401, "unauthenticated").await;
    use contracts::mission::MissionService;
    let mine = app.assembled.missions.open_missions_for(creator.id, 10).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(app.assembled.missions.open_missions_for(s2.id, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn settlement_is_exactly_once_when_the_handler_fails_midway() {
    use async_trait::async_trait;
    use contracts::wallet::{CancelOutcome, TransferReceipt, TransferRequest, WalletError, WalletService};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    /// Applies the 2nd refund, then reports a crash (once).
    struct CrashAfterSecondRefund {
        inner: Arc<dyn WalletService>,
        refunds: AtomicUsize,
    }
    #[async_trait]
    impl WalletService for CrashAfterSecondRefund {
        async fn balance(&self, w: &WalletRef) -> Result<i64, WalletError> {
            self.inner.balance(w).await
        }
        async fn transfer(&self, r: TransferRequest) -> Result<TransferReceipt, WalletError> {
            let refund = r.idempotency_key.contains(":refund:");
            let receipt = self.inner.transfer(r).await?;
            if refund && self.refunds.fetch_add(1, Ordering::SeqCst) == 1 {
                return Err(WalletError::Service(contracts::ServiceError::Unavailable("injected crash".into())));
            }
            Ok(receipt)
        }
        async fn find_transfer(&self, k: &str) -> Result<Option<TransferReceipt>, WalletError> {
            self.inner.find_transfer(k).await
        }
        async fn cancel(&self, k: &str) -> Result<CancelOutcome, WalletError> {
            self.inner.cancel(k).await
        }
    }
    let options = TestOptions {
        wallet_wrapper: Some(Arc::new(|inner| {
            Arc::new(CrashAfterSecondRefund { inner, refunds: AtomicUsize::new(0) })
        })),
        ..Default::default()
    };
    let app = spawn_app_with(options).await;
    let (creator, streamer) = (funded(&app, Role::Customer, 10_000).await, app.user(Role::Streamer).await);
    let mission = json_of(create(&app, &creator, &streamer, 1_000, "m").await, 201).await;
    let mut viewers = Vec::new();
    for i in 0..4 {
        let viewer = funded(&app, Role::Customer, 1_000).await;
        json_of(contribute(&app, &viewer, &mission, 100 * (i + 1), "c").await, 201).await;
        viewers.push(viewer);
    }
    json_of(decide(&app, &streamer, &mission, "failure").await, 200).await;
    settled(&app, &streamer, &mission["id"]).await;
    for viewer in &viewers {
        assert_eq!(app.balance(viewer).await, 1_000);
        let refunds = kinds(&app, viewer).await.into_iter().filter(|(k, _)| k == "mission_refund").count();
        assert_eq!(refunds, 1, "refunded exactly once");
        app.wait_for_email(&viewer.email, |t| t.contains("Mission")).await;
        assert_eq!(app.emails_to(&viewer.email).into_iter().filter(|t| t.contains("Mission")).count(), 1);
    }
    assert_eq!(app.balance(&creator).await, 10_000);
    assert_eq!(escrow_balance(&app, &mission["id"]).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_sweeping_and_dispatching_settle_each_mission_once() {
    let a = spawn_app_with(TestOptions::default().with("mission.sweep_interval_ms", 50)).await;
    let b = spawn_peer(&a).await;
    let (creator, streamer) = (funded(&a, Role::Customer, 100_000).await, a.user(Role::Streamer).await);
    let viewers = [funded(&a, Role::Customer, 10_000).await, funded(&a, Role::Customer, 10_000).await];
    let mut missions = Vec::new();
    for i in 0..5 {
        let m = json_of(create(&a, &creator, &streamer, 1_000, &format!("m{i}")).await, 201).await;
        for (j, viewer) in viewers.iter().enumerate() {
            json_of(contribute(&b, viewer, &m, 300, &format!("c{i}-{j}")).await, 201).await;
        }
        missions.push(m);
    }
    a.clock.advance(Duration::hours(3));
    b.clock.advance(Duration::hours(3));
    let viewer = a.login_user(&viewers[0].email, &viewers[0].password).await;
    for m in &missions {
        assert_eq!(settled(&a, &viewer, &m["id"]).await["status"], "expired");
    }
    for v in &viewers {
        let v = a.login_user(&v.email, &v.password).await;
        assert_eq!(a.balance(&v).await, 10_000);
        let refunds = kinds(&a, &v).await.into_iter().filter(|(k, _)| k == "mission_refund").count();
        assert_eq!(refunds, 5, "one refund per mission");
    }
    let creator = a.login_user(&creator.email, &creator.password).await;
    assert_eq!(a.balance(&creator).await, 100_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_randomized_concurrent_run_conserves_money() {
    let app = spawn_app_with(
        TestOptions::default()
            .with("mission.sweep_interval_ms", 50)
            .with("mission.max_open_per_creator", 50)
            .with("auth.access_ttl_secs", 86_400),
    )
    .await;
    let streamers = [app.user(Role::Streamer).await, app.user(Role::Streamer).await];
    let mut users = Vec::new();
    let mut charged = 0;
    for _ in 0..6 {
        users.push(funded(&app, Role::Customer, 20_000).await);
        charged += 20_000;
    }
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut rand = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut missions: Vec<Value> = Vec::new();
    for round in 0..6 {
        // Creates and contributions, all at once.
        let mut tasks = Vec::new();
        for (i, user) in users.iter().enumerate() {
            let streamer = &streamers[rand(2) as usize];
            let stake = 100 * (rand(20) as i64 + 1);
            let minutes = rand(40) as i64 + 1;
            let body = json!({"streamer_id": streamer.id, "title": format!("r{round}u{i}"), "stake": stake, "deadline": deadline(&app, Duration::minutes(minutes))});
            let key = format!("create-{round}-{i}");
            tasks.push(tokio::spawn({
                let req = app
                    .request(reqwest::Method::POST, "/api/v1/missions")
                    .bearer_auth(&user.token)
                    .header("Idempotency-Key", key)
                    .json(&body);
                async move { req.send().await.unwrap() }
            }));
            if let Some(target) = missions.get(rand(missions.len().max(1) as u64) as usize) {
                let amount = 100 * (rand(30) as i64 + 1);
                let req = app
                    .request(reqwest::Method::POST, &format!("/api/v1/missions/{}/contributions", target["id"]))
                    .bearer_auth(&user.token)
                    .header("Idempotency-Key", format!("contrib-{round}-{i}"))
                    .json(&json!({"amount": amount}));
                tasks.push(tokio::spawn(async move { req.send().await.unwrap() }));
            }
        }
        // Decisions race with them.
        let deciding: Vec<&Value> = missions.iter().filter(|_| rand(3) == 0).collect();
        for m in deciding {
            let streamer = streamers.iter().find(|s| s.id == m["streamer_id"].as_i64().unwrap()).unwrap();
            let result = ["success", "failure", "rejected"][rand(3) as usize];
            let req = app
                .request(reqwest::Method::POST, &format!("/api/v1/missions/{}/decision", m["id"]))
                .bearer_auth(&streamer.token)
                .json(&json!({ "result": result }));
            tasks.push(tokio::spawn(async move { req.send().await.unwrap() }));
        }
        for task in tasks {
            let res = task.await.unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            assert!(status == 201 || status == 200 || status == 409 || status == 403, "{status}: {body}");
            if status == 201 && body.get("stake").is_none() && body.get("streamer_id").is_some() {
                missions.push(body);
            }
        }
        // Time passes: some deadlines go by and the sweeper expires them.
        app.clock.advance(Duration::minutes(10));
    }
    app.clock.advance(Duration::hours(1));
    let viewer = app.login_user(&users[0].email, &users[0].password).await;
    for m in &missions {
        settled(&app, &viewer, &m["id"]).await;
        assert_eq!(escrow_balance(&app, &m["id"]).await, 0, "mission {} escrow emptied", m["id"]);
    }
    let mut total = 0;
    for user in users.iter().chain(streamers.iter()) {
        let user = app.login_user(&user.email, &user.password).await;
        total += app.balance(&user).await;
    }
    assert_eq!(total, charged, "all wallets plus escrows equal all charges");
    let audit = app.assembled.wallets.audit().await.unwrap();
    assert!(
        audit.mismatched_wallets.is_empty() && audit.negative_wallets.is_empty() && audit.total_balance == 0,
        "{audit:?}"
    );
    let by_status: HashMap<String, usize> = missions.iter().fold(HashMap::new(), |mut acc, m| {
        *acc.entry(m["status"].as_str().unwrap().to_string()).or_default() += 1;
        acc
    });
    assert!(missions.len() >= 10, "{by_status:?}");
}
