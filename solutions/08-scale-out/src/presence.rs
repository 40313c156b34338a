//! Presence across instances: this instance's entries in Redis, and the
//! other instances' entries read back.
//!
//! Each instance writes, per board it has users on, one key:
//! `presence:{board}:<instance>` = `{"users":[…],"typing":[…]}`, with a TTL
//! of `PRESENCE_TTL_MS`, and adds its name to the set `presence:{board}`.
//! It rewrites the key when its users change, and refreshes it on every
//! tick, well within the TTL. Why a TTL and not a `DEL` on the way out:
//! an instance that crashes (`kill -9`, a power cut) never runs its way
//! out. Its entries then simply expire, and the other instances, reading
//! the entries on every tick, see its users go and announce `left`.
//!
//! An instance that shuts down *gracefully* leaves its entries to expire
//! too, on purpose: its clients reconnect to another instance within the
//! TTL, and a user who only moved is never announced `left` and `joined`
//! again (no flapping).
//!
//! Changes travel fast through Redis pub/sub: after writing its entry an
//! instance publishes the board's name on the `presence` channel, and the
//! others read the board's entries at once. Pub/sub is at most once — a
//! message published while an instance is reconnecting is lost — which is
//! fine here: the message only says "look again", and every tick looks
//! again anyway.

use std::time::Duration;

use futures_util::StreamExt;
use redis::Script;
use tokio::time::{MissedTickBehavior, interval};

use crate::rooms::{Rooms, View};
use crate::shutdown::Draining;
use crate::store::{Store, Unavailable, keys};

/// The longest time between two reads of the other instances' entries:
/// a dead instance's users are announced `left` at most this long after
/// its entries expire.
const MAX_TICK: Duration = Duration::from_secs(1);

/// How long to wait before subscribing again after Redis went away.
const RESUBSCRIBE_DELAY: Duration = Duration::from_millis(250);

// ANCHOR: others_script
/// Reads every other instance's entry for a board, and forgets the
/// instances whose entry has expired.
///
/// `KEYS[1]`: the board's set of instances. `ARGV`: this instance's name,
/// and the prefix of the entries' keys. (The entries' keys are built in the
/// script, which Redis Cluster allows because they share the board's hash
/// tag, and so its shard.)
const OTHERS: &str = r"
local entries = {}
for _, instance in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if instance ~= ARGV[1] then
    local entry = redis.call('GET', ARGV[2] .. instance)
    if entry then
      table.insert(entries, entry)
    else
      redis.call('SREM', KEYS[1], instance)
    end
  end
end
return entries
";
// ANCHOR_END: others_script

/// This instance's presence in Redis.
#[derive(Debug, Clone)]
pub struct Presence {
    store: Store,
    rooms: Rooms,
    ttl: Duration,
    others: Script,
}

impl Presence {
    pub fn new(store: Store, rooms: Rooms, ttl: Duration) -> Self {
        Presence { store, rooms, ttl, others: Script::new(OTHERS) }
    }

    /// The other instances' users and typists on `board`, united.
    pub async fn others(&self, board: &str) -> Result<View, Unavailable> {
        let prefix = keys::presence(board, "");
        let entries: Vec<String> = self
            .others
            .key(keys::presence_instances(board))
            .arg(&*self.store.instance)
            .arg(prefix)
            .invoke_async(&mut self.store.shared())
            .await?;
        let views = entries.iter().filter_map(|entry| serde_json::from_str::<View>(entry).ok());
        Ok(views.fold(View::default(), |all, view| View {
            users: all.users.union(&view.users).cloned().collect(),
            typing: all.typing.union(&view.typing).cloned().collect(),
        }))
    }

    // ANCHOR: write
    /// Writes this instance's entry for `board` (or deletes it, once nobody
    /// is there), then tells the other instances to look.
    async fn write(&self, board: &str) -> Result<(), Unavailable> {
        let local = self.rooms.local(board);
        let (entry, instances) =
            (keys::presence(board, &self.store.instance), keys::presence_instances(board));
        let mut pipe = redis::pipe();
        pipe.atomic();
        if local == View::default() {
            pipe.del(&entry).srem(&instances, &*self.store.instance);
        } else {
            let json = serde_json::to_string(&local).expect("a view is plain data and always serializes");
            let millis = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
            pipe.pset_ex(&entry, json, millis).sadd(&instances, &*self.store.instance);
        }
        pipe.publish(keys::PRESENCE_CHANNEL, board);
        let () = pipe.query_async(&mut self.store.shared()).await?;
        Ok(())
    }
    // ANCHOR_END: write

    /// Reads the other instances' half of `board`, for its room here.
    async fn refresh(&self, board: &str) -> Result<(), Unavailable> {
        let others = self.others(board).await?;
        self.rooms.update_others(board, others);
        Ok(())
    }

    // ANCHOR: run
    /// The instance's presence task, for as long as it serves: writes each
    /// changed entry, and on every tick refreshes its entries and reads the
    /// others'. Stops writing when the server starts draining: its entries
    /// are left to expire (see the module's comment).
    pub async fn run(self, draining: Draining) {
        let tick_every = (self.ttl / 4).min(MAX_TICK);
        let mut tick = interval(tick_every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let listening = self.clone().listen();
        tokio::pin!(listening);
        loop {
            let boards = tokio::select! {
                // Draining first: once it has begun, nothing more is
                // written, not even the leaves of the closing connections.
                biased;
                () = draining.begun() => return,
                () = self.rooms.wake.notified() => self.rooms.take_changed(),
                _ = tick.tick() => {
                    // The shared connection notices a Redis that went
                    // away and came back on its next command: make sure
                    // there is one, so it reconnects before a client asks.
                    let _: Result<String, _> = redis::cmd("PING").query_async(&mut self.store.shared()).await;
                    // Changed or not, every entry is rewritten: that is
                    // the refresh that keeps it from expiring.
                    let mut boards = self.rooms.boards();
                    boards.extend(self.rooms.take_changed());
                    boards
                }
                never = &mut listening => match never {},
            };
            for board in boards {
                let written = self.write(&board).await;
                if let Err(error) = written.and(self.refresh(&board).await) {
                    tracing::warn!(%board, "presence: {error}");
                    self.rooms.store_lost();
                }
            }
        }
    }
    // ANCHOR_END: run

    // ANCHOR: listen
    /// Listens on the `presence` channel, and reads a board's entries again
    /// whenever another instance says its part changed. When the
    /// subscription is lost (Redis went away), members are told and the
    /// subscription is taken again, as soon as Redis answers.
    async fn listen(self) -> std::convert::Infallible {
        loop {
            match self.store.subscriber().await {
                Ok(mut subscriber) => match subscriber.subscribe(keys::PRESENCE_CHANNEL).await {
                    Ok(()) => {
                        // Anything missed while not subscribed: read again.
                        for board in self.rooms.boards() {
                            let _ = self.refresh(&board).await;
                        }
                        let mut messages = subscriber.on_message();
                        while let Some(message) = messages.next().await {
                            let Ok(board) = message.get_payload::<String>() else { continue };
                            if !self.rooms.has(&board) {
                                continue;
                            }
                            if let Err(error) = self.refresh(&board).await {
                                tracing::warn!(%board, "presence: {error}");
                            }
                        }
                        tracing::warn!("presence: the subscription to Redis ended");
                        self.rooms.store_lost();
                    }
                    Err(error) => tracing::warn!("presence: cannot subscribe: {error}"),
                },
                Err(error) => tracing::debug!("presence: {error}"),
            }
            tokio::time::sleep(RESUBSCRIBE_DELAY).await;
        }
    }
    // ANCHOR_END: listen
}
