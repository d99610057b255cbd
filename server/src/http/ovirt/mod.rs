//! oVirt's Engine API v4, the subset scripts built on `ovirtsdk4` use (docs/ovirt-api.md):
//! a second door into the same service as `/api`, under `/ovirt-engine`. Each resource module
//! turns Uplift's types into oVirt's documents ([`doc::Elem`]) and oVirt's requests into
//! service calls; this module holds what they share: the route table, who is calling, the
//! body reader, answers and faults, and the one place that writes them as XML or JSON
//! ([`negotiate`]).
//!
//! Not here: any decision. Permissions, validation and events are the service's, as for `/api`;
//! a value oVirt has and Uplift does not model is left out of the answer, never made up.

mod clusters;
mod doc;
mod events;
mod hosts;
mod jobs;
mod root;
mod search;
mod sso;
mod vms;

use app::api::Caller;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Request};
use axum::http::{header, request::Parts, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;

use super::error::HttpError;
use super::AppState;
use crate::service::ServiceError;
pub use doc::Elem;
use search::{Fields, Search};
pub use sso::{ovirt_user_name, user_name};

/// Every route: method, path below `/ovirt-engine`, handler. The router and the
/// authorization matrix's test (through [`route_list`]) both read it.
fn table() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        ("POST", "/sso/oauth/token", post(sso::token)),
        ("POST", "/services/sso-logout", post(sso::logout)),
        ("GET", "/api", get(root::api)),
        ("GET", "/api/hosts", get(hosts::list)),
        ("GET", "/api/hosts/{id}", get(hosts::one)),
        (
            "POST",
            "/api/hosts/{id}/upgradecheck",
            post(hosts::upgradecheck),
        ),
        ("POST", "/api/hosts/{id}/upgrade", post(hosts::upgrade)),
        (
            "POST",
            "/api/hosts/{id}/deactivate",
            post(hosts::deactivate),
        ),
        ("POST", "/api/hosts/{id}/activate", post(hosts::activate)),
        ("GET", "/api/clusters", get(clusters::list)),
        ("GET", "/api/clusters/{id}", get(clusters::one)),
        (
            "PUT",
            "/api/clusters/{id}",
            axum::routing::put(clusters::update),
        ),
        ("GET", "/api/schedulingpolicies", get(clusters::policies)),
        ("GET", "/api/schedulingpolicies/{id}", get(clusters::policy)),
        ("GET", "/api/vms", get(vms::list)),
        ("GET", "/api/vms/{id}", get(vms::one)),
        ("POST", "/api/vms/{id}/migrate", post(vms::migrate)),
        ("POST", "/api/vms/{id}/start", post(vms::start)),
        ("POST", "/api/vms/{id}/stop", post(vms::stop)),
        ("GET", "/api/events", get(events::list)),
        ("GET", "/api/events/{id}", get(events::one)),
        ("GET", "/api/jobs", get(jobs::list)),
        ("GET", "/api/jobs/{id}", get(jobs::one)),
        ("GET", "/api/jobs/{id}/steps", get(jobs::steps)),
        ("GET", "/api/jobs/{id}/steps/{step}", get(jobs::step)),
    ]
}

/// The routes as `(METHOD, full path template)`, for the authorization matrix's test.
pub fn route_list() -> Vec<(&'static str, String)> {
    table()
        .into_iter()
        .map(|(method, path, _)| (method, format!("/ovirt-engine{path}")))
        .collect()
}

/// The router nested at `/ovirt-engine`: unknown paths are a 404 fault, a known path with
/// another method a 405 fault, and every answer is written by [`negotiate`].
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for (_, path, method_router) in table() {
        router = router.route(path, method_router);
    }
    router
        .method_not_allowed_fallback(not_allowed)
        .fallback(not_found)
        .layer(axum::middleware::from_fn(negotiate))
}

async fn not_found(OriginalUri(uri): OriginalUri) -> Fault {
    Fault::new(
        StatusCode::NOT_FOUND,
        format!(
            "There is no {} here; GET /ovirt-engine/api lists the collections this server has.",
            uri.path()
        ),
    )
}

async fn not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> Fault {
    Fault::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{method} {} is not supported by this server (docs/ovirt-api.md).",
            uri.path()
        ),
    )
}

/// A time as oVirt writes it (`2026-11-30T23:58:20.366Z`): the SDK reads at most microseconds,
/// and Uplift's times may have nanoseconds.
fn time_of(rfc3339: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(rfc3339, &Rfc3339) {
        Ok(at) => {
            let at = at.to_offset(time::UtcOffset::UTC);
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second(),
                at.millisecond()
            )
        }
        // Not a time Uplift wrote; passed on as it is rather than made up.
        Err(_) => rfc3339.to_string(),
    }
}

/// How answers are written: oVirt's XML unless the client asks for JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Xml,
    Json,
}

impl Format {
    fn of(headers: &axum::http::HeaderMap) -> Format {
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if accept.contains("json") && !accept.contains("xml") {
            Format::Json
        } else {
            Format::Xml
        }
    }
}

/// A document an answer carries until [`negotiate`] writes it.
#[derive(Clone)]
struct Document(Elem);

/// Writes the document of every answer of the oVirt router in the client's format.
async fn negotiate(request: Request, next: Next) -> Response {
    let format = Format::of(request.headers());
    let mut response = next.run(request).await;
    let Some(Document(doc)) = response.extensions_mut().remove::<Document>() else {
        return response;
    };
    let (body, kind) = match format {
        Format::Xml => (
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n{}",
                doc.to_xml()
            ),
            "application/xml",
        ),
        Format::Json => (doc.to_json().to_string(), "application/json"),
    };
    *response.body_mut() = Body::from(body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    response.headers_mut().remove(header::CONTENT_LENGTH);
    response
}

/// An answer: a status and a document.
pub struct Reply(StatusCode, Elem);

impl Reply {
    fn ok(doc: Elem) -> Self {
        Reply(StatusCode::OK, doc)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        response.extensions_mut().insert(Document(self.1));
        response
    }
}

/// oVirt's error answer: `<fault><reason/><detail/></fault>` with a fitting status.
#[derive(Debug)]
pub struct Fault {
    status: StatusCode,
    detail: String,
    retry_after: Option<u64>,
}

pub type Answer = Result<Reply, Fault>;

impl Fault {
    fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Fault {
            status,
            detail: detail.into(),
            retry_after: None,
        }
    }

    fn bad(detail: impl Into<String>) -> Self {
        Fault::new(StatusCode::BAD_REQUEST, detail)
    }
}

impl From<&HttpError> for Fault {
    fn from(error: &HttpError) -> Self {
        Fault {
            status: error.status,
            detail: error.error.message.clone(),
            retry_after: error.retry_after,
        }
    }
}

impl From<ServiceError> for Fault {
    fn from(error: ServiceError) -> Self {
        Fault::from(&HttpError::from(error))
    }
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        // oVirt's words for a refused operation; the HTTP reason phrase otherwise.
        let reason = match self.status {
            StatusCode::CONFLICT | StatusCode::BAD_GATEWAY => "Operation Failed",
            status => status.canonical_reason().unwrap_or("Error"),
        };
        let doc = Elem::new("fault")
            .leaf("reason", reason)
            .leaf("detail", &self.detail);
        let mut response = Reply(self.status, doc).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, seconds.into());
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"Uplift\", Basic realm=\"Uplift\""),
            );
        }
        response
    }
}

/// What the auth layer refused on an oVirt path (a wrong password, an unknown token): the
/// request goes on without a caller and [`Client`] answers it as a fault.
#[derive(Clone, Debug)]
pub struct Refused(pub std::sync::Arc<HttpError>);

/// Whether a path is this door's (its refusals are faults, and it answers 401 itself).
pub fn is_ovirt_path(path: &str) -> bool {
    path == "/ovirt-engine" || path.starts_with("/ovirt-engine/")
}

/// The caller of an API request: 401 fault without credentials (the SDK then asks SSO for a
/// new token once).
pub struct Client(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = Fault;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(Client(caller.clone()));
        }
        if let Some(Refused(error)) = parts.extensions.get::<Refused>() {
            return Err(Fault::from(error.as_ref()));
        }
        Err(Fault::new(
            StatusCode::UNAUTHORIZED,
            "Send a bearer token from /ovirt-engine/sso/oauth/token, or HTTP Basic credentials.",
        ))
    }
}

/// A request body as a document: XML, or JSON when its Content-Type says so. An empty body
/// is an empty `<action/>`.
pub struct Input(pub Elem);

impl<S: Send + Sync> FromRequest<S> for Input {
    type Rejection = Fault;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| Fault::bad(format!("The body cannot be read: {e}")))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Input(Elem::new("action")));
        }
        let text =
            std::str::from_utf8(&bytes).map_err(|_| Fault::bad("The body is not UTF-8 text."))?;
        let elem = if json {
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| Fault::bad(format!("The body is not JSON: {e}.")))?;
            Elem::from_json("body", &value)
        } else {
            Elem::from_xml(text)
        };
        elem.map(Input).map_err(Fault::bad)
    }
}

impl Input {
    /// Refuses elements this server does not act on (a dropped parameter would be a lie).
    fn only(&self, allowed: &[&str]) -> Result<(), Fault> {
        // `async`: every action here answers before its work is done, as oVirt's async does.
        match self
            .0
            .children
            .iter()
            .find(|c| c.tag != "async" && !allowed.contains(&c.tag.as_str()))
        {
            Some(extra) => Err(Fault::bad(format!(
                "<{}> is not supported by this server here (docs/ovirt-api.md).",
                extra.tag
            ))),
            None => Ok(()),
        }
    }

    /// A boolean element of the body (`true`/`false`, as oVirt writes them).
    fn flag(&self, tag: &str) -> Result<Option<bool>, Fault> {
        match self.0.text_of(tag).map(str::trim) {
            None => Ok(None),
            Some(t) if t.eq_ignore_ascii_case("true") || t == "1" => Ok(Some(true)),
            Some(t) if t.eq_ignore_ascii_case("false") || t == "0" => Ok(Some(false)),
            Some(t) => Err(Fault::bad(format!("<{tag}> is true or false, not {t:?}."))),
        }
    }
}

/// The query parameters lists take: `search`, `max`, `from` (events) and the ones the SDK
/// and Ansible send that change nothing here (`follow`, `all_content`, `case_sensitive`…).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ListQuery {
    search: Option<String>,
    max: Option<String>,
    from: Option<String>,
}

impl ListQuery {
    fn search<T: Fields>(&self) -> Result<Search, Fault> {
        Search::parse(self.search.as_deref().unwrap_or_default(), T::NAMES).map_err(Fault::bad)
    }

    fn max(&self) -> Result<Option<usize>, Fault> {
        match self.max.as_deref().map(str::trim) {
            None | Some("") | Some("-1") => Ok(None),
            Some(n) => n
                .parse()
                .map(Some)
                .map_err(|_| Fault::bad(format!("max is a number, not {n:?}."))),
        }
    }

    /// The items matching the search, at most `max` of them, as the collection `tag`.
    fn select<T: Fields>(&self, tag: &str, items: Vec<T>, render: impl Fn(&T) -> Elem) -> Answer {
        let search = self.search::<T>()?;
        let max = self.max()?.unwrap_or(usize::MAX);
        let chosen = items
            .iter()
            .filter(|item| search.matches(*item))
            .take(max)
            .map(render)
            .collect();
        Ok(Reply::ok(Elem::list(tag, chosen)))
    }
}

/// A list's query ([`ListQuery`]); one that cannot be read is a fault.
pub struct Listing(pub ListQuery);

impl<S: Send + Sync> FromRequestParts<S> for Listing {
    type Rejection = Fault;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<ListQuery>::from_request_parts(parts, state)
            .await
            .map(|query| Listing(query.0))
            .map_err(|e| Fault::bad(e.body_text()))
    }
}

/// `<action>` for an action the service did at once, or started as a job: oVirt's answer,
/// `complete` with a link to the job that does the work.
fn action(job: Option<&app::api::Job>) -> Elem {
    let doc = Elem::new("action").leaf("status", "complete");
    match job {
        Some(job) => doc.child(Elem::entity("job", &job.id, &format!("jobs/{}", job.id))),
        None => doc,
    }
}

/// A reference to an entity by id and name (`<host id href><name/></host>`).
fn reference(tag: &str, collection: &str, r: &app::api::Ref) -> Elem {
    Elem::entity(tag, &r.id, &format!("{collection}/{}", r.id)).leaf("name", &r.name)
}

/// Every item of a paged service list, read a page (of the most items a page may hold) at a
/// time; the search is matched here.
async fn every<T, F, Fut>(fetch: F) -> Result<Vec<T>, Fault>
where
    F: Fn(Option<u32>, Option<u32>) -> Fut,
    Fut: std::future::Future<Output = crate::service::ServiceResult<app::api::Page<T>>>,
{
    let mut items = Vec::new();
    for page in 1.. {
        let found = fetch(Some(page), Some(app::api::MAX_PER_PAGE)).await?;
        let (total, empty) = (found.total, found.items.is_empty());
        items.extend(found.items);
        if empty || items.len() as u64 >= total {
            break;
        }
    }
    Ok(items)
}
