//! Generates one Rust module per OpenAPI spec of `openapi/specs.txt` that
//! has one, with progenitor, and (feature `emulator`) what the emulator
//! serves of the specs.
//!
//! The functions here are also compiled into `tests/it/generated_api.rs`
//! (`#[path = "../build.rs"]`), so the generated-code snapshot is made with
//! exactly these settings.
#![allow(dead_code)] // `main` is unused when this file is a test module.

use std::path::Path;

// Only the emulator's build has the reference, and so pulldown-cmark (an
// optional build-dependency of the `emulator` feature): a build of the
// clients alone compiles neither.
#[cfg(feature = "emulator")]
#[path = "build/reference.rs"]
mod reference;

/// The list of specs, [`read_specs`] reads it.
pub const SPEC_LIST: &str = "openapi/specs.txt";

/// One line of [`SPEC_LIST`]: a spec file in `openapi/` and the Rust module
/// generated from it, if the crate has one for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The file name, e.g. `ccs-v1.yaml`.
    pub file: String,
    /// The module, e.g. `v1` (`liveperson_ccs::raw::v1`); `None` for `-`.
    pub module: Option<String>,
    /// `types` in the third column: a spec of calls the crate receives (the
    /// connector's webhook endpoint), of which only the schemas are
    /// generated ([`generate_types_file`]), with no client.
    pub types_only: bool,
}

impl Spec {
    /// The spec's path from the crate's root, e.g. `openapi/ccs-v1.yaml`.
    pub fn path(&self) -> String {
        format!("openapi/{}", self.file)
    }
}

/// Reads [`SPEC_LIST`] under `manifest_dir`.
pub fn read_specs(manifest_dir: &Path) -> Result<Vec<Spec>, String> {
    let path = manifest_dir.join(SPEC_LIST);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_specs(&text).map_err(|e| format!("{SPEC_LIST}: {e}"))
}

/// Parses the text of [`SPEC_LIST`]: `FILE MODULE [types]` a line, `#`
/// comments.
pub fn parse_specs(text: &str) -> Result<Vec<Spec>, String> {
    let mut specs: Vec<Spec> = Vec::new();
    for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (file, module, types_only) = match fields[..] {
            [file, module] => (file, module, false),
            [file, module, "types"] if module != "-" => (file, module, true),
            _ => {
                return Err(format!(
                    "line {number}: expected `FILE MODULE` or `FILE MODULE types`, found {line:?}"
                ));
            }
        };
        let plain_file = file.ends_with(".yaml")
            && file
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !plain_file {
            return Err(format!("line {number}: {file:?} is not a .yaml file name"));
        }
        let module = match module {
            "-" => None,
            m if m.starts_with(|c: char| c.is_ascii_lowercase())
                && m.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
            {
                Some(m.to_owned())
            }
            m => {
                return Err(format!(
                    "line {number}: {m:?} is not a module name (or `-`)"
                ));
            }
        };
        if specs.iter().any(|s| s.file == file) {
            return Err(format!("line {number}: {file} is listed twice"));
        }
        if module.is_some() && specs.iter().any(|s| s.module == module) {
            return Err(format!(
                "line {number}: module {} is listed twice",
                fields[1]
            ));
        }
        specs.push(Spec {
            file: file.to_owned(),
            module,
            types_only,
        });
    }
    if specs.is_empty() {
        return Err("lists no spec".into());
    }
    Ok(specs)
}

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let out_dir = match std::env::var("OUT_DIR") {
        Ok(dir) => dir,
        Err(_) => fail("OUT_DIR is not set: build.rs runs only under cargo"),
    };
    let root = Path::new(&manifest_dir);
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={SPEC_LIST}");
    let specs = read_specs(root).unwrap_or_else(|e| fail(&e));
    let mut modules = String::new();
    let mut clients = Vec::new();
    for spec in &specs {
        let path = root.join(spec.path());
        // Naming every spec turns off cargo's "rerun on any file" default.
        println!("cargo:rerun-if-changed={}", path.display());
        let Some(module) = &spec.module else {
            continue;
        };
        let generated = if spec.types_only {
            generate_types_file(&path)
        } else {
            generate_file(&path)
        };
        let (source, title) = generated.unwrap_or_else(|message| fail(&message));
        write(&out_dir, &format!("{module}.rs"), &source);
        let what = if spec.types_only {
            "its schemas only, in `types` (no client: the crate receives these calls)"
        } else {
            "the client and its `types`"
        };
        modules.push_str(&format!(
            "/// {title}, from `openapi/{file}`: {what}.\n\
             #[allow(missing_docs, unused_imports, clippy::all, clippy::pedantic, dead_code)]\n\
             pub mod {module} {{\n    include!(concat!(env!(\"OUT_DIR\"), \"/{module}.rs\"));\n}}\n\n",
            title = title.replace('\n', " "),
            file = spec.file,
        ));
        // Only a client has the transport's hooks and `OPERATION_PATHS`.
        if !spec.types_only {
            clients.push(format!("$m!({module});"));
        }
    }
    modules.push_str(&format!(
        "/// Calls `$m!(module)` for each generated module (the transport's hooks).\n\
         macro_rules! for_each_client {{\n    ($m:ident) => {{\n        {}\n    }};\n}}\n\
         pub(crate) use for_each_client;\n",
        clients.join("\n        ")
    ));
    write(&out_dir, "generated_modules.rs", &modules);
    // What only the emulator needs: the specs it serves, byte for byte, and
    // its HTML reference (`GET /docs`).
    println!("cargo:rerun-if-changed=build/reference.rs");
    if std::env::var_os("CARGO_FEATURE_EMULATOR").is_some() {
        let mut served = String::from("&[\n");
        for spec in &specs {
            let path = root.join(spec.path());
            served.push_str(&format!(
                "    ({:?}, include_bytes!({:?})),\n",
                spec.file,
                path.display().to_string()
            ));
        }
        served.push_str("]\n");
        write(&out_dir, "served_specs.rs", &served);
        #[cfg(feature = "emulator")]
        {
            let files: Vec<String> = specs.iter().map(Spec::path).collect();
            if let Err(message) = reference::write_reference(&manifest_dir, &out_dir, &files) {
                fail(&message);
            }
        }
    }
}

fn write(out_dir: &str, file: &str, text: &str) {
    let target = Path::new(out_dir).join(file);
    if let Err(e) = std::fs::write(&target, text) {
        fail(&format!("cannot write {}: {e}", target.display()));
    }
}

fn fail(message: &str) -> ! {
    // A build script's panic shows only "failed to run custom build command";
    // print the reason as a cargo error line first so it is the first thing read.
    println!("cargo:error={message}");
    eprintln!("error: {message}");
    std::process::exit(1);
}

/// Reads, adapts and generates one spec into formatted Rust source; also
/// returns the spec's `info.title`.
pub fn generate_file(path: &Path) -> Result<(String, String), String> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let spec = parse_spec(&text).map_err(|e| format!("{name}: {e}"))?;
    let title = spec.info.title.clone();
    let source = generate_spec(spec).map_err(|e| format!("{name}: {e}"))?;
    Ok((source, title))
}

/// Reads one `types` spec of [`SPEC_LIST`] and generates its schemas into
/// formatted Rust source (`pub mod types { ... }`, nothing else); also
/// returns the spec's `info.title`.
///
/// Why progenitor and not typify alone: progenitor already turns the
/// spec's components into typify's input with the crate's settings (the
/// same replacements, derives and naming as every other module), and its
/// `types` module is self-contained. Generating with the paths removed
/// gives a `Client` without methods, which is dropped here with everything
/// else that is not `types`; typify alone would need the OpenAPI-to-JSON-
/// Schema conversion progenitor does internally, written again here.
/// Measured on connector-webhooks.yaml (progenitor 0.15.1, debug build
/// script): about 40 ms to generate and format the types; progenitor also
/// takes the spec with its paths (a `Client` of five `receive_*` calls that
/// POST notifications), but the crate makes no such call: the emulator,
/// which does send them, must sign the exact bytes and keep LivePerson's
/// timeouts, which a generated call does not let it do.
pub fn generate_types_file(path: &Path) -> Result<(String, String), String> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let spec = parse_spec(&text).map_err(|e| format!("{name}: {e}"))?;
    let title = spec.info.title.clone();
    let source = generate_types(spec).map_err(|e| format!("{name}: {e}"))?;
    Ok((source, title))
}

/// Generates formatted Rust source, the `types` module only, from the text
/// of one `types` spec.
pub fn generate_types_source(spec_text: &str) -> Result<String, String> {
    generate_types(parse_spec(spec_text)?)
}

fn generate_types(mut spec: openapiv3::OpenAPI) -> Result<String, String> {
    // No operations: nothing of a client is wanted, and the request bodies'
    // schemas are components anyway.
    spec.paths.paths.clear();
    add_unknown_variants(&mut spec)?;
    let mut generator = progenitor::Generator::new(&settings());
    let tokens = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        generator.generate_tokens(&spec)
    }))
    .map_err(|_| "progenitor cannot generate this spec: the generator panicked".to_string())?
    .map_err(|e| format!("progenitor cannot generate this spec: {e}"))?;
    let mut file: syn::File = syn::parse2(tokens)
        .map_err(|e| format!("progenitor produced code that does not parse: {e}"))?;
    file.items
        .retain(|item| matches!(item, syn::Item::Mod(m) if m.ident == "types"));
    if file.items.len() != 1 {
        return Err("progenitor's generated code has no `mod types`".into());
    }
    Ok(prettyplease::unparse(&file))
}

/// The prefix of the fallback variant [`add_unknown_variants`] adds.
pub const UNKNOWN_PREFIX: &str = "Unknown";

/// Gives every discriminated `oneOf` of a `types` spec a last branch for a
/// discriminator value its mapping does not list: a component
/// `Unknown{Name}`, an object whose discriminator property is any string
/// but the mapped ones, keeping all its other properties.
///
/// These specs describe what LivePerson sends, which grows: a notification
/// or an event of a new `type` must not make the whole body fail to parse.
/// typify turns a `oneOf` of `$ref`s into an untagged enum tried in order
/// (it ignores `discriminator`), so the added branch, last, catches exactly
/// the values not mapped, and a malformed body of a mapped `type` still
/// fails. The YAML keeps the plain discriminated `oneOf`: a fallback branch
/// there would match the known types too for generators that ignore `not`
/// (openapi-generator's oneOf then reports two matches and refuses the
/// body); the spec says in prose that receivers keep unknown types.
pub fn add_unknown_variants(spec: &mut openapiv3::OpenAPI) -> Result<(), String> {
    let Some(components) = spec.components.as_mut() else {
        return Ok(());
    };
    let mut added = Vec::new();
    for (name, schema) in components.schemas.iter_mut() {
        let openapiv3::ReferenceOr::Item(schema) = schema else {
            continue;
        };
        let openapiv3::SchemaKind::OneOf { one_of } = &mut schema.schema_kind else {
            continue;
        };
        let Some(discriminator) = &schema.schema_data.discriminator else {
            continue;
        };
        if discriminator.mapping.is_empty() {
            return Err(format!(
                "schema {name}: a discriminator needs a `mapping` (the known values)"
            ));
        }
        let unknown = format!("{UNKNOWN_PREFIX}{name}");
        let property = &discriminator.property_name;
        let known: Vec<String> = discriminator
            .mapping
            .keys()
            .map(|value| format!("{value:?}"))
            .collect();
        // JSON is YAML: the generated component, written out.
        let text = format!(
            "{{\"type\": \"object\", \"required\": [{property:?}], \
             \"description\": \"A {name} whose `{property}` is none of the documented ones \
             (generated for the Rust types only, by build.rs): kept whole, never refused.\", \
             \"properties\": {{{property:?}: {{\"type\": \"string\", \"not\": {{\"enum\": [{known}]}}}}}}, \
             \"additionalProperties\": {{}}}}",
            known = known.join(", "),
        );
        let fallback: openapiv3::Schema = serde_norway::from_str(&text)
            .map_err(|e| format!("schema {unknown}: cannot be built: {e}"))?;
        one_of.push(openapiv3::ReferenceOr::ref_(&format!(
            "#/components/schemas/{unknown}"
        )));
        added.push((unknown, fallback));
    }
    for (name, schema) in added {
        if components.schemas.contains_key(&name) {
            return Err(format!(
                "schema {name} exists: build.rs adds it as the fallback of a discriminated oneOf"
            ));
        }
        components
            .schemas
            .insert(name, openapiv3::ReferenceOr::Item(schema));
    }
    Ok(())
}

/// Generates formatted Rust source from the text of one spec.
pub fn generate_source(spec_text: &str) -> Result<String, String> {
    generate_spec(parse_spec(spec_text)?)
}

fn parse_spec(spec_text: &str) -> Result<openapiv3::OpenAPI, String> {
    serde_norway::from_str(spec_text).map_err(|e| format!("not a valid OpenAPI 3.0 document: {e}"))
}

/// Adapts and generates one parsed spec into formatted Rust source.
fn generate_spec(mut spec: openapiv3::OpenAPI) -> Result<String, String> {
    adapt_for_progenitor(&mut spec);
    let mut generator = progenitor::Generator::new(&settings());
    // progenitor panics on some invalid specs (duplicate operation ids, two
    // success bodies); turn that into an error that names the spec.
    let tokens = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        generator.generate_tokens(&spec)
    }))
    .map_err(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the generator panicked".into());
        format!("progenitor cannot generate this spec: {what}")
    })?
    .map_err(|e| format!("progenitor cannot generate this spec: {e}"))?;
    let mut file: syn::File = syn::parse2(tokens)
        .map_err(|e| format!("progenitor produced code that does not parse: {e}"))?;
    use_crate_encode_path(&mut file)?;
    drop_api_version(&mut file)?;
    file.items.push(operation_paths(&spec)?);
    Ok(prettyplease::unparse(&file))
}

/// Makes the generated clients encode path parameters with the crate's
/// `encode_path` (src/names.rs) instead of progenitor's, which leaves `\`,
/// `;`, `[`, `]`, `^` and `|` as they are: a WHATWG URL parser reads `\` as
/// `/` and then resolves `..`, so a name could walk out of its segment.
///
/// progenitor imports its `encode_path` once at the top of each module (the
/// builders import it from there); that import is swapped for the crate's.
/// The build fails if progenitor ever stops importing it that way, so that
/// no generated call can silently use another encoder.
fn use_crate_encode_path(file: &mut syn::File) -> Result<(), String> {
    let mut swapped = false;
    for item in &mut file.items {
        let syn::Item::Use(item) = item else {
            continue;
        };
        let syn::UseTree::Path(path) = &mut item.tree else {
            continue;
        };
        if path.ident != "progenitor_client" {
            continue;
        }
        let syn::UseTree::Group(group) = path.tree.as_mut() else {
            continue;
        };
        let before = group.items.len();
        group.items = std::mem::take(&mut group.items)
            .into_iter()
            .filter(|tree| !matches!(tree, syn::UseTree::Name(name) if name.ident == "encode_path"))
            .collect();
        swapped |= group.items.len() != before;
    }
    if !swapped {
        return Err(
            "progenitor's generated code no longer imports `encode_path` from \
             progenitor_client; build.rs must make its path encoding the crate's"
                .into(),
        );
    }
    file.items.insert(
        0,
        syn::parse_quote! {
            #[allow(unused_imports)]
            use crate::names::encode_path;
        },
    );
    Ok(())
}

/// The statement by which progenitor 0.15 adds `api-version` to a
/// generated call's headers (`progenitor-impl/src/method.rs`), as tokens.
const API_VERSION_APPEND: &str = "header_map . append (:: reqwest :: header :: HeaderName :: \
     from_static (\"api-version\") , :: reqwest :: header :: HeaderValue :: from_static \
     (super :: Client :: api_version ()) ,) ;";

/// The statement that makes a generated call's header map, as tokens, up
/// to its capacity.
const HEADER_MAP_NEW: &str =
    "let mut header_map = :: reqwest :: header :: HeaderMap :: with_capacity (";

/// Removes progenitor's `api-version` header from every generated call.
/// LivePerson's APIs do not define it; progenitor 0.15 adds it to every
/// request unconditionally, and the transport removed it again before
/// sending (about 1.4k instructions a call for the header map made, merged
/// and searched). The header map is made one smaller, so a call with no
/// header parameter allocates none.
///
/// Each builder's `send` must hold exactly the statements expected (the
/// `append` above, and the map made with a capacity of at least 1); any
/// other shape fails the build, naming the builder, so that a progenitor
/// that writes its calls differently is noticed here, not on the wire.
/// (The transport still removes an `api-version` header, should one come.)
pub fn drop_api_version(file: &mut syn::File) -> Result<(), String> {
    use quote::ToTokens;
    let mut calls = 0;
    for item in &mut file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        if module.ident != "builder" {
            continue;
        }
        let Some((_, items)) = &mut module.content else {
            continue;
        };
        for item in items {
            let syn::Item::Impl(block) = item else {
                continue;
            };
            let builder = block.self_ty.to_token_stream().to_string();
            for member in &mut block.items {
                let syn::ImplItem::Fn(function) = member else {
                    continue;
                };
                if function.sig.ident != "send" {
                    continue;
                }
                calls += 1;
                drop_api_version_from(&mut function.block).map_err(|why| {
                    format!(
                        "{builder}::send: {why}; build.rs (drop_api_version) must follow \
                         progenitor's generated code"
                    )
                })?;
            }
        }
    }
    if calls == 0 {
        return Err(
            "build.rs (drop_api_version) found no generated `send` in `mod builder`".into(),
        );
    }
    Ok(())
}

fn drop_api_version_from(block: &mut syn::Block) -> Result<(), String> {
    use quote::ToTokens;
    let text = |stmt: &syn::Stmt| stmt.to_token_stream().to_string();
    let before = block.stmts.len();
    block.stmts.retain(|stmt| text(stmt) != API_VERSION_APPEND);
    if block.stmts.len() + 1 != before {
        let near: Vec<String> = block
            .stmts
            .iter()
            .map(text)
            .filter(|t| t.contains("api-version"))
            .collect();
        return Err(format!(
            "expected one `api-version` header statement, found {} (near: {near:?})",
            before - block.stmts.len()
        ));
    }
    let mut made = 0;
    for stmt in &mut block.stmts {
        let tokens = text(stmt);
        let Some(rest) = tokens.strip_prefix(HEADER_MAP_NEW) else {
            continue;
        };
        let capacity: usize = rest
            .strip_suffix("usize) ;")
            .and_then(|n| n.parse().ok())
            .filter(|n| *n >= 1)
            .ok_or_else(|| format!("unexpected header map: {tokens}"))?;
        // With no header left to add, the map is not changed again.
        let smaller = capacity - 1;
        *stmt = if smaller == 0 {
            syn::parse_quote! {
                let header_map = ::reqwest::header::HeaderMap::new();
            }
        } else {
            syn::parse_quote! {
                let mut header_map = ::reqwest::header::HeaderMap::with_capacity(#smaller);
            }
        };
        made += 1;
    }
    if made != 1 {
        return Err(format!("expected one header map, found {made}"));
    }
    Ok(())
}

/// `OPERATION_PATHS`: each operation's path from the spec, one entry a
/// segment, `None` for a path parameter. The transport checks each request's
/// URL against it before sending (src/client/transport.rs, `check_path`).
fn operation_paths(spec: &openapiv3::OpenAPI) -> Result<syn::Item, String> {
    let mut entries = Vec::new();
    for (template, item) in spec.paths.paths.iter() {
        let openapiv3::ReferenceOr::Item(item) = item else {
            return Err(format!(
                "path {template}: a $ref path item is not supported"
            ));
        };
        // A `{name}` segment is a parameter; any other is written as is.
        let segments: Vec<Option<&str>> = template
            .trim_start_matches('/')
            .split('/')
            .map(|segment| {
                (!(segment.starts_with('{') && segment.ends_with('}'))).then_some(segment)
            })
            .collect();
        for (_, operation) in item.iter() {
            let Some(id) = &operation.operation_id else {
                return Err(format!("path {template}: an operation has no operationId"));
            };
            let segments = segments.iter().map(|segment| match segment {
                None => quote::quote!(None),
                Some(text) => quote::quote!(Some(#text)),
            });
            entries.push(quote::quote!((#id, &[#(#segments),*])));
        }
    }
    Ok(syn::parse_quote! {
        /// Each operation's path, a segment an entry (`None` for a path
        /// parameter), as the spec declares it: the transport refuses a
        /// request whose URL does not have these segments.
        pub(crate) const OPERATION_PATHS: &[(&str, &[Option<&str>])] = &[#(#entries),*];
    })
}

/// The generator settings: builder-style calls, hooks the crate must implement
/// (auth, retries, tracing), and the crate's transport state as inner type.
pub fn settings() -> progenitor::GenerationSettings {
    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_hooks(progenitor::HooksMode::Expected)
        .with_inner_type(quote::quote!(crate::client::transport::Transport))
        // A messaging result's body is `msg` or `conversationId` on success,
        // but on a rejected payload it is whatever the service says; typify
        // would drop the unknown fields (the reason) of a typed struct.
        .with_replacement(
            "ConversationResponseBody",
            "::serde_json::Value",
            [progenitor::TypeImpl::Default].into_iter(),
        )
        // The same for a SEND result's body: `sequence` for a published
        // event, but the documents show no body for a close, which may not
        // even be an object; a typed struct would turn a successful close
        // into a decode error.
        .with_replacement(
            "SendResponseBody",
            "::serde_json::Value",
            [progenitor::TypeImpl::Default].into_iter(),
        )
        // Structured content is a recursive union of a dozen element types
        // that allows members it does not list; the layer builds and checks
        // it as JSON (src/messaging/rich.rs), and typed structs would drop
        // the members they do not know.
        .with_replacement(
            "StructuredContent",
            "::serde_json::Value",
            [progenitor::TypeImpl::Default].into_iter(),
        )
        .with_replacement(
            "QuickReplies",
            "::serde_json::Value",
            [progenitor::TypeImpl::Default].into_iter(),
        );
    // The name schemas become the crate's validated name types: a name is
    // checked once, when the caller makes it (src/names.rs implements the
    // specs' patterns and the documents' rules), instead of again by a
    // generated pattern check on every call. The raw clients take the same
    // types as the layer. These are the specs' only schemas with a `pattern`,
    // so the generated code needs no regex crate: a new `pattern` elsewhere
    // would fail the build on `::regress` until it is mapped here too (or
    // regress is added back as a dependency).
    // The connector's secrets (its client secret, the AppJWT, a ConsumerJWS)
    // become the crate's `Secret`, whose `Debug` is redacted: a generated
    // request or answer that holds one can be debug-printed or logged
    // without showing it.
    for schema in ["ClientSecret", "AppJwt", "ConsumerJws"] {
        settings.with_replacement(schema, "crate::Secret", std::iter::empty());
    }
    // An id the spec takes as a string or an integer (messaging.yaml's
    // `IdText`, a leniency of the service): the crate sends the documented
    // string.
    settings.with_replacement("IdText", "::std::string::String", std::iter::empty());
    for (schema, name_type) in [
        ("AccountId", "crate::AccountId"),
        ("NamespaceName", "crate::Namespace"),
        ("SessionId", "crate::SessionId"),
        ("PropertyName", "crate::PropertyName"),
    ] {
        settings.with_replacement(
            schema,
            name_type,
            [progenitor::TypeImpl::Display, progenitor::TypeImpl::FromStr].into_iter(),
        );
    }
    settings
}

/// Adapts a spec to how the crate uses the generated code. The YAML stays the
/// contract for everyone; only what progenitor sees changes, and only here.
///
/// Error responses (4xx, 5xx, `default`) are dropped, so every non-2xx answer
/// reaches the crate as `Error::UnexpectedResponse` with its status, headers
/// and raw body. Declared JSON error bodies would make progenitor parse them,
/// and a body that is not JSON (LivePerson documents a 413 "document too
/// large" message body) would then become `InvalidResponsePayload`, which
/// loses the status. The crate classifies errors on the status alone.
pub fn adapt_for_progenitor(spec: &mut openapiv3::OpenAPI) {
    for (_, item) in spec.paths.paths.iter_mut() {
        let openapiv3::ReferenceOr::Item(item) = item else {
            continue;
        };
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            operation.responses.default = None;
            operation
                .responses
                .responses
                .retain(|status, _| match status {
                    openapiv3::StatusCode::Code(code) => (200..300).contains(code),
                    openapiv3::StatusCode::Range(range) => *range == 2,
                });
        }
    }
}
