use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use crate::api::JobStep;
use crate::components::{LoadError, Loading, Portal};
use crate::rpc::get_job;

/// One job and its steps with their times, following it live while it runs.
#[component]
pub fn JobPage() -> impl IntoView {
    let params = use_params_map();
    let portal = Portal::get();
    let job = Resource::new(
        move || {
            (
                params.read().get("id").unwrap_or_default(),
                portal.version.get(),
            )
        },
        |(id, _)| get_job(id),
    );
    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match job.await {
                    Err(error) => view! { <Title text="Job"/><LoadError error/> }.into_any(),
                    Ok(job) => {
                        let percent = job.percent_complete.round();
                        view! {
                            <Title text=job.kind.label()/>
                            <h1>{job.kind.label()} " — " {job.status.label()}</h1>
                            <p><progress max="100" value=percent></progress> {format!(" {percent}%")}</p>
                            <dl class="facts">
                                <dt>"Started"</dt><dd>{job.created_at.clone()}</dd>
                                <dt>"Ended"</dt><dd>{job.ended_at.clone().unwrap_or_else(|| "—".into())}</dd>
                                <dt>"Result"</dt><dd>{job.message.clone().unwrap_or_default()}</dd>
                                <dt>"Events"</dt>
                                <dd><A href=format!("/events?correlation_id={}", job.correlation_id)>{job.correlation_id.clone()}</A></dd>
                            </dl>
                            <h2>"Steps"</h2>
                            <StepsTable steps=job.steps/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// A job's steps with their times and messages (a message may hold several lines).
#[component]
pub fn StepsTable(steps: Vec<JobStep>) -> impl IntoView {
    view! {
        <table class="grid steps">
            <thead><tr><th>"Host"</th><th>"Phase"</th><th>"Status"</th><th>"Started"</th><th>"Ended"</th><th>"Message"</th></tr></thead>
            <tbody>
                {steps.into_iter().map(|step| view! {
                    <tr>
                        <td>{step.host.map(|h| h.name)}</td>
                        <td>{step.phase}</td>
                        <td>{step.status.label()}</td>
                        <td><time>{step.started_at}</time></td>
                        <td><time>{step.ended_at}</time></td>
                        <td class="message">{step.message}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
