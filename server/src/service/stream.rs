//! Who may open a live event stream (`GET /api/events/stream`): a few per user, so one
//! client cannot hold every connection. What streams carry comes from the hub (`hub`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use app::api::Caller;

use super::{Service, ServiceError, ServiceResult};

/// The most streams one user may have open at once (a browser tab holds one).
pub const MAX_STREAMS_PER_USER: usize = 8;

/// Open streams per user id.
#[derive(Debug, Default)]
pub(super) struct OpenStreams(Arc<Mutex<HashMap<String, usize>>>);

/// One open stream; closing it (dropping this) frees its place.
#[derive(Debug)]
pub struct StreamPermit {
    open: Arc<Mutex<HashMap<String, usize>>>,
    user_id: String,
}

fn counts(
    open: &Mutex<HashMap<String, usize>>,
) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
    open.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = counts(&self.open);
        if let Some(count) = open.get_mut(&self.user_id) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user_id);
            }
        }
    }
}

impl Service {
    /// A place for one more stream of the caller's, or 429 when they have the most allowed.
    pub fn open_stream(&self, caller: &Caller) -> ServiceResult<StreamPermit> {
        let shared = &self.inner.streams.0;
        let mut open = counts(shared);
        let count = open.entry(caller.user_id.clone()).or_default();
        if *count >= MAX_STREAMS_PER_USER {
            return Err(ServiceError::TooMany {
                code: "too_many_streams",
                message: format!(
                    "{} has {MAX_STREAMS_PER_USER} live event streams open, the most a user may \
                     have; close a tab or two.",
                    caller.name
                ),
            });
        }
        *count += 1;
        Ok(StreamPermit {
            open: shared.clone(),
            user_id: caller.user_id.clone(),
        })
    }
}
