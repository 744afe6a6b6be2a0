//! Failures of the in-memory model, turned into Mattermost-shaped errors at the API boundary.
//!
//! Domain code does not know which Go method it is serving (one helper can back several
//! methods), so it returns a [`Fault`] and the trait implementation names the method when it
//! converts the fault into an [`ApiError`].

use mattermost_plugin_api::{ApiError, pb};

/// HTTP-style status codes Mattermost puts in `AppError.StatusCode`.
pub(super) const BAD_REQUEST: i64 = 400;
pub(super) const FORBIDDEN: i64 = 403;
pub(super) const NOT_FOUND: i64 = 404;
pub(super) const TOO_LARGE: i64 = 413;

/// A business error without its `where` yet.
#[derive(Debug, Clone)]
pub(super) struct Fault {
    status: i64,
    id: String,
    message: String,
    detail: String,
}

/// The result of an operation on the model.
pub(super) type Outcome<T> = Result<T, Fault>;

/// A required message argument, or 400 if the caller sent none.
pub(super) fn required<T>(value: Option<T>, what: &str) -> Outcome<T> {
    value.ok_or_else(|| Fault::missing(what))
}

impl Fault {
    pub(super) fn new(status: i64, id: impl Into<String>, message: impl Into<String>) -> Self {
        Fault {
            status,
            id: id.into(),
            message: message.into(),
            detail: String::new(),
        }
    }

    pub(super) fn bad_request(id: impl Into<String>, message: impl Into<String>) -> Self {
        Fault::new(BAD_REQUEST, id, message)
    }

    pub(super) fn forbidden(id: impl Into<String>, message: impl Into<String>) -> Self {
        Fault::new(FORBIDDEN, id, message)
    }

    pub(super) fn not_found(id: impl Into<String>, message: impl Into<String>) -> Self {
        Fault::new(NOT_FOUND, id, message)
    }

    /// The `DetailedError` Mattermost attaches (usually `field=value`).
    pub(super) fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// A required message argument was absent (a nil pointer in Go).
    pub(super) fn missing(what: &str) -> Self {
        Fault::bad_request(
            "api.context.invalid_body_param.app_error",
            format!("the request has no valid {what}"),
        )
    }

    /// A malformed id or name argument.
    pub(super) fn invalid_param(name: &str, value: &str) -> Self {
        Fault::bad_request(
            "api.context.invalid_url_param.app_error",
            format!("{name} is missing or malformed"),
        )
        .detail(format!("{name}={value}"))
    }

    /// As the `*model.AppError` a Go method returns, with `where` naming that method.
    pub(super) fn into_app_error(self, method: &str) -> ApiError {
        ApiError::App(self.into_pb(method))
    }

    /// The AppError message itself (for results that carry per-item errors).
    pub(super) fn into_pb(self, method: &str) -> pb::AppError {
        pb::AppError {
            id: self.id,
            message: self.message,
            detailed_error: self.detail,
            status_code: self.status,
            r#where: method.to_string(),
            ..Default::default()
        }
    }

    /// As the plain `error` of Go methods that do not return an AppError.
    pub(super) fn into_plain(self, method: &str) -> ApiError {
        ApiError::plain(format!("{method}: {}", self.message))
    }
}
