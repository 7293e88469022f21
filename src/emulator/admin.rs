//! The emulator's own routes (`openapi/emulator-admin.yaml`): reset, the
//! journal, faults, the clock, and the specs and their HTML reference.
//!
//! They need no credentials, are never recorded nor faulted, and answer 404
//! as any unknown path when [`EmulatorConfig::admin`](super::EmulatorConfig::admin)
//! is off.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Map, Value};

use super::context::Shared;
use super::error::{ApiError, ApiResult, json, no_content};
use super::faults::{Fault, FaultId};
use super::journal::{self, Entry, Outcome};
use super::json::timestamp;
use super::messaging::files::{FILE_TYPES, MAX_FILE_BYTES, MAX_PREVIEW_BYTES};
use super::messaging::state::{AgentAction, AgentFile, Published};
use super::server::LOG_TARGET;
use super::webhooks;

/// The chat states the agent may send (LivePerson's `ChatStateEvent`).
const CHAT_STATES: [&str; 5] = ["ACTIVE", "INACTIVE", "GONE", "COMPOSING", "PAUSE"];

/// The agent's actions, in the path.
const AGENT_ACTIONS: [&str; 8] = [
    "accept",
    "text",
    "rich-content",
    "file",
    "chat-state",
    "read",
    "transfer",
    "close",
];

/// Every spec of `openapi/specs.txt`, byte for byte as built (build.rs
/// writes the list).
pub(super) const SPEC_FILES: &[(&str, &[u8])] =
    include!(concat!(env!("OUT_DIR"), "/served_specs.rs"));

/// The HTML reference of every spec, made by build.rs.
const REFERENCE_HTML: &str = include_str!(concat!(env!("OUT_DIR"), "/reference.html"));

/// Whether `path` is one of the admin routes' (when they are on).
pub(super) fn is_admin_path(path: &str) -> bool {
    path.starts_with("/__emulator/")
        || path == "/__emulator"
        || path.starts_with("/openapi/")
        || path == "/docs"
        || path == "/docs/"
}

/// Answers an admin request.
pub(super) async fn handle(shared: &Arc<Shared>, request: Request) -> Response {
    let result = route(shared, request).await;
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn route(shared: &Arc<Shared>, request: Request) -> ApiResult {
    let raw = request.uri().path().to_owned();
    let path = raw
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(&raw);
    let method = request.method().clone();
    let allow = |methods: &str| Err(ApiError::method_not_allowed(methods.to_owned()));
    match path {
        "/__emulator/reset" => match method {
            Method::POST => {
                shared.reset();
                Ok(no_content())
            }
            _ => allow("POST"),
        },
        "/__emulator/requests" => match method {
            Method::GET => {
                let entries = shared.journal.entries();
                Ok(json(StatusCode::OK, to_json(&entries)?))
            }
            Method::DELETE => {
                shared.journal.clear();
                Ok(no_content())
            }
            _ => allow("GET, DELETE"),
        },
        "/__emulator/faults" => match method {
            Method::GET => {
                let list: Vec<Value> = shared.faults.list().iter().map(|f| f.to_json()).collect();
                Ok(json(StatusCode::OK, to_json(&list)?))
            }
            Method::POST => {
                let body = object_body(request, shared).await?;
                let fault = Fault::from_json(&body).map_err(ApiError::bad_request)?;
                let active = shared.faults.insert(fault).map_err(ApiError::bad_request)?;
                Ok(json(StatusCode::CREATED, to_json(&active.to_json())?))
            }
            Method::DELETE => {
                shared.faults.clear();
                Ok(no_content())
            }
            _ => allow("GET, POST, DELETE"),
        },
        "/__emulator/clock" => match method {
            Method::GET => clock(shared.clock.now()),
            Method::POST => {
                let body = object_body(request, shared).await?;
                let seconds = advance_seconds(&body)?;
                let now = shared
                    .clock
                    .advance(seconds)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
                clock(now)
            }
            _ => allow("GET, POST"),
        },
        "/__emulator/webhooks" => match method {
            Method::GET => webhooks_answer(shared),
            Method::PUT => {
                let body = object_body(request, shared).await?;
                let registrations =
                    webhooks::parse_manifest(&body).map_err(ApiError::bad_request)?;
                shared.webhooks.register(registrations);
                webhooks_answer(shared)
            }
            _ => allow("GET, PUT"),
        },
        "/docs" => match method {
            Method::GET => Ok(typed(REFERENCE_HTML.as_bytes(), "text/html; charset=utf-8")),
            _ => allow("GET"),
        },
        _ => {
            if let Some(rest) = path.strip_prefix("/__emulator/conversations/") {
                return conversation_route(shared, rest, &method, request).await;
            }
            if let Some(id) = path.strip_prefix("/__emulator/faults/") {
                return match method {
                    Method::DELETE => {
                        let removed = id.parse::<u64>().is_ok_and(|id| shared.faults.remove(id));
                        if removed {
                            Ok(no_content())
                        } else {
                            Err(ApiError::not_found(format!("no fault {id}")))
                        }
                    }
                    _ => allow("DELETE"),
                };
            }
            if let Some((_, bytes)) = path
                .strip_prefix("/openapi/")
                .and_then(|file| SPEC_FILES.iter().find(|(name, _)| *name == file))
            {
                return match method {
                    Method::GET => Ok(typed(bytes, "application/yaml")),
                    _ => allow("GET"),
                };
            }
            Err(ApiError::not_found(format!("no endpoint at {raw}")))
        }
    }
}

fn webhooks_answer(shared: &Shared) -> ApiResult {
    let map = webhooks::manifest_json(&shared.webhooks.registrations());
    Ok(json(StatusCode::OK, to_json(&map)?))
}

/// `GET /__emulator/conversations/{id}` and
/// `POST /__emulator/conversations/{id}/agent/{action}`; `rest` is the path
/// after `/__emulator/conversations/`.
async fn conversation_route(
    shared: &Arc<Shared>,
    rest: &str,
    method: &Method,
    request: Request,
) -> ApiResult {
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        [id] if !id.is_empty() => match *method {
            Method::GET => match shared.conversations.snapshot(id) {
                Some(conversation) => Ok(json(StatusCode::OK, to_json(&conversation)?)),
                None => Err(ApiError::not_found("conversation not found")),
            },
            _ => Err(ApiError::method_not_allowed("GET".to_owned())),
        },
        [id, "agent", action] if !id.is_empty() => match *method {
            Method::POST => {
                if !AGENT_ACTIONS.contains(action) {
                    return Err(unknown_action(action));
                }
                let body = super::body::read(request, &shared.bodies).await?;
                let action = agent_action(action, &body)?;
                let answer = shared.conversations.agent(id, action, shared.clock.now())?;
                Ok(json(StatusCode::OK, to_json(&answer)?))
            }
            _ => Err(ApiError::method_not_allowed("POST".to_owned())),
        },
        _ => Err(ApiError::not_found(format!(
            "no endpoint at /__emulator/conversations/{rest}"
        ))),
    }
}

fn unknown_action(action: &str) -> ApiError {
    ApiError::bad_request(format!(
        "unknown agent action {action:?}; expected one of {}",
        AGENT_ACTIONS.join(", ")
    ))
}

/// The agent's action from its path segment and body; 400 for a bad body
/// or an unknown action.
pub(super) fn agent_action(action: &str, body: &[u8]) -> Result<AgentAction, ApiError> {
    if !AGENT_ACTIONS.contains(&action) {
        return Err(unknown_action(action));
    }
    let fields: Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return Err(ApiError::bad_request(
                    "the request body must be a JSON object",
                ));
            }
            Err(error) => {
                return Err(ApiError::bad_request(format!(
                    "invalid request body: {error}"
                )));
            }
        }
    };
    let only = |allowed: &[&str]| match fields.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(other) => Err(ApiError::bad_request(format!("unknown field {other:?}"))),
        None => Ok(()),
    };
    let text = |name: &str| -> Result<String, ApiError> {
        match fields.get(name) {
            Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
            Some(Value::String(_)) => {
                Err(ApiError::bad_request(format!("{name}: must not be empty")))
            }
            Some(_) => Err(ApiError::bad_request(format!("{name}: must be a string"))),
            None => Err(ApiError::bad_request(format!("{name}: required"))),
        }
    };
    Ok(match action {
        "accept" => {
            only(&[])?;
            AgentAction::Accept
        }
        "close" => {
            only(&[])?;
            AgentAction::Close
        }
        "text" => {
            only(&["text"])?;
            AgentAction::Publish(Published::Text(text("text")?))
        }
        "rich-content" => {
            only(&["content", "quickReplies"])?;
            let published = Published::rich(fields.get("content"), fields.get("quickReplies"), "")?;
            AgentAction::Publish(published)
        }
        "file" => {
            only(&["fileType", "content", "caption", "preview"])?;
            let optional = |name: &str| match fields.get(name) {
                Some(Value::String(text)) => Ok(Some(text.clone())),
                Some(_) => Err(ApiError::bad_request(format!("{name}: must be a string"))),
                None => Ok(None),
            };
            let given = text("fileType")?;
            let Some(file_type) = FILE_TYPES.into_iter().find(|t| *t == given) else {
                return Err(ApiError::bad_request(format!(
                    "fileType: must be one of {} (got {given:?})",
                    FILE_TYPES.join(", ")
                )));
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text("content")?)
                .map_err(|error| {
                    ApiError::bad_request(format!("content: not valid base64 ({error})"))
                })?;
            if bytes.is_empty() {
                return Err(ApiError::bad_request("content: the file is empty"));
            }
            if bytes.len() as u64 > MAX_FILE_BYTES {
                return Err(ApiError::bad_request(format!(
                    "content: the file is over 3 MB ({MAX_FILE_BYTES} bytes): {} bytes",
                    bytes.len()
                )));
            }
            let preview = optional("preview")?;
            // A data URL is printable ASCII: so its characters are its
            // bytes, and the spec's maxLength says exactly what is taken.
            if let Some(preview) = &preview
                && !preview.bytes().all(|b| (0x20..=0x7e).contains(&b))
            {
                return Err(ApiError::bad_request(
                    "preview: must be printable ASCII (a Base64 data URL)",
                ));
            }
            if let Some(preview) = &preview
                && preview.len() >= MAX_PREVIEW_BYTES
            {
                return Err(ApiError::bad_request(format!(
                    "preview: must be under 30 KB ({MAX_PREVIEW_BYTES} bytes); it is {} bytes",
                    preview.len()
                )));
            }
            AgentAction::File(AgentFile {
                file_type,
                bytes: Bytes::from(bytes),
                caption: optional("caption")?,
                preview,
            })
        }
        "chat-state" => {
            only(&["state"])?;
            let state = text("state")?;
            if !CHAT_STATES.contains(&state.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "state: must be one of {}",
                    CHAT_STATES.join(", ")
                )));
            }
            AgentAction::Publish(Published::ChatState(state))
        }
        "read" => {
            only(&["sequences"])?;
            let sequences = match fields.get("sequences") {
                Some(Value::Array(items)) if !items.is_empty() => items
                    .iter()
                    .map(|item| {
                        item.as_u64().ok_or_else(|| {
                            ApiError::bad_request("sequences: each must be an integer ≥ 0")
                        })
                    })
                    .collect::<Result<Vec<u64>, ApiError>>()?,
                Some(Value::Array(_)) => {
                    return Err(ApiError::bad_request(
                        "sequences: must name at least one message",
                    ));
                }
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "sequences: must be an array of integers",
                    ));
                }
                None => return Err(ApiError::bad_request("sequences: required")),
            };
            AgentAction::Publish(Published::AcceptStatus {
                status: "READ".to_owned(),
                sequences,
            })
        }
        "transfer" => {
            only(&["skill"])?;
            AgentAction::Transfer(text("skill")?)
        }
        // Checked above.
        _ => return Err(unknown_action(action)),
    })
}

fn to_json(value: &impl serde::Serialize) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|error| {
        tracing::error!(target: LOG_TARGET, %error, "cannot serialize an admin answer");
        ApiError::internal()
    })
}

fn clock(now: chrono::DateTime<chrono::Utc>) -> ApiResult {
    let body = serde_json::json!({ "now": timestamp(now) });
    Ok(json(StatusCode::OK, to_json(&body)?))
}

/// A 200 with a static body of this content type.
fn typed(body: &'static [u8], content_type: &'static str) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        Body::from(Bytes::from_static(body)),
    )
        .into_response()
}

/// The request body, which must be a JSON object.
async fn object_body(request: Request, shared: &Shared) -> Result<Map<String, Value>, ApiError> {
    let body = super::body::read(request, &shared.bodies).await?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(
            "the request body must be a JSON object",
        )),
        Err(error) => Err(ApiError::bad_request(format!(
            "invalid request body: {error}"
        ))),
    }
}

/// The `advance_seconds` of `{"advance_seconds": N}`, nothing else allowed.
fn advance_seconds(body: &Map<String, Value>) -> Result<i64, ApiError> {
    if let Some(other) = body.keys().find(|k| *k != "advance_seconds") {
        return Err(ApiError::bad_request(format!("unknown field {other:?}")));
    }
    match body.get("advance_seconds") {
        None => Err(ApiError::bad_request("advance_seconds: required")),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n
            .as_i64()
            // Above i64: absurd, and out of range.
            .unwrap_or(i64::MAX)),
        Some(_) => Err(ApiError::bad_request("advance_seconds: must be an integer")),
    }
}

/// One request recorded in the journal ([`Emulator::requests`](super::Emulator::requests)), with every
/// credential value shown as `[redacted]`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method, e.g. `PATCH`.
    pub method: String,
    /// The path and query as sent, the value of every credential parameter
    /// (`access_token`, `api_key`, `client_secret`, in any case, in the query
    /// or as a path parameter) as `[redacted]`.
    pub path: String,
    /// The status answered; `None` when there was no answer (see
    /// [`outcome`](Self::outcome)).
    pub status: Option<u16>,
    /// When the request arrived, by the emulator's clock.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The headers (names in lowercase, repeated values joined with `, `);
    /// `authorization`, `cookie`, `maven-api-key`, `proxy-authorization`,
    /// `x-api-key`, `x-lp-on-behalf` (and any named like a credential
    /// parameter, e.g. `x-access-token`) are `[redacted]`.
    pub headers: Vec<(String, String)>,
    /// The body, when it was JSON nested at most 64 levels and at most
    /// 256 KiB (and read: a request refused before its body was read, e.g. a
    /// 401, has none), its credential members `"[redacted]"`.
    pub body: Option<Value>,
    /// Any other body (not JSON, nested deeper, larger): the text of its
    /// first 4,096 bytes (lossy UTF-8), credentials `[redacted]`.
    pub body_text: Option<String>,
    /// Whether [`body_text`](Self::body_text) is only the start of the body.
    pub body_truncated: bool,
    /// The fault that hit the request, if one did.
    pub fault: Option<FaultId>,
    /// Why there was no answer, if there was none.
    pub outcome: Option<Outcome>,
    /// Set when this entry is an attempt of a webhook delivery (the
    /// emulator's own `POST` to a registered endpoint; [`path`](Self::path)
    /// is then the endpoint without user info or query, and the signature
    /// header is `[redacted]`).
    pub webhook: Option<WebhookAttempt>,
}

/// One attempt of a webhook delivery, as the journal records it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookAttempt {
    /// The manifest key, e.g. `ms.MessagingEventNotification.ContentEvent`.
    pub event_type: String,
    /// 1 for the first attempt, 2 for the first retry, ...; 0 for a
    /// notification that was never sent (a `drop` fault, a full queue).
    pub attempt: u32,
    /// The conversation the notification is about.
    pub conversation_id: String,
    /// Why there was no answer (a timeout, a refused connection), or why
    /// it was not sent; `None` when [`RecordedRequest::status`] is set.
    pub error: Option<String>,
}

impl RecordedRequest {
    /// The value of a header (`name` in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl From<&Entry> for RecordedRequest {
    fn from(entry: &Entry) -> RecordedRequest {
        let (body, body_text, body_truncated) = match &entry.body {
            // At most 64 levels deep: serde_json reads it.
            Some(journal::Body::Json(raw)) => (serde_json::from_str(raw.get()).ok(), None, false),
            Some(journal::Body::Text { text, truncated }) => (None, Some(text.clone()), *truncated),
            None => (None, None, false),
        };
        RecordedRequest {
            method: entry.method.clone(),
            path: entry.path.clone(),
            status: entry.status,
            at: entry.at,
            headers: entry.headers.clone(),
            body,
            body_text,
            body_truncated,
            fault: entry.fault.map(FaultId),
            outcome: entry.outcome,
            webhook: entry.delivery.as_ref().map(|d| WebhookAttempt {
                event_type: d.event.to_owned(),
                attempt: d.attempt,
                conversation_id: d.conversation.clone(),
                error: d.error.clone(),
            }),
        }
    }
}

/// Input the emulator's controls refused (nothing changed): the same
/// message the admin routes answer, with their status (400 for bad input;
/// 404 and 409 for [`Emulator::agent`](super::Emulator::agent) on an
/// unknown or closed conversation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminError {
    message: String,
    status: u16,
}

impl AdminError {
    /// The refusal of a control (a 400), with the admin routes' message.
    pub(super) fn new(message: String) -> AdminError {
        AdminError {
            message,
            status: 400,
        }
    }

    /// The refusal an admin route answers.
    pub(super) fn from_api(error: &ApiError) -> AdminError {
        AdminError {
            message: error.message().to_owned(),
            status: error.status().as_u16(),
        }
    }

    /// What was wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The status the admin route answers for it (400, 404 or 409).
    pub fn status(&self) -> u16 {
        self.status
    }
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AdminError {}
