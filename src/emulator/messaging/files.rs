//! File sharing's store: the temporary URLs SEND's
//! `ms.GenerateURLForUploadFile` and `ms.GenerateURLForDownloadFile` answer
//! (signed, valid [`URL_VALID_SECONDS`] on the emulator's clock), their
//! check, and the files stored (`swift.rs` serves the `PUT` and `GET`).
//!
//! Memory: each file is at most [`MAX_FILE_BYTES`], and all files together
//! at most [`FILES_KEPT_BYTES`]; past that the oldest upload is forgotten
//! (its download answers 404). A file shared in a conversation is forgotten
//! with the conversation, and every file at `/__emulator/reset`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};

use crate::emulator::error::ApiError;

/// The largest file, in bytes ("each file can be up to 3MB").
pub(crate) const MAX_FILE_BYTES: u64 = 3 * 1024 * 1024;

/// A preview must be shorter than this, in bytes of its text ("the preview
/// must be under 30KB").
pub(crate) const MAX_PREVIEW_BYTES: usize = 30 * 1024;

/// How long a temporary URL is valid ("file expiration is set to 1 minute").
pub(crate) const URL_VALID_SECONDS: i64 = 60;

/// The bytes of all stored files together; past it the oldest is forgotten.
pub(crate) const FILES_KEPT_BYTES: usize = 64 * 1024 * 1024;

/// The file types file sharing supports.
pub(crate) const FILE_TYPES: [&str; 4] = ["JPG", "JPEG", "PNG", "GIF"];

/// The container every `relativePath` names, as on LivePerson's pages.
pub(crate) const CONTAINER: &str = "/v1/AUTH_async-images/";

/// A stored file.
struct File {
    bytes: Bytes,
    /// The conversation that shared it, once a `hosted/file` named it.
    conversation: Option<String>,
}

#[derive(Default)]
struct Stored {
    by_path: HashMap<String, File>,
    /// Paths, oldest upload first.
    order: VecDeque<String>,
    bytes: usize,
}

/// The files, and the key that signs their temporary URLs.
pub(crate) struct Files {
    key: [u8; 32],
    held: Mutex<Stored>,
}

impl Files {
    /// No files; a random signing key.
    pub(crate) fn new() -> Files {
        let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(a.as_bytes());
        key[16..].copy_from_slice(b.as_bytes());
        Files {
            key,
            held: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Stored> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sign(&self, method: &str, path: &str, expires: i64) -> String {
        // HMAC takes a key of any length: cannot fail.
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC accepts keys of any length");
        mac.update(format!("{method}\n{expires}\n{path}").as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The answer body of a temporary URL for `method` on `path`.
    fn grant(&self, method: &str, path: &str, now: DateTime<Utc>) -> Value {
        let expires = now.timestamp() + URL_VALID_SECONDS;
        json!({
            "relativePath": path,
            "queryParams": {
                "temp_url_sig": self.sign(method, path, expires),
                "temp_url_expires": expires.to_string(),
            },
        })
    }

    /// A new upload path of `account` for a file of `file_type`, and its
    /// signed URL.
    pub(crate) fn upload_url(&self, account: &str, file_type: &str, now: DateTime<Utc>) -> Value {
        self.grant("PUT", &new_path(account, file_type), now)
    }

    /// A signed download URL of a stored file of `account`; 404 if none.
    pub(crate) fn download_url(
        &self,
        account: &str,
        path: &str,
        now: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        if !self.stored(account, path) {
            return Err(ApiError::not_found(
                "file not found: no file of this account was uploaded at relativePath (or it was forgotten)",
            ));
        }
        Ok(self.grant("GET", path, now))
    }

    /// Whether a file of `account` is stored at `path`.
    pub(crate) fn stored(&self, account: &str, path: &str) -> bool {
        of_account(account, path) && self.lock().by_path.contains_key(path)
    }

    /// Notes that conversation `id` shared the file at `path` (the first
    /// conversation to share it keeps it).
    pub(crate) fn attach(&self, path: &str, id: &str) {
        if let Some(file) = self.lock().by_path.get_mut(path) {
            file.conversation.get_or_insert_with(|| id.to_owned());
        }
    }

    /// Forgets the files the conversations `ids` shared.
    pub(crate) fn forget_conversations(&self, ids: &[String]) {
        let mut held = self.lock();
        let gone: Vec<String> = held
            .by_path
            .iter()
            .filter(|(_, f)| f.conversation.as_ref().is_some_and(|c| ids.contains(c)))
            .map(|(path, _)| path.clone())
            .collect();
        for path in gone {
            if let Some(file) = held.by_path.remove(&path) {
                held.bytes -= file.bytes.len();
            }
            held.order.retain(|p| *p != path);
        }
    }

    /// Forgets every file (`/__emulator/reset`).
    pub(crate) fn clear(&self) {
        *self.lock() = Stored::default();
    }

    /// Checks the signature (`sig`) and expiry (`expires`) of a request for
    /// `method` on `path` at `now`; 401 `Temp URL invalid: ...`.
    pub(crate) fn check(
        &self,
        method: &str,
        path: &str,
        (sig, expires): (Option<&str>, Option<&str>),
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let invalid = |why: &str| ApiError::unauthorized(format!("Temp URL invalid: {why}"));
        let (Some(sig), Some(expires)) = (sig, expires) else {
            return Err(invalid("temp_url_sig and temp_url_expires are required"));
        };
        let expires: i64 = expires
            .parse()
            .map_err(|_| invalid("temp_url_expires is not a number"))?;
        if !same_secret(sig.as_bytes(), self.sign(method, path, expires).as_bytes()) {
            return Err(invalid("the signature does not match this path and method"));
        }
        if now.timestamp() > expires {
            return Err(invalid("it has expired (URLs are valid for one minute)"));
        }
        Ok(())
    }

    /// Stores a file at `path`, forgetting the oldest past [`FILES_KEPT_BYTES`].
    pub(crate) fn store(&self, path: String, bytes: Bytes) {
        let mut held = self.lock();
        if let Some(old) = held.by_path.remove(&path) {
            held.bytes -= old.bytes.len();
            held.order.retain(|p| *p != path);
        }
        while held.bytes + bytes.len() > FILES_KEPT_BYTES {
            let Some(oldest) = held.order.pop_front() else {
                break;
            };
            if let Some(file) = held.by_path.remove(&oldest) {
                held.bytes -= file.bytes.len();
            }
        }
        held.bytes += bytes.len();
        held.order.push_back(path.clone());
        held.by_path.insert(
            path,
            File {
                bytes,
                conversation: None,
            },
        );
    }

    /// The file at `path`.
    pub(crate) fn get(&self, path: &str) -> Option<Bytes> {
        self.lock().by_path.get(path).map(|f| f.bytes.clone())
    }
}

/// A new, unique file path of `account` for a file of `file_type` (an
/// upload's, or the agent's shared file's).
pub(crate) fn new_path(account: &str, file_type: &str) -> String {
    let name = uuid::Uuid::new_v4().simple();
    format!("{CONTAINER}{account}/{name}.{file_type}")
}

/// Whether `path` is a file path of `account`'s container.
fn of_account(account: &str, path: &str) -> bool {
    path.strip_prefix(CONTAINER)
        .and_then(|rest| rest.strip_prefix(account))
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::{FILES_KEPT_BYTES, Files, MAX_FILE_BYTES};
    use axum::body::Bytes;

    fn file() -> Bytes {
        Bytes::from(vec![0u8; usize::try_from(MAX_FILE_BYTES).unwrap_or(0)])
    }

    /// The files never hold more than the bound: past it the oldest upload
    /// goes first.
    #[test]
    fn stored_files_are_bounded_oldest_first() {
        let files = Files::new();
        let count = FILES_KEPT_BYTES / file().len() + 3;
        for i in 0..count {
            files.store(format!("/v1/AUTH_async-images/a/{i}.PNG"), file());
        }
        let held = files.lock();
        assert!(held.bytes <= FILES_KEPT_BYTES);
        assert_eq!(held.bytes, held.by_path.len() * file().len());
        assert_eq!(held.order.len(), held.by_path.len());
        drop(held);
        assert!(files.get("/v1/AUTH_async-images/a/0.PNG").is_none());
        assert!(files.stored("a", &format!("/v1/AUTH_async-images/a/{}.PNG", count - 1)));
        // Another account's path is not "stored" for this one.
        assert!(!files.stored("b", &format!("/v1/AUTH_async-images/a/{}.PNG", count - 1)));
    }

    /// A shared file goes with its conversation; an unshared one stays
    /// until the bound or a reset.
    #[test]
    fn shared_files_are_forgotten_with_their_conversation() {
        let files = Files::new();
        files.store(
            "/v1/AUTH_async-images/a/1.PNG".into(),
            Bytes::from_static(b"1"),
        );
        files.store(
            "/v1/AUTH_async-images/a/2.PNG".into(),
            Bytes::from_static(b"22"),
        );
        files.attach("/v1/AUTH_async-images/a/1.PNG", "conv");
        files.forget_conversations(&["conv".to_owned()]);
        assert!(files.get("/v1/AUTH_async-images/a/1.PNG").is_none());
        assert!(files.get("/v1/AUTH_async-images/a/2.PNG").is_some());
        assert_eq!(files.lock().bytes, 2);
        files.clear();
        assert!(files.get("/v1/AUTH_async-images/a/2.PNG").is_none());
        assert_eq!(files.lock().bytes, 0);
    }
}
