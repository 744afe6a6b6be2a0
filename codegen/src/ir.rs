//! The intermediate representation every emitter reads.
//!
//! It records facts about Mattermost's plugin API (names, type expressions, versions, tags, hook
//! IDs) and nothing of upstream prose. Serialised with serde it is the committed `spec/ir.json`, so
//! field order here is the order in that file and every collection is kept in a deterministic order:
//! methods in declaration order, types sorted by qualified name.

use serde::{Deserialize, Serialize};

/// The whole API surface read from one `server/public` module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ir {
    /// Where the source came from (module path and version, or `local`).
    pub source: SourceInfo,
    /// `API` then `Hooks`.
    pub services: Vec<Service>,
    /// Every local type reachable from the service signatures, sorted by qualified name.
    pub types: Vec<TypeDecl>,
    /// Every type from another package the closure reaches, sorted, each with its mapping.
    pub externals: Vec<External>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub module: String,
    pub version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ServiceKind {
    /// `plugin.API`: the plugin calls the server.
    #[serde(rename = "API")]
    Api,
    /// `plugin.Hooks`: the server calls the plugin.
    Hooks,
}

impl ServiceKind {
    pub fn go_name(self) -> &'static str {
        match self {
            ServiceKind::Api => "API",
            ServiceKind::Hooks => "Hooks",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub name: ServiceKind,
    pub methods: Vec<Method>,
    /// Hook IDs of the const block that name no current hook (retired hooks). Their numbers stay
    /// taken on the wire. Empty for `API`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired_hook_ids: Vec<HookId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookId {
    pub name: String,
    pub id: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Method {
    pub name: String,
    pub params: Vec<Param>,
    /// Results without the trailing error; see `error`.
    pub results: Vec<ResultValue>,
    /// What the last Go result is, when it is an error.
    pub error: ErrorKind,
    /// The Go name of the error result, when the results are named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_name: Option<String>,
    /// From the doc comment's `Minimum server version: X.Y` line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_server_version: Option<String>,
    /// From the doc comment's `@tag Name` lines, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Hooks only: the wire ID from the `<Name>ID` const.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_id: Option<u32>,
    /// True for go-plugin's own `Implemented`, which is part of the protocol, not a hook.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protocol: bool,
    /// How the method is carried when it is not a plain unary call (see `codegen::special`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special: Option<Special>,
    /// Hooks only: what the server does when the plugin does not implement the hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_default: Option<HookDefault>,
}

impl Method {
    /// `GetUser(userID string) (*model.User, *model.AppError)`-style text of a method.
    pub fn summary(&self) -> String {
        let mut s = self.go_signature();
        self.append_facts(&mut s);
        s
    }

    /// The Go signature alone, as a Go programmer writes it: `KVSet(key string, value []byte) *model.AppError`.
    pub fn go_signature(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| {
                let ty = match (&p.ty, p.variadic) {
                    (TypeRef::Slice(elem), true) => format!("...{}", elem.go_string()),
                    (t, _) => t.go_string(),
                };
                match &p.name {
                    Some(n) => format!("{n} {ty}"),
                    None => ty,
                }
            })
            .collect();
        let mut results: Vec<String> = self.results.iter().map(|r| r.ty.go_string()).collect();
        match self.error {
            ErrorKind::None => {}
            ErrorKind::Error => results.push("error".into()),
            ErrorKind::AppError => results.push("*model.AppError".into()),
        }
        let results = match results.len() {
            0 => String::new(),
            1 => format!(" {}", results[0]),
            _ => format!(" ({})", results.join(", ")),
        };
        format!("{}({}){}", self.name, params.join(", "), results)
    }

    /// The IR facts [`Method::summary`] lists after the Go signature, each in brackets.
    fn append_facts(&self, s: &mut String) {
        if let Some(v) = &self.min_server_version {
            s.push_str(&format!(" [min {v}]"));
        }
        if !self.tags.is_empty() {
            s.push_str(&format!(" [tags {}]", self.tags.join(",")));
        }
        if let Some(id) = self.hook_id {
            s.push_str(&format!(" [id {id}]"));
        }
        if let Some(case) = self.special {
            s.push_str(&format!(" [{case:?}]"));
        }
        if let Some(default) = self.hook_default {
            s.push_str(&format!(" [default {default:?}]"));
        }
    }
}

/// How a method that is not a plain unary call is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Special {
    /// `(c *Context, w http.ResponseWriter, r *http.Request)`: a bidirectional stream of request
    /// head + body chunks in, response head + body chunks out.
    HttpStream,
    /// `(request *http.Request) *http.Response`: plugin-to-plugin HTTP through the host, in the
    /// same framing as `HttpStream`.
    PluginHttp,
    /// `(c, info, file io.Reader, output io.Writer) (*FileInfo, string)`: the file streams in, a
    /// replacement streams out, then the replacement info and rejection reason.
    FileUploadStream,
    /// One `io.Reader` parameter: a client stream whose first message carries the other
    /// arguments and whose later messages carry chunks of the reader.
    ReaderUpload,
    /// `(msg string, keyValuePairs ...any)`: a message and key/value pairs as loosely typed values.
    LogKeyValues,
    /// `(dest any) error`: Go unmarshals into `dest`; on the wire the configuration travels as
    /// JSON bytes and each language decodes it into its own type.
    ConfigurationAsJson,
    /// A hook returning `(*T, string)`: an optional replacement and a rejection reason; absent
    /// replacement and empty reason mean "let it through unchanged". Recognised by shape.
    ReplaceOrReject,
}

/// What the server does for a hook the plugin does not implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookDefault {
    /// Go's zero values for every result (for `ReplaceOrReject`: no replacement, no rejection).
    Zero,
    /// Answer the HTTP request with 404 Not Found.
    NotFound,
    /// Return the parameter at this position unchanged (with zero values for the other results).
    ReturnParam(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// Go name; `None` for an unnamed parameter.
    pub name: Option<String>,
    /// Zero-based position among the parameters.
    pub position: usize,
    /// The field name go-plugin's net/rpc wire structs use for this position (`A`, `B`, …).
    pub wire_name: String,
    /// For a variadic `...T` this is `[]T`, as Go sees it inside the function.
    pub ty: TypeRef,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub variadic: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultValue {
    pub name: Option<String>,
    pub position: usize,
    pub wire_name: String,
    pub ty: TypeRef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No error result.
    None,
    /// `*model.AppError`.
    AppError,
    /// Go's `error` interface.
    Error,
}

/// A Go type expression with every name resolved to its package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeRef {
    /// A predeclared type: `string`, `int64`, `bool`, `byte`, `error`, `any` (also `interface{}`), …
    Builtin(String),
    /// A type declared in one of the parsed packages (`model`, `plugin`), possibly instantiated.
    Named {
        package: String,
        name: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        args: Vec<TypeRef>,
    },
    /// A type from another package, by import path; the package's local name is kept for display.
    External {
        path: String,
        package: String,
        name: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        args: Vec<TypeRef>,
    },
    /// A type parameter of the enclosing generic declaration.
    TypeParam(String),
    Pointer(Box<TypeRef>),
    Slice(Box<TypeRef>),
    Array {
        len: String,
        elem: Box<TypeRef>,
    },
    Map {
        key: Box<TypeRef>,
        value: Box<TypeRef>,
    },
    Chan {
        dir: ChanDir,
        elem: Box<TypeRef>,
    },
    /// A func type; kept only so skipped fields can say why.
    Func,
    /// An interface literal with methods (an empty one is `Builtin("any")`).
    Interface,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChanDir {
    Both,
    Send,
    Recv,
}

impl TypeRef {
    /// Go syntax with every local name qualified by its package (`*model.User`, `[]any`).
    pub fn go_string(&self) -> String {
        let mut out = String::new();
        self.write_go(&mut out);
        out
    }

    fn write_go(&self, out: &mut String) {
        let write_args = |out: &mut String, args: &[TypeRef]| {
            if !args.is_empty() {
                out.push('[');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    a.write_go(out);
                }
                out.push(']');
            }
        };
        match self {
            TypeRef::Builtin(n) | TypeRef::TypeParam(n) => out.push_str(n),
            TypeRef::Named {
                package,
                name,
                args,
            }
            | TypeRef::External {
                package,
                name,
                args,
                ..
            } => {
                out.push_str(package);
                out.push('.');
                out.push_str(name);
                write_args(out, args);
            }
            TypeRef::Pointer(t) => {
                out.push('*');
                t.write_go(out);
            }
            TypeRef::Slice(t) => {
                out.push_str("[]");
                t.write_go(out);
            }
            TypeRef::Array { len, elem } => {
                out.push('[');
                out.push_str(len);
                out.push(']');
                elem.write_go(out);
            }
            TypeRef::Map { key, value } => {
                out.push_str("map[");
                key.write_go(out);
                out.push(']');
                value.write_go(out);
            }
            TypeRef::Chan { dir, elem } => {
                out.push_str(match dir {
                    ChanDir::Both => "chan ",
                    ChanDir::Send => "chan<- ",
                    ChanDir::Recv => "<-chan ",
                });
                elem.write_go(out);
            }
            TypeRef::Func => out.push_str("func"),
            TypeRef::Interface => out.push_str("interface{...}"),
        }
    }

    /// Calls `f` on this type and every type nested in it, outermost first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a TypeRef)) {
        f(self);
        match self {
            TypeRef::Named { args, .. } | TypeRef::External { args, .. } => {
                args.iter().for_each(|a| a.walk(f))
            }
            TypeRef::Pointer(t) | TypeRef::Slice(t) => t.walk(f),
            TypeRef::Array { elem, .. } | TypeRef::Chan { elem, .. } => elem.walk(f),
            TypeRef::Map { key, value } => {
                key.walk(f);
                value.walk(f);
            }
            TypeRef::Builtin(_) | TypeRef::TypeParam(_) | TypeRef::Func | TypeRef::Interface => {}
        }
    }
}

/// A package-level `type` declaration (or a lifted inline struct) in the closure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeDecl {
    /// Package name (`model`, `plugin`).
    pub package: String,
    /// Go name; a lifted inline struct is `Owner.Field` (dots never occur in Go identifiers).
    pub name: String,
    /// The source file, relative to the module root.
    pub file: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub type_params: Vec<TypeParamDecl>,
    pub kind: TypeKind,
}

impl TypeDecl {
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.package, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeParamDecl {
    pub name: String,
    pub constraint: TypeRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeKind {
    Struct {
        fields: Vec<Field>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        skipped: Vec<SkippedField>,
    },
    /// `type X Underlying` where the underlying type is not a struct or interface literal.
    Named {
        underlying: TypeRef,
        /// String constants declared with this type, in source order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        enum_values: Vec<EnumValue>,
    },
    /// An interface type with methods; values of it cannot cross a wire without a mapping.
    Interface,
    /// `type X = Y`.
    Alias { target: TypeRef },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Go field name; for an embedded field, the embedded type's name.
    pub name: String,
    /// The JSON object key; `None` for an embedded field without a json name (JSON flattens it).
    pub json_name: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub omitempty: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub omitzero: bool,
    /// `json:",string"`: the value travels as a JSON string.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub json_string: bool,
    /// `json:"-"`: never in JSON.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub json_skip: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub embedded: bool,
    pub ty: TypeRef,
    /// For a `string` field: the untyped string constants named `<Struct><Field><Member>` that
    /// list its values (`PostTypeJoinChannel` for `Post.Type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_values: Option<KnownValues>,
}

/// Untyped string constants sharing a name prefix made of a struct's and a field's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownValues {
    /// The shared prefix (`PostType`; `CommandResponseType` for `CommandResponse.ResponseType`,
    /// where the field's first word repeats the struct's last); the targets' enum name.
    pub prefix: String,
    /// In source order (files in path order).
    pub values: Vec<KnownValue>,
}

/// One untyped string constant and where it is declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownValue {
    pub name: String,
    pub value: String,
    /// Relative to the module root.
    pub file: String,
    /// One-based.
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedField {
    pub name: String,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    Unexported,
    Func,
    Chan,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Unexported => "unexported",
            SkipReason::Func => "func",
            SkipReason::Chan => "chan",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumValue {
    pub name: String,
    pub value: String,
}

/// A type from outside the parsed packages and how every target maps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct External {
    /// Import path.
    pub path: String,
    /// The package name used in the source (`io`, `http`, `saml2`).
    pub package: String,
    pub name: String,
    pub mapping: crate::externals::ExternalMapping,
}

impl External {
    pub fn go_string(&self) -> String {
        format!("{}.{}", self.package, self.name)
    }
}

impl Ir {
    pub fn service(&self, kind: ServiceKind) -> Option<&Service> {
        self.services.iter().find(|s| s.name == kind)
    }

    pub fn find_type(&self, package: &str, name: &str) -> Option<&TypeDecl> {
        self.types
            .binary_search_by(|t| (t.package.as_str(), t.name.as_str()).cmp(&(package, name)))
            .ok()
            .map(|i| &self.types[i])
    }

    /// The canonical JSON of `spec/ir.json`: two-space indent and a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("IR serialises");
        s.push('\n');
        s
    }

    pub fn from_json(text: &str) -> Result<Ir, serde_json::Error> {
        serde_json::from_str(text)
    }
}
