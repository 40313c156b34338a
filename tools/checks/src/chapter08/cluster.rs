//! Several instances of the learner's server on one private Redis, started
//! in this process through the [`Launch`] the test binary hands over.
//!
//! Each instance runs as a process would: on a tokio runtime of its own, on
//! a thread of its own, and when its server returns, the runtime goes with
//! it — every task the server spawned (each connection, each WebSocket,
//! each background loop) ends there, as they do when `main` returns. An
//! instance can be shut down as SIGTERM would ([`Instance::shut_down`]), or
//! crashed ([`Instance::crash`]): its runtime is dropped on the spot, with
//! every connection it held, and its Redis connections are killed with
//! `CLIENT KILL`, so that nothing it left behind can clean up after it.

use std::io;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::redis_server::RedisServer;
use crate::chapter07::{Keep, Launch, Vars};
use crate::dial::{Dial, Ws};
use crate::{Failure, Target, Tunables};

/// The presence TTL the checks run instances with: short, so that a crash
/// is noticed quickly.
pub const PRESENCE_TTL: Duration = Duration::from_millis(1000);

/// The replay capacity the checks run instances with.
pub const REPLAY_CAPACITY: usize = 16;

/// How an instance's server ended.
enum End {
    /// `serve` returned this.
    Returned(io::Result<()>),
    /// `serve` panicked (the harness shows the panic).
    Panicked,
    /// The instance is gone without an outcome: crashed, or its runtime
    /// could not start (the reason).
    Gone(String),
}

/// A running instance of the learner's server.
pub struct Instance {
    pub name: String,
    pub dial: Dial,
    /// Dropped or sent: the instance's runtime is dropped at once (a crash).
    kill: Option<oneshot::Sender<()>>,
    /// Its end, sent by its thread once its runtime is gone.
    end: oneshot::Receiver<End>,
    /// Its end, once received.
    ended: Option<End>,
    stop: Option<oneshot::Sender<()>>,
    /// The Redis user it connects as, when it has one of its own (see
    /// [`start_crashable`]): how the check finds its connections to kill.
    redis_user: Option<String>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").field("name", &self.name).finish_non_exhaustive()
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
    let launch = t.local::<Launch>()?.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Failure::new(format!("could not bind 127.0.0.1:0: {e}")))?;
    let addr = listener.local_addr().map_err(|e| Failure::new(format!("no local address: {e}")))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let stopped = Box::pin(async move {
        let _ = stopped.await;
    });
    let (kill, killed) = oneshot::channel::<()>();
    let (ended, end) = oneshot::channel::<End>();
    let thread = server_thread_name();
    let spawned = std::thread::Builder::new().name(thread.clone()).spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(thread)
            .enable_all()
            .build();
        let runtime = match runtime {
            Ok(runtime) => runtime,
            Err(e) => return drop(ended.send(End::Gone(format!("no tokio runtime: {e}")))),
        };
        let end = runtime.block_on(async move {
            // Registered with this runtime's reactor, not the check's.
            let listener = match listener.set_nonblocking(true).and_then(|()| TcpListener::from_std(listener))
            {
                Ok(listener) => listener,
                Err(e) => return End::Gone(format!("no listener: {e}")),
            };
            // Spawned, so that a panic is an outcome, not the end of this thread.
            let serving = tokio::spawn(launch.serve(listener, vars, stopped, &Keep::default()));
            tokio::select! {
                joined = serving => match joined {
                    Ok(returned) => End::Returned(returned),
                    Err(_) => End::Panicked,
                },
                _ = killed => End::Gone("it crashed".to_owned()),
            }
        });
        // As when a process ends: every task still running goes, now.
        runtime.shutdown_background();
        let _ = ended.send(end);
    });
    if let Err(e) = spawned {
        return Err(Failure::new(format!("could not start a thread for instance {name}: {e}")));
    }
    Ok(Instance {
        name: name.to_owned(),
        dial: Dial::plain(addr),
        kill: Some(kill),
        end,
        ended: None,
        stop: Some(stop),
        redis_user: None,
    })
}

/// The name of an instance's threads: the harness's name for the check's
/// server threads, so that a panic there shows up in the check's failure.
fn server_thread_name() -> String {
    let current = std::thread::current();
    let name = current.name().unwrap_or("check:instance");
    match name.strip_prefix("check:") {
        Some(check) => format!("server:{check}"),
        None => name.to_owned(),
    }
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

    /// Crashes the instance: its runtime is dropped with every task on it,
    /// its Redis user disabled and its connections killed — what `kill -9`
    /// does to a process, as near as a check in the same process can come.
    /// (Dropping tasks still runs destructors: the Redis user is disabled
    /// first, so that none of them can clean up.)
    pub async fn crash(&mut self, redis: &RedisServer) -> Result<(), Failure> {
        if let Some(user) = &self.redis_user {
            redis.cli(&["ACL", "SETUSER", user, "off"]).await?;
        }
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        self.ended(Duration::from_secs(5)).await;
        if let Some(user) = &self.redis_user {
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
        if !self.ended(Duration::ZERO).await {
            return Err(failure);
        }
        let why = match &self.ended {
            Some(End::Returned(Ok(()))) => "serve returned Ok(()) while the check still needed it".to_owned(),
            Some(End::Returned(Err(e))) => format!("serve returned an error: {e}"),
            Some(End::Panicked) => "it panicked (see below)".to_owned(),
            Some(End::Gone(why)) => why.clone(),
            None => "its thread ended".to_owned(),
        };
        Err(Failure { headline: format!("instance {} stopped: {why}", self.name), ..failure })
    }

    /// Waits (bounded) for the instance to end: its server returned (or
    /// panicked) and its runtime is gone.
    pub async fn ended(&mut self, within: Duration) -> bool {
        if self.ended.is_some() {
            return true;
        }
        self.ended = match tokio::time::timeout(within, &mut self.end).await {
            Ok(Ok(end)) => Some(end),
            Ok(Err(_)) => Some(End::Gone("its thread ended".to_owned())),
            Err(_) => return false,
        };
        true
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

/// A `joined` message for `user`.
pub fn joined(user: &str) -> Value {
    json!({"type": "joined", "user": user})
}

/// Requires the presence snapshot to list `want`, each user once, and no one
/// else. A user who joined on *another* instance a moment ago may be missing
/// from it: that instance writes its users to Redis from its presence loop,
/// just after they join, and a snapshot read in between lacks them. Then
/// `joined` for them must come next.
pub async fn expect_users(ws: &mut Ws, presence: &Value, want: &[&str], why: &str) -> Result<(), Failure> {
    let got = users(presence);
    let listed_once = got.iter().enumerate().all(|(i, user)| !got[..i].contains(user));
    if !listed_once || got.iter().any(|user| !want.contains(&user.as_str())) {
        return Err(ws.fail(format!("the presence snapshot lists {got:?}, not {want:?}"), why));
    }
    for user in want.iter().filter(|user| !got.iter().any(|listed| listed == *user)) {
        let expected = format!("{why}: {user} in the snapshot, or joined {user} right after it");
        ws.expect_json(&joined(user), &expected).await?;
    }
    Ok(())
}
