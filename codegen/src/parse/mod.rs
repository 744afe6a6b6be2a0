//! Go source → IR, on tree-sitter-go.
//!
//! The front-end reads the `plugin` and `model` packages of `server/public`, lowers the `API` and
//! `Hooks` interfaces method by method, and follows every type their signatures reach through the
//! package's declarations (the type closure). Anything it cannot lower is reported as a located
//! diagnostic; it never guesses and never panics on bad input.
//!
//! Syntax errors are reported only inside the declarations it lowers: tree-sitter-go lags new Go
//! syntax inside function bodies (`new(expr)`), which the API surface never depends on.

mod diag;
mod tags;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

use tree_sitter::{Node, Parser, Tree};

pub use diag::{Diagnostic, ParseError};

use crate::externals;
use crate::ir::*;
use crate::source::{MODULE_PATH, SourceSet};
use crate::special;

/// Parses a source set of Mattermost's plugin API into the IR.
pub fn parse(set: &SourceSet, source: SourceInfo) -> Result<Ir, ParseError> {
    parse_with(set, source, special::MATTERMOST)
}

/// Parses with a given special-case table (fixtures bring their own).
pub fn parse_with(
    set: &SourceSet,
    source: SourceInfo,
    special: special::SpecialCases,
) -> Result<Ir, ParseError> {
    parse_with_notes(set, source, special).map(|(ir, _)| ir)
}

/// [`parse`], also returning notes: things worth saying that do not stop the parse, such as a
/// special-case row naming a method an older release does not have yet.
pub fn parse_with_notes(
    set: &SourceSet,
    source: SourceInfo,
    special: special::SpecialCases,
) -> Result<(Ir, Vec<Diagnostic>), ParseError> {
    run(set, source, special, Threads::Available)
}

/// [`parse`] on the calling thread only: the baseline `benches/parse.rs` measures the parallel
/// parse against. Gives the same result as [`parse`].
#[doc(hidden)]
pub fn parse_single_threaded(set: &SourceSet, source: SourceInfo) -> Result<Ir, ParseError> {
    run(set, source, special::MATTERMOST, Threads::One).map(|(ir, _)| ir)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Threads {
    One,
    Available,
}

fn run(
    set: &SourceSet,
    source: SourceInfo,
    special: special::SpecialCases,
    threads: Threads,
) -> Result<(Ir, Vec<Diagnostic>), ParseError> {
    let mut diags = Vec::new();
    let files = parse_files(set, threads, &mut diags);
    let mut ctx = Ctx::new(&files, &mut diags);
    ctx.special = special;
    let ir = ctx.lower(source, &mut diags);
    if diags.is_empty() {
        Ok((ir, ctx.notes.into_inner()))
    } else {
        diags.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
        diags.dedup();
        Err(ParseError { diagnostics: diags })
    }
}

const PREDECLARED: &[&str] = &[
    "any",
    "bool",
    "byte",
    "comparable",
    "complex64",
    "complex128",
    "error",
    "float32",
    "float64",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "rune",
    "string",
    "uint",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "uintptr",
];

struct GoFile<'s> {
    path: &'s str,
    text: &'s str,
    package: String,
    /// Local import name → import path.
    imports: HashMap<String, String>,
    tree: Tree,
}

fn parse_files<'s>(
    set: &'s SourceSet,
    threads: Threads,
    diags: &mut Vec<Diagnostic>,
) -> Vec<GoFile<'s>> {
    let language: tree_sitter::Language = tree_sitter_go::LANGUAGE.into();
    if let Err(e) = Parser::new().set_language(&language) {
        diags.push(Diagnostic::whole_file(
            "<tree-sitter-go>",
            format!("grammar does not load: {e}"),
        ));
        return Vec::new();
    }
    let trees = parse_trees(set, &language, threads);
    let mut files = Vec::new();
    for (file, tree) in set.files.iter().zip(trees) {
        let Some(tree) = tree else {
            diags.push(Diagnostic::whole_file(
                &file.path,
                "tree-sitter could not parse the file",
            ));
            continue;
        };
        let mut package = None;
        let mut imports = HashMap::new();
        let root = tree.root_node();
        let mut cursor = root.walk();
        let top: Vec<Node> = root.named_children(&mut cursor).collect();
        for node in top {
            match node.kind() {
                "package_clause" => {
                    package = node.named_child(0).map(|n| text(&file.text, n).to_string());
                }
                "import_declaration" => collect_imports(&file.text, node, &mut imports),
                // A top-level error can swallow declarations; never parse past one silently.
                "ERROR" => {
                    if let Some(d) = diag::first_syntax_error(&file.path, &file.text, node) {
                        diags.push(d);
                    }
                }
                _ => {}
            }
        }
        drop(cursor);
        let dir = file.path.split('/').next().unwrap_or("");
        let Some(package) = package else {
            diags.push(Diagnostic::whole_file(&file.path, "no package clause"));
            continue;
        };
        if package != dir {
            diags.push(Diagnostic::whole_file(
                &file.path,
                format!("package `{package}` in directory `{dir}`; expected package `{dir}`"),
            ));
            continue;
        }
        files.push(GoFile {
            path: &file.path,
            text: &file.text,
            package,
            imports,
            tree,
        });
    }
    files
}

/// Below this much Go, one thread parses everything: fixtures are a few KiB, and starting
/// threads would cost more than it saves.
const PARALLEL_MIN_BYTES: usize = 256 * 1024;

/// Every file's tree, in `set.files` order (`None` where tree-sitter gave up), so diagnostics and
/// the IR do not depend on which thread parsed what.
///
/// tree-sitter is most of the front-end's time, and files are independent, so they are parsed on
/// `available_parallelism()` threads with a parser each, the calling thread being one of them.
/// Measured on the pinned module (223 files, 2.7 MB of Go), release, 2 cores, one thread:
/// tree-sitter 160–210 ms, freeing the trees ~20 ms, indexing declarations ~6 ms, lowering ~6 ms,
/// reading the files ~2 ms. tree-sitter alone, alternating samples on an idle machine: 184 ms on
/// one thread, 99 ms on this thread and one helper, 134 ms on two fresh scoped threads, 129 ms
/// with rayon (which would be a new dependency). `benches/parse.rs`: a 137–150 ms median against
/// 218–233 ms on one thread when a core is free; while other work takes the cores the two are
/// even (0.98–1.05×): there is no second core to use.
///
/// The other way tried was parsing only the files the type closure reaches (plugin/ and the
/// model files declaring closure types, 96 files): 176 ms against 275 ms for all files on one
/// thread. Known values come from untyped constants anywhere in the package, so it would need
/// every file with a `const` declaration as well (155 files: 220 ms); finding those files and
/// the declaring ones without parsing means scanning Go text by hand, and the skipped files'
/// duplicate declarations and top-level syntax errors would go unreported. Threads gain more,
/// keep every diagnostic, and need no second reader of Go.
fn parse_trees(
    set: &SourceSet,
    language: &tree_sitter::Language,
    threads: Threads,
) -> Vec<Option<Tree>> {
    let parse_one = |parser: &mut Parser, index: usize| parser.parse(&set.files[index].text, None);
    let new_parser = || {
        let mut parser = Parser::new();
        // Checked by the caller: the grammar loads.
        parser.set_language(language).ok();
        parser
    };
    let bytes: usize = set.files.iter().map(|f| f.text.len()).sum();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(set.files.len());
    if threads == Threads::One || workers <= 1 || bytes < PARALLEL_MIN_BYTES {
        let mut parser = new_parser();
        return (0..set.files.len())
            .map(|i| parse_one(&mut parser, i))
            .collect();
    }
    // Largest files first, handed out one at a time: the biggest (~0.3 MB each) take ~15 % of the
    // total, and starting them last would leave the other workers idle.
    let mut order: Vec<usize> = (0..set.files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(set.files[i].text.len()));
    let next = AtomicUsize::new(0);
    let work = || {
        let mut parser = new_parser();
        let mut done = Vec::new();
        while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            done.push((i, parse_one(&mut parser, i)));
        }
        done
    };
    let mut trees: Vec<Option<Tree>> = Vec::with_capacity(set.files.len());
    trees.resize_with(set.files.len(), || None);
    std::thread::scope(|scope| {
        // The calling thread works too: faster than fresh threads alone (figures above), and on a
        // machine whose cores are all busy, fresh threads alone measured 15–20 % slower than one
        // thread where this way measures even with it.
        let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
        let mut done = work();
        for helper in helpers {
            done.extend(
                helper
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        for (i, tree) in done {
            trees[i] = tree;
        }
    });
    trees
}

fn collect_imports(src: &str, node: Node, imports: &mut HashMap<String, String>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "import_spec" => {
                let Some(path) = child
                    .child_by_field_name("path")
                    .and_then(|p| tags::unquote(text(src, p)))
                else {
                    continue;
                };
                let name = match child.child_by_field_name("name") {
                    Some(n) => text(src, n).to_string(),
                    None => default_import_name(&path),
                };
                imports.insert(name, path);
            }
            "import_spec_list" => collect_imports(src, child, imports),
            _ => {}
        }
    }
}

/// The name a package is imported under when the import gives none: the last path element,
/// skipping a major-version suffix (`semver/v3` → `semver`) and a gopkg.in `.vN`.
fn default_import_name(path: &str) -> String {
    let mut parts = path.rsplit('/');
    let last = parts.next().unwrap_or(path);
    let is_major =
        last.len() > 1 && last.starts_with('v') && last[1..].chars().all(|c| c.is_ascii_digit());
    let base = if is_major {
        parts.next().unwrap_or(last)
    } else {
        last
    };
    base.split(".v").next().unwrap_or(base).to_string()
}

fn text<'a>(src: &'a str, node: Node) -> &'a str {
    node.utf8_text(src.as_bytes()).unwrap_or("")
}

/// A `type` declaration: `type_spec` or `type_alias`, with the file it lives in.
#[derive(Clone, Copy)]
struct DeclSite<'t> {
    file: usize,
    node: Node<'t>,
}

/// An inline struct literal lifted to a named declaration.
#[derive(Clone)]
struct InlineSite<'t> {
    file: usize,
    node: Node<'t>,
    type_params: Vec<TypeParamDecl>,
}

type TypeKey = (String, String);

/// An untyped string constant, a candidate known value of some field.
struct UntypedConst {
    value: KnownValue,
    /// One-based, for diagnostics.
    col: usize,
}

/// Fields (`package.Struct.Field`) the known-values rule must pass over: their name only looks like
/// the prefix of constants that describe another field.
const NOT_KNOWN_VALUE_FIELDS: &[&str] = &[
    // The type of the post the response creates; `CommandResponseType*` are `ResponseType`'s.
    "model.CommandResponse.Type",
];

/// Constants (`package.Name`) that carry a field's prefix but are not values of that field.
const NOT_KNOWN_VALUES: &[&str] = &[
    // A login button text and session prop keys, not `User.AuthService` values.
    "model.UserAuthServiceSamlText",
    "model.UserAuthServiceIsSaml",
    "model.UserAuthServiceIsMobile",
    "model.UserAuthServiceIsOAuth",
];

struct Ctx<'t, 's> {
    files: &'t [GoFile<'s>],
    decls: HashMap<TypeKey, DeclSite<'t>>,
    /// String constants by (package, type name).
    enums: HashMap<TypeKey, Vec<EnumValue>>,
    /// Untyped (or plain `string`) string constants by package, in source order.
    untyped: BTreeMap<String, Vec<UntypedConst>>,
    /// Inline structs met while lowering, by the name they were given.
    inline: RefCell<HashMap<TypeKey, InlineSite<'t>>>,
    /// External types met while lowering: (path, name) → local package name.
    externals: RefCell<BTreeMap<(String, String), String>>,
    special: special::SpecialCases,
    /// See [`parse_with_notes`].
    notes: RefCell<Vec<Diagnostic>>,
}

/// What a type expression is lowered against.
struct Scope<'a> {
    file: usize,
    type_params: &'a [TypeParamDecl],
    /// Qualified name prefix for inline structs (`SupportPacket.License`); `None` where an inline
    /// struct cannot be named (method signatures).
    owner: Option<String>,
}

impl<'t, 's> Ctx<'t, 's> {
    fn new(files: &'t [GoFile<'s>], diags: &mut Vec<Diagnostic>) -> Self {
        let mut decls: HashMap<TypeKey, DeclSite<'t>> = HashMap::new();
        let mut enums: HashMap<TypeKey, Vec<EnumValue>> = HashMap::new();
        let mut untyped: BTreeMap<String, Vec<UntypedConst>> = BTreeMap::new();
        for (idx, file) in files.iter().enumerate() {
            let root = file.tree.root_node();
            let mut cursor = root.walk();
            for node in root.named_children(&mut cursor) {
                match node.kind() {
                    "type_declaration" => {
                        let mut c2 = node.walk();
                        for spec in node.named_children(&mut c2) {
                            if !matches!(spec.kind(), "type_spec" | "type_alias") {
                                continue;
                            }
                            let Some(name) = spec.child_by_field_name("name") else {
                                continue;
                            };
                            let key = (file.package.clone(), text(file.text, name).to_string());
                            if let Some(prev) = decls.get(&key) {
                                let p = prev.node.start_position();
                                diags.push(Diagnostic::at(
                                    file.path,
                                    spec,
                                    format!(
                                        "type `{}` declared again (first at {}:{}:{})",
                                        key.1,
                                        files[prev.file].path,
                                        p.row + 1,
                                        p.column + 1
                                    ),
                                ));
                                continue;
                            }
                            decls.insert(
                                key,
                                DeclSite {
                                    file: idx,
                                    node: spec,
                                },
                            );
                        }
                    }
                    "const_declaration" => {
                        collect_enum_consts(file, node, &mut enums, &mut untyped, diags)
                    }
                    _ => {}
                }
            }
        }
        Ctx {
            files,
            decls,
            enums,
            untyped,
            inline: RefCell::default(),
            externals: RefCell::default(),
            special: special::MATTERMOST,
            notes: RefCell::default(),
        }
    }

    fn diag(&self, file: usize, node: Node, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(self.files[file].path, node, message)
    }

    fn lower(&self, source: SourceInfo, diags: &mut Vec<Diagnostic>) -> Ir {
        let api = self.lower_service(ServiceKind::Api, diags);
        let hooks = self.lower_service(ServiceKind::Hooks, diags);

        // The closure: every local type the signatures reach, transitively.
        let mut pending: Vec<TypeKey> = Vec::new();
        let mut seen: BTreeSet<TypeKey> = BTreeSet::new();
        let mut enqueue = |t: &TypeRef, pending: &mut Vec<TypeKey>| {
            t.walk(&mut |t| {
                if let TypeRef::Named { package, name, .. } = t {
                    let key = (package.clone(), name.clone());
                    if seen.insert(key.clone()) {
                        pending.push(key);
                    }
                }
            })
        };
        for method in api.methods.iter().chain(&hooks.methods) {
            for p in &method.params {
                enqueue(&p.ty, &mut pending);
            }
            for r in &method.results {
                enqueue(&r.ty, &mut pending);
            }
            if method.error == ErrorKind::AppError {
                let app_error = TypeRef::Named {
                    package: "model".into(),
                    name: "AppError".into(),
                    args: Vec::new(),
                };
                enqueue(&app_error, &mut pending);
            }
        }
        let mut types = Vec::new();
        while let Some(key) = pending.pop() {
            let Some(decl) = self.lower_decl(&key, diags) else {
                continue;
            };
            match &decl.kind {
                TypeKind::Struct { fields, .. } => {
                    for f in fields {
                        enqueue(&f.ty, &mut pending);
                    }
                }
                TypeKind::Named { underlying, .. } => enqueue(underlying, &mut pending),
                TypeKind::Alias { target } => enqueue(target, &mut pending),
                TypeKind::Interface => {}
            }
            types.push(decl);
        }
        types.sort_by(|a, b| (&a.package, &a.name).cmp(&(&b.package, &b.name)));
        self.attach_known_values(&mut types, diags);

        let externals = self
            .externals
            .borrow()
            .iter()
            .filter_map(|((path, name), package)| {
                // Unknown externals were already reported where they were used.
                externals::mapping(path, name).map(|mapping| External {
                    path: path.clone(),
                    package: package.clone(),
                    name: name.clone(),
                    mapping,
                })
            })
            .collect();

        Ir {
            source,
            services: vec![api, hooks],
            types,
            externals,
        }
    }

    /// Gives every `string` (or `*string`) field of a struct in the closure the untyped string
    /// constants named after it, `<Struct><Field><Member>` (see [`field_prefixes`]). A constant
    /// goes to the longest prefix that names a field; a field takes its first prefix that names
    /// constants. Two fields of one struct claiming the same constants is an error: the rule
    /// cannot tell which one they describe, [`NOT_KNOWN_VALUE_FIELDS`] must.
    fn attach_known_values(&self, types: &mut [TypeDecl], diags: &mut Vec<Diagnostic>) {
        let string = TypeRef::Builtin("string".into());
        let optional_string = TypeRef::Pointer(Box::new(string.clone()));
        // (package, prefix) → the fields it names, as (type index, field index, candidate rank).
        let mut by_prefix: HashMap<TypeKey, Vec<(usize, usize, usize)>> = HashMap::new();
        for (ti, t) in types.iter().enumerate() {
            let TypeKind::Struct { fields, .. } = &t.kind else {
                continue;
            };
            // A lifted inline struct (`Owner.Field`) has no Go name constants could start with.
            if t.name.contains('.') {
                continue;
            }
            for (fi, f) in fields.iter().enumerate() {
                let qualified = format!("{}.{}.{}", t.package, t.name, f.name);
                if f.embedded
                    || (f.ty != string && f.ty != optional_string)
                    || NOT_KNOWN_VALUE_FIELDS.contains(&qualified.as_str())
                {
                    continue;
                }
                for (rank, prefix) in field_prefixes(&t.name, &f.name).into_iter().enumerate() {
                    by_prefix
                        .entry((t.package.clone(), prefix))
                        .or_default()
                        .push((ti, fi, rank));
                }
            }
        }
        let mut groups: BTreeMap<TypeKey, Vec<&UntypedConst>> = BTreeMap::new();
        for (package, consts) in &self.untyped {
            for c in consts {
                let name = &c.value.name;
                if NOT_KNOWN_VALUES.contains(&format!("{package}.{name}").as_str()) {
                    continue;
                }
                let longest = name
                    .char_indices()
                    .filter(|&(i, ch)| i > 0 && ch.is_ascii_uppercase())
                    .map(|(i, _)| (package.clone(), name[..i].to_string()))
                    .rev()
                    .find(|key| by_prefix.contains_key(key));
                if let Some(key) = longest {
                    groups.entry(key).or_default().push(c);
                }
            }
        }
        let mut chosen: BTreeMap<(usize, usize), (usize, KnownValues)> = BTreeMap::new();
        for (key, consts) in groups {
            let claims = &by_prefix[&key];
            for (i, &(ti, fi, _)) in claims.iter().enumerate() {
                let Some(&(_, other, _)) = claims[i + 1..].iter().find(|c| c.0 == ti) else {
                    continue;
                };
                let (t, first) = (&types[ti], consts[0]);
                let field = |fi: usize| match &t.kind {
                    TypeKind::Struct { fields, .. } => fields[fi].name.clone(),
                    _ => String::new(),
                };
                diags.push(Diagnostic {
                    file: first.value.file.clone(),
                    line: first.value.line as usize,
                    col: first.col,
                    message: format!(
                        "constants `{}*` could list the values of `{}.{}` or of `{}.{}`; name the \
                         field they do not describe in NOT_KNOWN_VALUE_FIELDS (codegen/src/parse/mod.rs)",
                        key.1,
                        t.qualified_name(),
                        field(fi),
                        t.qualified_name(),
                        field(other)
                    ),
                });
            }
            for &(ti, fi, rank) in claims {
                if chosen.get(&(ti, fi)).is_none_or(|(r, _)| rank < *r) {
                    let known = KnownValues {
                        prefix: key.1.clone(),
                        values: consts.iter().map(|c| c.value.clone()).collect(),
                    };
                    chosen.insert((ti, fi), (rank, known));
                }
            }
        }
        for ((ti, fi), (_, known)) in chosen {
            if let TypeKind::Struct { fields, .. } = &mut types[ti].kind {
                fields[fi].known_values = Some(known);
            }
        }
    }

    // ---- services ------------------------------------------------------------------------

    fn lower_service(&self, kind: ServiceKind, diags: &mut Vec<Diagnostic>) -> Service {
        let mut service = Service {
            name: kind,
            methods: Vec::new(),
            retired_hook_ids: Vec::new(),
        };
        let key = ("plugin".to_string(), kind.go_name().to_string());
        let Some(site) = self.decls.get(&key).copied() else {
            let file = self
                .files
                .iter()
                .find(|f| f.package == "plugin")
                .map(|f| f.path)
                .unwrap_or("plugin/");
            diags.push(Diagnostic::whole_file(
                file,
                format!("package plugin declares no `{}` interface", kind.go_name()),
            ));
            return service;
        };
        let file = &self.files[site.file];
        if let Some(d) = diag::first_syntax_error(file.path, file.text, site.node) {
            diags.push(d);
            return service;
        }
        let Some(body) = site
            .node
            .child_by_field_name("type")
            .filter(|t| t.kind() == "interface_type")
        else {
            diags.push(self.diag(
                site.file,
                site.node,
                format!("`{}` is not an interface type", kind.go_name()),
            ));
            return service;
        };

        let mut doc: Vec<Node<'t>> = Vec::new();
        let mut method_nodes: Vec<Node<'t>> = Vec::new();
        let mut cursor = body.walk();
        for child in body.named_children(&mut cursor) {
            match child.kind() {
                "comment" => {
                    // A doc comment is the run of comment lines directly above the method.
                    let adjacent = doc.last().is_some_and(|prev| prev.end_position().row + 1 == child.start_position().row);
                    if !adjacent {
                        doc.clear();
                    }
                    doc.push(child);
                }
                "method_elem" => {
                    let attached = doc.last().is_some_and(|prev| prev.end_position().row + 1 == child.start_position().row);
                    let comments: Vec<&str> = if attached { doc.iter().map(|c| text(file.text, *c)).collect() } else { Vec::new() };
                    match self.lower_method(site.file, child, &comments) {
                        Ok(m) => {
                            service.methods.push(m);
                            method_nodes.push(child);
                        }
                        Err(d) => diags.push(d),
                    }
                    doc.clear();
                }
                other => diags.push(self.diag(
                    site.file,
                    child,
                    format!(
                        "`{}` embeds `{}` ({other}); only methods are supported in the plugin interfaces",
                        kind.go_name(),
                        text(file.text, child)
                    ),
                )),
            }
        }

        if kind == ServiceKind::Hooks {
            self.assign_hook_ids(site.file, &method_nodes, &mut service, diags);
        }
        self.apply_special_cases(site.file, site.node, &method_nodes, &mut service, diags);
        service
    }

    /// Applies `codegen::special`: rows must name existing methods of the right shape, and a
    /// method that needs a special case must have a row.
    fn apply_special_cases(
        &self,
        file: usize,
        iface: Node,
        method_nodes: &[Node],
        service: &mut Service,
        diags: &mut Vec<Diagnostic>,
    ) {
        let path = self.files[file].path;
        for row in self
            .special
            .rows
            .iter()
            .filter(|r| r.service == service.name)
        {
            // Older releases lack methods added since, so this is a note; the pinned release is
            // held to the table by a test (`special::tests`).
            if !service.methods.iter().any(|m| m.name == row.method) {
                self.notes.borrow_mut().push(Diagnostic::at(
                    path,
                    iface,
                    format!(
                        "the special-case table (codegen/src/special.rs) names `{}.{}`, which this source does not have; the row is skipped",
                        service.name.go_name(),
                        row.method
                    ),
                ));
            }
        }
        for (m, node) in service.methods.iter_mut().zip(method_nodes) {
            let case = self.special.lookup(service.name, &m.name).or_else(|| {
                (service.name == ServiceKind::Hooks && special::is_replace_or_reject(m))
                    .then_some(special::Special::ReplaceOrReject)
            });
            match case {
                Some(case) => {
                    if let Err(why) = special::check_shape(case, m) {
                        diags.push(Diagnostic::at(
                            path,
                            *node,
                            format!(
                                "method {}: special case {case:?} does not fit: {why}",
                                m.name
                            ),
                        ));
                    }
                }
                None => {
                    let params = m.params.iter().map(|p| {
                        (
                            p.name.clone().unwrap_or_else(|| p.wire_name.clone()),
                            &p.ty,
                            p.variadic,
                        )
                    });
                    let results = m.results.iter().map(|r| {
                        (
                            r.name
                                .clone()
                                .unwrap_or_else(|| format!("result {}", r.position)),
                            &r.ty,
                            false,
                        )
                    });
                    for (name, ty, variadic) in params.chain(results) {
                        if let Some(what) = special::needs_special_case(ty, variadic) {
                            diags.push(Diagnostic::at(
                                path,
                                *node,
                                format!(
                                    "method {}: `{name}` is {what}, which needs a row in the special-case table in codegen/src/special.rs",
                                    m.name
                                ),
                            ));
                        }
                    }
                }
            }
            m.special = case;
            if service.name == ServiceKind::Hooks && !m.protocol {
                let default = self.special.hook_default(&m.name);
                if let special::HookDefault::ReturnParam(p) = default {
                    if p >= m.params.len() {
                        diags.push(Diagnostic::at(
                            path,
                            *node,
                            format!(
                                "hook {}: default returns parameter {p}, which does not exist",
                                m.name
                            ),
                        ));
                    }
                }
                m.hook_default = Some(default);
            }
        }
    }

    fn lower_method(
        &self,
        file: usize,
        node: Node<'t>,
        doc: &[&str],
    ) -> Result<Method, Diagnostic> {
        let src = self.files[file].text;
        let name_node = node
            .child_by_field_name("name")
            .ok_or_else(|| self.diag(file, node, "method without a name"))?;
        let name = text(src, name_node).to_string();
        let scope = Scope {
            file,
            type_params: &[],
            owner: None,
        };
        let with_method = |d: Diagnostic| Diagnostic {
            message: format!("in method {name}: {}", d.message),
            ..d
        };

        let mut params = Vec::new();
        if let Some(list) = node.child_by_field_name("parameters") {
            for (pname, ty, variadic) in self
                .lower_fields_of_list(&scope, list)
                .map_err(with_method)?
            {
                let position = params.len();
                params.push(Param {
                    name: pname,
                    position,
                    wire_name: wire_name(position),
                    ty,
                    variadic,
                });
            }
        }
        let mut results = Vec::new();
        if let Some(result) = node.child_by_field_name("result") {
            let items = if result.kind() == "parameter_list" {
                self.lower_fields_of_list(&scope, result)
                    .map_err(with_method)?
            } else {
                vec![(
                    None,
                    self.lower_type(&scope, result).map_err(with_method)?,
                    false,
                )]
            };
            for (rname, ty, _) in items {
                let position = results.len();
                results.push(ResultValue {
                    name: rname,
                    position,
                    wire_name: wire_name(position),
                    ty,
                });
            }
        }
        let error = match results.last().map(|r| &r.ty) {
            Some(TypeRef::Builtin(b)) if b == "error" => ErrorKind::Error,
            Some(TypeRef::Pointer(inner)) if matches!(&**inner, TypeRef::Named { package, name, .. } if package == "model" && name == "AppError") => {
                ErrorKind::AppError
            }
            _ => ErrorKind::None,
        };
        let error_name = if error != ErrorKind::None {
            results.pop().and_then(|r| r.name)
        } else {
            None
        };

        let (min_server_version, tags) = parse_doc(doc);
        Ok(Method {
            protocol: name == "Implemented",
            name,
            params,
            results,
            error,
            error_name,
            min_server_version,
            tags,
            hook_id: None,
            special: None,
            hook_default: None,
        })
    }

    /// `(a, b string, c ...any)` → [(a, string), (b, string), (c, []any, variadic)].
    fn lower_fields_of_list(
        &self,
        scope: &Scope,
        list: Node<'t>,
    ) -> Result<Vec<(Option<String>, TypeRef, bool)>, Diagnostic> {
        let src = self.files[scope.file].text;
        let mut out = Vec::new();
        let mut cursor = list.walk();
        for decl in list.named_children(&mut cursor) {
            let variadic = match decl.kind() {
                "parameter_declaration" => false,
                "variadic_parameter_declaration" => true,
                "comment" => continue,
                other => {
                    return Err(self.diag(
                        scope.file,
                        decl,
                        format!("unsupported parameter syntax ({other})"),
                    ));
                }
            };
            let ty_node = decl
                .child_by_field_name("type")
                .ok_or_else(|| self.diag(scope.file, decl, "parameter without a type"))?;
            let mut ty = self.lower_type(scope, ty_node)?;
            if variadic {
                ty = TypeRef::Slice(Box::new(ty));
            }
            let mut c2 = decl.walk();
            let names: Vec<String> = decl
                .children_by_field_name("name", &mut c2)
                .map(|n| text(src, n).to_string())
                .collect();
            if names.is_empty() {
                out.push((None, ty, variadic));
            } else {
                for n in names {
                    out.push((Some(n), ty.clone(), variadic));
                }
            }
        }
        Ok(out)
    }

    /// Hook IDs come from the `<Hook>ID = N` consts, never from declaration order.
    fn assign_hook_ids(
        &self,
        file: usize,
        method_nodes: &[Node],
        service: &mut Service,
        diags: &mut Vec<Diagnostic>,
    ) {
        let mut ids: BTreeMap<String, u32> = BTreeMap::new();
        let mut by_id: BTreeMap<u32, String> = BTreeMap::new();
        for f in self.files.iter().filter(|f| f.package == "plugin") {
            let root = f.tree.root_node();
            let mut cursor = root.walk();
            for decl in root
                .named_children(&mut cursor)
                .filter(|n| n.kind() == "const_declaration")
            {
                let mut c2 = decl.walk();
                for spec in decl
                    .named_children(&mut c2)
                    .filter(|n| n.kind() == "const_spec")
                {
                    let mut c3 = spec.walk();
                    let names: Vec<Node> = spec.children_by_field_name("name", &mut c3).collect();
                    let values: Vec<Node> = spec
                        .child_by_field_name("value")
                        .map(|v| {
                            let mut c4 = v.walk();
                            v.named_children(&mut c4).collect()
                        })
                        .unwrap_or_default();
                    for (i, n) in names.iter().enumerate() {
                        let name = text(f.text, *n);
                        let Some(hook) = name.strip_suffix("ID").filter(|h| !h.is_empty()) else {
                            continue;
                        };
                        let Some(value) = values.get(i).filter(|v| v.kind() == "int_literal")
                        else {
                            continue;
                        };
                        match parse_go_int(text(f.text, *value)) {
                            Some(id) => {
                                if let Some(other) = by_id.insert(id, name.to_string()) {
                                    diags.push(Diagnostic::at(
                                        f.path,
                                        *n,
                                        format!(
                                            "hook ID {id} is given to both `{other}` and `{name}`"
                                        ),
                                    ));
                                }
                                ids.insert(hook.to_string(), id);
                            }
                            None => diags.push(Diagnostic::at(
                                f.path,
                                *value,
                                format!("hook ID `{name}` is not a valid integer"),
                            )),
                        }
                    }
                }
            }
        }
        let mut used = BTreeSet::new();
        for (m, node) in service.methods.iter_mut().zip(method_nodes) {
            if m.protocol {
                continue;
            }
            match ids.get(&m.name) {
                Some(id) => {
                    m.hook_id = Some(*id);
                    used.insert(m.name.clone());
                }
                None => diags.push(Diagnostic::at(
                    self.files[file].path,
                    *node,
                    format!(
                        "hook `{0}` has no `{0}ID` constant in package plugin",
                        m.name
                    ),
                )),
            }
        }
        let mut retired: Vec<HookId> = ids
            .iter()
            .filter(|(n, _)| !used.contains(*n))
            .map(|(n, id)| HookId {
                name: n.clone(),
                id: *id,
            })
            .collect();
        retired.sort_by_key(|h| h.id);
        service.retired_hook_ids = retired;
    }

    // ---- types ---------------------------------------------------------------------------

    fn lower_type(&self, scope: &Scope, node: Node<'t>) -> Result<TypeRef, Diagnostic> {
        let file = &self.files[scope.file];
        let src = file.text;
        match node.kind() {
            "type_identifier" => {
                let name = text(src, node);
                if scope.type_params.iter().any(|p| p.name == name) {
                    return Ok(TypeRef::TypeParam(name.to_string()));
                }
                if PREDECLARED.contains(&name) {
                    return Ok(TypeRef::Builtin(name.to_string()));
                }
                self.local_named(scope.file, node, &file.package, name)
            }
            "qualified_type" => {
                let pkg = node
                    .child_by_field_name("package")
                    .map(|n| text(src, n))
                    .unwrap_or("");
                let name = node
                    .child_by_field_name("name")
                    .map(|n| text(src, n))
                    .unwrap_or("");
                let Some(path) = file.imports.get(pkg) else {
                    return Err(self.diag(
                        scope.file,
                        node,
                        format!("`{pkg}.{name}`: package `{pkg}` is not imported in this file"),
                    ));
                };
                if let Some(local) = path
                    .strip_prefix(MODULE_PATH)
                    .and_then(|p| p.strip_prefix('/'))
                {
                    if crate::source::PACKAGES.contains(&local) {
                        return self.local_named(scope.file, node, local, name);
                    }
                }
                if externals::mapping(path, name).is_none() {
                    return Err(self.diag(
                        scope.file,
                        node,
                        format!(
                            "no mapping for external type `{pkg}.{name}` (import \"{path}\"); add a row to the table in codegen/src/externals.rs"
                        ),
                    ));
                }
                self.externals
                    .borrow_mut()
                    .entry((path.clone(), name.to_string()))
                    .or_insert_with(|| pkg.to_string());
                Ok(TypeRef::External {
                    path: path.clone(),
                    package: pkg.to_string(),
                    name: name.to_string(),
                    args: Vec::new(),
                })
            }
            "generic_type" => {
                let base_node = node
                    .child_by_field_name("type")
                    .ok_or_else(|| self.diag(scope.file, node, "generic type without a base"))?;
                let mut base = self.lower_type(scope, base_node)?;
                let mut args_out = Vec::new();
                if let Some(args) = node.child_by_field_name("type_arguments") {
                    let mut cursor = args.walk();
                    for arg in args.named_children(&mut cursor) {
                        args_out.push(self.lower_type_elem(scope, arg)?);
                    }
                }
                match &mut base {
                    TypeRef::Named { args, .. } | TypeRef::External { args, .. } => {
                        *args = args_out
                    }
                    _ => {
                        return Err(self.diag(
                            scope.file,
                            node,
                            format!(
                                "`{}`: type arguments on a non-generic type",
                                text(src, node)
                            ),
                        ));
                    }
                }
                Ok(base)
            }
            "pointer_type" => Ok(TypeRef::Pointer(Box::new(
                self.lower_type(scope, self.only_child(scope.file, node)?)?,
            ))),
            "slice_type" => Ok(TypeRef::Slice(Box::new(
                self.lower_type(scope, self.field(scope.file, node, "element")?)?,
            ))),
            "array_type" => Ok(TypeRef::Array {
                len: text(src, self.field(scope.file, node, "length")?).to_string(),
                elem: Box::new(self.lower_type(scope, self.field(scope.file, node, "element")?)?),
            }),
            "map_type" => Ok(TypeRef::Map {
                key: Box::new(self.lower_type(scope, self.field(scope.file, node, "key")?)?),
                value: Box::new(self.lower_type(scope, self.field(scope.file, node, "value")?)?),
            }),
            "channel_type" => {
                let t = text(src, node);
                let dir = if t.starts_with("<-") {
                    ChanDir::Recv
                } else if t.starts_with("chan<-") || t.starts_with("chan <-") {
                    ChanDir::Send
                } else {
                    ChanDir::Both
                };
                Ok(TypeRef::Chan {
                    dir,
                    elem: Box::new(self.lower_type(scope, self.field(scope.file, node, "value")?)?),
                })
            }
            "function_type" => Ok(TypeRef::Func),
            "interface_type" => {
                let mut cursor = node.walk();
                let has_members = node
                    .named_children(&mut cursor)
                    .any(|c| c.kind() != "comment");
                Ok(if has_members {
                    TypeRef::Interface
                } else {
                    TypeRef::Builtin("any".into())
                })
            }
            "parenthesized_type" => self.lower_type(scope, self.only_child(scope.file, node)?),
            "struct_type" => {
                let Some(owner) = &scope.owner else {
                    return Err(self.diag(
                        scope.file,
                        node,
                        "inline struct types are supported only as struct fields",
                    ));
                };
                let key = (file.package.clone(), owner.clone());
                self.inline.borrow_mut().insert(
                    key.clone(),
                    InlineSite {
                        file: scope.file,
                        node,
                        type_params: scope.type_params.to_vec(),
                    },
                );
                Ok(TypeRef::Named {
                    package: key.0,
                    name: key.1,
                    args: Vec::new(),
                })
            }
            "ERROR" => Err(diag::first_syntax_error(file.path, src, node)
                .unwrap_or_else(|| self.diag(scope.file, node, "syntax error"))),
            other => Err(self.diag(
                scope.file,
                node,
                format!("unsupported type syntax `{}` ({other})", text(src, node)),
            )),
        }
    }

    /// A type argument: `type_elem` wraps one type, or a union we cannot carry.
    fn lower_type_elem(&self, scope: &Scope, node: Node<'t>) -> Result<TypeRef, Diagnostic> {
        if node.kind() != "type_elem" {
            return self.lower_type(scope, node);
        }
        let mut cursor = node.walk();
        let terms: Vec<Node> = node.named_children(&mut cursor).collect();
        match terms.as_slice() {
            [one] => self.lower_type(scope, *one),
            _ => Err(self.diag(
                scope.file,
                node,
                format!(
                    "unsupported type union `{}`",
                    text(self.files[scope.file].text, node)
                ),
            )),
        }
    }

    fn local_named(
        &self,
        file: usize,
        node: Node,
        package: &str,
        name: &str,
    ) -> Result<TypeRef, Diagnostic> {
        let key = (package.to_string(), name.to_string());
        if !self.decls.contains_key(&key) {
            return Err(self.diag(
                file,
                node,
                format!(
                    "unknown type `{package}.{name}`: no such type declared in package {package}"
                ),
            ));
        }
        Ok(TypeRef::Named {
            package: key.0,
            name: key.1,
            args: Vec::new(),
        })
    }

    fn field(&self, file: usize, node: Node<'t>, name: &str) -> Result<Node<'t>, Diagnostic> {
        node.child_by_field_name(name).ok_or_else(|| {
            self.diag(
                file,
                node,
                format!("`{}` has no {name}", text(self.files[file].text, node)),
            )
        })
    }

    fn only_child(&self, file: usize, node: Node<'t>) -> Result<Node<'t>, Diagnostic> {
        let mut cursor = node.walk();
        let children: Vec<Node> = node
            .named_children(&mut cursor)
            .filter(|c| c.kind() != "comment")
            .collect();
        match children.as_slice() {
            [one] => Ok(*one),
            _ => Err(self.diag(
                file,
                node,
                format!(
                    "unexpected shape of `{}`",
                    text(self.files[file].text, node)
                ),
            )),
        }
    }

    fn lower_decl(&self, key: &TypeKey, diags: &mut Vec<Diagnostic>) -> Option<TypeDecl> {
        let inline = self.inline.borrow().get(key).cloned();
        if let Some(site) = inline {
            let scope = Scope {
                file: site.file,
                type_params: &site.type_params,
                owner: Some(key.1.clone()),
            };
            let kind = self.lower_struct(&scope, site.node, diags)?;
            return Some(TypeDecl {
                package: key.0.clone(),
                name: key.1.clone(),
                file: self.files[site.file].path.to_string(),
                type_params: site.type_params,
                kind,
            });
        }
        let site = *self.decls.get(key)?;
        let file = &self.files[site.file];
        if let Some(d) = diag::first_syntax_error(file.path, file.text, site.node) {
            diags.push(d);
            return None;
        }
        let type_params = match site.node.child_by_field_name("type_parameters") {
            Some(list) => match self.lower_type_params(site.file, list) {
                Ok(p) => p,
                Err(d) => {
                    diags.push(d);
                    return None;
                }
            },
            None => Vec::new(),
        };
        let body = site.node.child_by_field_name("type")?;
        // Only a struct declaration can own inline structs: they are named after its fields.
        let owner = (body.kind() == "struct_type" && site.node.kind() == "type_spec")
            .then(|| key.1.clone());
        let scope = Scope {
            file: site.file,
            type_params: &type_params,
            owner,
        };
        let kind = if site.node.kind() == "type_alias" {
            match self.lower_type(&scope, body) {
                Ok(target) => TypeKind::Alias { target },
                Err(d) => {
                    diags.push(d);
                    return None;
                }
            }
        } else {
            match body.kind() {
                "struct_type" => self.lower_struct(&scope, body, diags)?,
                "interface_type" => TypeKind::Interface,
                _ => match self.lower_type(&scope, body) {
                    Ok(underlying) => TypeKind::Named {
                        underlying,
                        enum_values: self.enums.get(key).cloned().unwrap_or_default(),
                    },
                    Err(d) => {
                        diags.push(d);
                        return None;
                    }
                },
            }
        };
        Some(TypeDecl {
            package: key.0.clone(),
            name: key.1.clone(),
            file: file.path.to_string(),
            type_params,
            kind,
        })
    }

    fn lower_type_params(
        &self,
        file: usize,
        list: Node<'t>,
    ) -> Result<Vec<TypeParamDecl>, Diagnostic> {
        let src = self.files[file].text;
        let mut names_so_far: Vec<TypeParamDecl> = Vec::new();
        let mut cursor = list.walk();
        for decl in list
            .named_children(&mut cursor)
            .filter(|n| n.kind() == "type_parameter_declaration")
        {
            let mut c2 = decl.walk();
            let names: Vec<String> = decl
                .children_by_field_name("name", &mut c2)
                .map(|n| text(src, n).to_string())
                .collect();
            // The constraint is a type_constraint wrapping one type; a constraint can name the
            // parameters declared before it, so lower it with those in scope.
            let constraint_node = self.field(file, decl, "type")?;
            let inner = if constraint_node.kind() == "type_constraint" {
                self.only_child(file, constraint_node)?
            } else {
                constraint_node
            };
            let scope = Scope {
                file,
                type_params: &names_so_far,
                owner: None,
            };
            let constraint = self.lower_type_elem(&scope, inner)?;
            for name in names {
                names_so_far.push(TypeParamDecl {
                    name,
                    constraint: constraint.clone(),
                });
            }
        }
        Ok(names_so_far)
    }

    fn lower_struct(
        &self,
        scope: &Scope,
        node: Node<'t>,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<TypeKind> {
        let src = self.files[scope.file].text;
        let mut fields = Vec::new();
        let mut skipped = Vec::new();
        let mut ok = true;
        let Some(list) = node
            .named_child(0)
            .filter(|n| n.kind() == "field_declaration_list")
        else {
            // `struct{}`.
            return Some(TypeKind::Struct { fields, skipped });
        };
        let mut cursor = list.walk();
        for decl in list
            .named_children(&mut cursor)
            .filter(|n| n.kind() == "field_declaration")
        {
            let Some(ty_node) = decl.child_by_field_name("type") else {
                diags.push(self.diag(scope.file, decl, "field without a type"));
                ok = false;
                continue;
            };
            let tag = decl
                .child_by_field_name("tag")
                .and_then(|t| tags::unquote(text(src, t)));
            let json = tags::json_tag(tag.as_deref());
            let mut c2 = decl.walk();
            let names: Vec<String> = decl
                .children_by_field_name("name", &mut c2)
                .map(|n| text(src, n).to_string())
                .collect();
            let embedded = names.is_empty();
            let names = if embedded {
                match embedded_name(src, ty_node) {
                    Some(n) => vec![n],
                    None => {
                        diags.push(self.diag(
                            scope.file,
                            ty_node,
                            format!("unsupported embedded field `{}`", text(src, ty_node)),
                        ));
                        ok = false;
                        continue;
                    }
                }
            } else {
                names
            };
            let mut c3 = decl.walk();
            let star = embedded && decl.children(&mut c3).any(|c| c.kind() == "*");
            for name in names {
                if !name.starts_with(|c: char| c.is_uppercase()) {
                    skipped.push(SkippedField {
                        name,
                        reason: SkipReason::Unexported,
                    });
                    continue;
                }
                let is_func = ty_node.kind() == "function_type"
                    || (ty_node.kind() == "pointer_type"
                        && ty_node
                            .named_child(0)
                            .is_some_and(|c| c.kind() == "function_type"));
                if is_func {
                    skipped.push(SkippedField {
                        name,
                        reason: SkipReason::Func,
                    });
                    continue;
                }
                if ty_node.kind() == "channel_type" {
                    skipped.push(SkippedField {
                        name,
                        reason: SkipReason::Chan,
                    });
                    continue;
                }
                let owner = scope.owner.as_ref().map(|o| format!("{o}.{name}"));
                let field_scope = Scope {
                    file: scope.file,
                    type_params: scope.type_params,
                    owner,
                };
                let ty = match self.lower_type(&field_scope, ty_node) {
                    Ok(t) if star => TypeRef::Pointer(Box::new(t)),
                    Ok(t) => t,
                    Err(d) => {
                        diags.push(d);
                        ok = false;
                        continue;
                    }
                };
                let json_name = if json.name.is_empty() {
                    if embedded { None } else { Some(name.clone()) }
                } else {
                    Some(json.name.clone())
                };
                fields.push(Field {
                    name,
                    json_name,
                    omitempty: json.omitempty,
                    omitzero: json.omitzero,
                    json_string: json.string,
                    json_skip: json.skip,
                    embedded,
                    ty,
                    known_values: None,
                });
            }
        }
        ok.then_some(TypeKind::Struct { fields, skipped })
    }
}

/// The implicit field name of an embedded field: the type name without pointer, package or args.
fn embedded_name(src: &str, node: Node) -> Option<String> {
    match node.kind() {
        "type_identifier" => Some(text(src, node).to_string()),
        "qualified_type" => node
            .child_by_field_name("name")
            .map(|n| text(src, n).to_string()),
        "generic_type" => embedded_name(src, node.child_by_field_name("type")?),
        "pointer_type" => embedded_name(src, node.named_child(0)?),
        _ => None,
    }
}

/// The constant-name prefixes that can name the values of field `field` of struct `owner`, most
/// literal first: `owner + field` (`Post` + `Type` → `PostType`), then `owner + rest` where
/// `field` begins with words `owner` ends with (`CommandResponse` + `ResponseType` →
/// `CommandResponseType`).
fn field_prefixes(owner: &str, field: &str) -> Vec<String> {
    let mut out = vec![format!("{owner}{field}")];
    for (j, _) in field
        .char_indices()
        .skip(1)
        .filter(|(_, c)| c.is_ascii_uppercase())
    {
        let (head, rest) = field.split_at(j);
        // `head` starts upper case (the field is exported), so it starts a word of `owner` too.
        if owner.len() > head.len() && owner.ends_with(head) {
            out.push(format!("{owner}{rest}"));
        }
    }
    out
}

/// String constants by the type they are declared with, following Go's implicit repetition in
/// `const ( … )` groups (a spec with neither type nor value repeats the previous one). Constants
/// without a type (or typed plain `string`) go to `untyped`, by package.
fn collect_enum_consts(
    file: &GoFile,
    decl: Node,
    enums: &mut HashMap<TypeKey, Vec<EnumValue>>,
    untyped: &mut BTreeMap<String, Vec<UntypedConst>>,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(d) = diag::first_syntax_error(file.path, file.text, decl) {
        diags.push(d);
        return;
    }
    let src = file.text;
    // (type name, whether the constant is a plain string, values)
    let mut previous: Option<(Option<String>, bool, Vec<Node>)> = None;
    let mut cursor = decl.walk();
    for spec in decl
        .named_children(&mut cursor)
        .filter(|n| n.kind() == "const_spec")
    {
        let ty = spec.child_by_field_name("type");
        let values: Option<Vec<Node>> = spec.child_by_field_name("value").map(|v| {
            let mut c = v.walk();
            v.named_children(&mut c).collect()
        });
        let (ty_name, plain, values) = match (ty, values) {
            (_, Some(values)) => {
                let ty_name = ty
                    .filter(|t| t.kind() == "type_identifier")
                    .map(|t| text(src, t).to_string());
                let plain = ty.is_none() || ty_name.as_deref() == Some("string");
                previous = Some((ty_name.clone(), plain, values.clone()));
                (ty_name, plain, values)
            }
            (None, None) => match &previous {
                Some((t, p, v)) => (t.clone(), *p, v.clone()),
                None => continue,
            },
            (Some(_), None) => continue,
        };
        let mut c2 = spec.walk();
        for (i, name) in spec.children_by_field_name("name", &mut c2).enumerate() {
            let Some(value) = values.get(i) else { continue };
            if !matches!(
                value.kind(),
                "interpreted_string_literal" | "raw_string_literal"
            ) {
                continue;
            }
            let Some(value) = tags::unquote(text(src, *value)) else {
                continue;
            };
            let name_text = text(src, name).to_string();
            if plain {
                let at = name.start_position();
                untyped
                    .entry(file.package.clone())
                    .or_default()
                    .push(UntypedConst {
                        value: KnownValue {
                            name: name_text.clone(),
                            value: value.clone(),
                            file: file.path.to_string(),
                            line: u32::try_from(at.row + 1).unwrap_or(u32::MAX),
                        },
                        col: at.column + 1,
                    });
            }
            if let Some(ty_name) = &ty_name {
                enums
                    .entry((file.package.clone(), ty_name.clone()))
                    .or_default()
                    .push(EnumValue {
                        name: name_text,
                        value,
                    });
            }
        }
    }
}

/// go-plugin's net/rpc wire structs name fields by position: A, B, C, …
fn wire_name(position: usize) -> String {
    match u8::try_from(position) {
        Ok(p) if p < 26 => char::from(b'A' + p).to_string(),
        _ => format!("A{position}"),
    }
}

fn parse_go_int(literal: &str) -> Option<u32> {
    let clean = literal.replace('_', "");
    if let Some(hex) = clean
        .strip_prefix("0x")
        .or_else(|| clean.strip_prefix("0X"))
    {
        u32::from_str_radix(hex, 16).ok()
    } else {
        clean.parse().ok()
    }
}

/// Facts from a doc comment: the last `Minimum server version: X.Y` and every `@tag Name`.
fn parse_doc(comments: &[&str]) -> (Option<String>, Vec<String>) {
    let mut version = None;
    let mut tags = Vec::new();
    for comment in comments {
        let body = comment
            .strip_prefix("//")
            .or_else(|| {
                comment
                    .strip_prefix("/*")
                    .and_then(|c| c.strip_suffix("*/"))
            })
            .unwrap_or(comment);
        for line in body.lines() {
            let line = line.trim();
            if let Some(v) = line.strip_prefix("Minimum server version:") {
                let v = v.trim().trim_end_matches('.');
                if !v.is_empty() {
                    version = Some(v.to_string());
                }
            } else if let Some(rest) = line.strip_prefix("@tag") {
                if rest.starts_with(char::is_whitespace) {
                    tags.extend(rest.split_whitespace().map(str::to_string));
                }
            }
        }
    }
    (version, tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Enough files, with diagnostics in many of them, for the parallel path to run, and to
    /// give a different order if results were kept in the order threads finish them.
    #[test]
    fn parallel_parse_matches_one_thread() {
        let filler = format!(
            "\nfunc f() {{\n{}}}\n",
            "\t_ = []string{\"padding\", \"padding\", \"padding\"}\n".repeat(200)
        );
        let mut files = vec![(
            "plugin/api.go".to_string(),
            "package plugin\n\nimport \"example.com/model\"\n\ntype API interface {\n\tGetThing(id string) (*model.Thing, error)\n}\n\ntype Hooks interface {\n\tOnActivate() error\n}\n".to_string(),
        )];
        for i in 0..60 {
            // Every file declares `Thing` (a duplicate everywhere but in the first), every third
            // has a top-level syntax error, and sizes vary so threads finish out of order.
            let mut text = String::from("package model\n\ntype Thing struct {\n\tID string\n}\n");
            if i % 3 == 0 {
                text.push_str("\nfunc ) broken(\n");
            }
            text.push_str(&filler.repeat(1 + i % 4));
            files.push((format!("model/file{i:02}.go"), text));
        }
        let set = SourceSet::from_memory(files);
        let bytes: usize = set.files.iter().map(|f| f.text.len()).sum();
        assert!(
            bytes >= PARALLEL_MIN_BYTES,
            "{bytes} bytes parse on one thread"
        );
        let info = || SourceInfo {
            module: MODULE_PATH.into(),
            version: "test".into(),
        };
        let one = run(&set, info(), special::MATTERMOST, Threads::One);
        let all = run(&set, info(), special::MATTERMOST, Threads::Available);
        let Err(ParseError { diagnostics }) = &one else {
            panic!("the fixture is meant to fail: {one:?}");
        };
        let files_with_errors: BTreeSet<&str> =
            diagnostics.iter().map(|d| d.file.as_str()).collect();
        assert!(files_with_errors.len() > 40, "{files_with_errors:?}");
        assert_eq!(format!("{one:?}"), format!("{all:?}"));
    }
}
