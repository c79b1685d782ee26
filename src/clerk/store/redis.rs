//! The shared store on Redis (or Valkey), through the `redis` crate's connection manager, which
//! reconnects on its own. Every call is bounded by the store timeout; a failed call is a miss
//! (the caller goes on with local state), logged once per outage, not per request.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Client, Script};
use tokio::sync::OnceCell;
use tracing::{info, warn};

/// How long to leave Redis alone after a failed connection attempt.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// A sliding window of attempts per subject: members are attempt tickets scored by the time (ms,
/// Redis's clock) they started. Returns 0 when the attempt is counted, otherwise the
/// milliseconds until the oldest attempt leaves the window.
const RESERVE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
";

/// A single Redis (or Valkey) server, or a Redis Cluster through the client's own cluster support.
pub(super) enum Target {
    Single(Box<Client>),
    Cluster(Box<ClusterClient>),
}

/// A connection to the target: the connection manager of a single server (it reconnects on its
/// own), or a cluster connection (which follows the cluster's slots and reconnects its nodes).
#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

pub(super) struct RedisStore {
    target: Target,
    connection: OnceCell<Connection>,
    timeout: Duration,
    /// No connection attempt before this instant (after a failed one).
    paused_until: Mutex<Option<Instant>>,
    /// Whether the last call failed: an outage is logged when it starts and when it ends.
    down: AtomicBool,
    reserve: Script,
}

impl RedisStore {
    pub(super) fn new(target: Target, timeout: Duration) -> Self {
        Self {
            target,
            connection: OnceCell::new(),
            timeout,
            paused_until: Mutex::new(None),
            down: AtomicBool::new(false),
            reserve: Script::new(RESERVE),
        }
    }

    /// The connection, connecting first if need be (bounded by the timeout).
    async fn connection(&self) -> Option<Connection> {
        // After a failed call, no call for a moment: an outage costs one timeout a second, not one
        // per call.
        let paused = self
            .paused_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some_and(|until| Instant::now() < until);
        if paused {
            return None;
        }
        if let Some(connection) = self.connection.get() {
            return Some(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let connect = self.connection.get_or_try_init(|| async {
            match &self.target {
                Target::Single(client) => {
                    ConnectionManager::new_with_config(Client::clone(client), config).await.map(Connection::Single)
                }
                Target::Cluster(client) => client.get_async_connection().await.map(Connection::Cluster),
            }
        });
        self.bounded(connect).await.cloned()
    }

    /// `call`'s value, if it answers within the timeout; an outage starts or ends by its result.
    async fn bounded<T>(&self, call: impl Future<Output = redis::RedisResult<T>>) -> Option<T> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => {
                self.succeeded();
                Some(value)
            }
            Ok(Err(error)) => {
                self.failed(&error.to_string());
                None
            }
            Err(_) => {
                self.failed("no answer within the store timeout");
                None
            }
        }
    }

    fn failed(&self, reason: &str) {
        *self.paused_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Instant::now().checked_add(RECONNECT_PAUSE);
        if !self.down.swap(true, Ordering::AcqRel) {
            warn!(reason, "the shared session store is unavailable; going on with this replica's own state");
        }
    }

    fn succeeded(&self) {
        if self.down.swap(false, Ordering::AcqRel) {
            info!("the shared session store is reachable again");
        }
    }

    /// Runs one command, bounded by the timeout; `None` if it failed.
    async fn run<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Option<T> {
        let mut connection = self.connection().await?;
        self.bounded(command.query_async::<T>(&mut connection)).await
    }

    pub(super) async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.run::<Option<Vec<u8>>>(redis::cmd("GET").arg(key)).await.flatten()
    }

    pub(super) async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        let millis = ttl.as_millis().clamp(1, u128::from(u32::MAX)) as u64;
        let _: Option<()> = self.run(redis::cmd("SET").arg(key).arg(value).arg("PX").arg(millis)).await;
    }

    /// `SET NX PX`: whether this call set it (`None` if the store failed).
    pub(super) async fn set_if_absent(&self, key: &str, ttl: Duration) -> Option<bool> {
        let millis = ttl.as_millis().clamp(1, u128::from(u32::MAX)) as u64;
        let set: Option<Option<String>> =
            self.run(redis::cmd("SET").arg(key).arg(1).arg("NX").arg("PX").arg(millis)).await;
        set.map(|answer| answer.is_some())
    }

    pub(super) async fn delete(&self, key: &str) {
        let _: Option<i64> = self.run(redis::cmd("DEL").arg(key)).await;
    }

    pub(super) async fn exists(&self, key: &str) -> Option<bool> {
        self.run::<i64>(redis::cmd("EXISTS").arg(key)).await.map(|count| count > 0)
    }

    /// What is left of a key's time to live.
    pub(super) async fn remaining(&self, key: &str) -> Option<Duration> {
        let millis: i64 = self.run(redis::cmd("PTTL").arg(key)).await?;
        (millis > 0).then(|| Duration::from_millis(millis.unsigned_abs()))
    }

    pub(super) async fn reserve(
        &self,
        key: &str,
        ticket: u64,
        limit: u32,
        window: Duration,
    ) -> Option<Result<(), Duration>> {
        let mut connection = self.connection().await?;
        let window_ms = window.as_millis().clamp(1, u128::from(u64::MAX >> 12)) as u64;
        let mut invocation = self.reserve.key(key);
        invocation.arg(window_ms).arg(limit).arg(ticket);
        let wait_ms = self.bounded(invocation.invoke_async::<u64>(&mut connection)).await?;
        Some(if wait_ms == 0 { Ok(()) } else { Err(Duration::from_millis(wait_ms)) })
    }

    pub(super) async fn settle(&self, key: &str, ticket: u64, keep: bool, clear: bool) {
        if clear {
            self.delete(key).await;
        } else if !keep {
            let _: Option<i64> = self.run(redis::cmd("ZREM").arg(key).arg(ticket)).await;
        }
    }
}
