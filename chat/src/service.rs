//! Rooms, membership, persisted messages and their live fan-out.

use crate::error::ChatError;
use crate::hub::DirectFrame;
use crate::hub::{Event, Hub, Origin};
use crate::repo::{self, MessageRow, RoomRow};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use contracts::account::{AccountService, ProfileQuery, PublicProfile};
use contracts::chat::{ChatService, ChatSummary, LiveSockets, UnreadRoom};
use contracts::events::ChatMessagePosted;
use contracts::moderation::{HideOutcome, ModerationTarget, TargetSnapshot};
use contracts::{Page, ServiceError};
use platform::cache::SharedCache;
use platform::clock::{SharedClock, from_db};
use platform::db::{Db, DbError};
use platform::hotcache::HotCache;
use platform::outbox::Outbox;
use platform::pubsub::SharedPubSub;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

/// The pub/sub channel every instance listens on.
pub const EVENTS_CHANNEL: &str = "chat:events";
/// Frames for all sockets of one account (notifications), from any instance.
pub const FRAMES_CHANNEL: &str = "chat:frames";
/// The outbox table of the chat module's events (`chat.message_posted`).
pub const OUTBOX_TABLE: &str = "chat_outbox";
/// The topics the chat module publishes.
pub const EVENT_TOPICS: [&str; 1] = ["chat.message_posted"];
/// An account with a socket on some instance has this cache key, refreshed every
/// [`PRESENCE_REFRESH`] while it stays connected and dropped when its last local socket
/// closes (or after [`PRESENCE_TTL`] when its instance died).
const PRESENCE_TTL: std::time::Duration = std::time::Duration::from_secs(60);
const PRESENCE_REFRESH: std::time::Duration = std::time::Duration::from_secs(20);
/// Characters of a message body carried by its event (notification previews).
const PREVIEW_CHARS: usize = 100;

fn presence_key(account_id: i64) -> String {
    format!("chat:online:{account_id}")
}

/// The hot-cache tag of everything cached for one account (its unread summaries): every
/// change to what the account's unread summary shows names the account.
fn account_tag(account_id: i64) -> String {
    format!("chat:account:{account_id}")
}
pub const MAX_BODY_CHARS: usize = 4000;
pub const MAX_MEMBERS: usize = 100;
/// Rooms listed by `GET /chat/rooms` (the most recently active).
const ROOM_LIST_LIMIT: i64 = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: i64,
    pub room_id: i64,
    pub sender_id: i64,
    /// `""` once hidden by moderation.
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Hidden by moderation: the message keeps its place, its body is gone.
    pub hidden: bool,
}

impl From<MessageRow> for Message {
    fn from(m: MessageRow) -> Self {
        Message {
            id: m.id,
            room_id: m.room_id,
            sender_id: m.sender_id,
            body: if m.hidden { String::new() } else { m.body },
            created_at: from_db(m.created_at),
            hidden: m.hidden,
        }
    }
}

/// An account the caller blocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Block {
    pub user_id: i64,
    pub name: String,
    pub role: contracts::Role,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Room {
    pub id: i64,
    pub name: Option<String>,
    /// True for a 1:1 room (always exactly two members).
    pub direct: bool,
    pub members: Vec<PublicProfile>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoomSummary {
    pub id: i64,
    pub name: Option<String>,
    pub direct: bool,
    pub members: Vec<PublicProfile>,
    pub last_message: Option<Message>,
    pub unread_count: i64,
    pub last_activity_at: DateTime<Utc>,
}

/// A trimmed message body of 1..=4000 characters.
pub fn check_body(raw: &str) -> Result<String, ChatError> {
    let body = raw.trim();
    let n = body.chars().count();
    if !(1..=MAX_BODY_CHARS).contains(&n) {
        return Err(ChatError::invalid("body", "must be 1 to 4000 characters"));
    }
    Ok(body.to_string())
}

pub struct Chat {
    db: Db,
    outbox: Outbox,
    accounts: Arc<dyn AccountService>,
    pubsub: SharedPubSub,
    cache: SharedCache,
    hub: Arc<Hub>,
    clock: SharedClock,
    /// The feed's unread summaries from memory (see `platform::hotcache`); none: always read.
    hot: Option<Arc<HotCache>>,
}

impl Chat {
    pub fn new(
        db: Db,
        outbox: Outbox,
        accounts: Arc<dyn AccountService>,
        pubsub: SharedPubSub,
        cache: SharedCache,
        clock: SharedClock,
    ) -> Self {
        Chat { db, outbox, accounts, pubsub, cache, hub: Arc::new(Hub::new()), clock, hot: None }
    }

    /// Serves [`ChatService::unread_summary`] from `hot` when it may be trusted.
    pub fn with_hot_cache(mut self, hot: Arc<HotCache>) -> Self {
        self.hot = Some(hot);
        self
    }

    /// After a commit that changed what these accounts' unread summaries show: dropped on
    /// every instance before the caller answers.
    async fn summaries_changed(&self, accounts: impl IntoIterator<Item = i64>) {
        if let Some(hot) = &self.hot {
            let names: Vec<String> = accounts.into_iter().map(account_tag).collect();
            hot.invalidate(&names).await;
        }
    }

    /// Marks the account present (it just opened a socket here).
    pub async fn socket_opened(&self, account_id: i64) {
        if let Err(e) = self.cache.set(&presence_key(account_id), "1", PRESENCE_TTL).await {
            tracing::warn!(error = %e, account_id, "could not record chat presence");
        }
    }

    /// Drops the account's presence when its last socket on this instance closed; another
    /// instance holding a socket of it sets it again within `PRESENCE_REFRESH`.
    pub async fn socket_closed(&self, account_id: i64) {
        if !self.hub.has_local_socket(account_id)
            && let Err(e) = self.cache.delete(&presence_key(account_id)).await
        {
            tracing::warn!(error = %e, account_id, "could not clear chat presence");
        }
    }

    async fn refresh_presence(&self) {
        for account_id in self.hub.local_accounts() {
            self.socket_opened(account_id).await;
        }
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Forwards published chat events to this instance's sockets until `shutdown`.
    pub async fn run_fanout(self: Arc<Self>, shutdown: CancellationToken) {
        let mut events = self.pubsub.subscribe(EVENTS_CHANNEL);
        let mut frames = self.pubsub.subscribe(FRAMES_CHANNEL);
        let mut reconnections = self.pubsub.reconnections();
        let mut presence = tokio::time::interval(PRESENCE_REFRESH);
        presence.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                received = frames.recv() => match received {
                    Ok(raw) => match serde_json::from_str::<DirectFrame>(&raw) {
                        Ok(direct) => self.hub.deliver_frame(direct.account_id, &direct.frame),
                        Err(e) => tracing::warn!(error = %e, "unreadable direct frame"),
                    },
                    // Missed frames are notifications: sockets catch up with the inbox on resync.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => self.hub.resync_all(),
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = presence.tick() => self.refresh_presence().await,
                received = events.recv() => match received {
                    Ok(raw) => match serde_json::from_str::<Event>(&raw) {
                        Ok(event) => self.hub.deliver(&event),
                        Err(e) => tracing::warn!(error = %e, "unreadable chat event"),
                    },
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "chat fan-out lagged; asking sockets to resync");
                        self.hub.resync_all();
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                changed = reconnections.changed() => {
                    if changed.is_err() { break }
                    self.hub.resync_all();
                }
                _ = shutdown.cancelled() => break,
            }
        }
    }

    async fn profiles(&self, ids: &[i64]) -> Result<Vec<PublicProfile>, ChatError> {
        let found = self.accounts.profiles(ids).await?;
        let by_id: HashMap<i64, PublicProfile> = found.into_iter().map(|p| (p.id, p)).collect();
        Ok(ids.iter().filter_map(|id| by_id.get(id).cloned()).collect())
    }

    /// Fails with `validation_failed` on `field` naming the ids that are not accounts.
    async fn check_accounts_exist(&self, field: &'static str, ids: &BTreeSet<i64>) -> Result<(), ChatError> {
        let list: Vec<i64> = ids.iter().copied().collect();
        let found: BTreeSet<i64> = self.accounts.profiles(&list).await?.into_iter().map(|p| p.id).collect();
        let unknown: Vec<String> = ids.difference(&found).map(|id| id.to_string()).collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(ChatError::invalid(field, format!("unknown accounts: {}", unknown.join(", "))))
        }
    }

    async fn room_view(&self, row: RoomRow) -> Result<Room, ChatError> {
        let id = row.id;
        let members = self.db.run(move |conn| repo::members(conn, id)).await?;
        Ok(Room {
            id: row.id,
            name: row.name,
            direct: row.direct_key.is_some(),
            members: self.profiles(&members).await?,
            created_at: from_db(row.created_at),
        })
    }

    pub async fn create_room(
        &self,
        creator: i64,
        name: Option<String>,
        member_ids: Vec<i64>,
    ) -> Result<Room, ChatError> {
        let others: BTreeSet<i64> = member_ids.into_iter().filter(|id| *id != creator).collect();
        if others.len() + 1 > MAX_MEMBERS {
            return Err(ChatError::invalid("member_ids", format!("a room has at most {MAX_MEMBERS} members")));
        }
        self.check_accounts_exist("member_ids", &others).await?;
        let now = self.clock.now();
        let members: Vec<i64> = std::iter::once(creator).chain(others).collect();
        let added = members.clone();
        let id = self
            .db
            .tx(move |conn| repo::create_room(conn, name.as_deref(), None, creator, &members, now))
            .await?
            .ok_or_else(|| ChatError::Internal(anyhow::anyhow!("room not created")))?;
        self.summaries_changed(added).await;
        let row = self.db.run(move |conn| repo::room(conn, id)).await?.ok_or(ChatError::NotFound)?;
        self.room_view(row).await
    }

    /// The 1:1 room of the two accounts, created on first use; `(room, created)`.
    pub async fn open_direct(&self, me: i64, other: i64) -> Result<(Room, bool), ChatError> {
        if me == other {
            return Err(ChatError::invalid("user_id", "cannot open a direct room with yourself"));
        }
        if self.accounts.profile(other).await?.is_none() {
            return Err(ChatError::NotFound);
        }
        if self.db.run(move |conn| repo::is_blocked(conn, other, me)).await? {
            return Err(ChatError::Blocked);
        }
        let key = repo::direct_key(me, other);
        let now = self.clock.now();
        let (id, created) = self
            .db
            .tx(move |conn| {
                if let Some(id) = repo::find_direct(conn, &key)? {
                    return Ok::<_, ChatError>((id, false));
                }
                match repo::create_room(conn, None, Some(&key), me, &[me, other], now)? {
                    Some(id) => Ok((id, true)),
                    // Created concurrently by the other side: use theirs.
                    None => Ok((repo::find_direct(conn, &key)?.ok_or(ChatError::NotFound)?, false)),
                }
            })
            .await?;
        if created {
            self.summaries_changed([me, other]).await;
        }
        let row = self.db.run(move |conn| repo::room(conn, id)).await?.ok_or(ChatError::NotFound)?;
        Ok((self.room_view(row).await?, created))
    }

    pub async fn room(&self, account_id: i64, room_id: i64) -> Result<Room, ChatError> {
        let row = self
            .db
            .run(move |conn| repo::room_of_member(conn, room_id, account_id))
            .await?
            .ok_or(ChatError::NotFound)?;
        self.room_view(row).await
    }

    pub async fn members(&self, account_id: i64, room_id: i64) -> Result<Vec<PublicProfile>, ChatError> {
        Ok(self.room(account_id, room_id).await?.members)
    }

    pub async fn invite(&self, account_id: i64, room_id: i64, user_ids: Vec<i64>) -> Result<Room, ChatError> {
        let row = self
            .db
            .run(move |conn| repo::room_of_member(conn, room_id, account_id))
            .await?
            .ok_or(ChatError::NotFound)?;
        if row.direct_key.is_some() {
            return Err(ChatError::invalid("user_ids", "a direct room always has exactly two members"));
        }
        let wanted: BTreeSet<i64> = user_ids.into_iter().collect();
        if wanted.is_empty() {
            return Err(ChatError::invalid("user_ids", "must name at least one account"));
        }
        self.check_accounts_exist("user_ids", &wanted).await?;
        let now = self.clock.now();
        let new = self
            .db
            .tx(move |conn| {
                let current: BTreeSet<i64> = repo::members(conn, room_id)?.into_iter().collect();
                if current.union(&wanted).count() > MAX_MEMBERS {
                    return Err(ChatError::invalid("user_ids", format!("a room has at most {MAX_MEMBERS} members")));
                }
                let new: Vec<i64> = wanted.difference(&current).copied().collect();
                repo::add_members(conn, room_id, &new, now)?;
                Ok(new)
            })
            .await?;
        // The room (and its unread messages) now shows in the new members' summaries.
        self.summaries_changed(new).await;
        self.room(account_id, room_id).await
    }

    /// Persists the message, then publishes it to every instance. A failed publish loses
    /// no message: it is stored, and clients catch up with `?after=`.
    #[tracing::instrument(skip(self, body))]
    pub async fn post(&self, sender: i64, room_id: i64, body: &str, socket: Option<u64>) -> Result<Message, ChatError> {
        let body = check_body(body)?;
        let now = self.clock.now();
        let outbox = self.outbox.clone();
        let (row, everyone, members) = self
            .db
            .tx(move |conn| {
                if !repo::is_member(conn, room_id, sender)? {
                    return Err(ChatError::NotFound);
                }
                let row = repo::insert_message(conn, room_id, sender, &body, now)?;
                let members = repo::members(conn, room_id)?;
                let room_name = repo::room(conn, room_id)?.and_then(|r| r.name);
                let event = ChatMessagePosted {
                    message_id: row.id,
                    room_id,
                    sender_id: sender,
                    room_name,
                    preview: row.body.chars().take(PREVIEW_CHARS).collect(),
                    members: members.clone(),
                };
                outbox.publish(conn, now, &event)?;
                // Members who blocked the sender do not get it live.
                let blockers = repo::blockers_of(conn, sender, &members)?;
                let live = members.iter().copied().filter(|m| !blockers.contains(m)).collect::<Vec<i64>>();
                Ok((row, members, live))
            })
            .await?;
        self.outbox.wake();
        let message = Message::from(row);
        metrics::counter!("chat_messages_total").increment(1);
        let event = Event {
            message: serde_json::to_value(&message).map_err(|e| ChatError::Internal(e.into()))?,
            members,
            origin: socket.map(|s| Origin { instance: self.hub.instance().to_string(), socket: s }),
            frame: None,
        };
        self.publish(&event).await;
        // Every member's unread counts, room order or preview changed (blockers' too: the
        // room's preview and activity time).
        self.summaries_changed(everyone).await;
        Ok(message)
    }

    /// To every instance's sockets; locally only when pub/sub is down.
    async fn publish(&self, event: &Event) {
        match serde_json::to_string(event) {
            Ok(raw) => {
                if let Err(e) = self.pubsub.publish(EVENTS_CHANNEL, &raw).await {
                    tracing::warn!(error = %e, "chat publish failed; delivering locally only");
                    self.hub.deliver(event);
                }
            }
            Err(e) => tracing::warn!(error = %e, "chat event not serialisable"),
        }
    }

    /// Blocks `other` for `me` (again: no change); unknown account 404, yourself 400.
    pub async fn block(&self, me: i64, other: i64) -> Result<Block, ChatError> {
        if me == other {
            return Err(ChatError::invalid("user_id", "cannot block yourself"));
        }
        let profile = self.accounts.profile(other).await?.ok_or(ChatError::NotFound)?;
        let now = self.clock.now();
        let since = self.db.tx(move |conn| repo::block(conn, me, other, now)).await?;
        // The blocked account's messages no longer count as unread for `me`.
        self.summaries_changed([me]).await;
        Ok(Block { user_id: profile.id, name: profile.name, role: profile.role, created_at: from_db(since) })
    }

    pub async fn unblock(&self, me: i64, other: i64) -> Result<(), ChatError> {
        self.db.tx(move |conn| repo::unblock(conn, me, other)).await?;
        self.summaries_changed([me]).await;
        Ok(())
    }

    pub async fn blocks(&self, me: i64) -> Result<Vec<Block>, ChatError> {
        let rows = self.db.run(move |conn| repo::blocks_of(conn, me)).await?;
        let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
        let profiles: HashMap<i64, PublicProfile> =
            self.accounts.profiles(&ids).await?.into_iter().map(|p| (p.id, p)).collect();
        Ok(rows
            .into_iter()
            .filter_map(|(id, since)| {
                profiles.get(&id).map(|p| Block {
                    user_id: id,
                    name: p.name.clone(),
                    role: p.role,
                    created_at: from_db(since),
                })
            })
            .collect())
    }

    /// Hides a message (moderation): its body is no longer shown, and every member's sockets
    /// get `{"type":"message_hidden","room_id","message_id"}`, on every instance.
    pub async fn hide_message(&self, message_id: i64) -> Result<HideOutcome, ChatError> {
        let found = self
            .db
            .tx(move |conn| {
                let Some(row) = repo::message(conn, message_id)? else { return Ok::<_, ChatError>(None) };
                let changed = repo::hide_message(conn, message_id)?;
                Ok(Some((row.room_id, changed, repo::members(conn, row.room_id)?)))
            })
            .await?;
        let Some((room_id, changed, members)) = found else { return Ok(HideOutcome::Gone) };
        // The preview of a hidden last message is gone.
        self.summaries_changed(members.clone()).await;
        // Announced again on a repeated hide too: a socket that missed it hears it now.
        let event = Event {
            message: serde_json::Value::Null,
            members,
            origin: None,
            frame: Some(serde_json::json!({ "type": "message_hidden", "room_id": room_id, "message_id": message_id })),
        };
        self.publish(&event).await;
        Ok(if changed { HideOutcome::Hidden } else { HideOutcome::AlreadyHidden })
    }

    /// `before` mode: newest first. `after` mode: oldest first. `limit + 1` rows are read so
    /// the caller can tell whether more exist.
    pub async fn messages(
        &self,
        account_id: i64,
        room_id: i64,
        before: Option<i64>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Message>, ChatError> {
        let rows = self
            .db
            .run(move |conn| {
                if !repo::is_member(conn, room_id, account_id)? {
                    return Err(ChatError::NotFound);
                }
                Ok(match after {
                    Some(after) => repo::messages_after(conn, room_id, after, limit)?,
                    None => repo::messages_before(conn, room_id, before, limit)?,
                })
            })
            .await?;
        Ok(rows.into_iter().map(Message::from).collect())
    }

    pub async fn mark_read(&self, account_id: i64, room_id: i64, message_id: i64) -> Result<(), ChatError> {
        self.db
            .tx(move |conn| {
                if !repo::is_member(conn, room_id, account_id)? {
                    return Err(ChatError::NotFound);
                }
                if !repo::message_in_room(conn, room_id, message_id)? {
                    return Err(ChatError::invalid("message_id", "is not a message of this room"));
                }
                Ok(repo::mark_read(conn, room_id, account_id, message_id)?)
            })
            .await?;
        self.summaries_changed([account_id]).await;
        Ok(())
    }

    pub async fn rooms(&self, account_id: i64) -> Result<Vec<RoomSummary>, ChatError> {
        let (rooms, members, unread, last) = self
            .db
            .run(move |conn| {
                let rooms = repo::rooms_of(conn, account_id, ROOM_LIST_LIMIT)?;
                let ids: Vec<i64> = rooms.iter().map(|r| r.id).collect();
                let members = repo::members_of(conn, &ids)?;
                let unread = repo::unread_counts(conn, account_id, &ids)?;
                let last_ids: Vec<i64> = rooms.iter().filter_map(|r| r.last_message_id).collect();
                let last = repo::messages_by_id(conn, &last_ids)?;
                Ok::<_, ChatError>((rooms, members, unread, last))
            })
            .await?;
        let everyone: Vec<i64> = members.values().flatten().copied().collect::<BTreeSet<_>>().into_iter().collect();
        let profiles: HashMap<i64, PublicProfile> =
            self.profiles(&everyone).await?.into_iter().map(|p| (p.id, p)).collect();
        Ok(rooms
            .into_iter()
            .map(|r| RoomSummary {
                id: r.id,
                direct: r.direct_key.is_some(),
                members: members.get(&r.id).into_iter().flatten().filter_map(|id| profiles.get(id).cloned()).collect(),
                last_message: r.last_message_id.and_then(|id| last.get(&id).cloned()).map(Message::from),
                unread_count: unread.get(&r.id).copied().unwrap_or(0),
                last_activity_at: from_db(r.last_activity_at),
                name: r.name,
            })
            .collect())
    }

    pub async fn search_users(&self, query: ProfileQuery) -> Result<Page<PublicProfile>, ChatError> {
        Ok(self.accounts.search_profiles(query).await?)
    }
}

#[async_trait]
impl ChatService for Chat {
    /// The feed's view: counts and previews only, so no member lists or profile look-ups
    /// (the room list's cost) — one database round of three small queries.
    ///
    /// From memory when this instance may trust it: tagged with the account, which every
    /// writer above names after its commit.
    async fn unread_summary(&self, account_id: i64, limit: u32) -> Result<ChatSummary, ServiceError> {
        let key = format!("chat:unread:{account_id}:{limit}");
        if let Some(hot) = &self.hot
            && let Some(hit) = hot.get(&key)
            && let Ok(summary) = serde_json::from_slice::<ChatSummary>(&hit)
        {
            return Ok(summary);
        }
        let ticket = self.hot.as_ref().map(|hot| hot.ticket());
        let summary = self.read_unread_summary(account_id, limit).await?;
        if let (Some(hot), Some(ticket)) = (&self.hot, ticket)
            && let Ok(json) = serde_json::to_vec(&summary)
        {
            hot.put(ticket, &key, vec![account_tag(account_id)], actix_web::web::Bytes::from(json));
        }
        Ok(summary)
    }
}

impl Chat {
    async fn read_unread_summary(&self, account_id: i64, limit: u32) -> Result<ChatSummary, ServiceError> {
        let (unread, last) = self
            .db
            .run(move |conn| {
                let rooms = repo::rooms_of(conn, account_id, ROOM_LIST_LIMIT)?;
                let ids: Vec<i64> = rooms.iter().map(|r| r.id).collect();
                let counts = repo::unread_counts(conn, account_id, &ids)?;
                // Most recent activity first, as the room list orders them.
                let unread: Vec<(RoomRow, i64)> =
                    rooms.into_iter().filter_map(|r| counts.get(&r.id).map(|n| (r, *n))).collect();
                let last_ids: Vec<i64> =
                    unread.iter().take(limit as usize).filter_map(|(r, _)| r.last_message_id).collect();
                let last = repo::messages_by_id(conn, &last_ids)?;
                Ok::<_, DbError>((unread, last))
            })
            .await?;
        Ok(ChatSummary {
            unread_rooms: unread.len() as i64,
            unread_messages: unread.iter().map(|(_, n)| n).sum(),
            rooms: unread
                .into_iter()
                .take(limit as usize)
                .map(|(r, n)| UnreadRoom {
                    room_id: r.id,
                    unread_count: n,
                    last_message_preview: r
                        .last_message_id
                        .and_then(|id| last.get(&id))
                        .map(|m| m.body.chars().take(80).collect()),
                    last_activity_at: from_db(r.last_activity_at),
                    name: r.name,
                })
                .collect(),
        })
    }
}

#[async_trait]
impl LiveSockets for Chat {
    async fn online(&self, account_ids: &[i64]) -> Result<Vec<i64>, ServiceError> {
        let mut online = Vec::new();
        for &id in account_ids {
            let present = match self.cache.get(&presence_key(id)).await {
                Ok(value) => value.is_some(),
                // Without the cache only this instance's sockets are known.
                Err(e) => {
                    tracing::warn!(error = %e, "chat presence unknown; using local sockets");
                    false
                }
            };
            if present || self.hub.has_local_socket(id) {
                online.push(id);
            }
        }
        Ok(online)
    }

    async fn push_frame(&self, account_id: i64, frame: String) -> Result<(), ServiceError> {
        let direct = DirectFrame { account_id, frame };
        let raw = serde_json::to_string(&direct).map_err(|e| ServiceError::Internal(e.to_string()))?;
        if let Err(e) = self.pubsub.publish(FRAMES_CHANNEL, &raw).await {
            tracing::warn!(error = %e, account_id, "frame publish failed; delivering locally only");
            self.hub.deliver_frame(account_id, &direct.frame);
        }
        Ok(())
    }
}

fn service_error(err: ChatError) -> ServiceError {
    match err {
        ChatError::Db(e) => e.into(),
        ChatError::Accounts(e) => e,
        other => ServiceError::Internal(other.to_string()),
    }
}

/// Chat messages as moderation sees them: reportable by members of their room only.
#[async_trait]
impl ModerationTarget for Chat {
    async fn snapshot(&self, viewer: i64, message_id: i64) -> Result<Option<TargetSnapshot>, ServiceError> {
        let row = self
            .db
            .run(move |conn| {
                let Some(row) = repo::message(conn, message_id)? else { return Ok::<_, DbError>(None) };
                Ok(repo::is_member(conn, row.room_id, viewer)?.then_some(row))
            })
            .await?;
        Ok(row.map(|row| {
            let owner_id = row.sender_id;
            let message = Message::from(row);
            TargetSnapshot {
                owner_id,
                preview: serde_json::json!({
                    "room_id": message.room_id, "sender_id": message.sender_id, "body": message.body,
                    "created_at": message.created_at,
                }),
            }
        }))
    }

    async fn hide(&self, message_id: i64) -> Result<HideOutcome, ServiceError> {
        self.hide_message(message_id).await.map_err(service_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_trimmed_and_bounded_in_characters() {
        assert_eq!(check_body("  hi  ").unwrap(), "hi");
        assert!(check_body("   ").is_err());
        assert!(check_body(&"가".repeat(4000)).is_ok());
        assert!(check_body(&"a".repeat(4001)).is_err());
    }
}
