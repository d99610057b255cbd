//! The REST API's OpenAPI 3.1 document (SPEC §9: `GET /api/openapi.json`) and the page that
//! renders it (`/api/docs`). The document is not written by hand: every REST handler carries
//! its `#[utoipa::path]`, and the router registers handlers through `utoipa_axum`, so a route
//! and its description are added in one place and cannot drift apart. The authorization
//! matrix test (tests/authz.rs) walks this document as the route table.
//!
//! Not here: the handlers' own behaviour; schemas of API types live beside the types.

use std::sync::Arc;

use app::api::{ApiError, HostSort, HostStatus, Severity, VmStatus};
use axum::extract::Extension;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, Response as OaResponse};
use utoipa::{Modify, OpenApi, ToSchema};

/// The body of every error answer (SPEC §4).
#[derive(serde::Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ApiError,
}

/// The document's frame: title, security schemes, and schemas no handler names directly.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Uplift",
        description = "Upgrade manager for virtualization clusters: the REST API of SPEC §4 and §9. \
                       Reads need a signed-in user (viewer or admin), changes an admin.",
    ),
    modifiers(&Security),
    security(("basic" = []), ("bearer" = []), ("session" = [])),
    // Schemas only query parameters name (the rest come with the operations).
    components(schemas(ErrorBody, HostStatus, HostSort, VmStatus, Severity)),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::new("uplift_session"),
            )),
        );
    }
}

fn error(description: &str) -> RefOr<OaResponse> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "ErrorBody",
                ))))
                .build(),
        )
        .build()
        .into()
}

/// The refusals any operation may answer with, each an [`ErrorBody`]: a bad body or query
/// (400), no or wrong credentials (401), not allowed (403), unknown (404), a conflict with
/// the current state (409), a body over the limit (413), too many sign-ins or streams (429),
/// and a host that failed or password checks all busy (502, 503).
pub struct Refusals;

impl utoipa::IntoResponses for Refusals {
    fn responses() -> std::collections::BTreeMap<String, RefOr<OaResponse>> {
        ResponsesBuilder::new()
            .response("400", error("The body, the query or a value is not valid."))
            .response("401", error("No credentials, or wrong ones."))
            .response(
                "403",
                error("The caller's role may not do this, or the request came from another site."),
            )
            .response("404", error("There is no such thing."))
            .response(
                "409",
                error("The current state does not allow it (named in the message)."),
            )
            .response(
                "413",
                error("The request body is larger than Uplift reads."),
            )
            .response(
                "429",
                error("Too many failed sign-ins or open streams; see Retry-After."),
            )
            .response("502", error("A host failed to do what it was asked."))
            .response(
                "503",
                error("Uplift is busy checking passwords; see Retry-After."),
            )
            .build()
            .into()
    }
}

/// `GET /api/openapi.json`: this document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.", body = Object)))]
pub async fn document(
    Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> Json<utoipa::openapi::OpenApi> {
    Json(doc.as_ref().clone())
}

/// The docs page's policy: Swagger UI's own script and styles (it sets styles inline).
const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                           img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Gives the docs page a policy it can work with (the default one runs nothing).
pub async fn docs_policy(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_POLICY),
    );
    response.into_response()
}

/// The page that renders the document, at `/api/docs` (it reads `/api/openapi.json`).
pub fn docs_page<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    let page = utoipa_swagger_ui::SwaggerUi::new("/api/docs")
        .config(utoipa_swagger_ui::Config::from("/api/openapi.json"));
    axum::Router::from(page).layer(axum::middleware::from_fn(docs_policy))
}
