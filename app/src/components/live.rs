//! The browser's end of `GET /api/events/stream`: every new event or job change refreshes the
//! pages that show it, and the jobs this browser follows update in place. The browser's
//! EventSource reconnects by itself when the connection drops and sends the last `id:` it got,
//! so the server replays exactly what was missed; `resync` (the server could not) reloads all.

use futures::StreamExt;
use gloo_net::eventsource::futures::EventSource;
use leptos::prelude::*;

use super::portal::Portal;
use crate::api::Job;

/// Pages refresh at most this often however fast changes arrive (a rolling upgrade of many
/// hosts makes dozens a second): changes within the wait share one refresh.
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Schedules one refresh of the pages, unless one is already waiting.
fn refresh_soon(portal: Portal, waiting: &std::rc::Rc<std::cell::Cell<bool>>) {
    if waiting.replace(true) {
        return;
    }
    let waiting = waiting.clone();
    set_timeout(
        move || {
            waiting.set(false);
            portal.version.update(|v| *v += 1);
        },
        REFRESH_EVERY,
    );
}

pub fn listen(portal: Portal) {
    let Ok(mut source) = EventSource::new("/api/events/stream") else {
        return;
    };
    let (Ok(jobs), Ok(events), Ok(resyncs)) = (
        source.subscribe("job"),
        source.subscribe("event"),
        source.subscribe("resync"),
    ) else {
        return;
    };
    leptos::task::spawn_local(async move {
        // The source lives as long as this task: dropping it would close the stream.
        let _source = source;
        let waiting = std::rc::Rc::new(std::cell::Cell::new(false));
        let mut changes = futures::stream::select(futures::stream::select(jobs, events), resyncs);
        while let Some(change) = changes.next().await {
            let Ok((kind, message)) = change else {
                continue;
            };
            match kind.as_str() {
                "resync" => portal.resync(),
                "job" => {
                    let data = message.data().as_string().unwrap_or_default();
                    if let Ok(job) = serde_json::from_str::<Job>(&data) {
                        portal.job_changed(job);
                    }
                    refresh_soon(portal, &waiting);
                }
                _ => refresh_soon(portal, &waiting),
            }
        }
    });
}
