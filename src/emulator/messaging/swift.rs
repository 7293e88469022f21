//! File sharing's `swift` host, played by the emulator: the `PUT` and `GET`
//! of a file's bytes at `/v1/AUTH_async-images/{account}/{file}`, signed by
//! a temporary URL of `files.rs`.

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use super::files::{CONTAINER, MAX_FILE_BYTES};
use crate::emulator::context::Call;
use crate::emulator::error::{ApiError, ApiResult, json as json_response};

/// The temporary URL's query: `temp_url_sig`, `temp_url_expires`.
fn signature<'c>(c: &'c Call<'_>) -> (Option<&'c str>, Option<&'c str>) {
    (c.query("temp_url_sig"), c.query("temp_url_expires"))
}

/// The path a swift request names.
fn path_of(c: &Call<'_>) -> Result<String, ApiError> {
    let account = c.account()?;
    Ok(format!("{CONTAINER}{account}/{}", c.file()))
}

/// `PUT /v1/AUTH_async-images/{accountId}/{fileName}?temp_url_sig&temp_url_expires`:
/// stores the bytes; 201. 401 for a signature that is wrong or expired,
/// 400 for an empty body, 413 over [`MAX_FILE_BYTES`]; nothing is stored
/// then.
pub(crate) fn upload_file(c: &Call<'_>) -> ApiResult {
    let path = path_of(c)?;
    let files = &c.shared.conversations.files;
    files.check("PUT", &path, signature(c), c.now)?;
    if c.body.is_empty() {
        return Err(ApiError::bad_request("the file is empty"));
    }
    if c.body.len() as u64 > MAX_FILE_BYTES {
        return Err(ApiError::too_large(format!(
            "the file is over 3 MB ({MAX_FILE_BYTES} bytes): {} bytes",
            c.body.len()
        )));
    }
    files.store(path, c.body.clone());
    Ok(json_response(
        StatusCode::CREATED,
        json!({"message": "created"}).to_string(),
    ))
}

/// `GET /v1/AUTH_async-images/{accountId}/{fileName}?temp_url_sig&temp_url_expires`:
/// the bytes, as `application/octet-stream`. 401 for a signature that is
/// wrong or expired, 404 when no file is stored there (any more).
pub(crate) fn download_file(c: &Call<'_>) -> ApiResult {
    let path = path_of(c)?;
    let files = &c.shared.conversations.files;
    files.check("GET", &path, signature(c), c.now)?;
    let bytes = files
        .get(&path)
        .ok_or_else(|| ApiError::not_found("file not found"))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/octet-stream")],
        bytes,
    )
        .into_response())
}
