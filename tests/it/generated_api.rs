//! Snapshots of the Rust API progenitor generates from each spec, made with
//! exactly build.rs's settings (build.rs is compiled in here as a module).
//!
//! A spec edit that changes the generated API changes a snapshot: review it
//! with `cargo insta review`. The listing shows, per operation, the method,
//! the request line, each parameter with its Rust type and the return type;
//! then every generated type with its fields or variants.

#[path = "../../build.rs"]
mod build_script;

use std::path::Path;

use quote::ToTokens;
use syn::{Fields, File, Item, ItemImpl, ItemMod, ItemStruct, Type};

fn tidy(tokens: impl ToTokens) -> String {
    let text = tokens.to_token_stream().to_string();
    let mut text = text.replace(' ', "");
    for (long, short) in [
        ("::std::string::String", "String"),
        ("::std::option::Option", "Option"),
        ("::std::vec::Vec", "Vec"),
        ("::std::num::", ""),
        ("::serde_json::", "serde_json::"),
        ("::chrono::offset::Utc", "Utc"),
        ("::chrono::DateTime", "DateTime"),
        ("::std::result::Result", "Result"),
    ] {
        text = text.replace(long, short);
    }
    text.replace(",>", ">").replace(',', ", ")
}

/// `CreateNamespace` → `create_namespace`, the operationId.
fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn doc_of(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn module<'a>(file: &'a File, name: &str) -> &'a [Item] {
    file.items
        .iter()
        .find_map(|item| match item {
            Item::Mod(ItemMod {
                ident,
                content: Some((_, items)),
                ..
            }) if ident == name => Some(items.as_slice()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("generated code has no `mod {name}`"))
}

/// `Result<T, String>` → `T` (the builder's field types).
fn ok_type(ty: &Type) -> String {
    if let Type::Path(path) = ty
        && let Some(last) = path.path.segments.last()
        && last.ident == "Result"
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(syn::GenericArgument::Type(inner)) = args.args.first()
    {
        return tidy(inner);
    }
    tidy(ty)
}

fn listing(source: &str) -> String {
    let file: File = syn::parse_str(source).expect("generated code parses");
    let mut out = String::from("## operations\n");
    out.push_str(&operations(&file));
    out.push_str("\n## types\n");
    out.push_str(&types(&file));
    out
}

/// Each operation of a generated client: its request and parameters.
fn operations(file: &File) -> String {
    let mut out = String::new();
    let builders = module(file, "builder");
    for item in builders {
        let Item::Struct(ItemStruct { ident, fields, .. }) = item else {
            continue;
        };
        let Some(send) = builders.iter().find_map(|item| match item {
            Item::Impl(ItemImpl { self_ty, items, .. })
                if tidy(self_ty).starts_with(&format!("{ident}<")) =>
            {
                items.iter().find_map(|i| match i {
                    syn::ImplItem::Fn(f) if f.sig.ident == "send" => Some(f.clone()),
                    _ => None,
                })
            }
            _ => None,
        }) else {
            continue;
        };
        let request = doc_of(&send.attrs).replace("Sends a ", "").replace('`', "");
        let returns = match &send.sig.output {
            syn::ReturnType::Type(_, ty) => tidy(ty),
            syn::ReturnType::Default => "()".into(),
        };
        out.push_str(&format!("\n{}: {request}\n", snake(&ident.to_string())));
        if let Fields::Named(named) = fields {
            for field in named
                .named
                .iter()
                .filter(|f| f.ident.as_ref().is_some_and(|i| i != "client"))
            {
                let name = field
                    .ident
                    .as_ref()
                    .map(|i| i.to_string())
                    .unwrap_or_default();
                out.push_str(&format!("  .{name}({})\n", ok_type(&field.ty)));
            }
        }
        out.push_str(&format!("  -> {returns}\n"));
    }
    out
}

/// Every generated type, with its fields or variants.
fn types(file: &File) -> String {
    let mut out = String::new();
    for item in module(file, "types") {
        match item {
            Item::Struct(s) => {
                let fields = match &s.fields {
                    Fields::Named(named) => named
                        .named
                        .iter()
                        .map(|f| {
                            format!(
                                "{}: {}",
                                f.ident.as_ref().map(|i| i.to_string()).unwrap_or_default(),
                                tidy(&f.ty)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    Fields::Unnamed(unnamed) => unnamed
                        .unnamed
                        .iter()
                        .map(|f| tidy(&f.ty))
                        .collect::<Vec<_>>()
                        .join(", "),
                    Fields::Unit => String::new(),
                };
                out.push_str(&format!("struct {} {{ {fields} }}\n", s.ident));
            }
            Item::Enum(e) => {
                let variants = e
                    .variants
                    .iter()
                    .map(|v| match &v.fields {
                        Fields::Unnamed(f) => format!("{}({})", v.ident, tidy(&f.unnamed)),
                        _ => v.ident.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(" | ");
                out.push_str(&format!("enum {} {{ {variants} }}\n", e.ident));
            }
            _ => {}
        }
    }
    out
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn check(spec: &str) {
    let (source, _title) =
        build_script::generate_file(&root().join(spec)).unwrap_or_else(|e| panic!("{e}"));
    let name = Path::new(spec)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(spec);
    insta::assert_snapshot!(format!("generated_api_{name}"), listing(&source));
}

/// The specs of `openapi/specs.txt` that have a generated client.
fn client_specs() -> Vec<String> {
    build_script::read_specs(root())
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|spec| spec.module.is_some() && !spec.types_only)
        .map(|spec| spec.path())
        .collect()
}

/// The specs of `openapi/specs.txt` of which only the types are generated.
fn types_specs() -> Vec<String> {
    build_script::read_specs(root())
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|spec| spec.types_only)
        .map(|spec| spec.path())
        .collect()
}

/// Every types-only module: one snapshot of its types each, and nothing but
/// `mod types` generated (no `Client`, no builders, no `OPERATION_PATHS`).
#[test]
fn every_generated_types_module_has_its_snapshot() {
    let specs = types_specs();
    assert_eq!(specs, ["openapi/connector-webhooks.yaml"]);
    for spec in &specs {
        let (source, _title) =
            build_script::generate_types_file(&root().join(spec)).unwrap_or_else(|e| panic!("{e}"));
        let file: File = syn::parse_str(&source).expect("generated code parses");
        let names: Vec<String> = file
            .items
            .iter()
            .map(|item| match item {
                Item::Mod(m) => m.ident.to_string(),
                other => tidy(other),
            })
            .collect();
        assert_eq!(names, ["types"], "{spec}");
        assert!(!source.contains("OPERATION_PATHS"), "{spec}");
        let name = Path::new(spec)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(spec);
        insta::assert_snapshot!(
            format!("generated_api_{name}"),
            format!("## types only\n{}", types(&file))
        );
    }
}

/// A discriminated `oneOf` of a types-only spec gets a last fallback branch
/// `Unknown{Name}` for the values its mapping does not list; the others are
/// left alone, and a name clash or a mapping-less discriminator is an error.
#[test]
fn discriminated_unions_of_types_specs_get_a_fallback() {
    let spec = |extra: &str| {
        format!(
            "openapi: 3.0.3\ninfo: {{title: x, version: '1'}}\npaths: {{}}\ncomponents:\n  schemas:\n    \
             A: {{type: object, required: [k], properties: {{k: {{type: string, enum: [a]}}}}}}\n    \
             B: {{type: object, required: [k], properties: {{k: {{type: string, enum: [b]}}}}}}\n    \
             U:\n      oneOf: [{{$ref: '#/components/schemas/A'}}, {{$ref: '#/components/schemas/B'}}]\n      \
             discriminator: {{propertyName: k, mapping: {{a: '#/components/schemas/A', b: '#/components/schemas/B'}}}}\n{extra}"
        )
    };
    let source = build_script::generate_types_source(&spec("")).unwrap_or_else(|e| panic!("{e}"));
    let file: File = syn::parse_str(&source).expect("generated code parses");
    let listed = types(&file);
    assert!(
        listed.contains("enum U { A(A) | B(B) | UnknownU(UnknownU) }"),
        "{listed}"
    );
    assert!(
        listed.contains(
            "struct UnknownU { k: UnknownUK, extra: serde_json::Map<String, serde_json::Value> }"
        ),
        "{listed}"
    );
    let compact: String = source.split_whitespace().collect();
    assert!(
        compact.contains(r#"["a".to_string(),"b".to_string()].contains(&value)"#),
        "{source}"
    );

    let err = build_script::generate_types_source(&spec("    UnknownU: {type: object}\n"))
        .expect_err("a clash");
    assert!(err.contains("UnknownU exists"), "{err}");
    let err = build_script::generate_types_source(&spec("").replace(
        ", mapping: {a: '#/components/schemas/A', b: '#/components/schemas/B'}",
        "",
    ))
    .expect_err("no mapping");
    assert!(err.contains("needs a `mapping`"), "{err}");
}

/// Every generated client's API, one snapshot each: a new spec in the list
/// shows up here as a new snapshot to review.
#[test]
fn every_generated_api_has_its_snapshot() {
    let specs = client_specs();
    assert!(specs.len() >= 5, "{specs:?}");
    for spec in &specs {
        check(spec);
    }
}

#[test]
fn the_ccs_and_connector_apis_are_generated() {
    assert_eq!(
        client_specs(),
        [
            "openapi/ccs-v1.yaml",
            "openapi/ccs-v2.yaml",
            "openapi/messaging.yaml",
            "openapi/domain.yaml",
            "openapi/connector-auth.yaml",
        ]
    );
}

/// Every `openapi/*.yaml` is in the list, and every listed file exists.
#[test]
fn the_spec_list_names_every_spec_file() {
    let listed: std::collections::BTreeSet<String> = build_script::read_specs(root())
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|spec| spec.file)
        .collect();
    let on_disk: std::collections::BTreeSet<String> = std::fs::read_dir(root().join("openapi"))
        .expect("openapi/ is readable")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    assert_eq!(listed, on_disk);
}

/// The spec list's parser: comments and blank lines skipped, every mistake
/// named with its line.
#[test]
fn the_spec_list_is_parsed_strictly() {
    let specs = build_script::parse_specs("# c\n\n a.yaml  m_1 \nb.yaml -\nc.yaml  t  types\n")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(specs.len(), 3);
    assert_eq!(specs[0].module.as_deref(), Some("m_1"));
    assert!(!specs[0].types_only);
    assert_eq!(specs[1].module, None);
    assert_eq!(specs[1].path(), "openapi/b.yaml");
    assert_eq!(specs[2].module.as_deref(), Some("t"));
    assert!(specs[2].types_only);
    for (text, says) in [
        ("a.yaml\n", "line 1: expected `FILE MODULE`"),
        ("a.yaml m x\n", "line 1: expected `FILE MODULE`"),
        ("a.yaml - types\n", "line 1: expected `FILE MODULE`"),
        ("a.yaml m types x\n", "line 1: expected `FILE MODULE`"),
        ("a.json m\n", "not a .yaml file name"),
        ("../a.yaml m\n", "not a .yaml file name"),
        ("a.yaml M\n", "not a module name"),
        ("a.yaml 1m\n", "not a module name"),
        (
            "a.yaml m\n# x\na.yaml n\n",
            "line 3: a.yaml is listed twice",
        ),
        ("a.yaml m\nb.yaml m\n", "module m is listed twice"),
        ("# nothing\n", "lists no spec"),
    ] {
        let err = build_script::parse_specs(text).expect_err(text);
        assert!(err.contains(says), "{text:?}: {err}");
    }
}

/// `build.rs` fails the build, naming the list, when the list is broken.
#[test]
fn a_missing_spec_list_is_named() {
    let err = build_script::read_specs(Path::new("/nonexistent")).expect_err("no list");
    assert!(err.contains("openapi/specs.txt"), "{err}");
}

#[test]
fn a_broken_spec_fails_with_a_message() {
    let err = build_script::generate_source("openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get: {operationId: x, responses: {'200': {$ref: '#/components/responses/Nope'}}}\n")
        .expect_err("a dangling $ref cannot generate");
    assert!(err.contains("progenitor"), "{err}");
    let err = build_script::generate_source("not: [valid").expect_err("not YAML");
    assert!(err.contains("not a valid OpenAPI"), "{err}");
}

#[test]
fn error_responses_are_left_to_the_layer() {
    let mut spec: openapiv3::OpenAPI = serde_norway::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/ccs-v1.yaml"))
            .unwrap(),
    )
    .unwrap();
    build_script::adapt_for_progenitor(&mut spec);
    for (path, item) in spec.paths.iter() {
        let item = item.as_item().expect("no path refs");
        for (method, op) in item.iter() {
            for status in op.responses.responses.keys() {
                assert!(
                    matches!(
                        status,
                        openapiv3::StatusCode::Code(200..=299) | openapiv3::StatusCode::Range(2)
                    ),
                    "{method} {path} keeps {status}"
                );
            }
        }
    }
}

/// The connector's secrets are `Secret`s in the generated types: an answer
/// or a request holding one debug-prints without it, yet the wire form is
/// the plain string.
#[test]
fn connector_secrets_are_redacted_in_generated_types() {
    use liveperson_ccs::raw::connector_auth::types::{
        AppJwtRequest, AppJwtResponse, ConsumerJwsResponse,
    };
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJTZW50aW5lbCJ9.c2lnbmF0dXJl";
    let answer: AppJwtResponse =
        serde_json::from_value(serde_json::json!({"access_token": jwt, "token_type": "Bearer"}))
            .expect("the documented AppJWT answer parses");
    assert_eq!(answer.access_token.expose(), jwt);
    let shown = format!("{answer:?}");
    assert!(!shown.contains(jwt), "{shown}");
    assert!(shown.contains("Secret([redacted])"), "{shown}");

    let jws: ConsumerJwsResponse =
        serde_json::from_value(serde_json::json!({"token": jwt})).expect("the 201 answer parses");
    assert!(!format!("{jws:?}").contains(jwt));

    let request = AppJwtRequest {
        client_id: Some("75588e18".into()),
        client_secret: Some("the-client-secret".into()),
        grant_type: None,
    };
    assert!(!format!("{request:?}").contains("the-client-secret"));
    assert_eq!(
        serde_json::to_value(&request).expect("serializes"),
        serde_json::json!({"client_id": "75588e18", "client_secret": "the-client-secret"})
    );
}

/// A SEND result's body is any JSON: the documents show `{"sequence": 0}` for
/// a published event but no body for a close, and a close must not fail to
/// decode whatever the service puts there.
#[test]
fn a_send_result_body_may_be_any_json() {
    use liveperson_ccs::raw::messaging::types::SendResponse;
    for body in [
        serde_json::json!({"sequence": 0}),
        serde_json::json!({}),
        serde_json::json!("OK Conversation closed"),
    ] {
        let result: SendResponse = serde_json::from_value(
            serde_json::json!({"reqId": "1", "code": "OK", "body": body.clone()}),
        )
        .unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(result.body, body);
    }
}

/// Every generated client encodes path parameters with the crate's own
/// `encode_path` (not progenitor's, which leaves `\` as it is), and declares
/// the path of each of its operations for the transport's check.
#[test]
fn generated_clients_use_the_crate_path_rules() {
    for spec in client_specs() {
        let path = root().join(&spec);
        let (source, _) = build_script::generate_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let compact: String = source.split_whitespace().collect();
        assert!(compact.contains("usecrate::names::encode_path;"), "{spec}");
        assert!(
            !compact.contains("progenitor_client::encode_path"),
            "{spec}"
        );
        assert!(
            !compact.contains("progenitor_client::{encode_path"),
            "{spec}"
        );
        let text = std::fs::read_to_string(&path).expect("readable");
        let parsed: openapiv3::OpenAPI = serde_norway::from_str(&text).expect("OpenAPI");
        for (template, item) in parsed.paths.iter() {
            for (_, operation) in item.as_item().expect("no path refs").iter() {
                let id = operation.operation_id.as_deref().expect("an operationId");
                assert!(
                    compact.contains(&format!("(\"{id}\",&[")),
                    "{spec}: {id} ({template}) has no declared path"
                );
            }
        }
    }
}

/// No generated call sends progenitor's `api-version` header: build.rs
/// removes its statement from every `send`, and the header map is one
/// smaller (none at all for a call without header parameters).
#[test]
fn no_generated_call_adds_api_version() {
    for spec in client_specs() {
        let (source, _title) =
            build_script::generate_file(&root().join(&spec)).unwrap_or_else(|e| panic!("{e}"));
        assert!(!source.contains("api-version"), "{spec}");
        assert!(!source.contains("with_capacity(1usize)"), "{spec}");
        assert!(
            source.contains("let header_map = ::reqwest::header::HeaderMap::new();"),
            "{spec}"
        );
    }
}

/// A `send` that does not have the statements build.rs expects (progenitor
/// writing its calls some other way) fails the build, naming the builder;
/// so does a file with no builder at all.
#[test]
fn an_unexpected_generated_call_fails_the_build() {
    let rewrite = |source: &str| {
        let mut file: File = syn::parse_str(source).expect("parses");
        build_script::drop_api_version(&mut file)
    };
    let without = "mod builder { impl<'a> GetThing<'a> { pub async fn send(self) { \
         let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize); } } }";
    let error = rewrite(without).expect_err("no api-version statement");
    assert!(
        error.contains("GetThing < 'a >::send") && error.contains("api-version"),
        "{error}"
    );
    let twice = "mod builder { impl<'a> GetThing<'a> { pub async fn send(self) { \
         let mut header_map = ::reqwest::header::HeaderMap::with_capacity(2usize); \
         header_map.append(::reqwest::header::HeaderName::from_static(\"api-version\"), \
             ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),); \
         header_map.append(::reqwest::header::HeaderName::from_static(\"api-version\"), \
             ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),); } } }";
    let error = rewrite(twice).expect_err("two statements");
    assert!(error.contains("found 2"), "{error}");
    let no_map = "mod builder { impl<'a> GetThing<'a> { pub async fn send(self) { \
         header_map.append(::reqwest::header::HeaderName::from_static(\"api-version\"), \
             ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),); } } }";
    let error = rewrite(no_map).expect_err("no header map");
    assert!(error.contains("header map"), "{error}");
    let error = rewrite("mod types {}").expect_err("no builder");
    assert!(error.contains("no generated `send`"), "{error}");
    // The expected shape is rewritten.
    let expected = "mod builder { impl<'a> GetThing<'a> { pub async fn send(self) { \
         let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize); \
         header_map.append(::reqwest::header::HeaderName::from_static(\"api-version\"), \
             ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),); } } }";
    let mut file: File = syn::parse_str(expected).expect("parses");
    build_script::drop_api_version(&mut file).expect("the expected shape");
    let text = quote::ToTokens::to_token_stream(&file).to_string();
    assert!(!text.contains("api-version"), "{text}");
    assert!(text.contains("HeaderMap :: new ()"), "{text}");
}
