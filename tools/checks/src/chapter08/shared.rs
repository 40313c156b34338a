//! Stage 1: the shared state — tasks, ids, sessions and tickets in Redis.

use super::{IDS_SECTION, SESSIONS_SECTION, SHARED};
use crate::Needs;
use crate::check::check;
use std::collections::BTreeSet;

use futures_util::future::join_all;
use serde_json::Value;

use super::cluster::{self, create, sign_in};
use super::redis_server::RedisServer;
use crate::{Failure, Target};

/// How many tasks the creates-everywhere check makes at once.
const CREATES: usize = 200;

check!(Check {
    name: creates_spread_over_three_instances_get_distinct_ids,
    stage: SHARED,
    section: IDS_SECTION,
    hints: &[
        "Each instance counting tasks in its own memory hands out `task-1` on every instance. The \
         number must come from Redis, from one atomic step: `INCR board:{b}:last_task`.",
        "Store each task where every instance reads it (a hash per board: number → task JSON), and \
         list a board from there, oldest first.",
    ],
    needs: Needs::Redis,
});
async fn creates_spread_over_three_instances_get_distinct_ids(t: Target) -> Result<(), Failure> {
    let redis = RedisServer::start().await?;
    let mut instances = cluster::start_many(&t, &redis, &["a", "b", "c"]).await?;
    let outcome = sign_in(&instances[0].dial, "Alice").await;
    let cookie = instances[0].explain(outcome).await?;
    let board = t.board(1);
    let creates = (0..CREATES).map(|n| {
        let dial = instances[n % instances.len()].dial.clone();
        let (cookie, board) = (cookie.clone(), board.clone());
        async move { create(&dial, &cookie, &board, &format!("Task {n}")).await }
    });
    let mut ids = BTreeSet::new();
    for created in join_all(creates).await {
        let task = created?;
        ids.insert(task["id"].as_str().unwrap_or_default().to_owned());
    }
    if ids.len() != CREATES {
        return Err(Failure::new(format!(
            "{CREATES} tasks created at once through three instances got only {} distinct ids",
            ids.len()
        ))
        .sent(format!("{CREATES} × POST /boards/{board}/tasks, spread over instances a, b and c"))
        .expected(format!("{CREATES} different ids: each one from the shared counter in Redis"))
        .got(format!("{} distinct ids", ids.len())));
    }
    for instance in &instances {
        let answer = instance.dial.request("GET", format!("/boards/{board}/tasks")).send().await?;
        answer.expect_status(200, "200 and every task, on every instance")?;
        let listed: BTreeSet<String> = answer
            .json("a JSON list")?
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|task| task["id"].as_str().map(str::to_owned))
            .collect();
        if listed != ids {
            return Err(answer.fail(
                format!("instance {} lists {} tasks, not the {CREATES} created", instance.name, listed.len()),
                "every task created through any instance, listed by every instance",
            ));
        }
    }
    Ok(())
}

check!(Check {
    name: a_session_and_a_ticket_work_on_every_instance_and_a_ticket_only_once,
    stage: SHARED,
    section: SESSIONS_SECTION,
    hints: &[
        "A session kept in one instance's memory is unknown to the others: keep it in Redis, a key \
         per session with the session's TTL (`SET session:<id> <user> PX <ttl>`).",
        "Redeem a ticket with one command that reads and deletes (`GETDEL ticket:<t>`): two \
         instances redeeming it at once then cannot both succeed.",
    ],
    needs: Needs::Redis,
});
async fn a_session_and_a_ticket_work_on_every_instance_and_a_ticket_only_once(
    t: Target,
) -> Result<(), Failure> {
    let redis = RedisServer::start().await?;
    let mut instances = cluster::start_many(&t, &redis, &["a", "b", "c"]).await?;
    let outcome = sign_in(&instances[0].dial, "Alice").await;
    let cookie = instances[0].explain(outcome).await?;
    let board = t.board(1);
    // The session made on a, used on b.
    let answer = instances[1]
        .dial
        .request("POST", format!("/boards/{board}/tasks"))
        .header("Cookie", &cookie)
        .json(&serde_json::json!({"title": "Signed in on a, created on b"}))
        .send()
        .await?;
    answer.expect_status(201, "201: a session made on instance a is valid on instance b")?;
    // A ticket from a, redeemed on b, then again on c.
    let answer = instances[0].dial.request("POST", "/tickets").header("Cookie", &cookie).send().await?;
    answer.expect_status(201, "201 {\"ticket\"}")?;
    let ticket = match answer.json("{\"ticket\": …}")?.get("ticket").and_then(Value::as_str) {
        Some(ticket) => ticket.to_owned(),
        None => return Err(answer.fail("POST /tickets answered without a ticket", "{\"ticket\": \"…\"}")),
    };
    // Redeemed on the WebSocket, whose upgrade needs nothing but the gate:
    // this check is stage 1's, and the event stream waits for stage 2.
    let path = format!("/ws?ticket={ticket}");
    match instances[1].dial.request("GET", &path).websocket().await? {
        Ok(first) => drop(first),
        Err(answer) => {
            return Err(answer.fail(
                format!("a ticket issued by instance a was refused on instance b ({})", answer.status),
                "101 Switching Protocols: a ticket issued by instance a is good on instance b",
            ));
        }
    }
    match instances[2].dial.request("GET", &path).websocket().await? {
        Err(again) if again.status == 401 => Ok(()),
        Err(again) => Err(again.fail(
            format!("a ticket already used on instance b got {} on instance c, not 401", again.status),
            "401: a ticket is good for one connection, cluster-wide",
        )),
        Ok(_) => Err(Failure::new(
            "a ticket already used on instance b was accepted again on instance c (101 Switching Protocols)",
        )
        .sent(format!("GET {path} on instance c, the ticket already used on instance b"))
        .expected("401: a ticket is good for one connection, cluster-wide")
        .got("101 Switching Protocols")),
    }
}

check!(Check {
    name: a_task_deleted_through_one_instance_is_gone_from_every_instance,
    stage: SHARED,
    section: IDS_SECTION,
    hints: &[
        "Delete the task in Redis, in the same script that appends `task_deleted` (`HDEL`), and \
         answer `204` only when it was there: `404` when `HDEL` removed nothing.",
        "The next task's number still comes from the counter, which only goes up: a deleted task's \
         id is never handed out again.",
    ],
    needs: Needs::Redis,
});
async fn a_task_deleted_through_one_instance_is_gone_from_every_instance(t: Target) -> Result<(), Failure> {
    let redis = RedisServer::start().await?;
    let mut instances = cluster::start_many(&t, &redis, &["a", "b"]).await?;
    let outcome = sign_in(&instances[0].dial, "Alice").await;
    let cookie = instances[0].explain(outcome).await?;
    let board = t.board(1);
    let task = create(&instances[0].dial, &cookie, &board, "Made on a, deleted on b").await?;
    let id = task["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/boards/{board}/tasks/{id}");
    let answer = instances[1].dial.request("DELETE", &path).header("Cookie", &cookie).send().await?;
    answer.expect_status(204, "204 No Content: a task created through instance a, deleted through b")?;
    let answer = instances[0].dial.request("GET", &path).send().await?;
    if answer.status != 404 {
        return Err(answer.fail(
            format!("a task deleted through instance b is still there on instance a ({})", answer.status),
            "404 Not Found: a task deleted through any instance is gone from every instance",
        ));
    }
    let answer = instances[0].dial.request("DELETE", &path).header("Cookie", &cookie).send().await?;
    if answer.status != 404 {
        return Err(answer.fail(
            format!("deleting a task that is already deleted answered {}", answer.status),
            "404 Not Found: there is no such task any more",
        ));
    }
    let next = create(&instances[1].dial, &cookie, &board, "Made after the delete").await?;
    if next["id"].as_str() == Some(id.as_str()) {
        return Err(Failure::new(format!("the deleted task's id {id} was handed out again"))
            .sent(format!("POST /boards/{board}/tasks on instance b, after DELETE {path}"))
            .expected("a new id: the counter in Redis only goes up")
            .got(next.to_string()));
    }
    Ok(())
}

check!(Check {
    name: each_board_has_its_own_tasks_and_each_ticket_its_own_user,
    stage: SHARED,
    section: IDS_SECTION,
    hints: &[
        "Name each board's keys after the board (`board:{b}:tasks`, `board:{b}:last_task`): task \
         numbers are counted per board from 1, and a board lists only its own tasks.",
        "Name each ticket's key after the ticket (`ticket:<t>`): tickets issued at the same time \
         to different users each stand for their own user.",
    ],
    needs: Needs::Redis,
});
async fn each_board_has_its_own_tasks_and_each_ticket_its_own_user(t: Target) -> Result<(), Failure> {
    let redis = RedisServer::start().await?;
    let mut instances = cluster::start_many(&t, &redis, &["a", "b"]).await?;
    let outcome = sign_in(&instances[0].dial, "Alice").await;
    let alice = instances[0].explain(outcome).await?;
    let (first, second) = (t.board(1), t.board(2));
    create(&instances[0].dial, &alice, &first, "On the first board").await?;
    let task = create(&instances[1].dial, &alice, &second, "On the second board").await?;
    if task["id"] != "task-1" {
        return Err(Failure::new(format!("the first task of {second} got the id {}", task["id"]))
            .sent(format!("POST /boards/{first}/tasks on instance a, then POST /boards/{second}/tasks on b"))
            .expected("\"task-1\": tasks are counted per board, from 1")
            .got(task.to_string()));
    }
    for (board, other, title) in
        [(&first, &second, "On the first board"), (&second, &first, "On the second board")]
    {
        let answer = instances[0].dial.request("GET", format!("/boards/{board}/tasks")).send().await?;
        answer.expect_status(200, "200 and the board's tasks")?;
        let titles: Vec<String> = answer
            .json("a JSON list")?
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|task| task["title"].as_str().map(str::to_owned))
            .collect();
        if titles != [title] {
            return Err(answer.fail(
                format!("{board} lists {titles:?}"),
                format!("only \"{title}\": {other}'s task is not {board}'s, and {board}'s own is there"),
            ));
        }
    }
    // Two users' tickets, issued one after the other on two instances.
    let bob = sign_in(&instances[1].dial, "Bob").await?;
    let mut tickets = Vec::new();
    for (instance, cookie) in [(&instances[0], &alice), (&instances[1], &bob)] {
        let answer = instance.dial.request("POST", "/tickets").header("Cookie", cookie).send().await?;
        answer.expect_status(201, "201 {\"ticket\"}")?;
        match answer.json("{\"ticket\": …}")?.get("ticket").and_then(Value::as_str) {
            Some(ticket) => tickets.push(ticket.to_owned()),
            None => return Err(answer.fail("POST /tickets answered without a ticket", "{\"ticket\": \"…\"}")),
        }
    }
    let path = format!("/ws?ticket={}", tickets[0]);
    let mut ws = match instances[1].dial.request("GET", &path).websocket().await? {
        Ok(ws) => ws,
        Err(answer) => return Err(answer.fail("Alice's ticket did not open a WebSocket", "101")),
    };
    ws.note("(Alice's ticket, issued on instance a just before Bob's on b)");
    ws.send_json(&serde_json::json!({"type": "join", "boardId": first, "user": "Alice"})).await?;
    let expected = "the presence snapshot: Alice's ticket stands for Alice, whoever got a ticket after her";
    let got = ws.next_json(expected).await?;
    if got["type"] != "presence" {
        return Err(ws.fail(format!("joining as Alice with Alice's ticket was answered {got}"), expected));
    }
    Ok(())
}
