//! The connection to Redis, shared by every request of this instance, and
//! the names of the keys the instances share.
//!
//! Two kinds of connection, for two kinds of command:
//!
//! - **one multiplexed connection** (the redis crate's `ConnectionManager`)
//!   for every short command: a `GET`, a script, an `XRANGE`. Requests from
//!   all tasks are pipelined over it, and it reconnects by itself after
//!   Redis comes back;
//! - **a dedicated connection** for each blocking read (`XREAD BLOCK`, see
//!   `feed.rs`) and for the presence subscription (`SUBSCRIBE`, see
//!   `presence.rs`). Redis answers one connection's commands in order: a
//!   read that blocks for seconds on the shared connection would hold up
//!   every command queued behind it.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, RedisError};

use crate::config::Config;

/// How long a connection attempt may take before Redis counts as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a short command may take. Redis answers in microseconds; a
/// command that takes this long means Redis is stuck, and the client gets
/// `503` rather than a request that hangs.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest pause between two attempts to reconnect: Redis back means
/// serving again within about this long.
const MAX_RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// Redis could not be reached, or did not answer: the one error of this
/// layer. Every door turns it into "try again later": `503` over HTTP, the
/// end of an event stream, close `1013` on a WebSocket.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the shared store (Redis) is unavailable: {0}")]
pub struct Unavailable(pub String);

impl From<RedisError> for Unavailable {
    fn from(error: RedisError) -> Self {
        Unavailable(error.to_string())
    }
}

/// Redis, for this instance: the shared connection, and what it takes to
/// open the dedicated ones.
#[derive(Clone)]
pub struct Store {
    client: Client,
    shared: ConnectionManager,
    /// Which instance this is, on its presence entries.
    pub instance: std::sync::Arc<str>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("instance", &self.instance).finish_non_exhaustive()
    }
}

impl Store {
    /// A store for `config.redis_url`. Nothing is connected yet: the shared
    /// connection opens on the first command, so an instance starts (and
    /// answers `503`) while Redis is down, and serves once it is up.
    pub fn new(config: &Config) -> Self {
        let client = Client::open(config.redis_url.as_str()).expect("Config checked REDIS_URL");
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_max_delay(MAX_RECONNECT_DELAY)
            // Give up on one command after a few tries; the next command
            // starts trying again.
            .set_number_of_retries(2);
        let shared = ConnectionManager::new_lazy_with_config(client.clone(), manager)
            .expect("a lazy connection manager only fails on a bad configuration");
        Store { client, shared, instance: config.instance_id.as_str().into() }
    }

    /// The shared, multiplexed connection: a cheap handle to clone per command.
    pub fn shared(&self) -> ConnectionManager {
        self.shared.clone()
    }

    /// A connection of its own, for a command that blocks: no response
    /// timeout (the command's own `BLOCK` bounds the wait).
    pub async fn dedicated(&self) -> Result<MultiplexedConnection, Unavailable> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(None);
        Ok(self.client.get_multiplexed_async_connection_with_config(&config).await?)
    }

    /// A connection for `SUBSCRIBE`, which Redis dedicates to push messages.
    pub async fn subscriber(&self) -> Result<redis::aio::PubSub, Unavailable> {
        Ok(self.client.get_async_pubsub().await?)
    }
}

/// The keys, in one place. Each board's keys share a hash tag (`{board-1}`),
/// so Redis Cluster keeps them on one shard — a script may then touch them
/// all at once — while different boards spread over the shards.
pub mod keys {
    /// The board's tasks: a hash, task number → the task's JSON.
    pub fn tasks(board: &str) -> String {
        format!("board:{{{board}}}:tasks")
    }

    /// The number of the board's last task: `INCR` hands out the next one.
    pub fn last_task(board: &str) -> String {
        format!("board:{{{board}}}:last_task")
    }

    /// The id of the board's last event.
    pub fn last_event(board: &str) -> String {
        format!("board:{{{board}}}:last_event")
    }

    /// The board's events: a stream whose entry `N-0` is SSE event `N`.
    pub fn events(board: &str) -> String {
        format!("board:{{{board}}}:events")
    }

    /// Which instances have presence entries for the board: a set.
    pub fn presence_instances(board: &str) -> String {
        format!("presence:{{{board}}}")
    }

    /// One instance's presence entry for the board: who is there and who is
    /// typing, as JSON, with a TTL.
    pub fn presence(board: &str, instance: &str) -> String {
        format!("presence:{{{board}}}:{instance}")
    }

    /// The channel on which an instance says "my presence on this board
    /// changed"; the message is the board's name.
    pub const PRESENCE_CHANNEL: &str = "presence";

    /// A session: the user's name, with the session's TTL.
    pub fn session(id: &str) -> String {
        format!("session:{id}")
    }

    /// A ticket: the user's name, with the ticket's TTL; taken with `GETDEL`.
    pub fn ticket(ticket: &str) -> String {
        format!("ticket:{ticket}")
    }
}
