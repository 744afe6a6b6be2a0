//! The one table that decides how types from outside `model` and `plugin` are carried.
//!
//! Every external type the closure reaches must have a row here; an unknown one is a lowering
//! error naming the place it was used, so an upgrade that introduces a new external type stops the
//! pipeline with a clear message instead of guessing. Keys are import path + type name.

use serde::{Deserialize, Serialize};

/// How an external Go type crosses the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExternalMapping {
    /// A byte stream the caller reads (`io.Reader`): a client or bidirectional stream.
    ReadStream,
    /// A byte stream the callee writes (`io.Writer`).
    WriteStream,
    /// An incoming HTTP request, streamed (`*http.Request`).
    HttpRequest,
    /// An HTTP response, streamed (`*http.Response`).
    HttpResponse,
    /// The writer half of a streamed HTTP exchange (`http.ResponseWriter`).
    HttpResponseWriter,
    /// `time.Time` → a timestamp.
    Timestamp,
    /// `time.Duration` → int64 nanoseconds, as Go's JSON encodes it.
    DurationNanos,
    /// Raw JSON bytes (`json.RawMessage`).
    RawJson,
    /// A value whose JSON form is a string (log levels, versions).
    String,
    /// A struct owned by another library, carried as its JSON encoding.
    OpaqueJson,
    /// A function value: it cannot cross a process boundary, so fields of this type are left out
    /// of every wire format.
    Omitted,
}

/// (import path, type name, mapping). Sorted by path then name.
const TABLE: &[(&str, &str, ExternalMapping)] = &[
    ("encoding/json", "RawMessage", ExternalMapping::RawJson),
    (
        "github.com/mattermost/gosaml2",
        "AssertionInfo",
        ExternalMapping::OpaqueJson,
    ),
    (
        "github.com/mattermost/mattermost/server/public/shared/i18n",
        "TranslateFunc",
        ExternalMapping::Omitted,
    ),
    (
        "github.com/mattermost/mattermost/server/public/shared/mlog",
        "Level",
        ExternalMapping::OpaqueJson,
    ),
    ("io", "Reader", ExternalMapping::ReadStream),
    ("io", "Writer", ExternalMapping::WriteStream),
    ("net/http", "Request", ExternalMapping::HttpRequest),
    ("net/http", "Response", ExternalMapping::HttpResponse),
    (
        "net/http",
        "ResponseWriter",
        ExternalMapping::HttpResponseWriter,
    ),
    ("time", "Duration", ExternalMapping::DurationNanos),
    ("time", "Time", ExternalMapping::Timestamp),
];

/// The mapping for an external type, or `None` when the table has no row for it.
pub fn mapping(path: &str, name: &str) -> Option<ExternalMapping> {
    TABLE
        .iter()
        .find(|(p, n, _)| *p == path && *n == name)
        .map(|(_, _, m)| *m)
}

/// Every row, for documentation and tests.
pub fn rows() -> impl Iterator<Item = (&'static str, &'static str, ExternalMapping)> {
    TABLE.iter().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        let keys: Vec<_> = rows().map(|(p, n, _)| (p, n)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            keys, sorted,
            "keep TABLE sorted by (path, name) with no duplicates"
        );
    }

    #[test]
    fn known_and_unknown_lookups() {
        assert_eq!(mapping("io", "Reader"), Some(ExternalMapping::ReadStream));
        assert_eq!(mapping("time", "Time"), Some(ExternalMapping::Timestamp));
        assert_eq!(mapping("io", "Closer"), None);
    }
}
