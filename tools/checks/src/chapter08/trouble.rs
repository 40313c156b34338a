//! Stage 4: when Redis is in trouble — clients told, recovery by itself,
//! and nothing acknowledged lost.

use super::{DOWN_SECTION, DURABLE_SECTION, TROUBLE};
use crate::Needs;
use crate::check::check;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cluster::{self, create, member, sign_in};
use super::redis_server::RedisServer;
use crate::dial::Dial;
use crate::http::ANSWER_TIMEOUT;
use crate::{Failure, Target};

/// How soon instances must serve again once Redis is back.
const RECOVERY: Duration = Duration::from_secs(5);

/// Asks `GET /boards/{board}/tasks` until it answers `200`, for at most
/// [`RECOVERY`]; returns the tasks. (Retrying is what a client does; the
/// deadline is the check.)
async fn until_served(dial: &Dial, name: &str, board: &str) -> Result<Value, Failure> {
    let deadline = Instant::now() + RECOVERY;
    loop {
        let answer = dial.request("GET", format!("/boards/{board}/tasks")).send().await;
        match answer {
            Ok(answer) if answer.status == 200 => return answer.json("the tasks"),
            Ok(answer) if Instant::now() >= deadline => {
                return Err(answer.fail(
                    format!(
                        "instance {name} still answers {} {} s after Redis came back",
                        answer.status,
                        RECOVERY.as_secs()
                    ),
                    "200: an instance reconnects to Redis by itself within 5 s",
                ));
            }
            Err(failure) if Instant::now() >= deadline => return Err(failure),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

check!(Check {
    name: with_redis_down_clients_are_told_and_service_comes_back_by_itself,
    stage: TROUBLE,
    section: DOWN_SECTION,
    hints: &[
        "A Redis error is not a crash: map it to `503` with `{\"error\": …}` over HTTP, end the event \
         streams, close WebSockets with `1013` (try again later).",
        "Use a connection that reconnects by itself (the redis crate's `ConnectionManager`), and \
         start readers and subscriptions again when Redis is back.",
    ],
    needs: Needs::Redis,
});
async fn with_redis_down_clients_are_told_and_service_comes_back_by_itself(t: Target) -> Result<(), Failure> {
    let mut redis = RedisServer::start().await?;
    let mut instances = cluster::start_many(&t, &redis, &["a", "b"]).await?;
    let outcome = sign_in(&instances[0].dial, "Alice").await;
    let cookie = instances[0].explain(outcome).await?;
    let board = t.board(1);
    create(&instances[0].dial, &cookie, &board, "Before the outage").await?;
    let mut stream = instances[0]
        .dial
        .request("GET", format!("/boards/{board}/events"))
        .header("Cookie", &cookie)
        .events()
        .await?;
    stream.answer.expect_status(200, "200 and an event stream")?;
    stream.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
    let (mut bob, _) = member(&instances[1].dial, &board, "Bob").await?;

    redis.kill().await;
    bob.note("(Redis was stopped)");
    stream
        .until_end(
            ANSWER_TIMEOUT,
            "the event stream ends when Redis goes away, so that the browser reconnects",
        )
        .await?;
    bob.expect_close_in(&[1011, 1013], "close 1013 (try again later) or 1011: Redis went away").await?;
    let answer = instances[0]
        .dial
        .request("POST", format!("/boards/{board}/tasks"))
        .header("Cookie", &cookie)
        .json(&serde_json::json!({"title": "During the outage"}))
        .send()
        .await?;
    let expected = "503 Service Unavailable with {\"error\": \"…\"}: Redis is down";
    answer.expect_status(503, expected)?;
    if answer.json(expected)?.get("error").and_then(Value::as_str).is_none() {
        return Err(answer.fail("the 503 has no {\"error\": …} body", expected));
    }
    for instance in &mut instances {
        if instance.ended(Duration::ZERO).await {
            let outcome =
                Err(Failure::new(format!("instance {} stopped when Redis went away", instance.name)));
            return instance.explain(outcome).await;
        }
    }

    redis.start_again().await?;
    for instance in &instances {
        until_served(&instance.dial, &instance.name, &board).await?;
    }
    // The browser reconnects where its stream ended: instance a, whose
    // reader of the board Redis took down.
    let mut again = instances[0]
        .dial
        .request("GET", format!("/boards/{board}/events"))
        .header("Cookie", &cookie)
        .events()
        .await?;
    again.answer.expect_status(200, "200: event streams work again once Redis is back")?;
    again.next_event(ANSWER_TIMEOUT, "event: snapshot").await?;
    create(&instances[1].dial, &cookie, &board, "After the outage").await?;
    again.next_event(ANSWER_TIMEOUT, "task_created \"After the outage\", across instances again").await?;
    let (mut carol, _) = member(&instances[0].dial, &board, "Carol").await?;
    let (_dave, _) = member(&instances[1].dial, &board, "Dave").await?;
    carol.expect_json(&serde_json::json!({"type": "joined", "user": "Dave"}), "presence works again").await?;
    Ok(())
}

check!(Check {
    name: no_acknowledged_task_is_lost_when_redis_is_killed,
    stage: TROUBLE,
    section: DURABLE_SECTION,
    hints: &["Answer `201` only after Redis answered the write: with `appendfsync always` it is on disk \
         by then. Never acknowledge from a local cache or a queue not yet written.",],
    needs: Needs::Redis,
});
async fn no_acknowledged_task_is_lost_when_redis_is_killed(t: Target) -> Result<(), Failure> {
    let mut redis = RedisServer::start().await?;
    let mut instances = cluster::start_many(&t, &redis, &["a", "b"]).await?;
    let outcome = sign_in(&instances[0].dial, "Alice").await;
    let cookie = instances[0].explain(outcome).await?;
    let board = t.board(1);
    let mut acknowledged = BTreeSet::new();
    for n in 1..=20 {
        let task = create(&instances[n % 2].dial, &cookie, &board, &format!("Acknowledged {n}")).await?;
        acknowledged.insert(task["id"].as_str().unwrap_or_default().to_owned());
    }
    redis.kill().await;
    redis.start_again().await?;
    until_served(&instances[0].dial, "a", &board).await?;
    let tasks = until_served(&instances[1].dial, "b", &board).await?;
    let listed: BTreeSet<String> = tasks
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|task| task["id"].as_str().map(str::to_owned))
        .collect();
    let lost: Vec<&String> = acknowledged.difference(&listed).collect();
    if !lost.is_empty() {
        return Err(Failure::new(format!(
            "{} acknowledged tasks were lost when Redis was killed",
            lost.len()
        ))
        .sent("20 × POST (each answered 201), then SIGKILL to redis-server, then redis-server again")
        .expected("every task answered 201 is still there (Redis runs with appendfsync always)")
        .got(format!("missing: {lost:?}")));
    }
    let next = create(&instances[0].dial, &cookie, &board, "After the restart").await?;
    let id = next["id"].as_str().unwrap_or_default().to_owned();
    if acknowledged.contains(&id) {
        return Err(Failure::new(format!(
            "a new task got {id}, an id already handed out before the restart"
        ))
        .expected("ids are never reused: the counter is in Redis, and survives its restart"));
    }
    Ok(())
}
