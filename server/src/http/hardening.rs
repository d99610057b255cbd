//! What every answer and every request passes for the browser's sake: security headers (a
//! Content-Security-Policy on every answer, the pages' own with their script nonce), the
//! allow-list of host names, the cross-site write check, and the request body limit.
//!
//! Not here: who the caller is (`auth`), what they may do (the service).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::HttpError;

/// The largest request body Uplift reads (except uploads with their own limit, such as
/// appliance archives).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The policy of a portal page: scripts only from Uplift and the page's own inline scripts
/// (hydration, resolved data) carrying its nonce; WebAssembly compiled from Uplift's file.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; \
         object-src 'none'"
    )
}

/// The policy of everything else (JSON, files): nothing runs, nothing frames it.
const OTHER_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// How the headers are set: `https` adds HSTS.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub https: bool,
    /// Host names requests may be addressed to (the `Host` header without its port); empty:
    /// any.
    pub allowed_hosts: Vec<String>,
}

/// Adds the security headers to every answer (a page's own CSP is kept).
pub async fn security_headers(
    State(settings): State<Settings>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(OTHER_POLICY),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if settings.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Refuses requests addressed to a host name not on the allow-list (DNS rebinding: a page on
/// another site whose name resolves to Uplift's address).
pub async fn allowed_host(
    State(settings): State<Settings>,
    request: Request,
    next: Next,
) -> Response {
    if !settings.allowed_hosts.is_empty() {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(host_name)
            .unwrap_or_default();
        if !settings
            .allowed_hosts
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(host))
        {
            return HttpError::new(
                StatusCode::MISDIRECTED_REQUEST,
                "unknown_host",
                "This Uplift does not answer to that host name.",
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// The name of a `Host` header value: without the port, an IPv6 address without brackets.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    host.split(':').next().unwrap_or_default()
}

/// Refuses state-changing requests from another site (CSRF): by `Origin` when the browser
/// sends it, else by `Sec-Fetch-Site`. Requests with neither (scripts, the CLI) carry no
/// browser cookies by accident and pass.
pub async fn same_origin(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && cross_site(request.headers()) {
        return HttpError::new(
            StatusCode::FORBIDDEN,
            "bad_origin",
            "This request came from another site and was refused.",
        )
        .into_response();
    }
    next.run(request).await
}

fn cross_site(headers: &axum::http::HeaderMap) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest.trim_end_matches('/'));
        return host.is_none() || origin_host != host;
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        // `none`: typed or bookmarked by the user; `same-origin`: the portal itself.
        Some(site) => !matches!(site, "same-origin" | "none"),
        None => false,
    }
}

/// Refuses a body that says it is larger than [`MAX_BODY_BYTES`], in the API's error shape;
/// a body that only turns out larger is cut off by the limit layer behind this.
pub async fn body_limit(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "The request body is larger than {} KiB, the most Uplift reads.",
                MAX_BODY_BYTES / 1024
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// A server function whose arguments do not parse is the client's mistake: `server_fn`
/// answers 500 with an `Args|…` body; it is a 400 like the REST API's bad bodies.
pub async fn server_fn_bad_arguments(request: Request, next: Next) -> Response {
    let rpc = request.uri().path().starts_with("/rpc/");
    let response = next.run(request).await;
    if !rpc || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Error bodies are a line of text; anything longer is not an argument error.
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    let client_mistake = ["Args|", "MissingArg|", "Deserialization|"]
        .iter()
        .any(|prefix| bytes.starts_with(prefix.as_bytes()));
    if client_mistake {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn cross_site_writes_are_known_by_origin_or_by_fetch_metadata() {
        assert!(!cross_site(&headers(&[])));
        assert!(!cross_site(&headers(&[
            ("host", "uplift:3000"),
            ("origin", "http://uplift:3000")
        ])));
        assert!(cross_site(&headers(&[
            ("host", "uplift:3000"),
            ("origin", "http://evil.example")
        ])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(!cross_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!cross_site(&headers(&[("sec-fetch-site", "none")])));
    }

    #[test]
    fn host_names_are_compared_without_their_port() {
        assert_eq!(host_name("uplift.example:3000"), "uplift.example");
        assert_eq!(host_name("uplift.example"), "uplift.example");
        assert_eq!(host_name("[::1]:3000"), "::1");
        assert_eq!(host_name("127.0.0.1:80"), "127.0.0.1");
    }

    #[test]
    fn the_page_policy_names_its_nonce_and_forbids_framing() {
        let policy = page_policy("abc");
        assert!(policy.contains("'nonce-abc'"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(!policy.contains("unsafe-inline"));
    }
}
