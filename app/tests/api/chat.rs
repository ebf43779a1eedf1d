//! Chat over HTTP and WebSocket, on one instance and across two.

use crate::helpers::*;
use contracts::Role;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn ws_url(app: &TestApp) -> String {
    format!("{}/api/v1/chat/ws", app.address.replace("http://", "ws://"))
}

pub(crate) async fn connect(app: &TestApp, token: &str) -> Socket {
    let mut request = ws_url(app).into_client_request().unwrap();
    request.headers_mut().insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket connects");
    socket
}

/// Notification frames share the chat socket; these tests look at chat frames only.
fn is_notification(text: &str) -> bool {
    serde_json::from_str::<Value>(text).is_ok_and(|v| v["type"].as_str().is_some_and(|t| t.starts_with("notification")))
}

/// The next JSON chat frame (pings, pongs and notification frames skipped); panics after 10 s.
pub(crate) async fn next_frame(socket: &mut Socket) -> ServerFrame {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("a frame within 10 s");
        match frame.expect("socket open").expect("no socket error") {
            Frame::Text(text) if is_notification(&text) => continue,
            Frame::Text(text) => return serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
            Frame::Ping(_) | Frame::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// No JSON frame arrives within `wait`.
pub(crate) async fn silent(socket: &mut Socket, wait: Duration) -> bool {
    loop {
        match tokio::time::timeout(wait, socket.next()).await {
            Err(_) => return true,
            Ok(Some(Ok(Frame::Ping(_) | Frame::Pong(_)))) => continue,
            Ok(Some(Ok(Frame::Text(text)))) if is_notification(&text) => continue,
            Ok(other) => {
                eprintln!("unexpected: {other:?}");
                return false;
            }
        }
    }
}

async fn send(socket: &mut Socket, value: Value) {
    socket.send(Frame::text(value.to_string())).await.unwrap();
}

pub(crate) async fn room(owner: &User, members: &[&User]) -> Room {
    let ids: Vec<i64> = members.iter().map(|m| m.id).collect();
    owner.post("/chat/rooms", &json!({"name": "Team", "member_ids": ids})).returns(201).await
}

pub(crate) async fn post(sender: &Client, room_id: i64, body: &str) -> Message {
    sender.post(&format!("/chat/rooms/{room_id}/messages"), &json!({"body": body})).returns(201).await
}

#[tokio::test]
async fn rooms_are_created_with_their_members() {
    let app = spawn_app().await;
    let (a, b, c) = (app.user(Role::Customer).await, app.user(Role::Seller).await, app.user(Role::Customer).await);
    let room = room(&a, &[&b, &c, &b]).await;
    assert_eq!(room.name.as_deref(), Some("Team"));
    assert!(!room.direct);
    let ids: Vec<i64> = room.members.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![a.id, b.id, c.id]);
    assert_eq!(room.members[1], Profile { id: b.id, name: "Test seller".into(), role: "seller".into() });
    a.post("/chat/rooms", &json!({"member_ids": [b.id, 999999]})).fails(400, "validation_failed").await;
    a.post("/chat/rooms", &json!({"name": "x".repeat(101), "member_ids": []})).fails(400, "validation_failed").await;
    let members: Items<Profile> = c.get(&format!("/chat/rooms/{}/members", room.id)).returns(200).await;
    assert_eq!(members.items.len(), 3);
}

#[tokio::test]
async fn inviting_unknown_accounts_names_the_user_ids_field() {
    let app = spawn_app().await;
    let (a, b) = (app.user(Role::Customer).await, app.user(Role::Seller).await);
    let room = room(&a, &[&b]).await;
    let path = format!("/chat/rooms/{}/members", room.id);
    let body = a.post(&path, &json!({"user_ids": [999999]})).fails(400, "validation_failed").await;
    // docs/api.md: the invite body is `{user_ids}`, so the error must name that field.
    assert!(body.field("user_ids").is_some(), "{body:?}");
    assert!(body.field("member_ids").is_none(), "{body:?}");
    let body = a.post("/chat/rooms", &json!({"member_ids": [999999]})).fails(400, "validation_failed").await;
    assert!(body.field("member_ids").is_some(), "{body:?}");
}

#[tokio::test]
async fn a_direct_room_is_one_per_pair() {
    let app = spawn_app().await;
    let (buyer, seller, other) =
        (app.user(Role::Customer).await, app.user(Role::Seller).await, app.user(Role::Customer).await);
    let first: Room = buyer.post("/chat/rooms/direct", &json!({"user_id": seller.id})).returns(201).await;
    assert!(first.direct);
    let again: Room = seller.post("/chat/rooms/direct", &json!({"user_id": buyer.id})).returns(200).await;
    assert_eq!(first.id, again.id);
    buyer.post("/chat/rooms/direct", &json!({"user_id": buyer.id})).fails(400, "validation_failed").await;
    buyer.post("/chat/rooms/direct", &json!({"user_id": 999999})).fails(404, "not_found").await;
    let path = format!("/chat/rooms/{}/members", first.id);
    buyer.post(&path, &json!({"user_ids": [other.id]})).fails(400, "validation_failed").await;
}

#[tokio::test]
async fn non_members_can_neither_read_post_list_nor_invite() {
    let app = spawn_app().await;
    let (a, b, outsider) =
        (app.user(Role::Customer).await, app.user(Role::Seller).await, app.user(Role::Customer).await);
    let room = room(&a, &[&b]).await;
    let message = post(&a, room.id, "secret").await;
    let id = room.id;
    outsider.get(&format!("/chat/rooms/{id}")).fails(404, "not_found").await;
    outsider.get(&format!("/chat/rooms/{id}/messages")).fails(404, "not_found").await;
    outsider.get(&format!("/chat/rooms/{id}/members")).fails(404, "not_found").await;
    outsider.post(&format!("/chat/rooms/{id}/messages"), &json!({"body": "hi"})).fails(404, "not_found").await;
    outsider
        .post(&format!("/chat/rooms/{id}/members"), &json!({"user_ids": [outsider.id]}))
        .fails(404, "not_found")
        .await;
    outsider.post(&format!("/chat/rooms/{id}/read"), &json!({"message_id": message.id})).fails(404, "not_found").await;
    let rooms: Items<RoomSummary> = outsider.get("/chat/rooms").returns(200).await;
    assert!(rooms.items.is_empty());
}

#[tokio::test]
async fn messages_are_validated_and_paged_both_ways() {
    let app = spawn_app().await;
    let (a, b) = (app.user(Role::Customer).await, app.user(Role::Seller).await);
    let room = room(&a, &[&b]).await;
    let id = room.id;
    let first = post(&a, id, "  hello  ").await;
    assert_eq!((first.body.as_str(), first.sender_id, first.room_id), ("hello", a.id, id));
    for bad in ["   ", &"x".repeat(4001)] {
        a.post(&format!("/chat/rooms/{id}/messages"), &json!({"body": bad})).fails(400, "validation_failed").await;
    }
    a.post(&format!("/chat/rooms/{id}/messages"), &json!({"body": "가".repeat(4000)})).returns::<Message>(201).await;
    for i in 0..5 {
        post(&b, id, &format!("m{i}")).await;
    }
    let page: MessagePage = a.get(&format!("/chat/rooms/{id}/messages?limit=3")).returns(200).await;
    let bodies: Vec<&str> = page.items.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, vec!["m4", "m3", "m2"]);
    let before = page.next_before.unwrap();
    let page: MessagePage = a.get(&format!("/chat/rooms/{id}/messages?limit=3&before={before}")).returns(200).await;
    assert_eq!(page.items.len(), 3);
    let before = page.next_before.unwrap();
    let page: MessagePage = a.get(&format!("/chat/rooms/{id}/messages?limit=3&before={before}")).returns(200).await;
    assert_eq!(page.items[0].body, "hello");
    assert_eq!(page.next_before, None);
    let after = first.id;
    let page: MessagePage = a.get(&format!("/chat/rooms/{id}/messages?after={after}&limit=2")).returns(200).await;
    let bodies: Vec<String> = page.items.iter().map(|m| m.body.chars().take(2).collect()).collect();
    assert_eq!(bodies, vec!["가가", "m0"], "oldest first after the cursor");
    assert!(page.next_after.is_some());
    a.get(&format!("/chat/rooms/{id}/messages?after=1&before=5")).fails(400, "validation_failed").await;
}

#[tokio::test]
async fn the_room_list_orders_by_activity_with_last_message_and_unread_count() {
    let app = spawn_app().await;
    let (a, b) = (app.user(Role::Customer).await, app.user(Role::Seller).await);
    let old = room(&a, &[&b]).await;
    let new = room(&b, &[&a]).await;
    post(&b, new.id, "one").await;
    post(&b, old.id, "two").await;
    let last = post(&b, old.id, "three").await;
    let rooms: Items<RoomSummary> = a.get("/chat/rooms").returns(200).await;
    let items = &rooms.items;
    assert_eq!((items[0].id, items[1].id), (old.id, new.id));
    assert_eq!(items[0].last_message.as_ref().map(|m| m.body.as_str()), Some("three"));
    assert_eq!((items[0].unread_count, items[1].unread_count), (2, 1));
    assert_eq!(items[0].members.len(), 2);
    let res = a.post(&format!("/chat/rooms/{}/read", old.id), &json!({"message_id": last.id})).await;
    assert_eq!(res.status(), 204);
    let rooms: Items<RoomSummary> = a.get("/chat/rooms").returns(200).await;
    assert_eq!(rooms.items[0].unread_count, 0);
    // The sender's own messages never count as unread.
    let rooms: Items<RoomSummary> = b.get("/chat/rooms").returns(200).await;
    assert_eq!(rooms.items[0].unread_count, 0);
    let other_room_message = post(&b, new.id, "x").await;
    a.post(&format!("/chat/rooms/{}/read", old.id), &json!({"message_id": other_room_message.id}))
        .fails(400, "validation_failed")
        .await;
}

#[tokio::test]
async fn users_are_searched_by_name_and_role() {
    let app = spawn_app().await;
    let viewer = app.user(Role::Customer).await;
    app.signup("shop@example.com", "password1", "Kim's Shop", "seller").returns::<Account>(201).await;
    app.signup("kim@example.com", "password1", "Kim Buyer", "customer").returns::<Account>(201).await;
    assert_eq!(viewer.get("/chat/users?q=kim").returns::<Page<Profile>>(200).await.total, 2);
    let sellers: Page<Profile> = viewer.get("/chat/users?q=kim&role=seller").returns(200).await;
    assert_eq!((sellers.total, sellers.items[0].name.as_str()), (1, "Kim's Shop"));
    assert_eq!(viewer.get("/chat/users?q=kim&role=all").returns::<Page<Profile>>(200).await.total, 2);
    viewer.get("/chat/users?role=admin").fails(400, "validation_failed").await;
    app.get("/chat/users").fails(401, "unauthenticated").await;
}

#[tokio::test]
async fn sockets_need_a_valid_token_by_header_or_query() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let url = ws_url(&app);
    match tokio_tungstenite::connect_async(url.clone()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    match tokio_tungstenite::connect_async(format!("{url}?access_token=nope")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{url}?access_token={}", user.token)).await.unwrap();
    send(&mut socket, json!({"type": "nope"})).await;
    assert_eq!(next_frame(&mut socket).await.kind(), "error");
}

#[tokio::test]
async fn messages_reach_every_members_socket_and_the_sender_gets_an_ack() {
    let app = spawn_app().await;
    let (a, b, outsider) =
        (app.user(Role::Customer).await, app.user(Role::Seller).await, app.user(Role::Customer).await);
    let room = room(&a, &[&b]).await;
    let (mut a1, mut a2, mut b1, mut out) = (
        connect(&app, &a.token).await,
        connect(&app, &a.token).await,
        connect(&app, &b.token).await,
        connect(&app, &outsider.token).await,
    );
    // Over HTTP: every member socket gets it.
    let sent = post(&a, room.id, "over http").await;
    for socket in [&mut a1, &mut a2, &mut b1] {
        assert_eq!(next_frame(socket).await, ServerFrame::Message { message: sent.clone() });
    }
    // Over a socket: that socket gets the ack, the sender's other socket and the others get the message.
    send(&mut a1, json!({"type": "send", "room_id": room.id, "body": "over ws", "client_id": "c1"})).await;
    let ack = next_frame(&mut a1).await;
    assert_eq!((ack.kind(), ack.client_id().and_then(Value::as_str), ack.body()), ("ack", Some("c1"), Some("over ws")));
    assert_eq!(next_frame(&mut a2).await.message(), ack.message());
    assert_eq!(next_frame(&mut b1).await.message(), ack.message());
    assert!(silent(&mut a1, Duration::from_millis(300)).await, "no echo to the sending socket");
    assert!(silent(&mut out, Duration::from_millis(300)).await, "non-members receive nothing");
    // Invited later: the open socket starts receiving the room's messages.
    a.post(&format!("/chat/rooms/{}/members", room.id), &json!({"user_ids": [outsider.id]})).await;
    post(&b, room.id, "welcome").await;
    assert_eq!(next_frame(&mut out).await.body(), Some("welcome"));
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let (a, b) = (app.user(Role::Customer).await, app.user(Role::Seller).await);
    let room = room(&a, &[&b]).await;
    let mut socket = connect(&app, &a.token).await;
    let cases = [
        (Frame::text("not json"), "invalid_json"),
        (Frame::text(json!({"type": "dance", "client_id": "x"}).to_string()), "validation_failed"),
        (Frame::text(json!({"room_id": room.id, "body": "no type"}).to_string()), "validation_failed"),
        (Frame::text(json!({"type": "send", "body": "no room", "client_id": "y"}).to_string()), "validation_failed"),
        (
            Frame::text(json!({"type": "send", "room_id": room.id, "body": "x".repeat(4001)}).to_string()),
            "validation_failed",
        ),
        (Frame::text(json!({"type": "send", "room_id": 999999, "body": "hi"}).to_string()), "not_found"),
        (Frame::binary(vec![1u8, 2, 3]), "validation_failed"),
    ];
    for (frame, code) in cases {
        socket.send(frame).await.unwrap();
        let reply = next_frame(&mut socket).await;
        assert_eq!((reply.kind(), reply.code()), ("error", Some(code)), "{reply:?}");
    }
    send(&mut socket, json!({"type": "send", "room_id": room.id, "body": "still here", "client_id": 7})).await;
    let ack = next_frame(&mut socket).await;
    assert_eq!((ack.kind(), ack.client_id().and_then(Value::as_i64)), ("ack", Some(7)));
    assert_eq!(app.get_root("/healthz").await.status(), 200);
}

#[tokio::test]
async fn a_frame_over_64_kib_closes_the_socket_with_1009() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let mut socket = connect(&app, &user.token).await;
    socket.send(Frame::text("x".repeat(70 * 1024))).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await.unwrap() {
            Some(Ok(Frame::Close(Some(close)))) => {
                assert_eq!(u16::from(close.code), 1009);
                break;
            }
            Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => continue,
            other => panic!("expected a 1009 close, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn sockets_close_when_their_access_token_expires() {
    let app = spawn_app_with(TestOptions::default().with("auth.access_ttl_secs", 2)).await;
    let user = app.user(Role::Customer).await;
    let mut socket = connect(&app, &user.token).await;
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                Some(Ok(Frame::Close(Some(close)))) => return u16::from(close.code),
                Some(Ok(_)) => continue,
                other => panic!("{other:?}"),
            }
        }
    })
    .await
    .expect("closed within 10 s");
    assert_eq!(closed, 1008);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_sockets_each_receive_every_one_of_two_hundred_messages_once() {
    let app = spawn_app().await;
    let owner = app.user(Role::Seller).await;
    // Members must be accounts: sign them up through the service (no email round trip).
    let mut ids = Vec::new();
    for i in 0..50 {
        let email = format!("member{i}-{}@example.com", platform::testkit::unique_suffix().replace('_', "-"));
        let created = app
            .assembled
            .accounts
            .signup(account::NewAccount {
                email: account::EmailAddress::parse(&email).unwrap(),
                password: account::Password::parse("password one").unwrap(),
                name: account::DisplayName::parse(&format!("Member {i}")).unwrap(),
                role: Role::Customer,
                phone: None,
            })
            .await
            .unwrap();
        ids.push(created.id);
    }
    let room: Room = owner.post("/chat/rooms", &json!({"member_ids": ids})).returns(201).await;
    let mut sockets = Vec::new();
    for id in &ids {
        sockets.push(connect(&app, &app.token_for(*id, Role::Customer)).await);
    }
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while seen.len() < 200 {
                    if let ServerFrame::Message { message } = next_frame(&mut socket).await {
                        seen.push(message.id);
                    }
                }
                assert!(silent(&mut socket, Duration::from_millis(500)).await, "nothing after the 200th");
                seen
            })
        })
        .collect();
    let mut posted = Vec::new();
    for i in 0..200 {
        posted.push(post(&owner, room.id, &format!("msg {i}")).await.id);
    }
    for reader in readers {
        assert_eq!(reader.await.unwrap(), posted, "every message, once, in order");
    }
}

#[tokio::test]
async fn a_socket_on_one_instance_receives_messages_sent_through_another() {
    if platform::testkit::redis_url().is_none() {
        eprintln!("SKIPPED: cross-instance delivery needs TEST_REDIS_URL (runs in the MariaDB + Redis suite)");
        return;
    }
    let a_side = spawn_app().await;
    let b_side = spawn_peer(&a_side).await;
    let (alice, bob) = (a_side.user(Role::Customer).await, a_side.user(Role::Seller).await);
    let room = room(&alice, &[&bob]).await;
    let mut on_a = connect(&a_side, &alice.token).await;
    let mut bob_on_b = connect(&b_side, &bob.token).await;
    let bob_over_http_on_b = bob.on(&b_side);
    let mut expected = Vec::new();
    for i in 0..10 {
        if i % 2 == 0 {
            expected.push(post(&bob_over_http_on_b, room.id, &format!("http {i}")).await);
        } else {
            send(&mut bob_on_b, json!({"type": "send", "room_id": room.id, "body": format!("ws {i}"), "client_id": i}))
                .await;
            // Bob's socket also gets his HTTP posts (only the sending socket is spared).
            let ack = loop {
                let frame = next_frame(&mut bob_on_b).await;
                if frame.kind() != "message" {
                    break frame;
                }
            };
            assert_eq!(ack.kind(), "ack", "{ack:?}");
            expected.push(ack.message().unwrap().clone());
        }
    }
    for message in &expected {
        assert_eq!(next_frame(&mut on_a).await.message(), Some(message));
    }
}

#[tokio::test]
async fn a_redis_restart_loses_no_message_and_sockets_resubscribe_by_themselves() {
    let Some(mut redis) = PrivateRedis::start() else {
        eprintln!("SKIPPED: redis-server is not installed");
        return;
    };
    let app = spawn_app_with(TestOptions { redis_url: Some(redis.url()), ..Default::default() }).await;
    let (a, b) = (app.user(Role::Customer).await, app.user(Role::Seller).await);
    let room = room(&a, &[&b]).await;
    let mut socket = connect(&app, &b.token).await;
    post(&a, room.id, "before").await;
    assert_eq!(next_frame(&mut socket).await.body(), Some("before"));
    redis.stop();
    // Redis down: the message is stored, and this instance still delivers it locally.
    post(&a, room.id, "during").await;
    assert_eq!(next_frame(&mut socket).await.body(), Some("during"));
    redis.restart().unwrap();
    // The subscription comes back by itself and tells sockets to catch up.
    let resync = next_frame(&mut socket).await;
    assert_eq!(resync.kind(), "resync", "{resync:?}");
    post(&a, room.id, "after").await;
    assert_eq!(next_frame(&mut socket).await.body(), Some("after"));
    let page: MessagePage = b.get(&format!("/chat/rooms/{}/messages", room.id)).returns(200).await;
    let bodies: Vec<&str> = page.items.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, vec!["after", "during", "before"]);
}
