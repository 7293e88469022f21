//! File sharing for a consumer ([`OpenConversation::send_file`],
//! [`OpenConversation::download_file`]): SEND's temporary URLs, the
//! `swift` host's PUT and GET, and the `hosted/file` message, with the
//! limits LivePerson documents checked before anything is sent.

use futures::TryStreamExt;
use serde_json::Value;

use super::conversation::OpenConversation;
use super::send::{Sent, request_id};
use crate::Error;
use crate::generated::messaging as raw;

/// The largest file shared, in bytes: LivePerson's "up to 3MB", read as
/// 3 × 1024 × 1024.
pub const MAX_FILE_BYTES: usize = 3 * 1024 * 1024;

/// A preview must be shorter than this, in bytes of its text (LivePerson:
/// "the preview must be under 30KB").
pub const MAX_PREVIEW_BYTES: usize = 30 * 1024;

/// The container every `relativePath` names (`/v1/AUTH_async-images/{account}/{file}`).
const CONTAINER: &str = "/v1/AUTH_async-images/";

/// The type of a shared file: the types file sharing supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    /// `JPG`.
    Jpg,
    /// `JPEG`.
    Jpeg,
    /// `PNG`.
    Png,
    /// `GIF`.
    Gif,
}

impl FileType {
    fn to_raw(self) -> raw::types::FileType {
        use raw::types::FileType as R;
        match self {
            FileType::Jpg => R::Jpg,
            FileType::Jpeg => R::Jpeg,
            FileType::Png => R::Png,
            FileType::Gif => R::Gif,
        }
    }
}

/// A file shared by [`OpenConversation::send_file`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileSent {
    /// Where the file is stored (`relativePath`): give it to
    /// [`OpenConversation::download_file`].
    pub relative_path: String,
    /// The answer to the `hosted/file` message (its sequence number).
    pub sent: Sent,
}

/// The temporary URL a SEND answered: path and signature.
struct TempUrl {
    account: String,
    file: String,
    relative_path: String,
    sig: String,
    expires: String,
}

/// Reads the body of a temporary URL answer.
fn temp_url(operation: &'static str, body: &Value) -> Result<TempUrl, Error> {
    let decode = |reason: &str| Error::Decode {
        operation,
        status: None,
        reason: reason.to_owned(),
        body: String::new(),
    };
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let relative_path =
        text(&body["relativePath"]).ok_or_else(|| decode("no relativePath in the answer"))?;
    let (account, file) = split_path(&relative_path)
        .ok_or_else(|| decode("the relativePath is not /v1/AUTH_async-images/{account}/{file}"))?;
    let params = &body["queryParams"];
    let sig = text(&params["temp_url_sig"]).ok_or_else(|| decode("no temp_url_sig"))?;
    // A number is taken too.
    let expires = text(&params["temp_url_expires"])
        .or_else(|| params["temp_url_expires"].as_i64().map(|n| n.to_string()))
        .ok_or_else(|| decode("no temp_url_expires"))?;
    Ok(TempUrl {
        account,
        file,
        relative_path,
        sig,
        expires,
    })
}

/// The account and file name of a `relativePath`.
fn split_path(path: &str) -> Option<(String, String)> {
    let (account, file) = path.strip_prefix(CONTAINER)?.split_once('/')?;
    (!account.is_empty() && !file.is_empty() && !file.contains('/'))
        .then(|| (account.to_owned(), file.to_owned()))
}

impl OpenConversation {
    /// Shares a file from the consumer: asks for an upload URL
    /// (`ms.GenerateURLForUploadFile`), uploads the bytes to the `swift`
    /// host, then sends a `ContentEvent` of `hosted/file` naming it, with
    /// the `caption` and an optional `preview` (a `data:image/...;base64,`
    /// thumbnail).
    ///
    /// Checked before anything is sent ([`Error::InvalidInput`]): the file
    /// is not empty and at most [`MAX_FILE_BYTES`], the preview shorter than
    /// [`MAX_PREVIEW_BYTES`].
    ///
    /// The upload URL is valid for one minute. The upload URL request and
    /// the upload may be repeated by the retry policy; the `hosted/file`
    /// message never is (as [`send_text`](Self::send_text)).
    ///
    /// Sends `POST .../conversation/send?v=3` (`ms.GenerateURLForUploadFile`),
    /// `PUT {swift}/v1/AUTH_async-images/{accountId}/{fileName}?temp_url_sig=...&temp_url_expires=...`
    /// (the bytes, `application/octet-stream`, no token), and `POST
    /// .../conversation/send?v=3` (`ms.PublishEvent`); the swift host is the
    /// Domain API's `swift` for a discovered client, the client's own host
    /// otherwise. 201 then 200 → [`FileSent`]; a refused upload (401 for an
    /// expired URL, 413) → [`Error::Unauthorized`] or [`Error::Api`].
    pub async fn send_file(
        &self,
        bytes: impl Into<Vec<u8>>,
        file_type: FileType,
        caption: impl Into<String>,
        preview: Option<String>,
    ) -> Result<FileSent, Error> {
        use raw::types as t;
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Err(Error::invalid("file", "the file is empty"));
        }
        if bytes.len() > MAX_FILE_BYTES {
            return Err(Error::invalid(
                "file",
                format!(
                    "the file is {} bytes, over 3 MB ({MAX_FILE_BYTES} bytes)",
                    bytes.len()
                ),
            ));
        }
        if let Some(preview) = &preview
            && preview.len() >= MAX_PREVIEW_BYTES
        {
            return Err(Error::invalid(
                "file preview",
                format!(
                    "the preview is {} bytes; it must be under 30 KB ({MAX_PREVIEW_BYTES} bytes)",
                    preview.len()
                ),
            ));
        }
        let size = i64::try_from(bytes.len())
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .and_then(std::num::NonZeroU64::new)
            .ok_or_else(|| Error::invalid("file", "the file is empty"))?;
        let request = t::SendRequest::GenerateUploadUrlRequest(t::GenerateUploadUrlRequest {
            kind: t::RequestKind::Req,
            id: t::RequestId(request_id()),
            type_: t::GenerateUploadUrlRequestType::MsGenerateUrlForUploadFile,
            body: t::GenerateUploadUrlBody {
                file_size: t::FileSize::Int64(size),
                file_type: file_type.to_raw(),
            },
        });
        let (_, body) = self
            .client
            .send_raw_body(&self.consumer, &self.slot, request, true)
            .await?;
        let url = temp_url("send_to_conversation", &body)?;
        let preview = preview
            .map(t::HostedFilePreview::try_from)
            .transpose()
            .map_err(|_| Error::invalid("file preview", "the preview must be under 30 KB"))?;
        let relative_path = t::RelativePath::try_from(url.relative_path.clone())
            .map_err(|_| Error::invalid("relative path", "the relativePath is empty"))?;
        self.put(&url, bytes).await?;
        let event = t::PublishedEvent::HostedFileEvent(t::HostedFileEvent {
            type_: t::HostedFileEventType::ContentEvent,
            content_type: t::HostedFileEventContentType::HostedFile,
            message: t::HostedFile {
                caption: Some(caption.into()),
                relative_path,
                file_type: file_type.to_raw(),
                preview,
            },
        });
        let sent = self.publish(event, false).await?;
        Ok(FileSent {
            relative_path: url.relative_path,
            sent,
        })
    }

    /// Downloads a shared file (one the agent shared, or the consumer's
    /// own) by its `relativePath`: asks for a download URL
    /// (`ms.GenerateURLForDownloadFile`), then GETs the bytes from the
    /// `swift` host (as [`send_file`](Self::send_file) finds it).
    ///
    /// Checked before anything is sent ([`Error::InvalidInput`]): the path
    /// has the form `/v1/AUTH_async-images/{accountId}/{fileName}`. An
    /// answer over [`MAX_FILE_BYTES`] is not read ([`Error::ResponseTooLarge`]).
    /// Both calls may be repeated by the retry policy.
    ///
    /// Sends `POST .../conversation/send?v=3` (`ms.GenerateURLForDownloadFile`)
    /// and `GET {swift}{relativePath}?temp_url_sig=...&temp_url_expires=...`
    /// (no token); 200 then 200 → the bytes; no such file (404) →
    /// [`Error::NotFound`].
    pub async fn download_file(&self, relative_path: &str) -> Result<Vec<u8>, Error> {
        use raw::types as t;
        if split_path(relative_path).is_none() {
            return Err(Error::invalid(
                "relative path",
                "a relativePath has the form /v1/AUTH_async-images/{accountId}/{fileName}",
            ));
        }
        let relative_path = t::RelativePath::try_from(relative_path)
            .map_err(|_| Error::invalid("relative path", "the relativePath is empty"))?;
        let request = t::SendRequest::GenerateDownloadUrlRequest(t::GenerateDownloadUrlRequest {
            kind: t::RequestKind::Req,
            id: t::RequestId(request_id()),
            type_: t::GenerateDownloadUrlRequestType::MsGenerateUrlForDownloadFile,
            body: t::GenerateDownloadUrlBody { relative_path },
        });
        let (_, body) = self
            .client
            .send_raw_body(&self.consumer, &self.slot, request, true)
            .await?;
        let url = temp_url("send_to_conversation", &body)?;
        self.get(&url).await
    }

    async fn put(&self, url: &TempUrl, bytes: Vec<u8>) -> Result<(), Error> {
        const OPERATION: &str = "upload_file";
        let swift = self.client.swift().await?;
        let transport = progenitor_client::ClientInfo::inner(&swift);
        let result = swift
            .upload_file()
            .account_id(url.account.as_str())
            .file_name(url.file.as_str())
            .temp_url_sig(url.sig.as_str())
            .temp_url_expires(url.expires.as_str())
            .body(bytes)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(transport.convert(OPERATION, e).await),
        }
    }

    async fn get(&self, url: &TempUrl) -> Result<Vec<u8>, Error> {
        const OPERATION: &str = "download_file";
        let swift = self.client.swift().await?;
        let transport = progenitor_client::ClientInfo::inner(&swift);
        let answer = swift
            .download_file()
            .account_id(url.account.as_str())
            .file_name(url.file.as_str())
            .temp_url_sig(url.sig.as_str())
            .temp_url_expires(url.expires.as_str())
            .send()
            .await;
        let stream = match answer {
            Ok(answer) => answer.into_inner(),
            Err(e) => return Err(transport.convert(OPERATION, e).await),
        };
        let mut bytes = Vec::new();
        let mut stream = stream.into_inner();
        while let Some(chunk) = stream.try_next().await.map_err(|e| Error::Transport {
            operation: OPERATION,
            source: Box::new(e.without_url()),
        })? {
            if bytes.len() + chunk.len() > MAX_FILE_BYTES {
                return Err(Error::ResponseTooLarge {
                    operation: OPERATION,
                    limit: MAX_FILE_BYTES as u64,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}
