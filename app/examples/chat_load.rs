//! Load and latency of live chat delivery (`GET /api/v1/chat/ws`) against one or two running
//! instances that share a database and Redis. Signs up `--users` accounts, mints their access
//! tokens locally (same JWT secret as the server: the settings are loaded from the environment
//! like the server's), puts them in rooms of `--room-size`, opens one socket per account and
//! measures:
//!
//! 1. delivery latency (POST sent → frame read on each member socket) at a steady `--rate`,
//! 2. messages/s into one busy room with `--posters` concurrent posters for `--busy-secs`,
//! 3. server RSS per 1,000 idle sockets (with `--pid-a` / `--pid-b`),
//!
//! with sockets on instance A, then (with `--b`) with every socket on B while POSTs still go
//! to A. Every accepted message must reach every member socket exactly once; missing,
//! duplicate and stray deliveries, server-closed sockets and resync hints are reported.
//!
//!   cargo run --release --features app/mysql -p app --example chat_load -- \
//!       --a http://127.0.0.1:18090 --b http://127.0.0.1:18091 --pid-a <pid> --pid-b <pid>
//!
//! `bench/chat.sh` starts both instances and runs this.
//!
//! With `--mode notify` (`bench/notify.sh`) the same sockets measure notifications instead:
//! `--users` sellers, each with one product and its socket on B (or A without `--b`), and
//! `--posters` funded buyers checking out on A. It measures the time from an order's
//! `POST /orders` (sent, and answered: the commit lies between) to the seller's
//! `notification` frame at `--rate` orders/s for `--messages` orders, then `--burst` orders
//! placed as fast as the buyers can (orders/s, notifications/s delivered, how long the last
//! frame trails the last commit), and the RSS of the sockets' instance meanwhile. Every
//! order must reach its seller's socket exactly once, and no other socket.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use anyhow::{Context, bail};
use clap::Parser;
use contracts::Role;
use futures::{StreamExt, stream};
use platform::auth::Jwt;
use platform::clock::SystemClock;
use platform::config::{LoadOptions, Settings};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// Chat messages to room members.
    Chat,
    /// `order_placed` notifications to sellers.
    Notify,
}

#[derive(Parser, Debug)]
#[command(about = "Chat WebSocket delivery latency, throughput and memory")]
struct Args {
    #[arg(long, value_enum, default_value_t = Mode::Chat)]
    mode: Mode,
    /// Base URL of instance A (all POSTs go here).
    #[arg(long, default_value = "http://127.0.0.1:18090")]
    a: String,
    /// Base URL of instance B (same database and Redis); enables the cross-instance runs.
    #[arg(long)]
    b: Option<String>,
    /// Server process of A, for RSS.
    #[arg(long)]
    pid_a: Option<u32>,
    /// Server process of B, for RSS.
    #[arg(long)]
    pid_b: Option<u32>,
    /// Accounts, each with one socket.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Members per room, creator included (the server allows at most 100).
    #[arg(long, default_value_t = 100)]
    room_size: usize,
    /// Messages (orders in notify mode) of the steady-rate run.
    #[arg(long, default_value_t = 200)]
    messages: usize,
    /// Messages (orders) per second of the steady-rate run (round-robin over the rooms, or
    /// the sellers).
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Concurrent posters of the busy-room run (buyers in notify mode).
    #[arg(long, default_value_t = 16)]
    posters: usize,
    /// Notify mode: orders of the as-fast-as-possible run.
    #[arg(long, default_value_t = 2000)]
    burst: usize,
    /// Length of the busy-room run.
    #[arg(long, default_value_t = 10)]
    busy_secs: u64,
    /// How long the sockets stay idle before RSS is read.
    #[arg(long, default_value_t = 5)]
    idle_secs: u64,
    /// Longest wait for outstanding deliveries after the last POST.
    #[arg(long, default_value_t = 15)]
    drain_secs: u64,
    #[arg(long, default_value_t = 8)]
    signup_concurrency: usize,
    #[arg(long, default_value_t = 50)]
    connect_concurrency: usize,
}

/// Identifies a message by its body, so a frame can be matched to its POST even when it
/// arrives before the POST's response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Tag {
    phase: u32,
    seq: u32,
}

impl Tag {
    fn body(self) -> String {
        format!("load {} {}", self.phase, self.seq)
    }

    fn parse(body: &str) -> Option<Tag> {
        let (phase, seq) = body.strip_prefix("load ")?.split_once(' ')?;
        Some(Tag { phase: phase.parse().ok()?, seq: seq.parse().ok()? })
    }
}

/// What the socket tasks report; `socket` is the account index.
enum SocketEvent {
    Delivery {
        socket: usize,
        tag: Tag,
        at: Instant,
    },
    /// An `order_placed` notification frame.
    Notification {
        socket: usize,
        order_id: i64,
        at: Instant,
    },
    Resync,
    Closed {
        socket: usize,
        reason: String,
    },
    Unexpected {
        socket: usize,
        frame: String,
    },
}

fn log(start: Instant, what: impl std::fmt::Display) {
    eprintln!("[{:>7.1}s] {what}", start.elapsed().as_secs_f64());
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

// ---------------------------------------------------------------------------------------------
// Sockets

async fn open_socket(url: &str, token: &str) -> anyhow::Result<Socket> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert("Authorization", format!("Bearer {token}").parse()?);
    let (socket, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(socket)
}

async fn open_with_retry(url: &str, token: &str) -> anyhow::Result<Socket> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match open_socket(url, token).await {
            Ok(socket) => return Ok(socket),
            Err(e) if attempt >= 3 => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(200 * attempt)).await,
        }
    }
}

fn classify(socket: usize, text: &str, at: Instant) -> SocketEvent {
    let unexpected = || SocketEvent::Unexpected { socket, frame: text.chars().take(200).collect() };
    let Ok(frame) = serde_json::from_str::<Value>(text) else { return unexpected() };
    match frame["type"].as_str() {
        Some("message") => match frame["message"]["body"].as_str().and_then(Tag::parse) {
            Some(tag) => SocketEvent::Delivery { socket, tag, at },
            None => unexpected(),
        },
        Some("notification") => match &frame["notification"] {
            n if n["kind"] == "order_placed" => match n["data"]["order_id"].as_i64() {
                Some(order_id) => SocketEvent::Notification { socket, order_id, at },
                None => unexpected(),
            },
            _ => unexpected(),
        },
        Some("resync") => SocketEvent::Resync,
        _ => unexpected(),
    }
}

/// Reads one socket until told to stop (then closes it) or until the server closes it
/// (reported). Pings are answered by tungstenite as long as the socket is read.
async fn run_socket(
    socket: usize,
    mut ws: Socket,
    mut stop: watch::Receiver<bool>,
    events: mpsc::UnboundedSender<SocketEvent>,
) {
    loop {
        tokio::select! {
            frame = ws.next() => {
                let at = Instant::now();
                let reason = match frame {
                    Some(Ok(Frame::Text(text))) => {
                        let _ = events.send(classify(socket, &text, at));
                        continue;
                    }
                    Some(Ok(Frame::Close(close))) => match close {
                        Some(c) => format!("closed by the server: {} {}", u16::from(c.code), c.reason),
                        None => "closed by the server without a code".to_string(),
                    },
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => format!("socket error: {e}"),
                    None => "connection ended without a close frame".to_string(),
                };
                let _ = events.send(SocketEvent::Closed { socket, reason });
                return;
            }
            _ = stop.changed() => {
                let _ = ws.close(None).await;
                let _ = tokio::time::timeout(Duration::from_secs(2), async {
                    while let Some(Ok(_)) = ws.next().await {}
                })
                .await;
                return;
            }
        }
    }
}

/// One open socket per account, all on one instance.
struct SocketSet {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    failed: Vec<(usize, String)>,
    took: Duration,
}

impl SocketSet {
    async fn connect(
        base: &str,
        tokens: &[String],
        concurrency: usize,
        events: &mpsc::UnboundedSender<SocketEvent>,
    ) -> SocketSet {
        let url = format!("{}/api/v1/chat/ws", base.replacen("http", "ws", 1));
        let started = Instant::now();
        let opened: Vec<(usize, anyhow::Result<Socket>)> = stream::iter(tokens.iter().enumerate())
            .map(|(i, token)| {
                let url = url.clone();
                async move { (i, open_with_retry(&url, token).await) }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let took = started.elapsed();
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut failed = Vec::new();
        for (i, result) in opened {
            match result {
                Ok(ws) => tasks.push(tokio::spawn(run_socket(i, ws, stop_rx.clone(), events.clone()))),
                Err(e) => failed.push((i, e.to_string())),
            }
        }
        SocketSet { stop, tasks, failed, took }
    }

    async fn close(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(10), futures::future::join_all(self.tasks)).await;
    }
}

/// Collects what the sockets report.
struct Recorder {
    rx: mpsc::UnboundedReceiver<SocketEvent>,
    deliveries: HashMap<Tag, Vec<(usize, Instant)>>,
    per_phase: HashMap<u32, usize>,
    /// `order_placed` frames by order id.
    notifications: HashMap<i64, Vec<(usize, Instant)>>,
    notification_count: usize,
    resyncs: usize,
    closed: Vec<(usize, String)>,
    unexpected: Vec<(usize, String)>,
}

impl Recorder {
    fn new(rx: mpsc::UnboundedReceiver<SocketEvent>) -> Self {
        Recorder {
            rx,
            deliveries: HashMap::new(),
            per_phase: HashMap::new(),
            notifications: HashMap::new(),
            notification_count: 0,
            resyncs: 0,
            closed: Vec::new(),
            unexpected: Vec::new(),
        }
    }

    fn record(&mut self, event: SocketEvent) {
        match event {
            SocketEvent::Delivery { socket, tag, at } => {
                self.deliveries.entry(tag).or_default().push((socket, at));
                *self.per_phase.entry(tag.phase).or_default() += 1;
            }
            SocketEvent::Notification { socket, order_id, at } => {
                self.notifications.entry(order_id).or_default().push((socket, at));
                self.notification_count += 1;
            }
            SocketEvent::Resync => self.resyncs += 1,
            SocketEvent::Closed { socket, reason } => self.closed.push((socket, reason)),
            SocketEvent::Unexpected { socket, frame } => self.unexpected.push((socket, frame)),
        }
    }

    fn drain(&mut self) {
        while let Ok(event) = self.rx.try_recv() {
            self.record(event);
        }
    }

    fn count(&self, phase: u32) -> usize {
        self.per_phase.get(&phase).copied().unwrap_or(0)
    }

    /// Until `expected` deliveries of `phase` arrived or `limit` passed; then a short grace
    /// period so that duplicates would be seen too.
    async fn wait_for(&mut self, phase: u32, expected: usize, limit: Duration) {
        self.wait_until(limit, |rec| rec.count(phase) >= expected).await;
    }

    /// Until `done` holds or `limit` passed, then the same grace period.
    async fn wait_until(&mut self, limit: Duration, done: impl Fn(&Recorder) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        self.drain();
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(event)) => self.record(event),
                _ => break,
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.drain();
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// POSTs `body` (with a bearer token and an Idempotency-Key when given); the answer's JSON
/// if its status is `expect`, else "status body".
async fn post_json(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    key: Option<&str>,
    body: &Value,
    expect: reqwest::StatusCode,
) -> Result<Value, String> {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let res = request.send().await.map_err(|e| e.to_string())?;
    let status = res.status();
    if status != expect {
        return Err(format!("{status} {}", res.text().await.unwrap_or_default()));
    }
    res.json().await.map_err(|e| e.to_string())
}

fn id_of(body: &Value) -> Result<i64, String> {
    body["id"].as_i64().ok_or_else(|| format!("answer without an id: {body}"))
}

async fn signup(client: &reqwest::Client, base: &str, email: &str, i: usize, role: Role) -> anyhow::Result<i64> {
    let body = json!({ "email": email, "password": "chat load password 1", "name": format!("Load {i}"), "role": role.as_str() });
    post_json(client, &format!("{base}/api/v1/auth/signup"), None, None, &body, reqwest::StatusCode::CREATED)
        .await
        .and_then(|body| id_of(&body))
        .map_err(|e| anyhow::anyhow!("signup {email}: {e}"))
}

async fn create_room(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    name: &str,
    member_ids: &[i64],
) -> anyhow::Result<i64> {
    let body = json!({ "name": name, "member_ids": member_ids });
    post_json(client, &format!("{base}/api/v1/chat/rooms"), Some(token), None, &body, reqwest::StatusCode::CREATED)
        .await
        .and_then(|body| id_of(&body))
        .map_err(|e| anyhow::anyhow!("create room: {e}"))
}

/// One POSTed message.
struct Sent {
    tag: Tag,
    room: usize,
    sent_at: Instant,
    answered_at: Instant,
    result: Result<i64, String>,
}

async fn post_message(client: reqwest::Client, url: String, token: String, tag: Tag, room: usize) -> Sent {
    let body = json!({ "body": tag.body() });
    let sent_at = Instant::now();
    let result = post_json(&client, &url, Some(&token), None, &body, reqwest::StatusCode::CREATED)
        .await
        .and_then(|body| id_of(&body));
    Sent { tag, room, sent_at, answered_at: Instant::now(), result }
}

// ---------------------------------------------------------------------------------------------
// Runs

struct Ctx {
    args: Args,
    client: reqwest::Client,
    tokens: Vec<String>,
    room_ids: Vec<i64>,
}

impl Ctx {
    fn members(&self, room: usize) -> Range<usize> {
        room * self.args.room_size..(room + 1) * self.args.room_size
    }

    fn message_url(&self, base: &str, room: usize) -> String {
        format!("{base}/api/v1/chat/rooms/{}/messages", self.room_ids[room])
    }

    /// `--messages` at `--rate`, round-robin over the rooms, each from a rotating member.
    async fn steady(&self, phase: u32, base: &str) -> Vec<Sent> {
        let rooms = self.room_ids.len();
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / self.args.rate));
        let mut posts = Vec::with_capacity(self.args.messages);
        for seq in 0..self.args.messages {
            ticker.tick().await;
            let room = seq % rooms;
            let sender = self.members(room).start + (seq / rooms) % self.args.room_size;
            let tag = Tag { phase, seq: seq as u32 };
            posts.push(tokio::spawn(post_message(
                self.client.clone(),
                self.message_url(base, room),
                self.tokens[sender].clone(),
                tag,
                room,
            )));
        }
        futures::future::join_all(posts).await.into_iter().map(|r| r.expect("post task")).collect()
    }

    /// `--posters` concurrent posters into room 0 for `--busy-secs`.
    async fn busy(&self, phase: u32, base: &str) -> Vec<Sent> {
        let deadline = Instant::now() + Duration::from_secs(self.args.busy_secs);
        let next = Arc::new(AtomicU32::new(0));
        let posters: Vec<JoinHandle<Vec<Sent>>> = (0..self.args.posters)
            .map(|p| {
                let (client, next) = (self.client.clone(), next.clone());
                let url = self.message_url(base, 0);
                let token = self.tokens[self.members(0).start + p % self.args.room_size].clone();
                tokio::spawn(async move {
                    let mut sent = Vec::new();
                    while Instant::now() < deadline {
                        let tag = Tag { phase, seq: next.fetch_add(1, Ordering::Relaxed) };
                        sent.push(post_message(client.clone(), url.clone(), token.clone(), tag, 0).await);
                    }
                    sent
                })
            })
            .collect();
        futures::future::join_all(posters).await.into_iter().flat_map(|r| r.expect("poster task")).collect()
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    p50: f64,
    p99: f64,
    max: f64,
}

/// Nearest-rank percentiles of milliseconds.
fn stats(mut ms: Vec<f64>) -> Stats {
    if ms.is_empty() {
        return Stats::default();
    }
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    Stats { p50: at(0.50), p99: at(0.99), max: ms[ms.len() - 1] }
}

#[derive(Debug, Default)]
struct Report {
    name: String,
    posted: usize,
    accepted: usize,
    failed: usize,
    first_failure: Option<String>,
    expected: usize,
    received: usize,
    missing: usize,
    duplicates: usize,
    /// Deliveries to sockets that are not members of the room.
    strays: usize,
    /// Deliveries of messages whose POST did not answer 201.
    orphans: usize,
    msgs_per_sec: f64,
    deliveries_per_sec: f64,
    latency: Stats,
    post_latency: Stats,
    closed: usize,
    resyncs: usize,
    missing_sockets: Vec<usize>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn analyse(
    ctx: &Ctx,
    name: &str,
    sent: &[Sent],
    rec: &Recorder,
    closed_before: usize,
    resyncs_before: usize,
) -> Report {
    let mut r = Report { name: name.to_string(), posted: sent.len(), ..Default::default() };
    let Some(first_sent) = sent.iter().map(|s| s.sent_at).min() else { return r };
    let last_answer = sent.iter().map(|s| s.answered_at).max().unwrap_or(first_sent);
    let mut last_receipt = first_sent;
    let mut latencies = Vec::new();
    let mut post_latencies = Vec::new();
    let mut missing_sockets: HashMap<usize, usize> = HashMap::new();
    for s in sent {
        let receipts = rec.deliveries.get(&s.tag).map(Vec::as_slice).unwrap_or_default();
        if let Some(at) = receipts.iter().map(|(_, at)| *at).max() {
            last_receipt = last_receipt.max(at);
        }
        if let Err(e) = &s.result {
            r.failed += 1;
            r.first_failure.get_or_insert_with(|| e.clone());
            r.orphans += receipts.len();
            continue;
        }
        r.accepted += 1;
        post_latencies.push(ms(s.answered_at - s.sent_at));
        let members = ctx.members(s.room);
        r.expected += members.len();
        let mut first: HashMap<usize, Instant> = HashMap::new();
        for (socket, at) in receipts {
            if !members.contains(socket) {
                r.strays += 1;
            } else if first.insert(*socket, *at).is_some() {
                r.duplicates += 1;
            }
        }
        for socket in members {
            match first.get(&socket) {
                Some(at) => latencies.push(ms(at.saturating_duration_since(s.sent_at))),
                None => *missing_sockets.entry(socket).or_default() += 1,
            }
        }
        r.received += first.len();
    }
    r.missing = r.expected - r.received;
    let mut missing_sockets: Vec<usize> = missing_sockets.into_keys().collect();
    missing_sockets.sort_unstable();
    r.missing_sockets = missing_sockets;
    r.msgs_per_sec = r.accepted as f64 / (last_answer - first_sent).as_secs_f64().max(1e-9);
    r.deliveries_per_sec = r.received as f64 / (last_receipt - first_sent).as_secs_f64().max(1e-9);
    r.latency = stats(latencies);
    r.post_latency = stats(post_latencies);
    r.closed = rec.closed.len() - closed_before;
    r.resyncs = rec.resyncs - resyncs_before;
    r
}

/// Runs one measured phase and returns its report.
async fn measure(ctx: &Ctx, rec: &mut Recorder, phase: u32, name: &str, busy: bool, start: Instant) -> Report {
    rec.drain();
    let (closed_before, resyncs_before) = (rec.closed.len(), rec.resyncs);
    log(start, format!("{name}: posting to {}", ctx.args.a));
    let sent = if busy { ctx.busy(phase, &ctx.args.a).await } else { ctx.steady(phase, &ctx.args.a).await };
    let expected: usize = sent.iter().filter(|s| s.result.is_ok()).map(|s| ctx.members(s.room).len()).sum();
    log(start, format!("{name}: {} posted, waiting for {expected} deliveries", sent.len()));
    rec.wait_for(phase, expected, Duration::from_secs(ctx.args.drain_secs)).await;
    let report = analyse(ctx, name, &sent, rec, closed_before, resyncs_before);
    log(
        start,
        format!(
            "{name}: accepted {} failed {} | deliveries {}/{} missing {} dup {} stray {} orphan {} | p50 {:.1} ms p99 {:.1} ms",
            report.accepted,
            report.failed,
            report.received,
            report.expected,
            report.missing,
            report.duplicates,
            report.strays,
            report.orphans,
            report.latency.p50,
            report.latency.p99
        ),
    );
    if let Some(e) = &report.first_failure {
        log(start, format!("{name}: first failed POST: {e}"));
    }
    if !report.missing_sockets.is_empty() {
        let shown: Vec<String> = report.missing_sockets.iter().take(20).map(usize::to_string).collect();
        log(
            start,
            format!(
                "{name}: {} sockets missed deliveries (account indexes {}…)",
                report.missing_sockets.len(),
                shown.join(",")
            ),
        );
    }
    report
}

struct Memory {
    instance: &'static str,
    sockets: usize,
    before_kib: u64,
    after_kib: u64,
}

/// Connects every account to `base`, waits `--idle-secs`, and reads RSS before and after.
async fn connect_measured(
    args: &Args,
    tokens: &[String],
    base: &str,
    pid: Option<u32>,
    instance: &'static str,
    events: &mpsc::UnboundedSender<SocketEvent>,
    start: Instant,
) -> anyhow::Result<(SocketSet, Option<Memory>)> {
    let before = pid.and_then(rss_kib);
    log(start, format!("connecting {} sockets to {instance} ({base})", tokens.len()));
    let set = SocketSet::connect(base, tokens, args.connect_concurrency, events).await;
    log(
        start,
        format!("{} sockets open in {:.1} s, {} failed", set.tasks.len(), set.took.as_secs_f64(), set.failed.len()),
    );
    for (i, e) in set.failed.iter().take(5) {
        log(start, format!("socket {i} failed: {e}"));
    }
    if set.tasks.is_empty() {
        bail!("no socket could connect to {base}");
    }
    tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
    let memory = match (before, pid.and_then(rss_kib)) {
        (Some(before_kib), Some(after_kib)) => {
            Some(Memory { instance, sockets: set.tasks.len(), before_kib, after_kib })
        }
        _ => None,
    };
    Ok((set, memory))
}

async fn wait_healthy(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{base}/healthz does not answer")
}

/// Signs up `n` accounts of `role` on A (argon2 makes this the slow part) and mints their
/// access tokens.
async fn accounts(
    args: &Args,
    client: &reqwest::Client,
    jwt: &Jwt,
    n: usize,
    role: Role,
    start: Instant,
) -> anyhow::Result<(Vec<i64>, Vec<String>)> {
    log(start, format!("signing up {n} {} accounts", role.as_str()));
    let nonce = chrono::Utc::now().timestamp_millis();
    let ids: Vec<i64> = stream::iter(0..n)
        .map(|i| {
            let email = format!("chatload-{}-{nonce}-{i}@example.com", role.as_str());
            async move { signup(client, &args.a, &email, i, role).await }
        })
        .buffered(args.signup_concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let tokens: Vec<String> = ids
        .iter()
        .map(|id| jwt.issue(*id, role).map(|t| t.token))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    log(start, "accounts ready");
    Ok((ids, tokens))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.mode == Mode::Chat
        && (args.room_size < 2 || args.users < args.room_size || args.users % args.room_size != 0)
    {
        bail!("--users must be a multiple of --room-size (at least 2)");
    }
    let start = Instant::now();
    let settings =
        Settings::load(LoadOptions { use_env: true, ..Default::default() }.with("auth.access_ttl_secs", "86400"))?;
    let jwt = Jwt::new(&settings.auth, Arc::new(SystemClock));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    wait_healthy(&client, &args.a).await?;
    if let Some(b) = &args.b {
        wait_healthy(&client, b).await?;
    }
    if args.mode == Mode::Notify {
        return notify(args, client, &jwt, start).await;
    }

    let (ids, tokens) = accounts(&args, &client, &jwt, args.users, Role::Customer, start).await?;

    // Room r holds accounts r*size..(r+1)*size; its first member creates it.
    let mut room_ids = Vec::new();
    for (r, members) in ids.chunks(args.room_size).enumerate() {
        room_ids.push(
            create_room(&client, &args.a, &tokens[r * args.room_size], &format!("load {r}"), &members[1..]).await?,
        );
    }
    log(start, format!("{} rooms of {} members", room_ids.len(), args.room_size));

    let ctx = Ctx { args, client, tokens, room_ids };
    let (events, rx) = mpsc::unbounded_channel();
    let mut rec = Recorder::new(rx);
    let mut reports = Vec::new();
    let mut memory = Vec::new();
    let mut connect_times = Vec::new();
    let steady_name = |on: &str| format!("steady {} msg/s, sockets on {on}", ctx.args.rate);
    let busy_name = |on: &str| format!("busy room, {} posters, sockets on {on}", ctx.args.posters);

    let (set, mem) = connect_measured(&ctx.args, &ctx.tokens, &ctx.args.a, ctx.args.pid_a, "A", &events, start).await?;
    connect_times.push(("A", set.tasks.len(), set.took));
    memory.extend(mem);
    reports.push(measure(&ctx, &mut rec, 1, &steady_name("A"), false, start).await);
    reports.push(measure(&ctx, &mut rec, 2, &busy_name("A"), true, start).await);
    set.close().await;

    let mut rss_a_after_close = None;
    if let Some(b) = ctx.args.b.clone() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss_a_after_close = ctx.args.pid_a.and_then(rss_kib);
        let (set, mem) = connect_measured(&ctx.args, &ctx.tokens, &b, ctx.args.pid_b, "B", &events, start).await?;
        connect_times.push(("B", set.tasks.len(), set.took));
        memory.extend(mem);
        reports.push(measure(&ctx, &mut rec, 3, &steady_name("B, POST to A"), false, start).await);
        reports.push(measure(&ctx, &mut rec, 4, &busy_name("B, POST to A"), true, start).await);
        set.close().await;
    }
    rec.drain();

    print_summary(&ctx, &reports, &memory, &connect_times, rss_a_after_close, &rec);
    let clean = reports.iter().all(|r| r.failed == 0 && r.missing == 0 && r.duplicates == 0 && r.strays == 0)
        && rec.closed.is_empty();
    if !clean {
        bail!("deliveries were not exactly once, or POSTs failed, or sockets were closed (see above)");
    }
    Ok(())
}

fn print_summary(
    ctx: &Ctx,
    reports: &[Report],
    memory: &[Memory],
    connect_times: &[(&str, usize, Duration)],
    rss_a_after_close: Option<u64>,
    rec: &Recorder,
) {
    let a = &ctx.args;
    println!();
    println!(
        "chat load: {} accounts/sockets, {} rooms of {}, steady {} msgs at {}/s, busy {} posters for {} s",
        a.users,
        ctx.room_ids.len(),
        a.room_size,
        a.messages,
        a.rate,
        a.posters,
        a.busy_secs
    );
    println!(
        "{:<42}{:>7}{:>6}{:>9}{:>9}{:>6}{:>5}{:>8}{:>10}{:>9}{:>9}{:>9}{:>13}",
        "run",
        "posted",
        "fail",
        "expected",
        "received",
        "miss",
        "dup",
        "msg/s",
        "deliv/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "POST p50/p99"
    );
    for r in reports {
        println!(
            "{:<42}{:>7}{:>6}{:>9}{:>9}{:>6}{:>5}{:>8.1}{:>10.0}{:>9.1}{:>9.1}{:>9.1}{:>13}",
            r.name,
            r.posted,
            r.failed,
            r.expected,
            r.received,
            r.missing,
            r.duplicates,
            r.msgs_per_sec,
            r.deliveries_per_sec,
            r.latency.p50,
            r.latency.p99,
            r.latency.max,
            format!("{:.1}/{:.1}", r.post_latency.p50, r.post_latency.p99)
        );
        if r.strays + r.orphans + r.closed + r.resyncs > 0 {
            println!(
                "    stray deliveries {}, deliveries of failed POSTs {}, sockets closed {}, resync frames {}",
                r.strays, r.orphans, r.closed, r.resyncs
            );
        }
    }
    for (instance, n, took) in connect_times {
        println!("connect: {n} sockets to {instance} in {:.2} s", took.as_secs_f64());
    }
    for m in memory {
        let delta = m.after_kib as f64 - m.before_kib as f64;
        println!(
            "RSS {}: {:.1} MiB before, {:.1} MiB with {} idle sockets ({} s idle): +{:.2} MiB per 1,000 sockets",
            m.instance,
            m.before_kib as f64 / 1024.0,
            m.after_kib as f64 / 1024.0,
            m.sockets,
            a.idle_secs,
            delta / 1024.0 * 1000.0 / m.sockets as f64
        );
    }
    if let Some(kib) = rss_a_after_close {
        println!("RSS A after its sockets closed: {:.1} MiB", kib as f64 / 1024.0);
    }
    if rec.closed.is_empty() {
        println!("no socket was closed by the server");
    } else {
        println!("{} sockets closed by the server:", rec.closed.len());
        for (socket, reason) in rec.closed.iter().take(10) {
            println!("    account #{socket}: {reason}");
        }
    }
    if !rec.unexpected.is_empty() {
        println!("{} unexpected frames, e.g. {:?}", rec.unexpected.len(), rec.unexpected[0]);
    }
}

// ---------------------------------------------------------------------------------------------
// Notify mode

/// A seller's product: one item, stock enough for every order of the run.
struct Shop {
    product_id: i64,
    item_id: i64,
}

async fn open_shop(client: &reqwest::Client, base: &str, token: &str, i: usize) -> anyhow::Result<Shop> {
    let body = json!({ "name": format!("Load shop {i}"), "description": "notify load",
                       "items": [{ "name": "one", "price": 10, "stock": 1_000_000 }] });
    let url = format!("{base}/api/v1/seller/products");
    let product = post_json(client, &url, Some(token), None, &body, reqwest::StatusCode::CREATED)
        .await
        .map_err(|e| anyhow::anyhow!("create product: {e}"))?;
    Ok(Shop {
        product_id: product["id"].as_i64().context("product without id")?,
        item_id: product["items"][0]["id"].as_i64().context("product without item")?,
    })
}

/// One checkout: a unit of the seller's item into the buyer's cart, then `POST /orders`.
struct Placed {
    seller: usize,
    /// When `POST /orders` was sent and answered: the order commits in between.
    sent_at: Instant,
    answered_at: Instant,
    result: Result<i64, String>,
}

struct NotifyCtx {
    args: Args,
    client: reqwest::Client,
    shops: Vec<Shop>,
    /// One lock per buyer: a cart holds one seller's line at a time, so each order has one seller.
    buyers: Vec<(String, tokio::sync::Mutex<()>)>,
    nonce: i64,
}

impl NotifyCtx {
    async fn place(&self, buyer: usize, seller: usize, seq: usize) -> Placed {
        let (token, lock) = &self.buyers[buyer];
        let _cart = lock.lock().await;
        let (a, shop) = (&self.args.a, &self.shops[seller]);
        let line = json!({ "product_id": shop.product_id, "item_id": shop.item_id, "quantity": 1 });
        let added = post_json(
            &self.client,
            &format!("{a}/api/v1/cart/items"),
            Some(token),
            None,
            &line,
            reqwest::StatusCode::OK,
        )
        .await;
        let sent_at = Instant::now();
        let result = match added {
            Err(e) => Err(format!("cart: {e}")),
            Ok(_) => post_json(
                &self.client,
                &format!("{a}/api/v1/orders"),
                Some(token),
                Some(&format!("notify-{}-{seq}", self.nonce)),
                &json!({}),
                reqwest::StatusCode::CREATED,
            )
            .await
            .and_then(|body| id_of(&body)),
        };
        Placed { seller, sent_at, answered_at: Instant::now(), result }
    }

    /// `--messages` orders at `--rate`, round-robin over the sellers and the buyers.
    async fn steady(self: &Arc<Self>) -> Vec<Placed> {
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / self.args.rate));
        let mut orders = Vec::with_capacity(self.args.messages);
        for seq in 0..self.args.messages {
            ticker.tick().await;
            let ctx = self.clone();
            orders
                .push(tokio::spawn(async move { ctx.place(seq % ctx.buyers.len(), seq % ctx.shops.len(), seq).await }));
        }
        futures::future::join_all(orders).await.into_iter().map(|r| r.expect("order task")).collect()
    }

    /// `--burst` orders, each buyer placing its next one as soon as the last is answered.
    async fn burst(self: &Arc<Self>, first_seq: usize) -> Vec<Placed> {
        let next = Arc::new(AtomicU32::new(0));
        let buyers: Vec<JoinHandle<Vec<Placed>>> = (0..self.buyers.len())
            .map(|buyer| {
                let (ctx, next) = (self.clone(), next.clone());
                tokio::spawn(async move {
                    let mut placed = Vec::new();
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed) as usize;
                        if n >= ctx.args.burst {
                            return placed;
                        }
                        placed.push(ctx.place(buyer, (first_seq + n) % ctx.shops.len(), first_seq + n).await);
                    }
                })
            })
            .collect();
        futures::future::join_all(buyers).await.into_iter().flat_map(|r| r.expect("buyer task")).collect()
    }
}

#[derive(Debug, Default)]
struct NotifyReport {
    name: String,
    placed: usize,
    failed: usize,
    first_failure: Option<String>,
    received: usize,
    missing: usize,
    duplicates: usize,
    /// Frames on a socket other than the order's seller's.
    strays: usize,
    orders_per_sec: f64,
    frames_per_sec: f64,
    /// From the last `POST /orders` answer to the last frame.
    trail_ms: f64,
    from_sent: Stats,
    from_answer: Stats,
}

fn analyse_orders(name: &str, placed: &[Placed], rec: &Recorder) -> NotifyReport {
    let mut r = NotifyReport { name: name.to_string(), placed: placed.len(), ..Default::default() };
    let Some(first_sent) = placed.iter().map(|p| p.sent_at).min() else { return r };
    let last_answer = placed.iter().map(|p| p.answered_at).max().unwrap_or(first_sent);
    let (mut last_frame, mut from_sent, mut from_answer) = (first_sent, Vec::new(), Vec::new());
    for p in placed {
        let order_id = match &p.result {
            Ok(id) => *id,
            Err(e) => {
                r.failed += 1;
                r.first_failure.get_or_insert_with(|| e.clone());
                continue;
            }
        };
        let frames = rec.notifications.get(&order_id).map(Vec::as_slice).unwrap_or_default();
        let mut mine = frames.iter().filter(|(socket, _)| *socket == p.seller).map(|(_, at)| *at);
        r.strays += frames.iter().filter(|(socket, _)| *socket != p.seller).count();
        match mine.next() {
            Some(at) => {
                r.received += 1;
                r.duplicates += mine.count();
                last_frame = last_frame.max(at);
                from_sent.push(ms(at.saturating_duration_since(p.sent_at)));
                // Signed: a frame may beat the HTTP answer to the client.
                from_answer.push(if at >= p.answered_at { ms(at - p.answered_at) } else { -ms(p.answered_at - at) });
            }
            None => r.missing += 1,
        }
    }
    let accepted = placed.len() - r.failed;
    r.orders_per_sec = accepted as f64 / (last_answer - first_sent).as_secs_f64().max(1e-9);
    r.frames_per_sec = r.received as f64 / (last_frame - first_sent).as_secs_f64().max(1e-9);
    r.trail_ms = if last_frame >= last_answer { ms(last_frame - last_answer) } else { -ms(last_answer - last_frame) };
    r.from_sent = stats(from_sent);
    r.from_answer = stats(from_answer);
    r
}

async fn measure_orders(ctx: &Arc<NotifyCtx>, rec: &mut Recorder, burst: bool, start: Instant) -> NotifyReport {
    let name = if burst {
        format!("burst of {} orders, {} buyers", ctx.args.burst, ctx.buyers.len())
    } else {
        format!("steady {} orders/s", ctx.args.rate)
    };
    log(start, format!("{name}: ordering on {}", ctx.args.a));
    let before = rec.notification_count;
    let placed = if burst { ctx.burst(ctx.args.messages).await } else { ctx.steady().await };
    let expected = before + placed.iter().filter(|p| p.result.is_ok()).count();
    log(start, format!("{name}: {} placed, waiting for their frames", placed.len()));
    rec.wait_until(Duration::from_secs(ctx.args.drain_secs), |rec| rec.notification_count >= expected).await;
    let r = analyse_orders(&name, &placed, rec);
    log(
        start,
        format!(
            "{name}: failed {} | frames {}/{} missing {} dup {} stray {} | from POST sent p50 {:.1} p99 {:.1} ms",
            r.failed,
            r.received,
            r.placed - r.failed,
            r.missing,
            r.duplicates,
            r.strays,
            r.from_sent.p50,
            r.from_sent.p99
        ),
    );
    if let Some(e) = &r.first_failure {
        log(start, format!("{name}: first failed order: {e}"));
    }
    r
}

/// `--mode notify`: sellers' sockets on B (or A), buyers checking out on A.
async fn notify(args: Args, client: reqwest::Client, jwt: &Jwt, start: Instant) -> anyhow::Result<()> {
    let (_, seller_tokens) = accounts(&args, &client, jwt, args.users, Role::Seller, start).await?;
    let shops: Vec<Shop> = stream::iter(seller_tokens.iter().enumerate())
        .map(|(i, token)| open_shop(&client, &args.a, token, i))
        .buffered(args.signup_concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let (_, buyer_tokens) = accounts(&args, &client, jwt, args.posters, Role::Customer, start).await?;
    let nonce = chrono::Utc::now().timestamp_millis();
    for (i, token) in buyer_tokens.iter().enumerate() {
        let url = format!("{}/api/v1/wallet/charges", args.a);
        post_json(
            &client,
            &url,
            Some(token),
            Some(&format!("notify-charge-{nonce}-{i}")),
            &json!({ "amount": 1_000_000 }),
            reqwest::StatusCode::CREATED,
        )
        .await
        .map_err(|e| anyhow::anyhow!("charge: {e}"))?;
    }
    log(start, format!("{} shops, {} funded buyers", shops.len(), buyer_tokens.len()));

    let (base, pid, instance) = match &args.b {
        Some(b) => (b.clone(), args.pid_b, "B"),
        None => (args.a.clone(), args.pid_a, "A"),
    };
    let (events, rx) = mpsc::unbounded_channel();
    let mut rec = Recorder::new(rx);
    let (set, memory) = connect_measured(&args, &seller_tokens, &base, pid, instance, &events, start).await?;
    let buyers = buyer_tokens.into_iter().map(|t| (t, tokio::sync::Mutex::new(()))).collect();
    let ctx = Arc::new(NotifyCtx { args, client, shops, buyers, nonce });
    let steady = measure_orders(&ctx, &mut rec, false, start).await;
    let burst = measure_orders(&ctx, &mut rec, true, start).await;
    let rss_after = pid.and_then(rss_kib);
    let peak = pid.and_then(|pid| {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse::<u64>().ok()
    });
    set.close().await;
    rec.drain();

    let a = &ctx.args;
    println!();
    println!(
        "notify load: {} sellers with a socket on {instance}, {} buyers ordering on A; steady {} orders at {}/s, burst {}",
        a.users,
        ctx.buyers.len(),
        a.messages,
        a.rate,
        a.burst
    );
    println!(
        "{:<34}{:>7}{:>6}{:>8}{:>6}{:>5}{:>7}{:>10}{:>10}{:>22}{:>22}",
        "run",
        "orders",
        "fail",
        "frames",
        "miss",
        "dup",
        "stray",
        "orders/s",
        "frames/s",
        "POST sent→frame p50/p99",
        "201→frame p50/p99"
    );
    for r in [&steady, &burst] {
        println!(
            "{:<34}{:>7}{:>6}{:>8}{:>6}{:>5}{:>7}{:>10.1}{:>10.1}{:>22}{:>22}",
            r.name,
            r.placed,
            r.failed,
            r.received,
            r.missing,
            r.duplicates,
            r.strays,
            r.orders_per_sec,
            r.frames_per_sec,
            format!("{:.1}/{:.1} ms", r.from_sent.p50, r.from_sent.p99),
            format!("{:.1}/{:.1} ms", r.from_answer.p50, r.from_answer.p99)
        );
    }
    println!("burst: the last frame came {:.1} ms after the last order's 201", burst.trail_ms);
    if let Some(m) = &memory {
        println!(
            "RSS {}: {:.1} MiB before the sockets, {:.1} MiB with {} idle sockets",
            m.instance,
            m.before_kib as f64 / 1024.0,
            m.after_kib as f64 / 1024.0,
            m.sockets
        );
    }
    if let (Some(after), Some(peak)) = (rss_after, peak) {
        println!(
            "RSS {instance} after the runs, sockets open: {:.1} MiB (peak {:.1} MiB)",
            after as f64 / 1024.0,
            peak as f64 / 1024.0
        );
    }
    if !rec.closed.is_empty() {
        println!("{} sockets closed by the server, e.g. {:?}", rec.closed.len(), rec.closed[0]);
    }
    if !rec.unexpected.is_empty() {
        println!("{} unexpected frames, e.g. {:?}", rec.unexpected.len(), rec.unexpected[0]);
    }
    // Frames of no order placed here (e.g. of a failed checkout).
    let accounted: usize = [&steady, &burst].iter().map(|r| r.received + r.duplicates + r.strays).sum();
    let orphans = rec.notification_count - accounted;
    if orphans > 0 {
        println!("{orphans} order_placed frames of orders this run did not place");
    }
    let clean = [&steady, &burst].iter().all(|r| r.failed == 0 && r.missing == 0 && r.duplicates == 0 && r.strays == 0)
        && orphans == 0
        && rec.closed.is_empty();
    if !clean {
        bail!(
            "notifications were not exactly once to their seller, or orders failed, or sockets were closed (see above)"
        );
    }
    Ok(())
}
