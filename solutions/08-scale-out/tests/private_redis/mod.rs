//! What the earlier chapters' checks need to run against this server: a
//! private `redis-server` for each server they start, so that no two
//! checks share a Redis and each starts as empty as an in-memory server.

use std::future::Future;
use std::io;
use std::sync::Arc;

use course_checks::chapter07::{Keep, Vars};
use course_checks::chapter08::redis_server::RedisServer;
use sol08_scale_out as server;
use tokio::net::TcpListener;
use tokio::sync::OnceCell;

/// This crate's server on `listener` until `stop`, on the Redis kept in
/// `keep` (started the first time, stopped with the last server holding
/// it): a server the check starts again on the same `Keep` finds the same
/// tasks, events and sessions, as an instance restarted on the same Redis
/// does. A fresh `Keep` is a fresh Redis.
pub async fn serve(
    listener: TcpListener,
    vars: Vars,
    stop: impl Future<Output = ()> + Send,
    keep: &Keep,
) -> io::Result<()> {
    let kept: Arc<OnceCell<RedisServer>> = keep.get_or_insert_with(Arc::default);
    let redis = kept.get_or_init(start_redis).await;
    let vars = vars.with("REDIS_URL", redis.url());
    let config = server::Config::from_vars(|name| vars.get(name)).expect("the checks' settings are valid");
    server::serve_state(listener, server::AppState::new(config), stop).await
}

/// A private Redis. Without one the check cannot run: the panic shows up in
/// its failure, under "your server panicked" (in CI, where a missing
/// `redis-server` is not skipped).
async fn start_redis() -> RedisServer {
    RedisServer::start().await.unwrap_or_else(|failure| panic!("no private Redis for this server: {failure}"))
}
