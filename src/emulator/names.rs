//! Validation of account ids, namespaces, session ids and property names:
//! the crate's own rules (`crate::names`), answered as 400s.

use super::error::ApiError;
use crate::names::{check_account, check_namespace, check_segment};

pub(super) use crate::names::DEFAULT_SESSION;

fn checked<'a>(
    value: &'a str,
    what: &str,
    check: fn(&str) -> Result<(), String>,
) -> Result<&'a str, ApiError> {
    check(value)
        .map(|()| value)
        .map_err(|reason| ApiError::bad_request(format!("invalid {what}: {reason}")))
}

/// An account id: non-empty `[A-Za-z0-9_-]+`.
pub(super) fn account(id: &str) -> Result<&str, ApiError> {
    checked(id, "account id", check_account)
}

/// A namespace: non-empty `[A-Za-z0-9_]+`, not reserved.
pub(super) fn namespace(name: &str) -> Result<&str, ApiError> {
    checked(name, "namespace", check_namespace)
}

/// A session id: any non-empty string except `.` and `..`.
pub(super) fn session(id: &str) -> Result<&str, ApiError> {
    checked(id, "session id", check_segment)
}

/// A property name: any non-empty string except `.` and `..`.
pub(super) fn property(name: &str) -> Result<&str, ApiError> {
    checked(name, "property name", check_segment)
}
