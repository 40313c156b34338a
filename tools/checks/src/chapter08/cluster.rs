//! Several instances of the learner's server on one private Redis, started
//! in this process through the [`Launch`] the test binary hands over.
//!
//! An instance can be shut down as SIGTERM would ([`Instance::shut_down`]),
//! or crashed ([`Instance::crash`]): its task is aborted, and its Redis
//! connections are killed with `CLIENT KILL`, so that nothing it left
//! running can clean up after it.

use std::io;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::redis_server::RedisServer;
use crate::chapter07::{Keep, Launch, Vars};
use crate::dial::{Dial, Ws};
use crate::{Failure, Target, Tunables};

/// The presence TTL the checks run instances with: short, so that a crash
/// is noticed quickly.
pub const PRESENCE_TTL: Duration = Duration::from_millis(1000);

/// The replay capacity the checks run instances with.
pub const REPLAY_CAPACITY: usize = 16;

/// A running instance of the learner's server.
pub struct Instance {
    pub name: String,
    pub dial: Dial,
    task: JoinHandle<io::Result<()>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The Redis user it connects as, when it has one of its own (see
    /// [`start_crashable`]): how the check finds its connections to kill.
    redis_user: Option<String>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The settings every instance of a check runs with.
pub fn vars(t: &Target, redis: &RedisServer, name: &str) -> Vars {
    Vars::from_tunables(t.tunables().unwrap_or(Tunables::PRODUCTION))
        .with("REPLAY_CAPACITY", REPLAY_CAPACITY)
        .with("REDIS_URL", redis.url())
        .with("INSTANCE_ID", name)
        .with("PRESENCE_TTL_MS", PRESENCE_TTL.as_millis())
}

/// Starts instance `name` on `redis`.
pub async fn start(t: &Target, redis: &RedisServer, name: &str) -> Result<Instance, Failure> {
    start_with(t, vars(t, redis, name), name).await
}

/// Starts instance `name` with `vars`.
pub async fn start_with(t: &Target, vars: Vars, name: &str) -> Result<Instance, Failure> {
    let launch = t.local::<Launch>()?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Failure::new(format!("could not bind 127.0.0.1:0: {e}")))?;
    let addr = listener.local_addr().map_err(|e| Failure::new(format!("no local address: {e}")))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stopped = Box::pin(async move {
        let _ = stopped.await;
    });
    let task = tokio::spawn(launch.serve(listener, vars, stopped, &Keep::default()));
    Ok(Instance { name: name.to_owned(), dial: Dial::plain(addr), task, stop: Some(stop), redis_user: None })
}

/// Starts instance `name` connecting to Redis as a user of its own
/// (`redis://<name>:<password>@…`, an ACL user made for it), so that a crash
/// can kill exactly its connections (`CLIENT KILL USER`).
pub async fn start_crashable(t: &Target, redis: &RedisServer, name: &str) -> Result<Instance, Failure> {
    let password = format!("{name}-password");
    redis.cli(&["ACL", "SETUSER", name, "on", &format!(">{password}"), "~*", "&*", "+@all"]).await?;
    let url = format!("redis://{name}:{password}@127.0.0.1:{}", redis.port);
    let mut instance = start_with(t, vars(t, redis, name).with("REDIS_URL", url), name).await?;
    instance.redis_user = Some(name.to_owned());
    Ok(instance)
}

/// Starts instances `a`, `b`, … on `redis`.
pub async fn start_many(t: &Target, redis: &RedisServer, names: &[&str]) -> Result<Vec<Instance>, Failure> {
    let mut instances = Vec::new();
    for name in names {
        instances.push(start(t, redis, name).await?);
    }
    Ok(instances)
}

impl Instance {
    /// Tells the instance to shut down, as SIGTERM would.
    pub fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Crashes the instance: its task is aborted, its Redis user disabled
    /// and its connections killed — what `kill -9` does to a process, as
    /// near as a check in the same process can come. (An abort alone still
    /// runs destructors, and tasks it spawned run on.)
    pub async fn crash(&mut self, redis: &RedisServer) -> Result<(), Failure> {
        self.task.abort();
        if let Some(user) = &self.redis_user {
            redis.cli(&["ACL", "SETUSER", user, "off"]).await?;
            redis.cli(&["CLIENT", "KILL", "USER", user]).await?;
        }
        Ok(())
    }

    /// Explains a failure by the instance having stopped, when it did.
    pub async fn explain<T>(&mut self, outcome: Result<T, Failure>) -> Result<T, Failure> {
        let failure = match outcome {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        if !self.task.is_finished() {
            return Err(failure);
        }
        let why = match (&mut self.task).await {
            Ok(Ok(())) => "serve returned Ok(()) while the check still needed it".to_owned(),
            Ok(Err(e)) => format!("serve returned an error: {e}"),
            Err(e) if e.is_panic() => "it panicked (see below)".to_owned(),
            Err(e) => format!("its task ended: {e}"),
        };
        Err(Failure { headline: format!("instance {} stopped: {why}", self.name), ..failure })
    }

    /// Waits (bounded) for the instance's task to end.
    pub async fn ended(&mut self, within: Duration) -> bool {
        tokio::time::timeout(within, &mut self.task).await.is_ok()
    }
}

/// `POST /session {"user"}` on `dial`, requiring `204` and a cookie;
/// returns the `Cookie` header to send (`session=…`).
pub async fn sign_in(dial: &Dial, user: &str) -> Result<String, Failure> {
    let answer = dial.request("POST", "/session").json(&json!({ "user": user })).send().await?;
    let expected = "204 No Content with Set-Cookie: session=… (chapter 7's sign-in, now kept in Redis)";
    answer.expect_status(204, expected)?;
    answer
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, value)| value.split(';').next().filter(|pair| pair.trim().starts_with("session=")))
        .map(|pair| pair.trim().to_owned())
        .ok_or_else(|| answer.fail("POST /session answered 204 without a session cookie", expected))
}

/// `POST /boards/{board}/tasks` with `cookie`; requires `201`, returns the task.
pub async fn create(dial: &Dial, cookie: &str, board: &str, title: &str) -> Result<Value, Failure> {
    let answer = dial
        .request("POST", format!("/boards/{board}/tasks"))
        .header("Cookie", cookie)
        .json(&json!({ "title": title }))
        .send()
        .await?;
    answer.expect_status(201, "201 Created and the task, on any instance")?;
    answer.json("the task as JSON")
}

/// A WebSocket signed in as `user` on `dial`, joined to `board`; returns
/// it with the `presence` snapshot it got.
pub async fn member(dial: &Dial, board: &str, user: &str) -> Result<(Ws, Value), Failure> {
    let cookie = sign_in(dial, user).await?;
    match dial.request("GET", "/ws").header("Cookie", &cookie).websocket().await? {
        Ok(mut ws) => {
            ws.send_json(&json!({"type": "join", "boardId": board, "user": user})).await?;
            let presence = ws.expect_json(&json!({"type": "presence"}), "the presence snapshot").await?;
            Ok((ws, presence))
        }
        Err(answer) => Err(answer.fail(format!("{user}'s WebSocket was refused"), "101 Switching Protocols")),
    }
}

/// The `users` of a `presence` message.
pub fn users(presence: &Value) -> Vec<String> {
    presence["users"].as_array().into_iter().flatten().filter_map(|u| u.as_str().map(str::to_owned)).collect()
}
