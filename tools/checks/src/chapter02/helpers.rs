//! Helpers the stages' checks share.

use std::time::Duration;

use serde_json::Value;

use crate::http::ANSWER_TIMEOUT;
use crate::sse::{Event, EventStream};
use crate::{Failure, Target};

/// A snapshot event's content.
pub(super) struct Snapshot {
    pub(super) event_id: u64,
    pub(super) tasks: Vec<Value>,
}

/// Opens a board's stream without `Last-Event-ID` and reads its snapshot.
pub(super) async fn subscribe_fresh(t: &Target, board: &str) -> Result<(EventStream, Snapshot), Failure> {
    let mut stream = EventStream::subscribe(t, board, None).await?;
    let expected = "a fresh connection (no Last-Event-ID) starts with\n\
                    event: snapshot\nid: N\ndata: {\"eventId\": N, \"tasks\": [ …the board's tasks… ]}";
    let event = stream.next_event(ANSWER_TIMEOUT, expected).await?;
    let snapshot = parse_snapshot(&stream, &event, expected)?;
    Ok((stream, snapshot))
}

/// Requires a `snapshot` event with `{"eventId": N, "tasks": [...]}` and `id: N`.
pub(super) fn parse_snapshot(
    stream: &EventStream,
    event: &Event,
    expected: &str,
) -> Result<Snapshot, Failure> {
    if event.name != "snapshot" {
        return Err(
            stream.fail(format!("the first event is {:?}; expected \"snapshot\"", event.name), expected)
        );
    }
    let data: Value = serde_json::from_str(&event.data)
        .map_err(|e| stream.fail(format!("the snapshot's data is not JSON ({e})"), expected))?;
    let (Some(event_id), Some(tasks)) = (data["eventId"].as_u64(), data["tasks"].as_array()) else {
        return Err(
            stream.fail("the snapshot's data is not {\"eventId\": <a number>, \"tasks\": [ … ]}", expected)
        );
    };
    if event.id.as_deref() != Some(event_id.to_string().as_str()) {
        return Err(stream.fail(
            format!(
                "the snapshot's id: field is {:?}; its eventId is {event_id}",
                event.id.as_deref().unwrap_or("missing")
            ),
            format!(
                "id: {event_id} on the snapshot, so that a browser reconnecting sends Last-Event-ID: {event_id}"
            ),
        ));
    }
    Ok(Snapshot { event_id, tasks: tasks.clone() })
}

/// The event's `id:` field as a number.
pub(super) fn event_id(stream: &EventStream, event: &Event, expected: &str) -> Result<u64, Failure> {
    match event.id.as_deref().map(str::parse::<u64>) {
        Some(Ok(id)) => Ok(id),
        Some(Err(_)) => Err(stream.fail(
            format!(
                "the {} event's id {:?} is not a whole number",
                event.name,
                event.id.as_deref().unwrap_or("")
            ),
            expected,
        )),
        None => Err(stream.fail(
            format!("the {} event has no id: field", event.name),
            format!("{expected}\n(every event carries an id: line with the board's next event number)"),
        )),
    }
}

/// Requires the next event to be `name` with JSON `data`; returns its id.
pub(super) async fn expect_change(
    stream: &mut EventStream,
    within: Duration,
    name: &str,
    data: &Value,
    after: &str,
) -> Result<u64, Failure> {
    let expected = format!("after {after}:\nevent: {name}\nid: <the board's next event id>\ndata: {data}");
    let event = stream.next_event(within, &expected).await?;
    if event.name != name {
        return Err(stream.fail(
            format!("after {after}, the next event is {:?}; expected {name:?}", event.name),
            expected,
        ));
    }
    let got: Value = serde_json::from_str(&event.data)
        .map_err(|e| stream.fail(format!("the {name} event's data is not JSON ({e})"), &expected))?;
    if &got != data {
        return Err(stream.fail(format!("the {name} event's data is not what the contract says"), expected));
    }
    event_id(stream, &event, &expected)
}

/// Requires `id` to come after `last`; returns it.
pub(super) fn expect_increasing(stream: &EventStream, last: u64, id: u64) -> Result<u64, Failure> {
    if id > last {
        return Ok(id);
    }
    Err(stream.fail(
        format!("event id {id} came after id {last}"),
        "each event of a board has a greater id than the one before",
    ))
}
