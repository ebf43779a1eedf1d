//! An in-process cache of rendered answers (serialized JSON), for hot reads that must not
//! touch the database or Redis, kept true across instances by invalidations over
//! [`pubsub`](crate::pubsub). The database stays the truth: a miss reads it, and the cache
//! is trusted only while invalidations are known to arrive.
//!
//! - **Keys and tags.** An entry has a key (`p:42`) and tags (a cart tagged with the products
//!   of its lines); invalidating a name drops the entry with that key and every entry tagged
//!   with it.
//! - **Writers** call [`HotCache::invalidate`] after their transaction committed: the names
//!   are dropped here, published to every instance, and the call returns once its own
//!   message came back through the broker (by then the broker has pushed it to every
//!   subscribed instance), or after [`ECHO_WAIT`].
//! - **Readers** take a [`Ticket`] before reading the database and [`HotCache::put`] the
//!   answer with it; the put is refused when any invalidation arrived in between, so a slow
//!   reader never stores an answer older than an invalidation it has seen.
//! - **When invalidations may be missed, nothing is served from memory:** while the pub/sub
//!   connection is down ([`PubSub::session`](crate::pubsub::PubSub::session) is `None`), after it was re-established (a new
//!   session: entries of the old one are void), when this instance's receiver lagged, and
//!   when no message at all (every instance publishes a heartbeat each
//!   [`HEARTBEAT_INTERVAL`]) arrived for [`STALE_AFTER`] (a broker that hangs without closing
//!   the connection). Entries also expire after the `ttl` given at construction, the bound
//!   on an invalidation lost otherwise (a writer that crashed between its commit and its
//!   publish).
//! - Bounded: at most `capacity` entries; a full cache drops an arbitrary entry per insert.
//! - **Writers that cannot forget** go through a [`HotDb`]: the writes themselves [`note`]
//!   the names they change (in the repo, where the UPDATE is), and [`HotDb::run`]
//!   invalidates what its call noted once the call is over, so no caller up the stack has
//!   to remember to. [`HotDb::read_through`] is the reader's side.

use crate::db::{Db, DbConn, TxError, write_tx};
use crate::pubsub::SharedPubSub;
use actix_web::web::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

/// How often each instance announces itself on the channel.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(500);
/// Without any message for this long, entries are not served (and are void afterwards).
pub const STALE_AFTER: Duration = Duration::from_millis(2000);
/// How long a writer waits for its own invalidation to come back.
pub const ECHO_WAIT: Duration = Duration::from_millis(250);

struct Entry {
    body: Bytes,
    tags: Vec<String>,
    generation: u64,
    session: Option<u64>,
    expires: Instant,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, Entry>,
    /// tag -> keys of the entries carrying it.
    tagged: HashMap<String, HashSet<String>>,
}

impl Entries {
    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.map.remove(key) {
            for tag in &entry.tags {
                if let Some(keys) = self.tagged.get_mut(tag) {
                    keys.remove(key);
                    if keys.is_empty() {
                        self.tagged.remove(tag);
                    }
                }
            }
        }
    }

    fn invalidate(&mut self, name: &str) {
        self.remove(name);
        if let Some(keys) = self.tagged.remove(name) {
            for key in keys {
                self.remove(&key);
            }
        }
    }
}

/// What a reader holds between its database read and its [`HotCache::put`].
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    epoch: u64,
    generation: u64,
    session: Option<u64>,
}

pub struct HotCache {
    channel: String,
    instance: String,
    pubsub: SharedPubSub,
    ttl: Duration,
    capacity: usize,
    entries: RwLock<Entries>,
    /// Bumped by every invalidation seen here (local or remote): refuses puts in flight.
    epoch: AtomicU64,
    /// Bumped when everything must be forgotten (lag, silence): voids every entry.
    generation: AtomicU64,
    /// When the last message arrived, in nanoseconds since `started`; 0: never.
    last_message: AtomicU64,
    started: Instant,
    sequence: AtomicU64,
    echoed: watch::Sender<u64>,
    hits: AtomicU64,
}

fn lock_read(lock: &RwLock<Entries>) -> std::sync::RwLockReadGuard<'_, Entries> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn lock_write(lock: &RwLock<Entries>) -> std::sync::RwLockWriteGuard<'_, Entries> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl HotCache {
    /// `name` names the channel (`hot:{name}`); `ttl` bounds an entry's life whatever happens.
    pub fn new(name: &str, pubsub: SharedPubSub, ttl: Duration, capacity: usize) -> Arc<Self> {
        // Tells this instance's own messages from the others' (base64url: no ':' or ' ').
        let instance: String = crate::crypto::random_token()
            .unwrap_or_else(|_| format!("pid{}", std::process::id()))
            .chars()
            .take(16)
            .collect();
        Arc::new(HotCache {
            channel: format!("hot:{name}"),
            instance,
            pubsub,
            ttl,
            capacity: capacity.max(1),
            entries: RwLock::default(),
            epoch: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            last_message: AtomicU64::new(0),
            started: Instant::now(),
            sequence: AtomicU64::new(0),
            echoed: watch::channel(0).0,
            hits: AtomicU64::new(0),
        })
    }

    fn now_nanos(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX).max(1)
    }

    /// Whether invalidations are known to arrive right now.
    fn fresh(&self) -> bool {
        let last = self.last_message.load(Ordering::SeqCst);
        last > 0 && self.now_nanos().saturating_sub(last) < STALE_AFTER.as_nanos() as u64
    }

    /// Answers served from memory so far (tests use it to know the cache was warm).
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// The cached answer for `key`, if it may be trusted.
    pub fn get(&self, key: &str) -> Option<Bytes> {
        if !self.fresh() {
            return None;
        }
        let session = self.pubsub.session()?;
        let generation = self.generation.load(Ordering::SeqCst);
        let entries = lock_read(&self.entries);
        let entry = entries.map.get(key)?;
        let valid = entry.generation == generation && entry.session == Some(session) && entry.expires > Instant::now();
        if !valid {
            return None;
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(entry.body.clone())
    }

    /// Taken before reading the database for an answer to [`HotCache::put`].
    pub fn ticket(&self) -> Ticket {
        Ticket {
            epoch: self.epoch.load(Ordering::SeqCst),
            generation: self.generation.load(Ordering::SeqCst),
            session: self.pubsub.session(),
        }
    }

    /// Stores `body` under `key`, unless something was invalidated since `ticket` was taken
    /// or invalidations are not known to arrive.
    pub fn put(&self, ticket: Ticket, key: &str, tags: Vec<String>, body: Bytes) {
        if ticket.session.is_none() || !self.fresh() {
            return;
        }
        let mut entries = lock_write(&self.entries);
        // Checked under the lock invalidations take: none can slip in between.
        let unchanged = self.epoch.load(Ordering::SeqCst) == ticket.epoch
            && self.generation.load(Ordering::SeqCst) == ticket.generation
            && self.pubsub.session() == ticket.session;
        if !unchanged {
            return;
        }
        entries.remove(key);
        if entries.map.len() >= self.capacity
            && let Some(victim) = entries.map.keys().next().cloned()
        {
            entries.remove(&victim);
        }
        for tag in &tags {
            entries.tagged.entry(tag.clone()).or_default().insert(key.to_string());
        }
        let entry = Entry {
            body,
            tags,
            generation: ticket.generation,
            session: ticket.session,
            expires: Instant::now() + self.ttl,
        };
        entries.map.insert(key.to_string(), entry);
    }

    fn drop_names<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        let mut entries = lock_write(&self.entries);
        self.epoch.fetch_add(1, Ordering::SeqCst);
        for name in names {
            entries.invalidate(name);
        }
    }

    fn forget_everything(&self) {
        let mut entries = lock_write(&self.entries);
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
        *entries = Entries::default();
    }

    /// Drops `names` (keys, and the entries tagged with them) here and on every instance.
    /// Call it after the change committed. A broker that is down is not an error: the other
    /// instances then serve nothing from memory until it is back (see the module docs).
    pub async fn invalidate(&self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        self.drop_names(names.iter().map(String::as_str));
        let seq = self.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        let message = format!("{}:{seq} {}", self.instance, names.join(" "));
        let mut echoed = self.echoed.subscribe();
        if let Err(e) = self.pubsub.publish(&self.channel, &message).await {
            tracing::warn!(error = %e, channel = %self.channel, "cache invalidation not published");
            return;
        }
        let _ = tokio::time::timeout(ECHO_WAIT, echoed.wait_for(|seen| *seen >= seq)).await;
    }

    fn receive(&self, message: &str) {
        let now = self.now_nanos();
        let last = self.last_message.swap(now, Ordering::SeqCst);
        if last > 0 && now.saturating_sub(last) >= STALE_AFTER.as_nanos() as u64 {
            // A silence: invalidations may have been lost in it.
            self.forget_everything();
        }
        let (origin, names) = message.split_once(' ').unwrap_or((message, ""));
        let (instance, seq) = origin.rsplit_once(':').unwrap_or((origin, "0"));
        if instance == self.instance {
            // Ours, already applied here: it has made the round trip.
            if let Ok(seq) = seq.parse::<u64>() {
                self.echoed.send_if_modified(|seen| {
                    let newer = seq > *seen;
                    if newer {
                        *seen = seq;
                    }
                    newer
                });
            }
            return;
        }
        if !names.is_empty() {
            self.drop_names(names.split(' ').filter(|n| !n.is_empty()));
        }
    }

    /// Receives invalidations and heartbeats, and publishes this instance's heartbeat, until
    /// `shutdown`. Until its first message arrives nothing is served from memory.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut messages = self.pubsub.subscribe(&self.channel);
        let heartbeat = format!("{}:0", self.instance);
        let mut tick = tokio::time::interval(HEARTBEAT_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    if let Err(e) = self.pubsub.publish(&self.channel, &heartbeat).await {
                        tracing::debug!(error = %e, "cache heartbeat not published");
                    }
                }
                message = messages.recv() => match message {
                    Ok(message) => self.receive(&message),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, channel = %self.channel, "cache invalidations lagged; forgetting everything");
                        self.forget_everything();
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        // Stopped: nothing is trusted any more.
        self.last_message.store(0, Ordering::SeqCst);
        self.forget_everything();
    }
}

thread_local! {
    /// The names the current [`HotDb::run`] call's writes changed; `None` outside one.
    static NOTED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Called by a write that changes what the entries named `name` show. Must run inside a
/// [`HotDb::run`] call: one outside is a bug (debug builds panic; release builds log it and
/// the cache's TTL bounds what is served stale).
pub fn note(name: String) {
    NOTED.with(|noted| match noted.borrow_mut().as_mut() {
        Some(names) => names.push(name),
        None => {
            debug_assert!(false, "hotcache::note({name}) outside HotDb::run: the entries stay cached");
            tracing::error!(%name, "cached data written outside HotDb::run");
        }
    });
}

/// A module's database handle that invalidates, on every instance, what its calls' writes
/// [`note`]d, before the call returns. The invalidation is spawned from the blocking thread
/// itself: a caller that stopped waiting (a timeout, a dropped request) cannot skip it.
/// Rolled-back writes are invalidated too (dropping an entry is always safe).
#[derive(Clone)]
pub struct HotDb {
    db: Db,
    /// None: nothing kept in memory, every read goes to the database.
    hot: Option<Arc<HotCache>>,
}

impl HotDb {
    pub fn new(db: Db, hot: Option<Arc<HotCache>>) -> Self {
        HotDb { db, hot }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The same, without the operation timeout (see [`Db::unbounded`]).
    pub fn unbounded(&self) -> HotDb {
        HotDb { db: self.db.unbounded(), hot: self.hot.clone() }
    }

    /// [`Db::run`], then the invalidation of what `f` noted.
    pub async fn run<T, E, F>(&self, mut f: F) -> Result<T, E>
    where
        F: FnMut(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: TxError,
    {
        // One per round: `Db::run` may call `f` again (a connection lost mid-way).
        let invalidations: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let spawned = invalidations.clone();
        let hot = self.hot.clone();
        let runtime = tokio::runtime::Handle::current();
        let result = self
            .db
            .run(move |conn| {
                NOTED.with(|noted| *noted.borrow_mut() = Some(Vec::new()));
                let result = f(conn);
                let mut names = NOTED.with(|noted| noted.borrow_mut().take()).unwrap_or_default();
                if let (Some(hot), false) = (&hot, names.is_empty()) {
                    names.sort_unstable();
                    names.dedup();
                    let hot = hot.clone();
                    let task = runtime.spawn(async move { hot.invalidate(&names).await });
                    spawned.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(task);
                }
                result
            })
            .await;
        let tasks = std::mem::take(&mut *invalidations.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for task in tasks {
            let _ = task.await;
        }
        result
    }

    /// [`Db::tx`] through [`HotDb::run`].
    pub async fn tx<T, E, F>(&self, mut f: F) -> Result<T, E>
    where
        F: FnMut(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: TxError,
    {
        self.run(move |conn| write_tx(conn, &mut f)).await
    }

    /// `key`'s value from memory when this instance may trust it, else `read`'s (from the
    /// database), kept under `key` with the tags `tags` gives it.
    pub async fn read_through<T, E, Fut>(
        &self,
        key: String,
        tags: impl FnOnce(&T) -> Vec<String>,
        read: impl FnOnce() -> Fut,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        Fut: Future<Output = Result<T, E>>,
    {
        let Some(hot) = &self.hot else {
            return read().await;
        };
        if let Some(hit) = hot.get(&key)
            && let Ok(value) = serde_json::from_slice::<T>(&hit)
        {
            return Ok(value);
        }
        let ticket = hot.ticket();
        let value = read().await?;
        if let Ok(json) = serde_json::to_vec(&value) {
            hot.put(ticket, &key, tags(&value), Bytes::from(json));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pubsub::MemoryPubSub;

    fn body(s: &str) -> Bytes {
        Bytes::from(s.to_string())
    }

    async fn running(pubsub: SharedPubSub) -> (Arc<HotCache>, CancellationToken) {
        let cache = HotCache::new("test", pubsub, Duration::from_secs(60), 100);
        let stop = CancellationToken::new();
        tokio::spawn(cache.clone().run(stop.clone()));
        for _ in 0..200 {
            if cache.fresh() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(cache.fresh(), "the first heartbeat never arrived");
        (cache, stop)
    }

    #[tokio::test]
    async fn nothing_is_served_before_the_first_message() {
        let cache = HotCache::new("test", MemoryPubSub::new(), Duration::from_secs(60), 100);
        let ticket = cache.ticket();
        cache.put(ticket, "k", vec![], body("v"));
        assert!(cache.get("k").is_none());
    }

    #[tokio::test]
    async fn an_invalidation_on_one_instance_drops_keys_and_tags_on_the_other() {
        let pubsub: SharedPubSub = MemoryPubSub::new();
        let (a, _stop_a) = running(pubsub.clone()).await;
        let (b, _stop_b) = running(pubsub.clone()).await;
        b.put(b.ticket(), "p:1", vec![], body("product"));
        b.put(b.ticket(), "c:7", vec!["p:1".into()], body("cart"));
        b.put(b.ticket(), "c:8", vec!["p:2".into()], body("other cart"));
        assert_eq!(b.get("p:1"), Some(body("product")));
        a.invalidate(&["p:1".to_string()]).await;
        // `invalidate` returned after its own echo: the same broadcast reached `b` first.
        for _ in 0..100 {
            if b.get("p:1").is_none() {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(b.get("p:1").is_none());
        assert!(b.get("c:7").is_none(), "tagged entries go too");
        assert_eq!(b.get("c:8"), Some(body("other cart")));
    }

    #[tokio::test]
    async fn a_put_that_raced_an_invalidation_is_refused() {
        let (cache, _stop) = running(MemoryPubSub::new()).await;
        let ticket = cache.ticket();
        cache.invalidate(&["p:1".to_string()]).await;
        cache.put(ticket, "p:1", vec![], body("read before the change"));
        assert!(cache.get("p:1").is_none());
        cache.put(cache.ticket(), "p:1", vec![], body("read after"));
        assert_eq!(cache.get("p:1"), Some(body("read after")));
    }

    #[tokio::test]
    async fn a_stopped_receiver_serves_nothing() {
        let (cache, stop) = running(MemoryPubSub::new()).await;
        cache.put(cache.ticket(), "k", vec![], body("v"));
        assert!(cache.get("k").is_some());
        stop.cancel();
        for _ in 0..200 {
            if cache.get("k").is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(cache.get("k").is_none());
    }

    #[tokio::test]
    async fn capacity_bounds_the_entries() {
        let cache = HotCache::new("test", MemoryPubSub::new(), Duration::from_secs(60), 3);
        cache.last_message.store(cache.now_nanos(), Ordering::SeqCst);
        for i in 0..10 {
            cache.put(cache.ticket(), &format!("k{i}"), vec![format!("t{i}")], body("v"));
        }
        let entries = lock_read(&cache.entries);
        assert_eq!(entries.map.len(), 3);
        assert_eq!(entries.tagged.len(), 3);
    }
}
