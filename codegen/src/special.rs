//! The one table of methods whose Go signature does not map one-to-one onto a unary call.
//!
//! Each row is data: which method, and which case. The front-end applies the table while lowering
//! (so the IR records the case), checks every row against the method's actual shape, and refuses a
//! method whose signature needs a case but has no row — an upgrade that adds such a method stops
//! with a message pointing here rather than being emitted wrongly.

use crate::externals::ExternalMapping;
use crate::ir::{ErrorKind, Method, ServiceKind, TypeRef};
pub use crate::ir::{HookDefault, Special};

pub struct Row {
    pub service: ServiceKind,
    pub method: &'static str,
    pub case: Special,
}

pub const fn row(service: ServiceKind, method: &'static str, case: Special) -> Row {
    Row {
        service,
        method,
        case,
    }
}

/// The special-case settings a parse runs with: Mattermost's own by default, or a fixture's.
#[derive(Clone, Copy)]
pub struct SpecialCases {
    pub rows: &'static [Row],
    pub hook_defaults: &'static [(&'static str, HookDefault)],
}

/// The table for Mattermost's plugin API.
pub const MATTERMOST: SpecialCases = SpecialCases {
    rows: TABLE,
    hook_defaults: HOOK_DEFAULTS,
};

impl SpecialCases {
    /// The row for a method, if any.
    pub fn lookup(&self, service: ServiceKind, method: &str) -> Option<Special> {
        self.rows
            .iter()
            .find(|r| r.service == service && r.method == method)
            .map(|r| r.case)
    }

    pub fn hook_default(&self, method: &str) -> HookDefault {
        self.hook_defaults
            .iter()
            .find(|(m, _)| *m == method)
            .map_or(HookDefault::Zero, |(_, d)| *d)
    }
}

use ServiceKind::{Api, Hooks};

/// Methods with a special case, by name. `ReplaceOrReject` is found by shape and needs no row.
pub const TABLE: &[Row] = &[
    row(Api, "InstallPlugin", Special::ReaderUpload),
    row(Api, "LoadPluginConfiguration", Special::ConfigurationAsJson),
    row(Api, "LogDebug", Special::LogKeyValues),
    row(Api, "LogError", Special::LogKeyValues),
    row(Api, "LogInfo", Special::LogKeyValues),
    row(Api, "LogWarn", Special::LogKeyValues),
    row(Api, "PluginHTTP", Special::PluginHttp),
    row(
        Api,
        "ReceiveSharedChannelAttachmentSyncMsg",
        Special::ReaderUpload,
    ),
    row(Api, "UploadData", Special::ReaderUpload),
    row(Hooks, "FileWillBeUploaded", Special::FileUploadStream),
    row(Hooks, "ServeHTTP", Special::HttpStream),
    row(Hooks, "ServeMetrics", Special::HttpStream),
];

/// Hooks whose not-implemented behaviour is not Go's zero values.
pub const HOOK_DEFAULTS: &[(&str, HookDefault)] = &[
    ("FileWillBeUploaded", HookDefault::ReturnParam(1)),
    ("ServeHTTP", HookDefault::NotFound),
    ("ServeMetrics", HookDefault::NotFound),
];

/// The external mapping of a type, if it is (a pointer to) an external type.
pub fn external_mapping(ty: &TypeRef) -> Option<ExternalMapping> {
    match ty {
        TypeRef::Pointer(inner) => external_mapping(inner),
        TypeRef::External { path, name, .. } => crate::externals::mapping(path, name),
        _ => None,
    }
}

/// Whether a type can only be carried by a special case (streams, HTTP, `any` out-params).
pub fn needs_special_case(ty: &TypeRef, variadic: bool) -> Option<&'static str> {
    if variadic {
        return Some("a variadic parameter");
    }
    if matches!(ty, TypeRef::Builtin(b) if b == "any") {
        return Some("an untyped `any` (usually an out-parameter)");
    }
    match external_mapping(ty) {
        Some(ExternalMapping::ReadStream | ExternalMapping::WriteStream) => {
            return Some("a byte stream");
        }
        Some(
            ExternalMapping::HttpRequest
            | ExternalMapping::HttpResponse
            | ExternalMapping::HttpResponseWriter,
        ) => {
            return Some("an HTTP exchange");
        }
        _ => {}
    }
    None
}

/// A hook returning exactly `(*T, string)` with no error: replacement and rejection reason.
pub fn is_replace_or_reject(m: &Method) -> bool {
    m.error == ErrorKind::None
        && matches!(m.results.as_slice(), [a, b]
            if matches!(&a.ty, TypeRef::Pointer(inner) if matches!(**inner, TypeRef::Named { .. }))
                && b.ty == TypeRef::Builtin("string".into()))
}

/// Checks that a method has the shape its special case assumes.
pub fn check_shape(case: Special, m: &Method) -> Result<(), String> {
    let mapping = |ty: &TypeRef| external_mapping(ty);
    let params: Vec<Option<ExternalMapping>> = m.params.iter().map(|p| mapping(&p.ty)).collect();
    let count = |want: ExternalMapping| params.iter().filter(|p| **p == Some(want)).count();
    let ok = match case {
        Special::HttpStream => {
            m.results.is_empty()
                && count(ExternalMapping::HttpResponseWriter) == 1
                && count(ExternalMapping::HttpRequest) == 1
        }
        Special::PluginHttp => {
            params == [Some(ExternalMapping::HttpRequest)]
                && m.results.len() == 1
                && mapping(&m.results[0].ty) == Some(ExternalMapping::HttpResponse)
        }
        Special::FileUploadStream => {
            count(ExternalMapping::ReadStream) == 1
                && count(ExternalMapping::WriteStream) == 1
                && is_replace_or_reject(m)
        }
        Special::ReaderUpload => {
            count(ExternalMapping::ReadStream) == 1 && params.iter().flatten().count() == 1
        }
        Special::LogKeyValues => {
            m.params.last().is_some_and(|p| {
                p.variadic && p.ty == TypeRef::Slice(Box::new(TypeRef::Builtin("any".into())))
            }) && m.params.iter().filter(|p| p.variadic).count() == 1
        }
        Special::ConfigurationAsJson => {
            m.params.len() == 1
                && m.params[0].ty == TypeRef::Builtin("any".into())
                && m.results.is_empty()
        }
        Special::ReplaceOrReject => is_replace_or_reject(m),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("signature is {}", m.summary()))
    }
}

/// Hooks whose go-plugin net/rpc arguments carry, besides the Go parameters, the ids of
/// MuxBroker streams the plugin dials back (the server's API and database driver for
/// `OnActivate`): `uint32` fields of `Z_<Hook>Args`, by Go name.
pub const NETRPC_BROKER_IDS: &[(&str, &[&str])] = &[("OnActivate", &["APIMuxId", "DriverMuxId"])];

/// A parameter or result of a method, for [`NIL_EXCEPTIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot<'a> {
    /// A parameter, by its Go name.
    Param(&'a str),
    /// A result, by position (without the trailing error).
    Result(usize),
}

/// Whether a pointer the Go signature allows to be nil can be nil in practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nil {
    /// Always set: typed non-optional in the languages; a missing value is a contract violation.
    Never,
    /// Truly optional.
    Possible,
}

/// The rule for pointers to structs, by where they appear:
/// - a hook's parameter: the server always sends it (`MessageWillBePosted` gets a post);
/// - an API method's result beside an error result: a nil error means the value is there
///   (`GetUser` returns a user or an error);
/// - an API method's result without an error result: it may be nil (`GetLicense` without one);
/// - an API method's parameter and a hook's result: the caller's choice, so optional.
///
/// [`NIL_EXCEPTIONS`] says where Mattermost departs from it.
pub fn nil_rule(service: ServiceKind, m: &Method, slot: Slot<'_>) -> Nil {
    if let Some((.., nil)) = NIL_EXCEPTIONS
        .iter()
        .find(|(s, name, at, _)| *s == service && *name == m.name && *at == slot)
    {
        return *nil;
    }
    match (service, slot) {
        (ServiceKind::Hooks, Slot::Param(_)) => Nil::Never,
        (ServiceKind::Api, Slot::Result(_)) if m.error != ErrorKind::None => Nil::Never,
        _ => Nil::Possible,
    }
}

/// Where the server departs from [`nil_rule`].
pub const NIL_EXCEPTIONS: &[(ServiceKind, &str, Slot<'static>, Nil)] = &[
    // The configuration always exists.
    (Api, "GetConfig", Slot::Result(0), Nil::Never),
    (Api, "GetUnsanitizedConfig", Slot::Result(0), Nil::Never),
    // The acting user is nil when users join or leave on their own.
    (
        Hooks,
        "UserHasJoinedChannel",
        Slot::Param("actor"),
        Nil::Possible,
    ),
    (
        Hooks,
        "UserHasJoinedTeam",
        Slot::Param("actor"),
        Nil::Possible,
    ),
    (
        Hooks,
        "UserHasLeftChannel",
        Slot::Param("actor"),
        Nil::Possible,
    ),
    (
        Hooks,
        "UserHasLeftTeam",
        Slot::Param("actor"),
        Nil::Possible,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_are_unique_and_sorted() {
        let keys: Vec<_> = TABLE.iter().map(|r| (r.service, r.method)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys, sorted);
    }

    /// Parsing an older release only notes rows naming methods it lacks; the pinned release must
    /// have every one (a misspelt row would otherwise go unnoticed).
    #[test]
    fn every_row_names_a_method_of_the_pinned_release() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/ir.json");
        let ir = crate::Ir::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
        for row in TABLE {
            let service = ir.service(row.service).unwrap();
            assert!(
                service.methods.iter().any(|m| m.name == row.method),
                "{:?}.{} is not in the pinned release",
                row.service,
                row.method
            );
        }
    }

    /// Every exception names a method of the pinned release and a slot that method has, and
    /// changes what the rule alone would say.
    #[test]
    fn every_nil_exception_names_a_slot_and_departs_from_the_rule() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/ir.json");
        let ir = crate::Ir::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
        for &(service, name, slot, nil) in NIL_EXCEPTIONS {
            let m = ir
                .service(service)
                .and_then(|s| s.methods.iter().find(|m| m.name == name))
                .unwrap_or_else(|| panic!("{service:?}.{name} is not in the pinned release"));
            let ty = match slot {
                Slot::Param(p) => m
                    .params
                    .iter()
                    .find(|x| x.name.as_deref() == Some(p))
                    .map(|x| &x.ty),
                Slot::Result(i) => m.results.get(i).map(|r| &r.ty),
            };
            assert!(
                matches!(ty, Some(TypeRef::Pointer(_))),
                "{name} {slot:?}: not a pointer in the pinned release ({ty:?})"
            );
            let mut unlisted = m.clone();
            unlisted.name = format!("{name}$unlisted");
            assert_ne!(
                nil_rule(service, &unlisted, slot),
                nil,
                "{name} {slot:?} repeats the rule"
            );
        }
    }

    /// The rule over every method of the pinned release: hook parameters and results beside an
    /// error are always set, with the listed exceptions; everything else stays optional.
    #[test]
    fn nil_rule_over_every_method() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/ir.json");
        let ir = crate::Ir::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut never = Vec::new();
        for service in &ir.services {
            for m in &service.methods {
                for p in &m.params {
                    let Some(name) = p.name.as_deref() else {
                        continue;
                    };
                    if nil_rule(service.name, m, Slot::Param(name)) == Nil::Never {
                        assert_eq!(service.name, ServiceKind::Hooks, "{}.{name}", m.name);
                        never.push(format!("{}.{name}", m.name));
                    }
                }
                for r in &m.results {
                    let nil = nil_rule(service.name, m, Slot::Result(r.position));
                    let beside_error = m.error != ErrorKind::None;
                    let listed = NIL_EXCEPTIONS.iter().any(|(s, n, at, _)| {
                        *s == service.name && *n == m.name && *at == Slot::Result(r.position)
                    });
                    if service.name == ServiceKind::Api && !listed {
                        assert_eq!(
                            nil == Nil::Never,
                            beside_error,
                            "{} result {}",
                            m.name,
                            r.position
                        );
                    }
                    if service.name == ServiceKind::Hooks {
                        assert_eq!(
                            nil,
                            Nil::Possible,
                            "{}: a hook's result is the plugin's choice",
                            m.name
                        );
                    }
                }
            }
        }
        for must in [
            "MessageWillBePosted.post",
            "ExecuteCommand.args",
            "MessageHasBeenUpdated.oldPost",
        ] {
            assert!(never.iter().any(|n| n == must), "{must} must always be set");
        }
        for may in ["UserHasJoinedChannel.actor", "UserHasLeftTeam.actor"] {
            assert!(!never.iter().any(|n| n == may), "{may} may be nil");
        }
    }

    #[test]
    fn every_broker_id_row_names_a_hook_of_the_pinned_release() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/ir.json");
        let ir = crate::Ir::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
        let hooks = ir.service(ServiceKind::Hooks).unwrap();
        for (hook, ids) in NETRPC_BROKER_IDS {
            assert!(hooks.methods.iter().any(|m| m.name == *hook), "{hook}");
            assert!(!ids.is_empty());
        }
    }

    #[test]
    fn defaults() {
        assert_eq!(MATTERMOST.hook_default("ServeHTTP"), HookDefault::NotFound);
        assert_eq!(
            MATTERMOST.hook_default("FileWillBeUploaded"),
            HookDefault::ReturnParam(1)
        );
        assert_eq!(
            MATTERMOST.hook_default("MessageWillBePosted"),
            HookDefault::Zero
        );
    }
}
