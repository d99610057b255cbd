//! The engine update check (SPEC §6; seed 001, "notify the user that an update for the engine
//! is available"). The engine's version comes from the driver (the fleet's managed engine, or
//! Uplift itself). The newest release comes from the feed at `EngineUpdateFeedUrl`, or, with
//! no feed, from the driver. A failed check keeps the previous answer and says why. A newer
//! version is announced once, whatever the number of checks. Each user may dismiss a version
//! for themselves.

use std::time::Duration;

use app::api::{EngineStatus, JobKind, JobStatus, Severity};
use serde::Deserialize;

use super::jobs::JobEnd;
use super::{Actor, Service, ServiceError, ServiceResult};
use crate::domain::version::is_newer;
use crate::store::{new_id, rfc3339, EngineState, JobRow, NewEvent, NewJob};
use crate::workflow::{Flow, Step, StepResult};

/// How long the feed may take to answer.
const FEED_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest feed Uplift reads (a release list is a few KiB).
const MAX_FEED_BYTES: usize = 1024 * 1024;
/// How often the periodic check looks whether a check is due.
const TICK: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
struct Feed {
    releases: Vec<Release>,
}

#[derive(Debug, Deserialize)]
struct Release {
    version: String,
    #[serde(default)]
    notes_url: Option<String>,
}

/// The newest release of a feed body, or why the body is no feed.
fn newest(body: &str) -> Result<Option<(String, Option<String>)>, String> {
    let feed: Feed =
        serde_json::from_str(body).map_err(|e| format!("the feed is not valid JSON: {e}"))?;
    Ok(feed
        .releases
        .into_iter()
        .reduce(|best, r| {
            if is_newer(&r.version, &best.version) {
                r
            } else {
                best
            }
        })
        // A link from outside is kept only when it is a web address (never `javascript:`).
        .map(|r| {
            let notes = r.notes_url.filter(|url| app::api::web_link(url).is_some());
            (r.version, notes)
        }))
}

impl Service {
    /// The last answer, as `GET /api/engine` shows it.
    pub async fn engine_status(&self) -> ServiceResult<EngineStatus> {
        let state = match self.store().engine_state().await? {
            Some(state) => state,
            None => EngineState {
                version: self.driver().engine_release().await?.version,
                ..EngineState::default()
            },
        };
        Ok(EngineStatus {
            update_available: state.available_version.is_some(),
            version: state.version,
            available_version: state.available_version,
            last_checked: state.last_checked,
            notes_url: state.notes_url,
            last_error: state.last_error,
            uplift_version: env!("CARGO_PKG_VERSION").to_string(),
        })
    }

    /// The engine's version as the driver says now (the engine VM's, with a hosted engine),
    /// and no update offered once it runs the newest release.
    pub(super) async fn refresh_engine_version(&self) -> ServiceResult<()> {
        let release = self.driver().engine_release().await?;
        let mut state = self.store().engine_state().await?.unwrap_or_default();
        state.version = release.version;
        if state
            .available_version
            .as_deref()
            .is_some_and(|v| !crate::domain::version::is_newer(v, &state.version))
        {
            state.available_version = None;
        }
        self.store().save_engine_state(&state).await?;
        Ok(())
    }

    /// `POST /api/engine/updatecheck` (admins), the periodic check and `--now` of the CLI: an
    /// `engine_update_check` job, waited for; the answer is the state it leaves.
    pub async fn check_engine(&self, actor: Actor<'_>) -> ServiceResult<EngineStatus> {
        actor.require_admin()?;
        let (id, correlation_id) = (new_id(), new_id());
        let user = actor.name();
        self.create_job(
            &NewJob {
                id: &id,
                kind: JobKind::EngineUpdateCheck,
                correlation_id: &correlation_id,
                host_id: None,
                cluster_id: None,
                user: Some(&user),
                host_status_before: None,
                params: None,
                parent_id: None,
                vm_id: None,
            },
            String::new,
        )
        .await?;
        self.spawn_job(&id);
        let ended = self.job_ended(&id).await?;
        if ended.status != JobStatus::Succeeded {
            let job = self.job_by_id(&id).await?;
            return Err(ServiceError::Host(
                job.message
                    .unwrap_or_else(|| "the engine update check failed".to_string()),
            ));
        }
        self.engine_status().await
    }

    /// Three steps: the engine's version (from the driver), the newest release (from the feed,
    /// or the driver without one), and the answer saved and announced.
    pub(super) async fn engine_check_flow(&self, flow: &Flow, row: &JobRow) -> StepResult<JobEnd> {
        let outcome: StepResult<String> = async {
            let release: (String, Option<String>) = flow
                .step(Step::once("read the engine's version"), || async {
                    let release = self.driver().engine_release().await?;
                    Ok((release.version, release.available_version))
                })
                .await?;
            let found: Result<Option<(String, Option<String>)>, String> = flow
                .step(Step::once("read the release feed"), || async {
                    let url = self.config_text("EngineUpdateFeedUrl").await?;
                    Ok(if url.trim().is_empty() {
                        Ok(release.1.clone().map(|v| (v, None)))
                    } else {
                        self.read_feed(url.trim()).await
                    })
                })
                .await?;
            flow.step(Step::once("save the answer"), || {
                self.save_engine_answer(flow, row, &release.0, &found)
            })
            .await
        }
        .await;
        Ok(match outcome {
            Ok(message) => JobEnd::succeeded(message),
            Err(error) => JobEnd::failed(error.to_string()),
        })
    }

    /// Saves the check's answer; a failed feed keeps the previous answer and says why, a new
    /// version is announced once.
    async fn save_engine_answer(
        &self,
        flow: &Flow,
        row: &JobRow,
        version: &str,
        found: &Result<Option<(String, Option<String>)>, String>,
    ) -> StepResult<String> {
        let previous = self.store().engine_state().await?.unwrap_or_default();
        let now = rfc3339(self.clock().now());
        let (state, said) = match found {
            Ok(newest) => {
                let (available_version, notes_url) = match newest {
                    Some((v, notes)) if is_newer(v, version) => (Some(v.clone()), notes.clone()),
                    _ => (None, None),
                };
                let said = match &available_version {
                    Some(v) => format!("an update is available: {v}"),
                    None => "the engine is up to date".to_string(),
                };
                let state = EngineState {
                    version: version.to_string(),
                    available_version,
                    notes_url,
                    last_checked: Some(now),
                    last_error: None,
                };
                (state, said)
            }
            Err(reason) => {
                self.emit(
                    NewEvent::new(
                        "engine_update_check_failed",
                        Severity::Warning,
                        format!(
                            "The engine update check failed: {reason}. The previous answer stays."
                        ),
                    )
                    .user(row.user.as_deref())
                    .once(flow.job_id(), "failed"),
                )
                .await?;
                let state = EngineState {
                    version: version.to_string(),
                    last_error: Some(reason.clone()),
                    ..previous
                };
                (
                    state,
                    format!("the feed failed ({reason}); the previous answer stays"),
                )
            }
        };
        self.store().save_engine_state(&state).await?;
        if let Some(available) = &state.available_version {
            if self.store().claim_engine_announcement(available).await? {
                self.emit(NewEvent::new(
                    "engine_update_available",
                    Severity::Normal,
                    format!(
                        "An update for the engine is available: {available} (running {}).",
                        state.version
                    ),
                ))
                .await?;
            }
        }
        Ok(said)
    }

    async fn read_feed(&self, url: &str) -> Result<Option<(String, Option<String>)>, String> {
        use futures::StreamExt;
        // Redirects only within the feed's own host (an admin chose it; a redirect elsewhere
        // could point Uplift anywhere), and at most five of them.
        let redirects = reqwest::redirect::Policy::custom(|attempt| {
            let same_host = attempt
                .previous()
                .first()
                .is_some_and(|first| first.host_str() == attempt.url().host_str());
            if same_host && attempt.previous().len() <= 5 {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let client = reqwest::Client::builder()
            .timeout(FEED_TIMEOUT)
            .redirect(redirects)
            .build()
            .map_err(|e| format!("no HTTP client: {e}"))?;
        let response = client
            .get(url)
            .send()
            .await
            .map_err(|e| format!("the feed at {url} cannot be reached: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("the feed at {url} answered {}", response.status()));
        }
        let mut body = Vec::new();
        let mut chunks = response.bytes_stream();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| format!("the feed at {url} broke off: {e}"))?;
            if body.len() + chunk.len() > MAX_FEED_BYTES {
                return Err(format!(
                    "the feed at {url} is larger than {} KiB; it was not read",
                    MAX_FEED_BYTES / 1024
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let body =
            String::from_utf8(body).map_err(|_| format!("the feed at {url} is not UTF-8 text"))?;
        newest(&body)
    }

    /// The version a user should be told about after login: an available update they have not
    /// dismissed, nor closed in this session (`closed_for_now`). Only admins are told (they
    /// are the ones who can act on it).
    pub async fn engine_notice(
        &self,
        user_id: &str,
        admin: bool,
        closed_for_now: Option<&str>,
    ) -> ServiceResult<Option<EngineStatus>> {
        let status = self.engine_status().await?;
        let Some(version) = status.available_version.as_deref().filter(|_| admin) else {
            return Ok(None);
        };
        if closed_for_now == Some(version) {
            return Ok(None);
        }
        if self
            .store()
            .engine_version_dismissed(user_id, version)
            .await?
        {
            return Ok(None);
        }
        Ok(Some(status))
    }

    pub async fn dismiss_engine_update(&self, user_id: &str, version: &str) -> ServiceResult<()> {
        Ok(self
            .store()
            .dismiss_engine_version(user_id, version)
            .await?)
    }

    /// At start and then every `EngineUpdateCheckIntervalInDays` (0: off).
    pub async fn run_engine_checks(self) {
        loop {
            if let Err(error) = self.engine_tick().await {
                tracing::warn!(error = %error, "engine update check tick failed");
            }
            self.clock().sleep(TICK).await;
        }
    }

    async fn engine_tick(&self) -> ServiceResult<()> {
        let days = self
            .config_number("EngineUpdateCheckIntervalInDays")
            .await?;
        if days == 0 {
            return Ok(());
        }
        let due = match self.store().engine_state().await? {
            Some(EngineState {
                last_checked: Some(at),
                ..
            }) => {
                let cutoff = self.clock().now()
                    - time::Duration::days(i64::try_from(days).unwrap_or(i64::MAX / 86_400));
                at < rfc3339(cutoff)
            }
            _ => true,
        };
        if due {
            self.check_engine(Actor::Cli).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_release_of_a_feed_wins_and_bad_feeds_say_why() {
        let body = r#"{"releases":[{"version":"4.5.2","released":"2026-10-01","notes_url":"https://x/4.5.2"},
                                   {"version":"4.5.10","released":"2026-11-01"},
                                   {"version":"4.4.9","released":"2026-01-01"}]}"#;
        assert_eq!(newest(body).unwrap(), Some(("4.5.10".to_string(), None)));
        let scripted = r#"{"releases":[{"version":"4.6.0","notes_url":"javascript:alert(1)"}]}"#;
        assert_eq!(newest(scripted).unwrap(), Some(("4.6.0".to_string(), None)));
        assert_eq!(newest(r#"{"releases":[]}"#).unwrap(), None);
        assert!(newest("<html>").unwrap_err().contains("not valid JSON"));
        assert!(newest(r#"{"versions":[]}"#).is_err());
    }
}
