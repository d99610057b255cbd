//! `/ovirt-engine/api/jobs` and their `steps`: Uplift's jobs (the latest 100 in the list, any
//! by id). oVirt has fewer job states than Uplift: every state of a job still going is
//! `started`. A step's id is its number in its job.

use app::api::{Job, JobStatus, JobStep};
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::search::Fields;
use super::{reference, time_of, Answer, Client, Elem, Fault, Listing, Reply};
use crate::http::AppState;

/// oVirt's `JobStatus`/`StepStatus` for Uplift's.
fn status(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Succeeded => "finished",
        JobStatus::Failed => "failed",
        JobStatus::Cancelled => "aborted",
        JobStatus::Pending
        | JobStatus::Running
        | JobStatus::Pausing
        | JobStatus::Paused
        | JobStatus::Cancelling => "started",
    }
}

fn render(job: &Job) -> Elem {
    let path = format!("jobs/{}", job.id);
    Elem::entity("job", &job.id, &path)
        .leaf(
            "description",
            job.message.as_deref().unwrap_or(job.kind.label()),
        )
        .leaf("status", status(job.status))
        .leaf("start_time", time_of(&job.created_at))
        .maybe("end_time", job.ended_at.as_deref().map(time_of))
        .leaf("external", false)
        .link("steps", &format!("{path}/steps"))
}

fn render_step(job: &Job, number: usize, step: &JobStep) -> Elem {
    let mut description = step.phase.clone();
    if let Some(name) = &step.name {
        description = format!("{description}: {name}");
    }
    if let Some(message) = &step.message {
        description = format!("{description} ({message})");
    }
    let path = format!("jobs/{}/steps/{number}", job.id);
    let mut doc = Elem::entity("step", &number.to_string(), &path)
        .leaf("description", description)
        .leaf("status", status(step.status))
        .leaf("number", number)
        .leaf("start_time", time_of(&step.started_at))
        .maybe("end_time", step.ended_at.as_deref().map(time_of))
        .child(Elem::entity("job", &job.id, &format!("jobs/{}", job.id)));
    if let Some(host) = &step.host {
        doc = doc.child(reference("execution_host", "hosts", host));
    }
    doc
}

impl Fields for Job {
    const NAMES: &'static [&'static str] = &["id", "status", "correlation_id"];

    fn field(&self, name: &str) -> Vec<String> {
        vec![match name {
            "status" => status(self.status).to_string(),
            "correlation_id" => self.correlation_id.clone(),
            _ => self.id.clone(),
        }]
    }
}

pub async fn list(State(state): State<AppState>, _: Client, Listing(query): Listing) -> Answer {
    query.select("jobs", state.service.recent_jobs().await?, render)
}

pub async fn one(State(state): State<AppState>, _: Client, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(render(&state.service.job_by_id(&id).await?)))
}

pub async fn steps(State(state): State<AppState>, _: Client, Path(id): Path<String>) -> Answer {
    let job = state.service.job_by_id(&id).await?;
    let steps = job
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| render_step(&job, i + 1, step))
        .collect();
    Ok(Reply::ok(Elem::list("steps", steps)))
}

pub async fn step(
    State(state): State<AppState>,
    _: Client,
    Path((id, number)): Path<(String, String)>,
) -> Answer {
    let job = state.service.job_by_id(&id).await?;
    let found = number
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= 1)
        .and_then(|n| job.steps.get(n - 1).map(|step| render_step(&job, n, step)));
    let doc = found.ok_or_else(|| {
        Fault::new(
            StatusCode::NOT_FOUND,
            format!("Job {id} has no step {number}."),
        )
    })?;
    Ok(Reply::ok(doc))
}
