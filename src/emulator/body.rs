//! Reading a request body into one buffer, under the body limit.
//!
//! A body arrives as frames, one per read of the socket, so a client sending
//! a byte at a time makes as many one-byte frames. Each frame is a slice of
//! the connection's read buffer and keeps its whole allocation alive (hyper
//! then reads into a new one), so collecting the frames as they come, which
//! is what axum's `Bytes` extractor does, costs kilobytes of memory per byte
//! received. Here each frame is copied into one growing buffer and dropped at
//! once: a body being read holds only that buffer, at most twice the bytes
//! received (or 256 bytes) and never more than the body limit, and frees it
//! when the request ends, however it ends (a connection closed mid-body
//! drops it).

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use futures::StreamExt;

use super::error::ApiError;
use super::server::BodyTimedOut;

/// Largest request body read, in bytes: above the largest legal document,
/// so that the 800,000-character rule decides, not the transport. A document
/// of 800,000 characters each sent as a `\uXXXX\uXXXX` surrogate pair (12
/// bytes; Python's default `json.dumps` of emoji) is 9.6 MB; this leaves
/// 0.88 MB for the envelope and whitespace. A larger body answers 413 as soon
/// as the frame that takes it over the limit arrives.
pub(super) const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The bytes allocated for the bodies being read (their buffers' capacity).
#[derive(Debug, Default)]
pub(super) struct BodyMemory(AtomicUsize);

impl BodyMemory {
    /// Bytes held now by bodies being read.
    pub(super) fn held(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// The smallest buffer allocated for a body that comes in several frames.
const MIN_CAPACITY: usize = 256;

/// Reads the whole body of `request`: 413 when it is over the body limit (as
/// soon as a frame takes it over), 408 when it did not arrive in time (see
/// `server.rs`), 400 when it could not be read otherwise (e.g. the client
/// closed the connection).
pub(super) async fn read(request: Request, memory: &BodyMemory) -> Result<Bytes, ApiError> {
    read_body(request.into_body(), memory).await
}

/// Reads a whole request body, as [`read`] does.
pub(super) async fn read_body(body: Body, memory: &BodyMemory) -> Result<Bytes, ApiError> {
    if axum::body::HttpBody::is_end_stream(&body) {
        // No body (a GET): nothing to wait for.
        return Ok(Bytes::new());
    }
    let mut frames = body.into_data_stream();
    let mut buffer = Buffer {
        bytes: Vec::new(),
        memory,
        counted: 0,
    };
    while let Some(frame) = frames.next().await {
        let data = frame.map_err(|error| {
            if caused_by_timeout(&error) {
                ApiError::body_timed_out()
            } else {
                ApiError::unreadable_body()
            }
        })?;
        if data.len() > MAX_BODY_BYTES - buffer.bytes.len() {
            return Err(ApiError::body_too_large());
        }
        buffer.push(&data);
        // `data` (and the read buffer it is a slice of) is dropped here.
    }
    Ok(buffer.finish())
}

/// Whether `error` comes from a body read that ran out of time.
fn caused_by_timeout(error: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = cause {
        if error.is::<BodyTimedOut>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// A body's bytes so far, their allocation counted in a [`BodyMemory`]
/// while they live.
struct Buffer<'m> {
    bytes: Vec<u8>,
    memory: &'m BodyMemory,
    /// What this buffer added to `memory`.
    counted: usize,
}

impl Buffer<'_> {
    /// Appends `data`, which the caller has checked fits the body limit. The
    /// first frame gets a buffer of its size (most bodies come in one); then
    /// the capacity doubles, up to the body limit.
    fn push(&mut self, data: &[u8]) {
        let needed = self.bytes.len() + data.len();
        if needed > self.bytes.capacity() {
            let capacity = if self.bytes.capacity() == 0 {
                needed
            } else {
                (self.bytes.capacity() * 2)
                    .clamp(MIN_CAPACITY, MAX_BODY_BYTES)
                    .max(needed)
            };
            self.bytes.reserve_exact(capacity - self.bytes.len());
            self.count();
        }
        self.bytes.extend_from_slice(data);
    }

    /// Brings `memory` up to date with the buffer's capacity.
    fn count(&mut self) {
        let capacity = self.bytes.capacity();
        if capacity > self.counted {
            self.memory
                .0
                .fetch_add(capacity - self.counted, Ordering::Relaxed);
        } else {
            self.memory
                .0
                .fetch_sub(self.counted - capacity, Ordering::Relaxed);
        }
        self.counted = capacity;
    }

    /// The body, no longer counted as being read, in an allocation of its
    /// size (the journal may keep it).
    fn finish(mut self) -> Bytes {
        let mut bytes = std::mem::take(&mut self.bytes);
        bytes.shrink_to_fit();
        Bytes::from(bytes)
    }
}

impl Drop for Buffer<'_> {
    fn drop(&mut self) {
        self.memory.0.fetch_sub(self.counted, Ordering::Relaxed);
    }
}
