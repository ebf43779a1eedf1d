//! A small key-value cache: Redis when `redis.url` is set, in-process otherwise. Callers
//! treat every cache error as a miss (or skip the write): the database stays the truth.

use crate::config::RedisSettings;
use async_trait::async_trait;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, thiserror::Error)]
#[error("cache unavailable: {0}")]
pub struct CacheError(pub String);

impl From<redis::RedisError> for CacheError {
    fn from(err: redis::RedisError) -> Self {
        CacheError(err.to_string())
    }
}

#[async_trait]
pub trait Cache: Send + Sync + 'static {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError>;
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError>;
    async fn delete(&self, key: &str) -> Result<(), CacheError>;
    /// Increments a counter, starting its `ttl` on the first increment; returns the new value.
    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, CacheError>;
    /// Time left before `key` expires; `None` if it does not exist or never expires.
    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError>;
    async fn ping(&self) -> Result<(), CacheError>;
    /// `redis` or `memory`.
    fn kind(&self) -> &'static str;
    /// Stores `value` unless the entry holds a higher version (atomically): a slow writer
    /// holding old data can never overwrite newer data. `Ok(false)` when it was older.
    async fn set_versioned(&self, key: &str, version: i64, value: &str, ttl: Duration) -> Result<bool, CacheError>;
    /// What [`Cache::set_versioned`] stored.
    async fn get_versioned(&self, key: &str) -> Result<Option<(i64, String)>, CacheError>;
}

fn split_versioned(raw: &str) -> Option<(i64, String)> {
    let (version, value) = raw.split_once('|')?;
    Some((version.parse().ok()?, value.to_string()))
}

const SET_IF_NEWER: &str = r"
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, '|', 1, true)
  if sep then
    local version = tonumber(string.sub(current, 1, sep - 1))
    if version and version > tonumber(ARGV[1]) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1
";

pub type SharedCache = Arc<dyn Cache>;

/// Redis through a connection manager that reconnects by itself; commands time out quickly
/// so that a Redis outage costs a request milliseconds, not seconds.
pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
    set_if_newer: redis::Script,
}

impl RedisCache {
    pub fn new(settings: &RedisSettings, url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_millis(settings.command_timeout_ms)))
            .set_connection_timeout(Some(Duration::from_millis(settings.connect_timeout_ms)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        // Lazy: the app starts (and serves from the database) while Redis is down.
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(RedisCache { conn, prefix: settings.key_prefix.clone(), set_if_newer: redis::Script::new(SET_IF_NEWER) })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        Ok(self.conn.clone().get(self.key(key)).await?)
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let _: () = self.conn.clone().pset_ex(self.key(key), value, ms).await?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let _: i64 = self.conn.clone().del(self.key(key)).await?;
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, CacheError> {
        let key = self.key(key);
        let (value,): (i64,) = redis::pipe()
            .atomic()
            .incr(&key, 1)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(ttl.as_secs().max(1))
            .arg("NX")
            .ignore()
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(value)
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        let ms: i64 = self.conn.clone().pttl(self.key(key)).await?;
        Ok((ms > 0).then(|| Duration::from_millis(ms as u64)))
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let _: String = redis::cmd("PING").query_async(&mut self.conn.clone()).await?;
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn set_versioned(&self, key: &str, version: i64, value: &str, ttl: Duration) -> Result<bool, CacheError> {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let stored: i64 = self
            .set_if_newer
            .key(self.key(key))
            .arg(version)
            .arg(value)
            .arg(ms)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(stored == 1)
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<(i64, String)>, CacheError> {
        Ok(self.get(key).await?.as_deref().and_then(split_versioned))
    }
}

/// The cache of a single instance without Redis. Hand-written rather than a caching crate
/// because it needs Redis's exact semantics (counters whose TTL starts on first increment).
#[derive(Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<String, (String, Option<Instant>)>>,
}

const MEMORY_CACHE_SWEEP_AT: usize = 100_000;

impl MemoryCache {
    pub fn new() -> Arc<Self> {
        Arc::new(MemoryCache::default())
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, (String, Option<Instant>)>) -> T) -> Result<T, CacheError> {
        let mut map = self.entries.lock().map_err(|_| CacheError("memory cache poisoned".into()))?;
        let now = Instant::now();
        if map.len() >= MEMORY_CACHE_SWEEP_AT {
            map.retain(|_, (_, exp)| exp.is_none_or(|e| e > now));
        }
        Ok(f(&mut map))
    }

    fn live(entry: Option<&(String, Option<Instant>)>) -> Option<&(String, Option<Instant>)> {
        entry.filter(|(_, exp)| exp.is_none_or(|e| e > Instant::now()))
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        self.with(|m| Self::live(m.get(key)).map(|(v, _)| v.clone()))
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        self.with(|m| {
            m.insert(key.to_string(), (value.to_string(), Some(Instant::now() + ttl)));
        })
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.with(|m| {
            m.remove(key);
        })
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, CacheError> {
        self.with(|m| {
            let current = Self::live(m.get(key)).cloned();
            let (value, expiry) = match current {
                Some((v, exp)) => (v.parse::<i64>().unwrap_or(0) + 1, exp),
                None => (1, Some(Instant::now() + ttl)),
            };
            m.insert(key.to_string(), (value.to_string(), expiry));
            value
        })
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        self.with(|m| {
            Self::live(m.get(key)).and_then(|(_, exp)| exp.map(|e| e.saturating_duration_since(Instant::now())))
        })
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn set_versioned(&self, key: &str, version: i64, value: &str, ttl: Duration) -> Result<bool, CacheError> {
        self.with(|m| {
            let newer = Self::live(m.get(key)).and_then(|(v, _)| split_versioned(v)).is_some_and(|(v, _)| v > version);
            if !newer {
                m.insert(key.to_string(), (format!("{version}|{value}"), Some(Instant::now() + ttl)));
            }
            !newer
        })
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<(i64, String)>, CacheError> {
        Ok(self.get(key).await?.as_deref().and_then(split_versioned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_counters_expire_from_their_first_increment() {
        let cache = MemoryCache::new();
        assert_eq!(cache.incr("k", Duration::from_millis(50)).await.unwrap(), 1);
        assert_eq!(cache.incr("k", Duration::from_secs(100)).await.unwrap(), 2);
        assert!(cache.ttl("k").await.unwrap().unwrap() <= Duration::from_millis(50));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(cache.get("k").await.unwrap(), None);
        assert_eq!(cache.incr("k", Duration::from_secs(1)).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn versioned_writes_never_go_back_in_time() {
        let cache = MemoryCache::new();
        let ttl = Duration::from_secs(5);
        assert!(cache.set_versioned("c", 2, "two|with bar", ttl).await.unwrap());
        assert!(!cache.set_versioned("c", 1, "one", ttl).await.unwrap());
        assert_eq!(cache.get_versioned("c").await.unwrap(), Some((2, "two|with bar".to_string())));
        assert!(cache.set_versioned("c", 3, "three", ttl).await.unwrap());
        assert_eq!(cache.get_versioned("c").await.unwrap(), Some((3, "three".to_string())));
    }

    #[tokio::test]
    async fn memory_values_round_trip_and_delete() {
        let cache = MemoryCache::new();
        cache.set("a", "1", Duration::from_secs(5)).await.unwrap();
        assert_eq!(cache.get("a").await.unwrap().as_deref(), Some("1"));
        cache.delete("a").await.unwrap();
        assert_eq!(cache.get("a").await.unwrap(), None);
    }
}
