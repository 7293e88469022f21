//! SEND: publishes a message, structured content, a chat state or an
//! accept status into a conversation CONVERSATION opened, or closes it (its
//! state, or its MAIN dialog); and file sharing's temporary URLs
//! (`ms.GenerateURLForUploadFile`, `ms.GenerateURLForDownloadFile`) and
//! `hosted/file` messages.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::consumer;
use super::files::{FILE_TYPES, MAX_FILE_BYTES, MAX_PREVIEW_BYTES};
use super::state::Published;
use crate::emulator::context::Call;
use crate::emulator::error::{ApiError, ApiResult, json as json_response};

/// The SEND payloads as `openapi/messaging.yaml` declares them.
mod shape {
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub(super) enum Kind {
        #[serde(rename = "req")]
        Req,
    }

    #[derive(Deserialize)]
    #[serde(tag = "type")]
    pub(super) enum Request {
        #[serde(rename = "ms.PublishEvent")]
        Publish {
            #[allow(dead_code)]
            kind: Kind,
            id: String,
            body: PublishBody,
        },
        #[serde(rename = "cm.UpdateConversationField")]
        Update {
            #[allow(dead_code)]
            kind: Kind,
            id: String,
            body: UpdateBody,
        },
        #[serde(rename = "ms.GenerateURLForUploadFile")]
        UploadUrl {
            #[allow(dead_code)]
            kind: Kind,
            id: String,
            body: UploadUrlBody,
        },
        #[serde(rename = "ms.GenerateURLForDownloadFile")]
        DownloadUrl {
            #[allow(dead_code)]
            kind: Kind,
            id: String,
            body: DownloadUrlBody,
        },
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct UploadUrlBody {
        /// A number or a string of digits (the pages write both).
        pub(super) file_size: serde_json::Value,
        pub(super) file_type: String,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct DownloadUrlBody {
        pub(super) relative_path: String,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct PublishBody {
        pub(super) dialog_id: String,
        pub(super) event: Event,
    }

    #[derive(Deserialize)]
    #[serde(tag = "type")]
    pub(super) enum Event {
        #[serde(rename = "ContentEvent", rename_all = "camelCase")]
        Content {
            #[allow(dead_code)]
            content_type: ContentType,
            /// A string for `text/plain`, an object for `hosted/file`
            /// (checked by `published` and `hosted_file`).
            #[allow(dead_code)]
            message: serde_json::Value,
        },
        #[serde(rename = "ChatStateEvent", rename_all = "camelCase")]
        State {
            #[allow(dead_code)]
            chat_state: ChatState,
        },
        /// Checked member by member by `crate::messaging::rich`, which
        /// names the JSON pointer of the first member at fault.
        #[serde(rename = "RichContentEvent")]
        Rich {},
        #[serde(rename = "AcceptStatusEvent", rename_all = "camelCase")]
        Accept {
            #[allow(dead_code)]
            status: AcceptStatus,
            sequence_list: Vec<u64>,
        },
    }

    #[derive(Deserialize)]
    pub(super) enum ContentType {
        #[serde(rename = "text/plain")]
        TextPlain,
        #[serde(rename = "hosted/file")]
        HostedFile,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "UPPERCASE")]
    pub(super) enum ChatState {
        Active,
        Inactive,
        Gone,
        Composing,
        Pause,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "UPPERCASE")]
    pub(super) enum AcceptStatus {
        Accept,
        Read,
        Access,
        Nack,
        Action,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct UpdateBody {
        pub(super) conversation_id: String,
        pub(super) conversation_field: Field,
    }

    /// The field, told apart by `field`: the conversation's state (the
    /// Connector API's close) or a dialog's (the Messaging Window API's).
    #[derive(Deserialize)]
    #[serde(tag = "field")]
    pub(super) enum Field {
        #[serde(rename = "ConversationStateField", rename_all = "camelCase")]
        ConversationState {
            #[allow(dead_code)]
            conversation_state: State,
        },
        #[serde(rename = "DialogChange")]
        DialogChange {
            #[allow(dead_code)]
            #[serde(rename = "type")]
            change: DialogChangeType,
            dialog: Dialog,
        },
    }

    #[derive(Deserialize)]
    pub(super) enum DialogChangeType {
        #[serde(rename = "UPDATE")]
        Update,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Dialog {
        pub(super) dialog_id: String,
        #[allow(dead_code)]
        state: State,
        #[allow(dead_code)]
        closed_cause: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "UPPERCASE")]
    pub(super) enum State {
        Close,
    }
}

/// `POST /api/account/{accountId}/messaging/consumer/conversation/send?v=3`:
/// one payload. A published event gets the conversation's next sequence
/// number (from 0); a close (`ConversationStateField`, or `DialogChange` of
/// its MAIN dialog) closes it (again: 200). Unknown conversation, or another
/// consumer's: 404 `conversation not found`; a dialog it does not have: 404
/// `dialog not found`; publishing to a closed one: 409 `conversation is
/// closed`.
pub(crate) fn send_to_conversation(c: &Call<'_>) -> ApiResult {
    let consumer = match consumer(c) {
        Ok(consumer) => consumer,
        Err(refused) => return Ok(*refused),
    };
    let account = c.account()?;
    if c.query("v") != Some("3") {
        return Err(ApiError::bad_request("the query parameter v must be 3"));
    }
    let payload: Value = c.json()?;
    // serde takes a number as a tag (the variant's index): refuse it first.
    for tag in ["/type", "/body/event/type", "/body/conversationField/field"] {
        if payload.pointer(tag).is_some_and(|t| !t.is_string()) {
            return Err(ApiError::bad_request(format!("{tag}: must be a string")));
        }
    }
    let request = shape::Request::deserialize(&payload).map_err(|e| {
        ApiError::bad_request(format!(
            "the payload must be ms.PublishEvent, cm.UpdateConversationField, ms.GenerateURLForUploadFile or ms.GenerateURLForDownloadFile: {e}"
        ))
    })?;
    let files = &c.shared.conversations.files;
    let answer = |id: String, body: Value| {
        Ok(json_response(
            StatusCode::OK,
            json!({"reqId": id, "code": "OK", "body": body}).to_string(),
        ))
    };
    let (id, conversation_id, event) = match request {
        shape::Request::UploadUrl { id, body, .. } => {
            let file_type = file_type(&body.file_type)?;
            file_size(&body.file_size)?;
            return answer(id, files.upload_url(account, file_type, c.now));
        }
        shape::Request::DownloadUrl { id, body, .. } => {
            return answer(id, files.download_url(account, &body.relative_path, c.now)?);
        }
        shape::Request::Publish { id, body, .. } => {
            if let shape::Event::Accept { sequence_list, .. } = &body.event {
                if sequence_list.is_empty() {
                    return Err(ApiError::bad_request(
                        "sequenceList must name at least one message",
                    ));
                }
                // The spec's int64: a larger number names no message.
                if sequence_list.iter().any(|s| i64::try_from(*s).is_err()) {
                    return Err(ApiError::bad_request(
                        "sequenceList: a sequence number is over 9223372036854775807 (int64)",
                    ));
                }
            }
            (id, body.dialog_id, true)
        }
        shape::Request::Update { id, body, .. } => {
            // A conversation's MAIN dialog has its id; closing it ends the
            // conversation with the agent (and opens the survey dialog, if
            // there is one); closing the survey's ends the conversation.
            if let shape::Field::DialogChange { dialog, .. } = &body.conversation_field {
                c.shared.conversations.close_dialog(
                    body.conversation_id,
                    &dialog.dialog_id,
                    account,
                    &consumer,
                    c.now,
                )?;
                return answer(id, json!({}));
            }
            (id, body.conversation_id, false)
        }
    };
    let conversations = &c.shared.conversations;
    let body = if event {
        let published = published(&payload["body"]["event"])?;
        let shared_file = match &published {
            Published::File(message) => Some(hosted_file(c, account, message)?),
            _ => None,
        };
        let (sequence, conversation) =
            conversations.publish(&conversation_id, account, &consumer, &published, c.now)?;
        if let Some(path) = shared_file {
            files.attach(&path, &conversation);
        }
        json!({ "sequence": sequence })
    } else {
        conversations.close(conversation_id, account, &consumer, c.now)?;
        json!({})
    };
    Ok(json_response(
        StatusCode::OK,
        json!({"reqId": id, "code": "OK", "body": body}).to_string(),
    ))
}

/// The event of a publish payload already checked against its shape.
fn published(event: &Value) -> Result<Published, ApiError> {
    let text = |name: &str| event[name].as_str().map(str::to_owned);
    let published = match event["type"].as_str() {
        Some("ContentEvent") if event["contentType"] == "hosted/file" => {
            Some(Published::File(event["message"].clone()))
        }
        Some("ContentEvent") => text("message").map(Published::Text),
        Some("ChatStateEvent") => text("chatState").map(Published::ChatState),
        Some("RichContentEvent") => {
            // The structured content under `content`, or the JSON schema's `message`.
            let content = event.get("content").or_else(|| event.get("message"));
            return Published::rich(content, event.get("quickReplies"), "/body/event");
        }
        Some("AcceptStatusEvent") => text("status").map(|status| Published::AcceptStatus {
            status,
            sequences: event["sequenceList"]
                .as_array()
                .map(|list| list.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default(),
        }),
        _ => None,
    };
    // The shape was checked: every member read above is there.
    published.ok_or_else(|| ApiError::bad_request("the event is not one SEND publishes"))
}

/// A `fileType` of file sharing: JPG, JPEG, PNG or GIF; else 400.
fn file_type(given: &str) -> Result<&'static str, ApiError> {
    FILE_TYPES.into_iter().find(|t| *t == given).ok_or_else(|| {
        ApiError::bad_request(format!(
            "fileType must be one of JPG, JPEG, PNG, GIF (got {given:?})"
        ))
    })
}

/// A `fileSize`: a number or a string of digits, from 1 to 3 MB; else 400.
fn file_size(given: &Value) -> Result<u64, ApiError> {
    let size = match given {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    };
    match size {
        Some(size) if (1..=MAX_FILE_BYTES).contains(&size) => Ok(size),
        Some(size) if size > MAX_FILE_BYTES => Err(ApiError::bad_request(format!(
            "fileSize {size} is over 3 MB ({MAX_FILE_BYTES} bytes)"
        ))),
        _ => Err(ApiError::bad_request(
            "fileSize must be a number of bytes from 1 to 3 MB (3145728), or those digits as a string",
        )),
    }
}

/// Checks the `message` of a `hosted/file` event: a `relativePath` of a
/// file this account uploaded, a supported `fileType`, an optional text
/// `caption` and a `preview` under 30 KB; 400 otherwise. The path.
fn hosted_file(c: &Call<'_>, account: &str, message: &Value) -> Result<String, ApiError> {
    let Some(fields) = message.as_object() else {
        return Err(ApiError::bad_request(
            "a hosted/file message must be an object with relativePath and fileType",
        ));
    };
    let text = |name: &str, required: bool| match fields.get(name) {
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        None if !required => Ok(None),
        _ => Err(ApiError::bad_request(format!(
            "hosted/file: {name} must be a string{}",
            if required { " and is required" } else { "" }
        ))),
    };
    let path = text("relativePath", true)?.unwrap_or_default();
    file_type(text("fileType", true)?.unwrap_or_default())?;
    text("caption", false)?;
    if let Some(preview) = text("preview", false)?
        && preview.len() >= MAX_PREVIEW_BYTES
    {
        return Err(ApiError::bad_request(format!(
            "hosted/file: the preview must be under 30 KB ({MAX_PREVIEW_BYTES} bytes); it is {} bytes",
            preview.len()
        )));
    }
    if !c.shared.conversations.files.stored(account, path) {
        return Err(ApiError::bad_request(
            "hosted/file: no file of this account was uploaded at relativePath (upload it first, with the URL ms.GenerateURLForUploadFile answers)",
        ));
    }
    Ok(path.to_owned())
}
