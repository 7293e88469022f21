//! Routing: one table of every endpoint, percent-decoding, auth, 404 and 405.
//!
//! Paths are matched here rather than by axum's router so that every path works
//! with or without a trailing slash, segments are percent-decoded exactly once
//! (`+` stays a plus), ambiguous paths resolve by method, and 404/405 answer JSON.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::body::{self, BodyMemory, MAX_BODY_BYTES};
use super::config::EmulatorConfig;
use super::context::{Call, Params, QueryParams, Shared, same_secret};
use super::error::{self, ApiError, ApiResult};
use super::faults::Action;
use super::journal::{self, Outcome};
use super::server::{DropConnection, LOG_TARGET};
use super::{admin, connector, messaging, v1, v2};

/// Which credentials an endpoint wants.
#[derive(Clone, Copy)]
enum Api {
    /// Header `maven-api-key`.
    V1,
    /// Query parameter `access_token`.
    V2,
    /// Headers `Authorization` and `X-LP-ON-BEHALF`, checked by the handler
    /// (`messaging/auth.rs`), which answers the documented connector body.
    Messaging,
    /// None here: the Domain API and Sentinel need none; the IDP and the
    /// `swift` host (a temporary URL's signature) check theirs themselves.
    Open,
}

type Handler = fn(&Call<'_>) -> ApiResult;

struct Route {
    /// Segments separated by `/`; `{account}`, `{ns}`, `{session}` and
    /// `{property}` bind one segment each.
    pattern: &'static str,
    api: Api,
    methods: &'static [(Method, Handler)],
}

/// Every endpoint. As in OpenAPI path matching, a path without parameters wins
/// over patterns with parameters: `/v2/context/document/property/delete` is
/// only the v2 delete (not the document of account `property`, namespace
/// `delete`), so other methods there get 405 `Allow: DELETE`. Where two
/// patterns with parameters match one path, the first one that accepts the
/// method wins (e.g. `GET .../properties/properties` reads the namespace
/// property `properties`), and `Allow` lists the methods of both.
static ROUTES: &[Route] = &[
    Route {
        pattern: "/v1/account/{account}",
        api: Api::V1,
        methods: &[
            (Method::GET, v1::list_namespaces),
            (Method::POST, v1::create_namespace),
        ],
    },
    Route {
        pattern: "/v1/account/{account}/namespace/{ns}/session",
        api: Api::V1,
        methods: &[
            (Method::GET, v1::list_session_ttls),
            (Method::POST, v1::set_session_ttl),
        ],
    },
    Route {
        pattern: "/v1/account/{account}/{ns}",
        api: Api::V1,
        methods: &[(Method::DELETE, v1::delete_namespace)],
    },
    Route {
        pattern: "/v1/account/{account}/{ns}/properties",
        api: Api::V1,
        methods: &[
            (Method::GET, v1::get_properties),
            (Method::PATCH, v1::patch_properties),
        ],
    },
    Route {
        pattern: "/v1/account/{account}/{ns}/session-ids",
        api: Api::V1,
        methods: &[(Method::GET, v1::session_ids)],
    },
    Route {
        pattern: "/v1/account/{account}/{ns}/session-properties",
        api: Api::V1,
        methods: &[(Method::GET, v1::session_properties)],
    },
    Route {
        pattern: "/v1/account/{account}/{ns}/properties/{property}",
        api: Api::V1,
        methods: &[
            (Method::GET, v1::get_property),
            (Method::PUT, v1::put_property),
            (Method::DELETE, v1::delete_property),
        ],
    },
    Route {
        pattern: "/v1/account/{account}/{ns}/{session}/properties",
        api: Api::V1,
        methods: &[
            (Method::GET, v1::get_properties),
            (Method::PATCH, v1::patch_properties),
            (Method::DELETE, v1::delete_session_properties),
        ],
    },
    Route {
        pattern: "/v1/account/{account}/{ns}/{session}/properties/{property}",
        api: Api::V1,
        methods: &[
            (Method::GET, v1::get_property),
            (Method::PUT, v1::put_property),
            (Method::DELETE, v1::delete_property),
        ],
    },
    Route {
        pattern: "/v2/context/document/create",
        api: Api::V2,
        methods: &[(Method::POST, v2::create)],
    },
    Route {
        pattern: "/v2/context/document/properties",
        api: Api::V2,
        methods: &[(Method::POST, v2::read_properties)],
    },
    Route {
        pattern: "/v2/context/document/property/delete",
        api: Api::V2,
        methods: &[(Method::DELETE, v2::delete)],
    },
    Route {
        pattern: "/v2/context/document/{account}/{ns}",
        api: Api::V2,
        methods: &[(Method::GET, v2::get_document)],
    },
    Route {
        pattern: "/v2/context/document/{account}/{ns}/{session}",
        api: Api::V2,
        methods: &[(Method::GET, v2::get_document)],
    },
    Route {
        pattern: "/api/account/{account}/messaging/consumer/conversation",
        api: Api::Messaging,
        methods: &[(Method::POST, messaging::create_conversation)],
    },
    Route {
        pattern: "/api/account/{account}/messaging/consumer/conversation/send",
        api: Api::Messaging,
        methods: &[(Method::POST, messaging::send_to_conversation)],
    },
    Route {
        pattern: "/api/account/{account}/service/baseURI.json",
        api: Api::Open,
        methods: &[(Method::GET, connector::list_service_domains)],
    },
    Route {
        // Without `.json`, as LivePerson's Functions samples and its
        // Connector API demo app call it: the same answer.
        pattern: "/api/account/{account}/service/baseURI",
        api: Api::Open,
        methods: &[(Method::GET, connector::list_service_domains)],
    },
    Route {
        pattern: "/api/account/{account}/service/{service}/baseURI.json",
        api: Api::Open,
        methods: &[(Method::GET, connector::get_service_domain)],
    },
    Route {
        pattern: "/v1/AUTH_async-images/{account}/{file}",
        // The temporary URL's signature, checked by the handler.
        api: Api::Open,
        methods: &[
            (Method::PUT, messaging::upload_file),
            (Method::GET, messaging::download_file),
        ],
    },
    Route {
        pattern: "/sentinel/api/account/{account}/app/token",
        api: Api::Open,
        methods: &[(Method::POST, connector::get_app_jwt)],
    },
    Route {
        pattern: "/sentinel/api/v2/account/{account}/app/token",
        api: Api::Open,
        methods: &[(Method::POST, connector::get_app_jwt_v2)],
    },
    Route {
        pattern: "/api/account/{account}/consumer",
        api: Api::Open,
        methods: &[(Method::POST, connector::get_consumer_jws)],
    },
];

/// A `{name}` of a route pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Param {
    Account,
    Ns,
    Session,
    Property,
    Service,
    File,
}

impl Param {
    /// Binds this parameter of a matched route to `value`.
    fn bind<'a>(self, params: &mut Params<'a>, value: &'a str) {
        match self {
            Param::Account => params.account = value,
            Param::Ns => params.ns = value,
            Param::Session => params.session = Some(value),
            Param::Property => params.property = value,
            Param::Service => params.service = value,
            Param::File => params.file = value,
        }
    }

    fn from_name(name: &str) -> Option<Param> {
        Some(match name {
            "account" => Param::Account,
            "ns" => Param::Ns,
            "session" => Param::Session,
            "property" => Param::Property,
            "service" => Param::Service,
            "file" => Param::File,
            _ => return None,
        })
    }
}

/// One segment of a route pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Segment {
    Literal(&'static str),
    Param(Param),
}

/// A route with its pattern split into segments once, not on every request.
struct CompiledRoute {
    route: &'static Route,
    segments: Vec<Segment>,
    /// The pattern has no parameters.
    concrete: bool,
}

/// [`ROUTES`], compiled, in the same order.
static COMPILED: LazyLock<Vec<CompiledRoute>> = LazyLock::new(|| {
    ROUTES
        .iter()
        .map(|route| {
            let segments: Vec<Segment> = route
                .pattern
                .split('/')
                .skip(1)
                .map(|part| {
                    part.strip_prefix('{')
                        .and_then(|p| p.strip_suffix('}'))
                        .and_then(Param::from_name)
                        .map_or(Segment::Literal(part), Segment::Param)
                })
                .collect();
            let concrete = segments.iter().all(|s| matches!(s, Segment::Literal(_)));
            CompiledRoute {
                route,
                segments,
                concrete,
            }
        })
        .collect()
});

impl CompiledRoute {
    fn matches<'s>(&self, segments: &'s [Cow<'_, str>]) -> Option<Params<'s>> {
        if segments.len() != self.segments.len() {
            return None;
        }
        let mut params = Params::default();
        for (part, segment) in self.segments.iter().zip(segments) {
            match part {
                Segment::Param(param) => param.bind(&mut params, segment),
                Segment::Literal(literal) if *literal == segment => {}
                Segment::Literal(_) => return None,
            }
        }
        Some(params)
    }
}

impl Route {
    /// Whether `path` starts with this route's first segment (`/v1/`, `/v2/`, `/api/`).
    fn same_api_prefix(&self, path: &str) -> bool {
        let first = self.pattern.split('/').nth(1).unwrap_or_default();
        path.strip_prefix('/')
            .and_then(|p| p.strip_prefix(first))
            .is_some_and(|rest| rest.starts_with('/'))
    }

    fn handler(&self, method: &Method) -> Option<Handler> {
        self.methods
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, handler)| *handler)
    }
}

/// The one handler behind the router: the admin routes, then faults, then
/// LivePerson's routes; every request to the latter is journaled, even one
/// whose client goes away before the answer (see [`Pending`]).
pub(super) async fn dispatch(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    if shared.config.admin && admin::is_admin_path(request.uri().path()) {
        // Boxed: its future is large, and would make every request's
        // future as large (hyper moves it a few times per request).
        return Box::pin(admin::handle(&shared, request)).await;
    }
    let (parts, body) = request.into_parts();
    // The request's time, for the journal and the handler (but one that
    // waits for a `delay_ms` fault reads the clock again after it).
    let arrived = shared.clock.now();
    let at = shared.journal.enabled().then_some(arrived);
    let fault = shared.faults.hit(&parts.method, parts.uri.path());
    let mut pending = Pending {
        shared: &shared,
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        at,
        fault: fault.as_ref().map(|(id, _)| *id),
        body: None,
    };
    let (method, uri, headers) = (&pending.method, &pending.uri, &pending.headers);
    let response = match &fault {
        None => {
            handle(
                &shared,
                Some(arrived),
                (method, uri, headers),
                body,
                &mut pending.body,
            )
            .await
        }
        Some((_, Action::Delay(delay))) => match read_ahead(headers, body, &shared.bodies).await {
            Ok((body, read)) => {
                if pending.at.is_some() {
                    pending.body = read;
                }
                tokio::time::sleep(*delay).await;
                handle(
                    &shared,
                    None,
                    (method, uri, headers),
                    body,
                    &mut pending.body,
                )
                .await
            }
            Err(error) if error.status() == axum::http::StatusCode::REQUEST_TIMEOUT => {
                // The body did not arrive in time: answered 408, as without the fault.
                pending.finish(Some(error.status().as_u16()), None);
                return error.into_response();
            }
            Err(error) => {
                // No one to answer: the body was cut short.
                pending.finish(None, Some(Outcome::ClientGone));
                return error.into_response();
            }
        },
        Some((id, action)) => {
            // Read (for the journal) but never handled: no data changes.
            if pending.at.is_some() {
                pending.body = body::read_body(body, &shared.bodies).await.ok();
            }
            Ok(fault_response(*id, action))
        }
    }
    .unwrap_or_else(IntoResponse::into_response);
    let dropped = response.extensions().get::<DropConnection>().is_some();
    let status = (!dropped).then(|| response.status().as_u16());
    // The path only: the query may carry an access token.
    tracing::debug!(target: LOG_TARGET, method = %pending.method, path = pending.uri.path(), status = status.unwrap_or(0), "request");
    pending.finish(status, dropped.then_some(Outcome::Dropped));
    response
}

/// A request being answered, recorded in the journal when it is: by
/// [`Pending::finish`], or, if its handling is dropped first (hyper drops
/// it when the client closes the connection before the answer, e.g. during
/// a `delay_ms` fault), when it is dropped, as [`Outcome::ClientGone`].
///
/// It holds the request's head, which the handler borrows, and its body
/// once read; recording copies their bytes (see [`journal::Recorded`]).
struct Pending<'a> {
    shared: &'a Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    /// When the request arrived; `None` when the journal is off, or once
    /// recorded.
    at: Option<DateTime<Utc>>,
    fault: Option<u64>,
    /// The body, once read.
    body: Option<Bytes>,
}

impl Pending<'_> {
    /// Records the request: answered `status`, or not for `outcome`.
    fn finish(&mut self, status: Option<u16>, outcome: Option<Outcome>) {
        if let Some(at) = self.at.take() {
            let head = journal::Head::new(&self.method, &self.uri, &self.headers, at);
            let entry = head.record(self.body.as_deref(), status, self.fault, outcome);
            self.shared.journal.push(entry);
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.at.is_some() {
            tracing::debug!(target: LOG_TARGET, "the client went away before the answer");
            self.finish(None, Some(Outcome::ClientGone));
        }
    }
}

/// Before a `delay_ms` fault's wait, reads a body whose length is declared
/// (and allowed), so that a client that gives up during the wait is
/// recorded with its body, and noticed at all when its body is larger than
/// what hyper reads ahead (hyper watches for the connection closing only
/// while it is not waiting for the body to be read; see [`Pending`]). The
/// body, read (if it was) and to be read again by [`handle`]; `Err` when
/// the body was cut short: the client is gone.
async fn read_ahead(
    headers: &HeaderMap,
    body: Body,
    memory: &BodyMemory,
) -> Result<(Body, Option<Bytes>), ApiError> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if !declared.is_some_and(|length| length > 0 && length <= MAX_BODY_BYTES) {
        // No body, a chunked one, or one too large (answered 413 after the
        // wait, once credentials are checked, as without the fault).
        return Ok((body, None));
    }
    // Read as every body is (one buffer, counted, under the body deadline).
    let body = body::read_body(body, memory).await?;
    Ok((Body::from(body.clone()), Some(body)))
}

/// The answer of a `status` or `drop` fault.
fn fault_response(id: u64, action: &Action) -> Response {
    match action {
        Action::Status {
            status,
            retry_after,
        } => {
            let status = axum::http::StatusCode::from_u16(*status)
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = if matches!(status.as_u16(), 204 | 205 | 304) {
                status.into_response()
            } else {
                let body = serde_json::json!({ "message": format!("injected fault {id}") });
                error::json(status, body.to_string())
            };
            if let Some(seconds) = retry_after {
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(*seconds),
                );
            }
            response
        }
        Action::Drop | Action::Delay(_) | Action::Duplicate | Action::Reorder => {
            let failing = futures::stream::once(async {
                Err::<Bytes, _>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "dropped by an injected fault",
                ))
            });
            let mut response = axum::body::Body::from_stream(failing).into_response();
            response.extensions_mut().insert(DropConnection);
            response
        }
    }
}

/// Answers a request to LivePerson's routes at `now` (`None`: the clock's
/// time now); the body read goes into `body_out` when the journal is on.
async fn handle(
    shared: &Arc<Shared>,
    now: Option<DateTime<Utc>>,
    (method, uri, headers): (&Method, &Uri, &HeaderMap),
    body: Body,
    body_out: &mut Option<Bytes>,
) -> ApiResult {
    shared.sweep_if_due();
    let now = now.unwrap_or_else(|| shared.clock.now());
    let segments = match split_path(uri.path()) {
        Ok(segments) => segments,
        Err(error) => {
            // Credentials still come first where the API is known.
            if let Some(route) = ROUTES.iter().find(|r| r.same_api_prefix(uri.path())) {
                authorize(
                    route.api,
                    &shared.config,
                    headers,
                    &QueryParams::parse(uri)?,
                )?;
            }
            return Err(error);
        }
    };
    let matches = candidates(&segments);
    let Some((first, _)) = matches.first() else {
        return Err(ApiError::not_found(format!(
            "no endpoint at {}",
            uri.path()
        )));
    };
    let query = QueryParams::parse(uri)?;
    authorize(first.api, &shared.config, headers, &query)?;
    let Some((handler, params)) = matches
        .iter()
        .find_map(|(route, params)| route.handler(method).map(|h| (h, *params)))
    else {
        return Err(ApiError::method_not_allowed(allowed_methods(&matches)));
    };
    let body = body::read_body(body, &shared.bodies).await?;
    let journal = shared.journal.enabled();
    if body.len() + uri.query().map_or(0, str::len) < OFFLOAD_BYTES {
        let call = Call::new(shared, headers, now, params, &query, body);
        let answer = handler(&call);
        // No wait since the body was read: the request cannot be dropped
        // before this, so the body is handed over now (moved; recording copies it).
        if journal {
            *body_out = Some(call.body);
        }
        return answer;
    }
    if journal {
        *body_out = Some(body.clone());
    }
    // Parsing, checking and answering a large request takes a while: off
    // the async workers, so it cannot stall other requests. The route is
    // matched again there (cheap) since `params` borrows this task's path;
    // the head is copied (the journal keeps the request's own).
    let (shared, method, uri) = (Arc::clone(shared), method.clone(), uri.clone());
    let headers = headers.clone();
    tokio::task::spawn_blocking(move || {
        let segments = split_path(uri.path())?;
        let matches = candidates(&segments);
        let (handler, params) = matches
            .iter()
            .find_map(|(route, params)| route.handler(&method).map(|h| (h, *params)))
            .ok_or_else(|| ApiError::method_not_allowed(allowed_methods(&matches)))?;
        handler(&Call::new(&shared, &headers, now, params, &query, body))
    })
    .await
    .unwrap_or_else(|error| {
        tracing::error!(target: LOG_TARGET, %error, "a request handler failed");
        Err(ApiError::internal())
    })
}

/// Requests whose body and query add up to this many bytes are handled on
/// the blocking pool rather than on an async worker.
const OFFLOAD_BYTES: usize = 64 * 1024;

/// The routes that match a path, in table order. As in OpenAPI, a pattern
/// without parameters wins: if one matches, only it is kept.
fn candidates<'s>(segments: &'s [Cow<'_, str>]) -> Vec<(&'static Route, Params<'s>)> {
    let mut matches = Vec::with_capacity(2);
    let mut concrete = false;
    for compiled in COMPILED.iter() {
        let Some(params) = compiled.matches(segments) else {
            continue;
        };
        if compiled.concrete && !concrete {
            concrete = true;
            matches.clear();
        }
        if compiled.concrete || !concrete {
            matches.push((compiled.route, params));
        }
    }
    matches
}

fn allowed_methods(matches: &[(&Route, Params<'_>)]) -> String {
    let mut allowed: Vec<&str> = Vec::new();
    for (method, _) in matches.iter().flat_map(|(route, _)| route.methods) {
        if !allowed.contains(&method.as_str()) {
            allowed.push(method.as_str());
        }
    }
    allowed.join(", ")
}

/// Splits a path into percent-decoded segments, ignoring one trailing slash.
fn split_path(path: &str) -> Result<Vec<Cow<'_, str>>, ApiError> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    if path.is_empty() {
        return Ok(Vec::new());
    }
    // Enough for every route (at most 7 segments); a longer path grows it.
    let mut segments = Vec::with_capacity(8);
    if !path.contains('%') {
        segments.extend(path.split('/').map(Cow::Borrowed));
        return Ok(segments);
    }
    for segment in path.split('/') {
        segments.push(percent_decode(segment)?);
    }
    Ok(segments)
}

/// Decodes `%XX` escapes; `+` is a literal plus in a path.
fn percent_decode(segment: &str) -> Result<Cow<'_, str>, ApiError> {
    if !segment.contains('%') {
        return Ok(Cow::Borrowed(segment));
    }
    let invalid = || ApiError::bad_request("invalid percent-encoding in the path");
    let mut bytes = segment.bytes();
    let mut out = Vec::with_capacity(segment.len());
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = bytes.next().and_then(hex_value).ok_or_else(invalid)?;
            let lo = bytes.next().and_then(hex_value).ok_or_else(invalid)?;
            out.push(hi << 4 | lo);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| ApiError::bad_request("the path is not UTF-8 once percent-decoded"))
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Checks the credentials of `api` before anything else of the request is read.
/// Credentials are never logged nor echoed.
fn authorize(
    api: Api,
    config: &EmulatorConfig,
    headers: &HeaderMap,
    query: &QueryParams,
) -> Result<(), ApiError> {
    let header = |name| headers.get(name).map(|v| v.as_bytes());
    match api {
        // A wrong v1 key is 403, as LivePerson's own clients expect it.
        Api::V1 => check_credential(
            "maven-api-key header",
            header("maven-api-key"),
            config.api_key.as_deref(),
            ApiError::forbidden,
        ),
        Api::V2 => check_credential(
            "access_token query parameter",
            query.get("access_token").map(str::as_bytes),
            config.access_token.as_deref(),
            ApiError::unauthorized,
        ),
        // Checked by the handler, which answers the documented body.
        Api::Messaging | Api::Open => Ok(()),
    }
}

/// A credential must be present and non-empty (else 401), and equal
/// `expected` if set (else `wrong`).
fn check_credential(
    what: &str,
    given: Option<&[u8]>,
    expected: Option<&str>,
    wrong: fn(String) -> ApiError,
) -> Result<(), ApiError> {
    match (given, expected) {
        (None | Some([]), _) => Err(ApiError::unauthorized(format!("missing {what}"))),
        (Some(given), Some(expected)) if !same_secret(given, expected.as_bytes()) => {
            Err(wrong(format!("invalid {what}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_binds_known_parameters() {
        assert_eq!(COMPILED.len(), ROUTES.len());
        for compiled in COMPILED.iter() {
            assert!(
                compiled
                    .segments
                    .iter()
                    .all(|s| !matches!(s, Segment::Literal(l) if l.contains(['{', '}']))),
                "{}",
                compiled.route.pattern
            );
            assert_eq!(
                compiled.concrete,
                !compiled.route.pattern.contains('{'),
                "{}",
                compiled.route.pattern
            );
        }
    }

    #[test]
    fn concrete_paths_win_and_ambiguous_ones_keep_every_match() {
        let candidates_of = |path: &str| -> Vec<&'static str> {
            let segments = split_path(path).unwrap_or_default();
            candidates(&segments)
                .iter()
                .map(|(route, _)| route.pattern)
                .collect()
        };
        assert_eq!(
            candidates_of("/v2/context/document/property/delete"),
            ["/v2/context/document/property/delete"]
        );
        assert_eq!(
            candidates_of("/v1/account/a/ns/properties/properties"),
            [
                "/v1/account/{account}/{ns}/properties/{property}",
                "/v1/account/{account}/{ns}/{session}/properties",
            ]
        );
        let segments = split_path("/v1/account/a/ns/s/properties/p").unwrap_or_default();
        let found = candidates(&segments);
        assert_eq!(found.len(), 1);
        let params = found[0].1;
        assert_eq!(
            (params.account, params.ns, params.session, params.property),
            ("a", "ns", Some("s"), "p")
        );
        assert!(candidates_of("/v1/account/a/ns/s/properties/p/extra").is_empty());
    }

    /// A request through the one handler, as the router would pass it.
    fn post(path: &str, body: Vec<u8>) -> Request {
        Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from(body))
            .expect("a valid request")
    }

    /// On one thread, a large request must not hold the thread while it is
    /// handled: a small request sent after it is answered first. Handled
    /// inline, the large one would finish in its first poll, before the
    /// small one is even looked at.
    #[tokio::test(flavor = "current_thread")]
    async fn a_large_request_does_not_stall_a_small_one() {
        let shared = Arc::new(Shared::new(
            EmulatorConfig::new(),
            false,
            Default::default(),
        ));
        let filter: Vec<String> = (0..150_000)
            .map(|i| format!("ns.p{}", i % 100_000))
            .collect();
        let big = serde_json::to_vec(&serde_json::json!({
            "accountId": "acc", "nameSpace": "ns", "filter": filter,
        }))
        .expect("serializable");
        let small = br#"{"accountId":"acc","nameSpace":"ns","filter":["ns.a"]}"#.to_vec();
        let path = "/v2/context/document/properties?access_token=t";
        let order = std::sync::Mutex::new(Vec::new());
        let finish = |name: &'static str, response: Response| {
            order
                .lock()
                .expect("not poisoned")
                .push((name, response.status()));
        };
        tokio::join!(
            async {
                finish(
                    "big",
                    dispatch(State(Arc::clone(&shared)), post(path, big)).await,
                )
            },
            async {
                finish(
                    "small",
                    dispatch(State(Arc::clone(&shared)), post(path, small)).await,
                )
            },
        );
        let order = order.into_inner().expect("not poisoned");
        assert_eq!(
            order,
            [
                ("small", axum::http::StatusCode::OK),
                ("big", axum::http::StatusCode::OK)
            ]
        );
    }

    #[test]
    fn decodes_segments_exactly() {
        let segments = split_path("/a%20b%3Ac%2B%C3%A9/x+y/").unwrap_or_default();
        assert_eq!(segments, ["a b:c+é", "x+y"]);
        assert!(split_path("/%zz").is_err());
        assert!(split_path("/%C3").is_err());
    }
}
