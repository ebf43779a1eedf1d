//! Missions: stakes and contributions into escrow, decisions, expiry, exactly-once settlement.

use crate::helpers::*;
use chrono::Duration;
use contracts::Role;
use contracts::wallet::{TransferRequest, WalletService};
use platform::clock::Clock;
use serde_json::{Value, json};
use std::collections::HashMap;

fn deadline(app: &TestApp, from_now: Duration) -> String {
    (app.clock.now() + from_now).to_rfc3339()
}

/// Creates a mission due two hours after the app started (a stable deadline, so that
/// replaying a request sends the same body).
fn create(app: &TestApp, creator: &User, streamer: &User, stake: i64, key: &str) -> Call {
    let due = app.started_at + Duration::hours(2);
    let body = json!({
        "streamer_id": streamer.id, "title": "Beat the boss blindfolded", "description": "No hits taken",
        "stake": stake, "deadline": due.to_rfc3339(),
    });
    creator.post("/missions", &body).idempotency_key(key)
}

fn contribute(contributor: &Client, mission_id: i64, amount: i64, key: &str) -> Call {
    contributor.post(&format!("/missions/{mission_id}/contributions"), &json!({"amount": amount})).idempotency_key(key)
}

fn decide(streamer: &Client, mission_id: i64, result: &str) -> Call {
    streamer.post(&format!("/missions/{mission_id}/decision"), &json!({"result": result}))
}

/// Waits until the mission is settled; returns it.
async fn settled(viewer: &Client, id: i64) -> Mission {
    let found = platform::testkit::eventually(std::time::Duration::from_secs(20), || async {
        let mission: Mission = viewer.get(&format!("/missions/{id}")).returns(200).await;
        mission.settled.then_some(mission)
    })
    .await;
    found.unwrap_or_else(|| panic!("mission {id} not settled"))
}

async fn escrow_balance(app: &TestApp, id: i64) -> i64 {
    app.assembled.wallets.balance(&mission::escrow(id)).await.unwrap()
}

/// `(kind, amount)` of the user's newest ledger entries.
async fn kinds(user: &Client) -> Vec<(String, i64)> {
    user.entries().await.into_iter().map(|e| (e.kind, e.amount)).collect()
}

#[tokio::test]
async fn creating_a_mission_moves_the_stake_into_escrow() {
    let app = spawn_app().await;
    let (creator, streamer) = (app.funded_user(Role::Customer, 10_000).await, app.user(Role::Streamer).await);
    let mission: Mission = create(&app, &creator, &streamer, 3_000, "m1").returns(201).await;
    assert_eq!((mission.status, mission.pool, mission.contributors), (MissionStatus::Open, 3_000, 1));
    assert_eq!((mission.creator_id, mission.streamer_id), (creator.id, streamer.id));
    assert_eq!((mission.settled, mission.decided_at), (false, None));
    assert_eq!(creator.balance().await, 7_000);
    assert_eq!(escrow_balance(&app, mission.id).await, 3_000);
    assert_eq!(kinds(&creator).await[0], ("mission_stake".into(), -3_000));
    let list: Page<Contribution> = streamer.get(&format!("/missions/{}/contributions", mission.id)).returns(200).await;
    assert_eq!((list.total, list.items[0].account_id, list.items[0].amount), (1, creator.id, 3_000));
    let again: Mission = create(&app, &creator, &streamer, 3_000, "m1").returns(201).await;
    assert_eq!(again, mission, "a replay returns the same mission");
    create(&app, &creator, &streamer, 3_001, "m1").fails(409, "idempotency_conflict").await;
    assert_eq!(creator.balance().await, 7_000);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn invalid_missions_are_refused_and_take_no_stake() {
    let app =
        spawn_app_with(TestOptions::default().with("mission.max_open_per_creator", 2).with("mission.max_pool", 50_000))
            .await;
    let (creator, streamer) = (app.funded_user(Role::Customer, 100_000).await, app.user(Role::Streamer).await);
    let not_streamer = app.user(Role::Seller).await;
    create(&app, &streamer, &streamer, 500, "self").fails(403, "forbidden").await;
    create(&app, &creator, &not_streamer, 500, "seller").fails(400, "validation_failed").await;
    create(&app, &creator, &streamer, 99, "tiny").fails(400, "validation_failed").await;
    create(&app, &creator, &streamer, 50_001, "huge").fails(409, "limit_exceeded").await;
    for (when, key) in [(Duration::minutes(-1), "past"), (Duration::days(31), "far")] {
        let body = json!({"streamer_id": streamer.id, "title": "t", "stake": 500, "deadline": deadline(&app, when)});
        creator.post("/missions", &body).idempotency_key(key).fails(400, "validation_failed").await;
    }
    let body =
        json!({"streamer_id": streamer.id, "title": "", "stake": 500, "deadline": deadline(&app, Duration::hours(1))});
    creator.post("/missions", &body).idempotency_key("empty").fails(400, "validation_failed").await;
    let body = json!({"streamer_id": streamer.id, "title": "t", "stake": 500, "deadline": "tomorrow"});
    creator.post("/missions", &body).idempotency_key("bad-date").fails(400, "validation_failed").await;
    creator.post("/missions", &json!({})).fails(400, "idempotency_key_required").await;
    create(&app, &creator, &streamer, 500, "one").returns::<Mission>(201).await;
    create(&app, &creator, &streamer, 500, "two").returns::<Mission>(201).await;
    create(&app, &creator, &streamer, 500, "three").fails(409, "limit_exceeded").await;
    assert_eq!(creator.balance().await, 99_000, "only the two missions took a stake");
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_stake_the_creator_cannot_pay_changes_nothing() {
    let app = spawn_app().await;
    let (creator, streamer) = (app.funded_user(Role::Customer, 400).await, app.user(Role::Streamer).await);
    create(&app, &creator, &streamer, 500, "k").fails(409, "insufficient_balance").await;
    let list: Page<Mission> = creator.get(&format!("/missions?creator_id={}", creator.id)).returns(200).await;
    assert_eq!(list.total, 0, "no mission left behind");
    creator.charge(100).await;
    create(&app, &creator, &streamer, 500, "k").returns::<Mission>(201).await;
    assert_eq!(creator.balance().await, 0);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn contributions_are_replayable_bounded_and_refused_to_the_streamer() {
    let app = spawn_app_with(TestOptions::default().with("mission.max_pool", 10_000)).await;
    let (creator, streamer) = (app.funded_user(Role::Customer, 50_000).await, app.user(Role::Streamer).await);
    let viewer = app.funded_user(Role::Customer, 50_000).await;
    let mission: Mission = create(&app, &creator, &streamer, 1_000, "m").returns(201).await;
    let c: Contribution = contribute(&viewer, mission.id, 2_000, "c1").returns(201).await;
    assert_eq!((c.mission_id, c.account_id, c.amount), (mission.id, viewer.id, 2_000));
    assert_eq!(contribute(&viewer, mission.id, 2_000, "c1").returns::<Contribution>(201).await, c, "replay");
    contribute(&viewer, mission.id, 3_000, "c1").fails(409, "idempotency_conflict").await;
    contribute(&streamer, mission.id, 1_000, "s").fails(403, "forbidden").await;
    contribute(&viewer, mission.id, 99, "small").fails(400, "validation_failed").await;
    contribute(&viewer, mission.id, 7_001, "over").fails(409, "limit_exceeded").await;
    let poor = app.funded_user(Role::Customer, 100).await;
    contribute(&poor, mission.id, 500, "p").fails(409, "insufficient_balance").await;
    poor.charge(400).await;
    contribute(&poor, mission.id, 500, "p").returns::<Contribution>(201).await;
    contribute(&viewer, mission.id, 1_000, "c2").returns::<Contribution>(201).await;
    let m: Mission = viewer.get(&format!("/missions/{}", mission.id)).returns(200).await;
    assert_eq!((m.pool, m.contributors), (4_500, 3));
    assert_eq!(escrow_balance(&app, mission.id).await, 4_500);
    viewer.get("/missions/999999").fails(404, "not_found").await;
    contribute(&viewer, 999999, 500, "x").fails(404, "not_found").await;
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn only_the_streamer_decides_and_success_pays_the_pool_once() {
    let app = spawn_app().await;
    let (creator, streamer) = (app.funded_user(Role::Customer, 10_000).await, app.user(Role::Streamer).await);
    let viewer = app.funded_user(Role::Customer, 10_000).await;
    let mission: Mission = create(&app, &creator, &streamer, 1_000, "m").returns(201).await;
    contribute(&viewer, mission.id, 2_000, "c").returns::<Contribution>(201).await;
    decide(&creator, mission.id, "success").fails(403, "forbidden").await;
    decide(&viewer, mission.id, "success").fails(403, "forbidden").await;
    decide(&streamer, mission.id, "maybe").fails(400, "validation_failed").await;
    let decided: Mission = decide(&streamer, mission.id, "success").returns(200).await;
    assert_eq!(decided.status, MissionStatus::Succeeded);
    assert!(decided.decided_at.is_some());
    decide(&streamer, mission.id, "failure").fails(409, "mission_closed").await;
    contribute(&viewer, mission.id, 500, "late").fails(409, "mission_closed").await;
    settled(&viewer, mission.id).await;
    assert_eq!(streamer.balance().await, 3_000);
    assert_eq!(kinds(&streamer).await, vec![("mission_payout".to_string(), 3_000)]);
    assert_eq!(escrow_balance(&app, mission.id).await, 0);
    assert_eq!((creator.balance().await, viewer.balance().await), (9_000, 8_000));
    // One email per person: both contributors and the streamer, each linking the mission's page.
    for (user, amounts) in
        [(&creator, "Your 1,000 P went"), (&viewer, "Your 2,000 P went"), (&streamer, "3,000 P were paid")]
    {
        let email = unquote(&app.wait_for_email(&user.email, |t| t.contains("succeeded")).await.text);
        assert!(email.contains(amounts), "{email}");
        assert!(email.contains(&mission_link(&app, mission.id)), "{email}");
        assert_eq!(app.emails_to(&user.email).into_iter().filter(|t| t.contains("Mission")).count(), 1);
    }
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn failure_and_rejection_refund_each_contributor_their_total_once() {
    let app = spawn_app().await;
    for result in ["failure", "rejected"] {
        let (creator, streamer) = (app.funded_user(Role::Customer, 10_000).await, app.user(Role::Streamer).await);
        let viewer = app.funded_user(Role::Customer, 10_000).await;
        let mission: Mission = create(&app, &creator, &streamer, 1_000, &format!("m-{result}")).returns(201).await;
        contribute(&viewer, mission.id, 700, &format!("a-{result}")).returns::<Contribution>(201).await;
        contribute(&viewer, mission.id, 300, &format!("b-{result}")).returns::<Contribution>(201).await;
        contribute(&creator, mission.id, 200, &format!("c-{result}")).returns::<Contribution>(201).await;
        let decided: Mission = decide(&streamer, mission.id, result).returns(200).await;
        assert_eq!(decided.status, if result == "failure" { MissionStatus::Failed } else { MissionStatus::Rejected });
        settled(&viewer, mission.id).await;
        assert_eq!((creator.balance().await, viewer.balance().await, streamer.balance().await), (10_000, 10_000, 0));
        assert_eq!(kinds(&viewer).await[0], ("mission_refund".to_string(), 1_000), "one refund of the total");
        assert_eq!(kinds(&creator).await[0], ("mission_refund".to_string(), 1_200));
        assert_eq!(escrow_balance(&app, mission.id).await, 0);
        let email = unquote(&app.wait_for_email(&viewer.email, |t| t.contains("refunded")).await.text);
        assert!(email.contains("Your 1,000 P were refunded"), "{email}");
        assert!(email.contains(&mission_link(&app, mission.id)), "{email}");
    }
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn open_missions_past_their_deadline_expire_and_refund() {
    let app = spawn_app_with(TestOptions::default().with("mission.sweep_interval_ms", 100)).await;
    let (creator, streamer) = (app.funded_user(Role::Customer, 10_000).await, app.user(Role::Streamer).await);
    let viewer = app.funded_user(Role::Customer, 10_000).await;
    let mission: Mission = create(&app, &creator, &streamer, 1_000, "m").returns(201).await;
    contribute(&viewer, mission.id, 400, "c").returns::<Contribution>(201).await;
    app.clock.advance(Duration::hours(3));
    let (creator, viewer, streamer) = (
        app.login_user(&creator.email, &creator.password).await,
        app.login_user(&viewer.email, &viewer.password).await,
        app.login_user(&streamer.email, &streamer.password).await,
    );
    decide(&streamer, mission.id, "success").fails(409, "mission_closed").await;
    contribute(&viewer, mission.id, 400, "late").fails(409, "mission_closed").await;
    let done = settled(&viewer, mission.id).await;
    assert_eq!(done.status, MissionStatus::Expired);
    assert_eq!((creator.balance().await, viewer.balance().await), (10_000, 10_000));
    let expired: Page<Mission> = viewer.get("/missions?status=expired").returns(200).await;
    assert_eq!(expired.total, 1);
    app.assert_ledger_balanced().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_racing_decisions_have_one_winner() {
    let app = spawn_app().await;
    let (creator, streamer) = (app.funded_user(Role::Customer, 50_000).await, app.user(Role::Streamer).await);
    for i in 0..5 {
        let mission: Mission = create(&app, &creator, &streamer, 500, &format!("race-{i}")).returns(201).await;
        let (a, b) = tokio::join!(
            decide(&streamer, mission.id, "success").send(),
            decide(&streamer, mission.id, "failure").send()
        );
        let mut codes = vec![a.status(), b.status()];
        codes.sort();
        assert_eq!(codes, vec![200, 409]);
        settled(&streamer, mission.id).await;
    }
    // Each mission either paid the streamer or refunded the creator: never both.
    assert_eq!(creator.balance().await + streamer.balance().await, 50_000);
    app.assert_ledger_balanced().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_decision_racing_the_deadline_either_wins_or_finds_the_mission_expired() {
    let app = spawn_app_with(
        TestOptions::default().with("mission.sweep_interval_ms", 50).with("mission.max_open_per_creator", 10),
    )
    .await;
    let (creator, streamer) = (app.funded_user(Role::Customer, 50_000).await, app.user(Role::Streamer).await);
    let mut missions: Vec<Mission> = Vec::new();
    for i in 0..6 {
        let body = json!({"streamer_id": streamer.id, "title": "quick", "stake": 500, "deadline": deadline(&app, Duration::seconds(3))});
        missions.push(creator.post("/missions", &body).idempotency_key(format!("q{i}")).returns(201).await);
    }
    let first = missions[0].deadline;
    let wait = (first - app.clock.now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait.saturating_sub(std::time::Duration::from_millis(60))).await;
    let mut outcomes = Vec::new();
    for (i, mission) in missions.iter().enumerate() {
        tokio::time::sleep(std::time::Duration::from_millis(20 * i as u64)).await;
        let sweep = app.assembled.missions.sweep();
        let (decision, _) = tokio::join!(decide(&streamer, mission.id, "success").send(), sweep);
        outcomes.push(decision.status());
    }
    let mut paid = 0;
    for (mission, code) in missions.iter().zip(&outcomes) {
        let m = settled(&streamer, mission.id).await;
        match (code, m.status) {
            (200, MissionStatus::Succeeded) => paid += 500,
            (409, MissionStatus::Expired) => {}
            other => panic!("inconsistent: {other:?}"),
        }
    }
    assert_eq!(streamer.balance().await, paid);
    assert_eq!(creator.balance().await, 50_000 - paid);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn missions_can_be_listed_by_status_streamer_and_creator() {
    let app = spawn_app().await;
    let (creator, s1, s2) =
        (app.funded_user(Role::Customer, 10_000).await, app.user(Role::Streamer).await, app.user(Role::Streamer).await);
    let m1: Mission = create(&app, &creator, &s1, 500, "a").returns(201).await;
    create(&app, &creator, &s2, 500, "b").returns::<Mission>(201).await;
    decide(&s1, m1.id, "rejected").returns::<Mission>(200).await;
    let total = |path: String| {
        let creator = &creator;
        async move { creator.get(&path).returns::<Page<Mission>>(200).await.total }
    };
    assert_eq!(total("/missions".into()).await, 2);
    let open: Page<Mission> = creator.get("/missions?status=open").returns(200).await;
    assert_eq!((open.total, open.items[0].streamer_id), (1, s2.id));
    assert_eq!(total(format!("/missions?streamer_id={}", s1.id)).await, 1);
    assert_eq!(total(format!("/missions?creator_id={}&status=rejected", creator.id)).await, 1);
    creator.get("/missions?status=funding").fails(400, "validation_failed").await;
    app.get("/missions").fails(401, "unauthenticated").await;
    use contracts::mission::MissionService;
    let mine = app.assembled.missions.open_missions_for(creator.id, 10).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(app.assembled.missions.open_missions_for(s2.id, 10).await.unwrap().len(), 1);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn settlement_is_exactly_once_when_the_handler_fails_midway() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    /// Applies the 2nd refund, then reports a crash (once).
    struct CrashAfterSecondRefund {
        refunds: AtomicUsize,
    }
    impl TransferFaults for CrashAfterSecondRefund {
        fn crash(&self, request: &TransferRequest) -> Option<Crash> {
            let refund = request.idempotency_key.contains(":refund:");
            (refund && self.refunds.fetch_add(1, Ordering::SeqCst) == 1).then_some(Crash::After)
        }
    }
    let faults = Arc::new(CrashAfterSecondRefund { refunds: AtomicUsize::new(0) });
    let options = TestOptions { wallet_wrapper: Some(faulty_wallet(faults)), ..Default::default() };
    let app = spawn_app_with(options).await;
    let (creator, streamer) = (app.funded_user(Role::Customer, 10_000).await, app.user(Role::Streamer).await);
    let mission: Mission = create(&app, &creator, &streamer, 1_000, "m").returns(201).await;
    let mut viewers = Vec::new();
    for i in 0..4 {
        let viewer = app.funded_user(Role::Customer, 1_000).await;
        contribute(&viewer, mission.id, 100 * (i + 1), "c").returns::<Contribution>(201).await;
        viewers.push(viewer);
    }
    decide(&streamer, mission.id, "failure").returns::<Mission>(200).await;
    settled(&streamer, mission.id).await;
    for viewer in &viewers {
        assert_eq!(viewer.balance().await, 1_000);
        let refunds = kinds(viewer).await.into_iter().filter(|(k, _)| k == "mission_refund").count();
        assert_eq!(refunds, 1, "refunded exactly once");
        app.wait_for_email(&viewer.email, |t| t.contains("Mission")).await;
        assert_eq!(app.emails_to(&viewer.email).into_iter().filter(|t| t.contains("Mission")).count(), 1);
    }
    assert_eq!(creator.balance().await, 10_000);
    assert_eq!(escrow_balance(&app, mission.id).await, 0);
    app.assert_ledger_balanced().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_sweeping_and_dispatching_settle_each_mission_once() {
    let a = spawn_app_with(TestOptions::default().with("mission.sweep_interval_ms", 50)).await;
    let b = spawn_peer(&a).await;
    let (creator, streamer) = (a.funded_user(Role::Customer, 100_000).await, a.user(Role::Streamer).await);
    let viewers = [a.funded_user(Role::Customer, 10_000).await, a.funded_user(Role::Customer, 10_000).await];
    let mut missions = Vec::new();
    for i in 0..5 {
        let m: Mission = create(&a, &creator, &streamer, 1_000, &format!("m{i}")).returns(201).await;
        for (j, viewer) in viewers.iter().enumerate() {
            contribute(&viewer.on(&b), m.id, 300, &format!("c{i}-{j}")).returns::<Contribution>(201).await;
        }
        missions.push(m);
    }
    a.clock.advance(Duration::hours(3));
    b.clock.advance(Duration::hours(3));
    let viewer = a.login_user(&viewers[0].email, &viewers[0].password).await;
    for m in &missions {
        assert_eq!(settled(&viewer, m.id).await.status, MissionStatus::Expired);
    }
    for v in &viewers {
        let v = a.login_user(&v.email, &v.password).await;
        assert_eq!(v.balance().await, 10_000);
        let refunds = kinds(&v).await.into_iter().filter(|(k, _)| k == "mission_refund").count();
        assert_eq!(refunds, 5, "one refund per mission");
    }
    let creator = a.login_user(&creator.email, &creator.password).await;
    assert_eq!(creator.balance().await, 100_000);
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
        users.push(app.funded_user(Role::Customer, 20_000).await);
        charged += 20_000;
    }
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut rand = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut missions: Vec<Mission> = Vec::new();
    for round in 0..6 {
        // Creates and contributions, all at once.
        let mut tasks = Vec::new();
        for (i, user) in users.iter().enumerate() {
            let streamer = &streamers[rand(2) as usize];
            let stake = 100 * (rand(20) as i64 + 1);
            let minutes = rand(40) as i64 + 1;
            let body = json!({"streamer_id": streamer.id, "title": format!("r{round}u{i}"), "stake": stake, "deadline": deadline(&app, Duration::minutes(minutes))});
            let key = format!("create-{round}-{i}");
            tasks.push(tokio::spawn(user.post("/missions", &body).idempotency_key(key).send()));
            if let Some(target) = missions.get(rand(missions.len().max(1) as u64) as usize) {
                let amount = 100 * (rand(30) as i64 + 1);
                let contribution = contribute(user, target.id, amount, &format!("contrib-{round}-{i}"));
                tasks.push(tokio::spawn(contribution.send()));
            }
        }
        // Decisions race with them.
        let deciding: Vec<&Mission> = missions.iter().filter(|_| rand(3) == 0).collect();
        for m in deciding {
            let streamer = streamers.iter().find(|s| s.id == m.streamer_id).unwrap();
            let result = ["success", "failure", "rejected"][rand(3) as usize];
            tasks.push(tokio::spawn(decide(streamer, m.id, result).send()));
        }
        for task in tasks {
            let res = task.await.unwrap();
            let status = res.status();
            let body: Value = serde_json::from_str(&res.text().await).unwrap_or(Value::Null);
            assert!(status == 201 || status == 200 || status == 409 || status == 403, "{status}: {body}");
            // Creations and contributions both answer 201: a mission is what has a streamer.
            if status == 201 && body.get("stake").is_none() && body.get("streamer_id").is_some() {
                missions.push(parse(&body));
            }
        }
        // Time passes: some deadlines go by and the sweeper expires them.
        app.clock.advance(Duration::minutes(10));
    }
    app.clock.advance(Duration::hours(1));
    let viewer = app.login_user(&users[0].email, &users[0].password).await;
    for m in &missions {
        settled(&viewer, m.id).await;
        assert_eq!(escrow_balance(&app, m.id).await, 0, "mission {} escrow emptied", m.id);
    }
    let mut total = 0;
    for user in users.iter().chain(streamers.iter()) {
        let user = app.login_user(&user.email, &user.password).await;
        total += user.balance().await;
    }
    assert_eq!(total, charged, "all wallets plus escrows equal all charges");
    app.assert_ledger_balanced().await;
    let by_status: HashMap<MissionStatus, usize> = missions.iter().fold(HashMap::new(), |mut acc, m| {
        *acc.entry(m.status).or_default() += 1;
        acc
    });
    assert!(missions.len() >= 10, "{by_status:?}");
}

/// The settlement row of `mission_id` as `(status, attempts)`.
async fn settle_row(app: &TestApp, mission_id: i64) -> Option<(String, i32)> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        attempts: i32,
    }
    let key = format!("mission:{mission_id}:settle");
    app.assembled
        .database("mission")
        .unwrap()
        .run(move |conn| {
            diesel::sql_query("SELECT status, attempts FROM mission_outbox WHERE dedupe_key = ?")
                .bind::<diesel::sql_types::Text, _>(&key)
                .get_result::<Row>(conn)
                .optional()
                .map_err(platform::db::DbError::from)
        })
        .await
        .unwrap()
        .map(|r| (r.status, r.attempts))
}

#[tokio::test]
async fn a_parked_settlement_is_completed_by_the_sweep_after_the_database_comes_back() {
    let options = TestOptions::default().with("outbox.max_attempts", 2).with("mission.sweep_interval_ms", 50);
    let app = spawn_app_with(options).await;
    let (creator, streamer) = (app.funded_user(Role::Customer, 10_000).await, app.user(Role::Streamer).await);
    let mission: Mission = create(&app, &creator, &streamer, 1_000, "m").returns(201).await;
    let viewer = app.funded_user(Role::Customer, 1_000).await;
    contribute(&viewer, mission.id, 400, "c").returns::<Contribution>(201).await;
    // The ledger's database goes away: every settlement attempt fails until the row parks.
    let ledger_db = app.assembled.database("payment").unwrap().clone();
    ledger_db.simulate_outage(true);
    decide(&streamer, mission.id, "success").returns::<Mission>(200).await;
    let parked = platform::testkit::eventually(std::time::Duration::from_secs(20), || async {
        app.clock.advance(Duration::seconds(2)); // past each retry's backoff
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        settle_row(&app, mission.id).await.filter(|(status, _)| status == "parked")
    })
    .await;
    assert_eq!(parked, Some(("parked".to_string(), 2)), "parked after outbox.max_attempts");
    // The sweep queues it again once its backoff has passed; while the database is down that settles nothing.
    app.clock.advance(Duration::minutes(11));
    let queued = platform::testkit::eventually(std::time::Duration::from_secs(20), || async {
        settle_row(&app, mission.id).await.map(|(s, _)| s).filter(|s| s != "parked")
    })
    .await;
    assert_eq!(queued.as_deref(), Some("pending"), "queued again");
    ledger_db.simulate_outage(false);
    app.clock.advance(Duration::minutes(11));
    // Access tokens expired while the clock jumped.
    let streamer = app.login_user(&streamer.email, &streamer.password).await;
    let done = settled(&streamer, mission.id).await;
    assert_eq!(done.status, MissionStatus::Succeeded);
    // The row is marked done after its handler's transaction commits, a moment after the mission.
    let row = platform::testkit::eventually(std::time::Duration::from_secs(20), || async {
        settle_row(&app, mission.id).await.map(|(s, _)| s).filter(|s| s == "done")
    })
    .await;
    assert_eq!(row.as_deref(), Some("done"));
    assert_eq!(escrow_balance(&app, mission.id).await, 0);
    assert_eq!(streamer.balance().await, 1_400);
    let payouts = kinds(&streamer).await.into_iter().filter(|(k, _)| k == "mission_payout").count();
    assert_eq!(payouts, 1, "paid exactly once");
    app.assert_ledger_balanced().await;
}

/// The web app's page of a mission as emails link it.
fn mission_link(app: &TestApp, id: i64) -> String {
    format!("{}/missions/{id}", app.assembled.settings.server.public_url.trim_end_matches('/'))
}

/// A quoted-printable body as far as these assertions need it (soft breaks, `=3D`).
fn unquote(text: &str) -> String {
    text.replace("=\n", "").replace("=3D", "=")
}
