//! The hand-written layer held to the specs: every public type that mirrors
//! a spec schema derives `schemars::JsonSchema` (feature `schemars`), and its
//! generated schema must match the spec component it claims: the same
//! property names, the same required ones, the same JSON types (and
//! `date-time` formats), the same enum values, `$ref`s resolved on both
//! sides. A spec edit the layer does not follow fails here, naming the type
//! and the field.
//!
//! Run: `cargo test --features schemars --test it schema_match::` (.ci/run does).
#![cfg(feature = "schemars")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use liveperson_ccs::{messaging, v1, v2};
use schemars::JsonSchema;
use serde_json::{Value, json};

/// One claim: a layer type mirrors `component` of `spec`, perhaps at a
/// property path inside it, apart from the spec properties listed in
/// `not_mirrored` (each with the reason the layer leaves it out).
struct Claim {
    type_name: &'static str,
    schema: Value,
    spec: &'static str,
    /// `Component` or `Component.property`: the schema the type mirrors.
    component: &'static str,
    not_mirrored: &'static [(&'static str, &'static str)],
}

fn claim<T: JsonSchema>(
    spec: &'static str,
    component: &'static str,
    not_mirrored: &'static [(&'static str, &'static str)],
) -> Claim {
    let full = std::any::type_name::<T>();
    Claim {
        type_name: full.rsplit("::").next().unwrap_or(full),
        schema: schemars::schema_for!(T).to_value(),
        spec,
        component,
        not_mirrored,
    }
}

/// Every type of the layer that claims a spec schema.
fn claims() -> Vec<Claim> {
    vec![
        claim::<v1::NamespaceInfo>("ccs-v1.yaml", "Namespace", &[]),
        claim::<v1::SessionTtl>("ccs-v1.yaml", "SessionTtl", &[]),
        claim::<v1::SessionEntry>(
            "ccs-v1.yaml",
            "SessionProperties",
            &[(
                "property",
                "the Methods v1 page's name for `properties`: the layer reads either into `properties`",
            )],
        ),
        claim::<v2::ContextDocument>("ccs-v2.yaml", "ContextDocument", &[]),
        claim::<v2::WriteResult>(
            "ccs-v2.yaml",
            "DocumentResult",
            &[(
                "success",
                "read by the layer: `false` is `Error::WriteFailed`, so an `Ok` always means `true`",
            )],
        ),
        claim::<messaging::CustomerInfo>("messaging.yaml", "CustomerInfo", &[]),
        claim::<messaging::PersonalInfo>("messaging.yaml", "PersonalInfo", &[]),
        claim::<messaging::Gender>("messaging.yaml", "PersonalInfo.gender", &[]),
        claim::<messaging::Urgency>(
            "messaging.yaml",
            "ConsumerRequestConversationBody.ttrDefName",
            &[],
        ),
        claim::<messaging::ConversationContext>("messaging.yaml", "ConversationContext", &[]),
    ]
}

fn load_spec(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("openapi")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The schema a JSON pointer `#/...` names in `root`.
fn pointer<'a>(root: &'a Value, reference: &str) -> Result<&'a Value, String> {
    let path = reference
        .strip_prefix('#')
        .ok_or_else(|| format!("`$ref: {reference}` is not local"))?;
    root.pointer(path)
        .ok_or_else(|| format!("`$ref: {reference}` resolves to nothing"))
}

/// A schema reduced to what the comparison looks at.
#[derive(Debug, PartialEq)]
enum Shape {
    /// An object with declared properties.
    Object {
        properties: BTreeMap<String, Shape>,
        required: BTreeSet<String>,
    },
    /// An object of free keys (`additionalProperties`), or a JSON value of any type.
    Free(Option<&'static str>),
    /// A scalar or array: its JSON type, its `date-time` format, its enum values.
    Value {
        ty: String,
        date_time: bool,
        values: Option<BTreeSet<String>>,
    },
}

/// Reduces `schema` (inside document `root`), resolving `$ref`s and reading
/// `Option`'s forms (`type: [T, "null"]`, `anyOf: [T, {type: null}]`,
/// `nullable`) as T: whether a field is optional is what `required` says.
fn shape(root: &Value, schema: &Value, depth: usize) -> Result<Shape, String> {
    if depth > 16 {
        return Err("schema nested too deep (a $ref cycle?)".into());
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return shape(root, pointer(root, reference)?, depth + 1);
    }
    // `allOf` of one schema: that schema (a `$ref` with its own description).
    if let Some([one]) = schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        return shape(root, one, depth + 1);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let real: Vec<&Value> = options
                .iter()
                .filter(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if let [one] = real.as_slice() {
                return shape(root, one, depth + 1);
            }
            // A string or an integer (messaging.yaml's `IdText`, an id the
            // service takes either way): the layer sends the string.
            let types: Vec<Option<&str>> = real
                .iter()
                .map(|o| o.get("type").and_then(Value::as_str))
                .collect();
            if types == [Some("string"), Some("integer")] {
                return shape(root, real[0], depth + 1);
            }
            // An enum whose variants are documented: one `const` per variant.
            let constants: Option<Vec<(&str, String)>> = real
                .iter()
                .map(|o| {
                    let ty = o.get("type").and_then(Value::as_str)?;
                    let value = o.get("const")?;
                    Some((
                        ty,
                        value
                            .as_str()
                            .map_or_else(|| value.to_string(), str::to_owned),
                    ))
                })
                .collect();
            if let Some(constants) = constants.filter(|c| !c.is_empty()) {
                let ty = constants[0].0;
                if constants.iter().all(|(t, _)| *t == ty) {
                    return Ok(Shape::Value {
                        ty: ty.to_owned(),
                        date_time: false,
                        values: Some(constants.into_iter().map(|(_, v)| v).collect()),
                    });
                }
            }
            return Err(format!("`{key}` of {} schemas: not compared", real.len()));
        }
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => Some(t.clone()),
        Some(Value::Array(types)) => {
            let real: Vec<&str> = types
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect();
            match real.as_slice() {
                [one] => Some((*one).to_owned()),
                _ => return Err(format!("type {types:?}: not compared")),
            }
        }
        _ => None,
    };
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let mut out = BTreeMap::new();
        for (name, property) in properties {
            out.insert(
                name.clone(),
                shape(root, property, depth + 1).map_err(|e| format!("property `{name}`: {e}"))?,
            );
        }
        let required = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        return Ok(Shape::Object {
            properties: out,
            required,
        });
    }
    match ty.as_deref() {
        None => return Ok(Shape::Free(None)),
        Some("object") => return Ok(Shape::Free(Some("object"))),
        _ => {}
    }
    let values = schema.get("enum").and_then(Value::as_array).map(|values| {
        values
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect()
    });
    Ok(Shape::Value {
        ty: ty.unwrap_or_default(),
        date_time: schema.get("format").and_then(Value::as_str) == Some("date-time"),
        values,
    })
}

/// Every difference between `ours` (the type's) and `theirs` (the spec's), at `at`.
fn differences(
    at: &str,
    ours: &Shape,
    theirs: &Shape,
    skip: &BTreeSet<&str>,
    out: &mut Vec<String>,
) {
    match (ours, theirs) {
        (
            Shape::Object {
                properties: ours,
                required: our_required,
            },
            Shape::Object {
                properties: theirs,
                required: their_required,
            },
        ) => {
            for name in ours.keys().filter(|n| !theirs.contains_key(*n)) {
                out.push(format!("field `{at}{name}`: in the type, not in the spec"));
            }
            for name in theirs
                .keys()
                .filter(|n| !ours.contains_key(*n) && !skip.contains(n.as_str()))
            {
                out.push(format!("field `{at}{name}`: in the spec, not in the type"));
            }
            for (name, our) in ours {
                let Some(their) = theirs.get(name) else {
                    continue;
                };
                match (our_required.contains(name), their_required.contains(name)) {
                    (true, false) => out.push(format!(
                        "field `{at}{name}`: required in the type, optional in the spec"
                    )),
                    (false, true) => out.push(format!(
                        "field `{at}{name}`: optional in the type, required in the spec"
                    )),
                    _ => {}
                }
                differences(&format!("{at}{name}."), our, their, &BTreeSet::new(), out);
            }
        }
        (Shape::Free(a), Shape::Free(b)) if a == b => {}
        (
            Shape::Value {
                ty: a,
                date_time: a_dt,
                values: a_values,
            },
            Shape::Value {
                ty: b,
                date_time: b_dt,
                values: b_values,
            },
        ) => {
            let field = at.trim_end_matches('.');
            let field = if field.is_empty() {
                "(the type itself)".to_owned()
            } else {
                format!("field `{field}`")
            };
            if a != b {
                out.push(format!(
                    "{field}: type `{a}` in the type, `{b}` in the spec"
                ));
            }
            if a_dt != b_dt {
                out.push(format!(
                    "{field}: `date-time` format in only one of the type and the spec"
                ));
            }
            if a_values != b_values {
                let list = |v: &Option<BTreeSet<String>>| match v {
                    Some(v) => format!("[{}]", v.iter().cloned().collect::<Vec<_>>().join(", ")),
                    None => "any".to_owned(),
                };
                out.push(format!(
                    "{field}: values {} in the type, {} in the spec",
                    list(a_values),
                    list(b_values)
                ));
            }
        }
        _ => {
            let field = at.trim_end_matches('.');
            out.push(format!(
                "field `{field}`: the type has {ours:?}, the spec {theirs:?}"
            ));
        }
    }
}

/// Compares one claim with the spec document `spec`; returns every problem,
/// each starting with the type's name.
fn check(claim: &Claim, spec: &Value) -> Vec<String> {
    let who = format!(
        "{} (claims {}#{})",
        claim.type_name, claim.spec, claim.component
    );
    let mut segments = claim.component.split('.');
    let component = segments.next().unwrap_or_default();
    let mut theirs = match pointer(spec, &format!("#/components/schemas/{component}")) {
        Ok(s) => s.clone(),
        Err(_) => return vec![format!("{who}: the spec has no schema `{component}`")],
    };
    for property in segments {
        // Resolve a $ref on the way down.
        if let Some(r) = theirs.get("$ref").and_then(Value::as_str) {
            match pointer(spec, r) {
                Ok(s) => theirs = s.clone(),
                Err(e) => return vec![format!("{who}: {e}")],
            }
        }
        match theirs.pointer(&format!("/properties/{property}")) {
            Some(s) => theirs = s.clone(),
            None => {
                return vec![format!(
                    "{who}: the spec's `{component}` has no property `{property}`"
                )];
            }
        }
    }
    let ours = match shape(&claim.schema, &claim.schema, 0) {
        Ok(s) => s,
        Err(e) => return vec![format!("{who}: its schema: {e}")],
    };
    let theirs = match shape(spec, &theirs, 0) {
        Ok(s) => s,
        Err(e) => return vec![format!("{who}: the spec's schema: {e}")],
    };
    let skip = claim.not_mirrored.iter().map(|(name, _)| *name).collect();
    let mut out = Vec::new();
    differences("", &ours, &theirs, &skip, &mut out);
    out.into_iter().map(|p| format!("{who}: {p}")).collect()
}

fn specs() -> BTreeMap<&'static str, Value> {
    ["ccs-v1.yaml", "ccs-v2.yaml", "messaging.yaml"]
        .into_iter()
        .map(|f| (f, load_spec(f)))
        .collect()
}

#[test]
fn every_layer_type_matches_its_spec_schema() {
    let specs = specs();
    let problems: Vec<String> = claims()
        .iter()
        .flat_map(|c| check(c, &specs[c.spec]))
        .collect();
    assert!(
        problems.is_empty(),
        "the layer and the specs disagree:\n{}",
        problems.join("\n")
    );
}

#[test]
fn structs_carry_their_spec_component_name() {
    // A user who enables `schemars` gets schemas titled as in the specs.
    for c in claims().iter().filter(|c| !c.component.contains('.')) {
        assert_eq!(c.schema["title"], json!(c.component), "{}", c.type_name);
    }
}

/// `check` on a copy of the spec whose `component` has had `edit` applied.
fn check_edited(type_name: &str, edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let claims = claims();
    let claim = claims
        .iter()
        .find(|c| c.type_name == type_name)
        .unwrap_or_else(|| panic!("no claim for {type_name}"));
    let mut spec = load_spec(claim.spec);
    edit(&mut spec);
    check(claim, &spec)
}

fn schema_mut<'a>(spec: &'a mut Value, component: &str) -> &'a mut Value {
    spec.pointer_mut(&format!("/components/schemas/{component}"))
        .unwrap_or_else(|| panic!("no schema {component}"))
}

fn remove_property(spec: &mut Value, component: &str, property: &str) {
    let schema = schema_mut(spec, component);
    let removed = schema["properties"]
        .as_object_mut()
        .and_then(|p| p.remove(property));
    assert!(removed.is_some(), "{component} has no {property}");
    if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|r| r != property);
    }
}

#[test]
fn a_property_removed_from_the_spec_fails_naming_type_and_field() {
    let problems = check_edited("WriteResult", |spec| {
        remove_property(spec, "DocumentResult", "tenantId")
    });
    assert_eq!(
        problems,
        [
            "WriteResult (claims ccs-v2.yaml#DocumentResult): field `tenantId`: in the type, not in the spec"
        ]
    );
    let problems = check_edited("ConversationContext", |spec| {
        remove_property(spec, "ConversationContext", "type")
    });
    assert_eq!(
        problems,
        [
            "ConversationContext (claims messaging.yaml#ConversationContext): field `type`: in the type, not in the spec"
        ]
    );
}

#[test]
fn a_property_added_to_the_spec_fails() {
    let problems = check_edited("NamespaceInfo", |spec| {
        schema_mut(spec, "Namespace")["properties"]["owner"] = json!({ "type": "string" });
    });
    assert_eq!(
        problems,
        [
            "NamespaceInfo (claims ccs-v1.yaml#Namespace): field `owner`: in the spec, not in the type"
        ]
    );
}

#[test]
fn a_changed_type_required_or_enum_fails() {
    let problems = check_edited("WriteResult", |spec| {
        schema_mut(spec, "DocumentResult")["properties"]["documentKey"] =
            json!({ "type": "integer" });
    });
    assert_eq!(
        problems,
        [
            "WriteResult (claims ccs-v2.yaml#DocumentResult): field `documentKey`: type `string` in the type, `integer` in the spec"
        ]
    );

    let problems = check_edited("ContextDocument", |spec| {
        schema_mut(spec, "ContextDocument")["required"]
            .as_array_mut()
            .expect("ContextDocument has required")
            .push(json!("ttl"));
    });
    assert_eq!(
        problems,
        [
            "ContextDocument (claims ccs-v2.yaml#ContextDocument): field `ttl`: optional in the type, required in the spec"
        ]
    );

    let problems = check_edited("Gender", |spec| {
        schema_mut(spec, "PersonalInfo")["properties"]["gender"]["enum"] =
            json!(["MALE", "FEMALE"]);
    });
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with(
            "Gender (claims messaging.yaml#PersonalInfo.gender): (the type itself): values"
        ),
        "{problems:?}"
    );
    // PersonalInfo's own `gender` field is compared too.
    let problems = check_edited("PersonalInfo", |spec| {
        schema_mut(spec, "PersonalInfo")["properties"]["gender"]["enum"] =
            json!(["MALE", "FEMALE"]);
    });
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("field `gender`: values"),
        "{problems:?}"
    );
}

#[test]
fn a_property_the_layer_knowingly_leaves_out_must_still_exist() {
    // `not_mirrored` names spec properties; the claim is checked against the
    // real spec above, and each reason is given.
    for c in claims() {
        for (name, reason) in c.not_mirrored {
            assert!(
                !reason.is_empty(),
                "{}: no reason for leaving out `{name}`",
                c.type_name
            );
            let spec = load_spec(c.spec);
            assert!(
                spec.pointer(&format!(
                    "/components/schemas/{}/properties/{name}",
                    c.component
                ))
                .is_some(),
                "{} leaves out `{name}`, which {}#{} no longer has: drop it from not_mirrored",
                c.type_name,
                c.spec,
                c.component
            );
        }
    }
}
