//! A client of Foreman/Katello's REST API (docs/katello-api.md has the shapes and where they
//! come from): hosts searched by name, a host's content facet and applicable errata, errata
//! installed through remote execution (`POST /api/job_invocations`, feature
//! `katello_errata_install`, the only way since Katello 4.11), and foreman-tasks polled.
//!
//! Every error is named by what failed (unreachable, credentials refused, not found, the
//! provider's own words), never by what Uplift would have liked; the password goes into the
//! Authorization header only.

use std::time::Duration;

use app::api::{Erratum, ErratumPackage, ErratumType};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use super::{ContentHost, ContentProvider, ProviderError, ProviderResult, TaskState};
use crate::store::ProviderRow;

/// How long one request to the provider may take.
const TIMEOUT: Duration = Duration::from_secs(20);

pub struct ForemanProvider {
    base: String,
    username: String,
    password: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Page<T> {
    results: Vec<T>,
}

#[derive(Deserialize)]
struct HostView {
    id: u64,
    name: String,
    #[serde(default)]
    content_facet_attributes: Option<Value>,
}

#[derive(Deserialize)]
struct ErratumView {
    errata_id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    issued: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    packages: Vec<String>,
}

#[derive(Deserialize)]
struct TaskRef {
    id: String,
}

#[derive(Deserialize)]
struct InvocationView {
    #[serde(default)]
    task: Option<TaskRef>,
    #[serde(default)]
    dynflow_task: Option<TaskRef>,
}

#[derive(Deserialize)]
struct TaskView {
    state: String,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    progress: Option<f64>,
    #[serde(default)]
    humanized: Option<Humanized>,
}

#[derive(Deserialize)]
struct Humanized {
    #[serde(default)]
    errors: Vec<String>,
}

/// Katello's type words (older data says `recommended` and `optional`).
fn erratum_type(word: &str) -> Option<ErratumType> {
    match word {
        "security" => Some(ErratumType::Security),
        "bugfix" | "recommended" => Some(ErratumType::Bugfix),
        "enhancement" | "optional" => Some(ErratumType::Enhancement),
        _ => None,
    }
}

/// `openssl-libs-3.0.7-27.el9.x86_64` → `openssl-libs`, `3.0.7-27.el9` (name, version-release).
pub fn split_nevra(nevra: &str) -> ErratumPackage {
    let without_arch = match nevra.rsplit_once('.') {
        Some((rest, arch))
            if !arch.is_empty()
                && arch.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && rest.matches('-').count() >= 2 =>
        {
            rest
        }
        _ => nevra,
    };
    let mut parts = without_arch.rsplitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(release), Some(version), Some(name)) => ErratumPackage {
            name: name.to_string(),
            version: format!("{version}-{release}"),
        },
        _ => ErratumPackage {
            name: nevra.to_string(),
            version: String::new(),
        },
    }
}

/// The provider's own words in an error body: Foreman's `error.message`, Katello's
/// `displayMessage` (≤ 4.21) or `message` (5.0), or the first of `errors`.
fn words(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let text = |v: &Value| v.as_str().map(str::to_string);
    value
        .pointer("/error/message")
        .and_then(text)
        .or_else(|| value.get("displayMessage").and_then(text))
        .or_else(|| value.get("message").and_then(text))
        .or_else(|| value.pointer("/errors/0").and_then(text))
}

impl ForemanProvider {
    pub fn new(row: &ProviderRow) -> ProviderResult<Self> {
        // An admin chose this address; a redirect elsewhere is not followed.
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ProviderError::Unreachable(format!("no HTTP client: {e}")))?;
        Ok(ForemanProvider {
            base: row.url.trim_end_matches('/').to_string(),
            username: row.username.clone(),
            password: row.password.clone(),
            http,
        })
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> ProviderResult<T> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method, &url)
            .basic_auth(&self.username, Some(&self.password))
            .header(reqwest::header::ACCEPT, "application/json")
            .query(query);
        if let Some(body) = body {
            // Foreman answers 415 to a body without this header.
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| {
            let kind = if e.is_timeout() {
                "no answer in time"
            } else if e.is_connect() {
                "no connection"
            } else {
                "the request failed"
            };
            ProviderError::Unreachable(format!("{kind} ({})", self.base))
        })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| ProviderError::Unreachable(format!("the answer broke off: {e}")))?;
        if status.is_success() {
            return serde_json::from_str(&text)
                .map_err(|e| ProviderError::Protocol(format!("{path}: {e}")));
        }
        let said = words(&text).unwrap_or_else(|| format!("HTTP {status}"));
        Err(match status {
            StatusCode::UNAUTHORIZED => ProviderError::Unauthorized(said),
            StatusCode::NOT_FOUND => ProviderError::NotFound(said),
            _ => ProviderError::Refused(said),
        })
    }

    fn content_host_of(host: HostView) -> ContentHost {
        let cannot_install = host.content_facet_attributes.is_none().then(|| {
            format!(
                "{} is not registered for content (it has no content facet: register it with subscription-manager)",
                host.name
            )
        });
        ContentHost {
            id: host.id.to_string(),
            name: host.name,
            cannot_install,
        }
    }
}

#[async_trait::async_trait]
impl ContentProvider for ForemanProvider {
    async fn test(&self) -> ProviderResult<String> {
        let status: Value = self.call(Method::GET, "/api/status", &[], None).await?;
        let version = status
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("an unknown version");
        Ok(format!(
            "Foreman {version} answers and accepts the credentials."
        ))
    }

    async fn find_host(&self, name: &str) -> ProviderResult<ContentHost> {
        let search = format!("name = \"{}\"", name.replace('"', ""));
        let page: Page<HostView> = self
            .call(Method::GET, "/api/hosts", &[("search", &search)], None)
            .await?;
        let host = page
            .results
            .into_iter()
            .find(|host| host.name == name)
            .ok_or_else(|| {
                ProviderError::NotFound(format!(
                    "no host named {name} is registered with the provider"
                ))
            })?;
        Ok(Self::content_host_of(host))
    }

    async fn content_host(&self, id: &str) -> ProviderResult<ContentHost> {
        let host: HostView = self
            .call(
                Method::GET,
                &format!("/api/hosts/{}", urlencode(id)),
                &[],
                None,
            )
            .await?;
        Ok(Self::content_host_of(host))
    }

    async fn errata(&self, content_host: &str) -> ProviderResult<Vec<Erratum>> {
        let path = format!("/api/hosts/{}/errata", urlencode(content_host));
        let page: Page<ErratumView> = self
            .call(Method::GET, &path, &[("full_result", "true")], None)
            .await?;
        page.results
            .into_iter()
            .map(|view| {
                let kind = erratum_type(&view.kind).ok_or_else(|| {
                    ProviderError::Protocol(format!(
                        "erratum {} has an unknown type {:?}",
                        view.errata_id, view.kind
                    ))
                })?;
                Ok(Erratum {
                    id: view.errata_id,
                    kind,
                    severity: view.severity.unwrap_or_default(),
                    title: view.title,
                    issued: view.issued.unwrap_or_default(),
                    description: view.description.unwrap_or_default(),
                    packages: view.packages.iter().map(|p| split_nevra(p)).collect(),
                })
            })
            .collect()
    }

    async fn install(
        &self,
        content_host: &str,
        errata: &[String],
        request: &str,
    ) -> ProviderResult<String> {
        let body = serde_json::json!({"job_invocation": {
            "feature": "katello_errata_install",
            "inputs": {"errata": errata.join(",")},
            "search_query": format!("id = {content_host}"),
            "targeting_type": "static_query",
            "description_format": format!("Install errata (Uplift {request})"),
        }});
        let invocation: InvocationView = self
            .call(Method::POST, "/api/job_invocations", &[], Some(body))
            .await?;
        invocation
            .task
            .or(invocation.dynflow_task)
            .map(|task| task.id)
            .ok_or_else(|| ProviderError::Protocol("the job invocation names no task".into()))
    }

    async fn task(&self, id: &str) -> ProviderResult<TaskState> {
        let path = format!("/foreman_tasks/api/tasks/{}", urlencode(id));
        let task: TaskView = self.call(Method::GET, &path, &[], None).await?;
        let errors = task
            .humanized
            .map(|h| h.errors.join("; "))
            .filter(|e| !e.is_empty());
        Ok(match (task.state.as_str(), task.result.as_deref()) {
            ("stopped", Some("success")) => TaskState::Succeeded,
            ("stopped", result) => TaskState::Failed(errors.unwrap_or_else(|| {
                format!("the task ended with result {}", result.unwrap_or("unknown"))
            })),
            ("paused", _) => TaskState::Failed(errors.unwrap_or_else(|| {
                "the task is paused and waits for an admin of the provider".to_string()
            })),
            _ => TaskState::Running {
                percent: (task.progress.unwrap_or(0.0) * 100.0).clamp(0.0, 99.0),
            },
        })
    }
}

/// A path segment, percent-encoded.
fn urlencode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_and_versions_come_from_nevras() {
        let p = split_nevra("openssl-libs-3.0.7-27.el9.x86_64");
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("openssl-libs", "3.0.7-27.el9")
        );
        let p = split_nevra("qemu-kvm-8.2.1-1.el9.noarch");
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("qemu-kvm", "8.2.1-1.el9")
        );
        assert_eq!(split_nevra("weird").name, "weird");
    }

    #[test]
    fn the_providers_words_are_found_in_each_error_shape() {
        assert_eq!(
            words(r#"{"error":{"message":"Unable to authenticate user admin"}}"#).as_deref(),
            Some("Unable to authenticate user admin")
        );
        assert_eq!(
            words(r#"{"displayMessage":"no","errors":["no"]}"#).as_deref(),
            Some("no")
        );
        assert_eq!(
            words(r#"{"message":"Resource host not found by id 'x'"}"#).as_deref(),
            Some("Resource host not found by id 'x'")
        );
        assert_eq!(words("<html>"), None);
    }
}
