//! A reader of `GET /api/events/stream` for tests: complete messages, typed by the API.
#![allow(dead_code)] // each test file uses its own part of these helpers

use std::time::Duration;

use app::api::{Event, Job};

/// One server-sent message.
#[derive(Debug)]
pub enum Message {
    Event { id: i64, event: Event },
    Job { id: i64, job: Job },
    Resync,
}

impl Message {
    pub fn id(&self) -> Option<i64> {
        match self {
            Message::Event { id, .. } | Message::Job { id, .. } => Some(*id),
            Message::Resync => None,
        }
    }
}

/// An open stream.
pub struct Sse {
    response: reqwest::Response,
    text: String,
}

/// What reading the stream gave.
#[derive(Debug)]
pub enum Read {
    Message(Box<Message>),
    /// The server ended the stream.
    Ended,
    /// Nothing within the wait.
    Quiet,
}

impl Sse {
    pub fn new(response: reqwest::Response) -> Sse {
        assert_eq!(response.status(), 200, "the stream opens");
        Sse {
            response,
            text: String::new(),
        }
    }

    fn parse(&mut self) -> Option<Message> {
        while let Some(end) = self.text.find("\n\n") {
            let raw: String = self.text.drain(..end + 2).collect();
            let field = |name: &str| {
                raw.lines()
                    .filter_map(|l| l.strip_prefix(name))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let (kind, data, id) = (field("event: "), field("data: "), field("id: "));
            let id = id.parse().ok();
            let message = match kind.as_str() {
                "event" => Message::Event {
                    id: id.expect("an event has an id"),
                    event: serde_json::from_str(&data).expect("an event's JSON"),
                },
                "job" => Message::Job {
                    id: id.expect("a job change has an id"),
                    job: serde_json::from_str(&data).expect("a job's JSON"),
                },
                "resync" => Message::Resync,
                // Keep-alive comments and anything unknown.
                _ => continue,
            };
            return Some(message);
        }
        None
    }

    /// The next message, waiting up to `wait`.
    pub async fn read(&mut self, wait: Duration) -> Read {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(message) = self.parse() {
                return Read::Message(Box::new(message));
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return Read::Quiet,
                Ok(Ok(Some(chunk))) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Ok(None)) | Ok(Err(_)) => return Read::Ended,
            }
        }
    }

    /// The next message; panics when none comes within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Message {
        match self.read(wait).await {
            Read::Message(message) => *message,
            other => panic!("no message on the stream: {other:?}"),
        }
    }

    /// Messages until `done` says the last one was the one waited for.
    pub async fn until(
        &mut self,
        wait: Duration,
        mut done: impl FnMut(&Message) -> bool,
    ) -> Vec<Message> {
        let mut seen = Vec::new();
        loop {
            let message = self.next(wait).await;
            let stop = done(&message);
            seen.push(message);
            if stop {
                return seen;
            }
        }
    }
}
