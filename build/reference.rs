//! The emulator's HTML reference (`GET /docs` of `ccs serve`), rendered from
//! the specs at build time by build.rs, only when the `emulator` feature is
//! on: a build of the clients alone does none of this.

use std::path::Path;

/// Writes `reference.html`, the emulator's self-contained HTML reference of
/// `specs` (paths from the crate's root, in the order shown), into `out_dir`.
pub fn write_reference(
    manifest_dir: &str,
    out_dir: &str,
    specs_shown: &[String],
) -> Result<(), String> {
    let mut specs = Vec::new();
    for spec in specs_shown {
        let path = Path::new(manifest_dir).join(spec);
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let file = Path::new(spec)
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or(spec)
            .to_owned();
        specs.push((file, text));
    }
    let html = reference_html(&specs)?;
    let target = Path::new(out_dir).join("reference.html");
    std::fs::write(&target, html).map_err(|e| format!("cannot write {}: {e}", target.display()))
}

/// A plain, self-contained HTML reference of OpenAPI specs (file name,
/// text): every operation with its parameters, bodies, responses,
/// descriptions and examples, then every schema. No script, and no
/// resource from elsewhere: it reads offline.
pub fn reference_html(specs: &[(String, String)]) -> Result<String, String> {
    use std::fmt::Write as _;
    let mut parsed = Vec::new();
    for (file, text) in specs {
        let spec: openapiv3::OpenAPI = serde_norway::from_str(text)
            .map_err(|e| format!("{file}: not a valid OpenAPI 3.0 document: {e}"))?;
        parsed.push((file.as_str(), spec));
    }
    let mut out = String::new();
    out.push_str(concat!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>liveperson-ccs: API reference</title>\n<style>",
        "body{font-family:sans-serif;max-width:70em;margin:auto;padding:1em;line-height:1.4}",
        ".text{white-space:pre-wrap}pre{background:#f4f4f4;padding:.5em;overflow-x:auto}",
        ".op{border-top:1px solid #ccc;margin-top:1.5em}.method{font-weight:bold;text-transform:uppercase}",
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top;text-align:left}",
        "</style></head><body>\n<h1>liveperson-ccs: API reference</h1>\n",
        "<p>The OpenAPI files this emulator serves at <code>/openapi/{file}</code>, each ",
        "described below.</p>\n<ul>\n"
    ));
    for (file, spec) in &parsed {
        let _ = writeln!(
            out,
            "<li><a href=\"#{}\">{}</a>: {} {}</li>",
            anchor(&[stem(file)]),
            esc(file),
            esc(&spec.info.title),
            esc(&spec.info.version)
        );
    }
    out.push_str("</ul>\n");
    for (file, spec) in &parsed {
        render_spec(&mut out, file, spec);
    }
    out.push_str("</body></html>\n");
    Ok(out)
}

fn stem(file: &str) -> &str {
    file.strip_suffix(".yaml").unwrap_or(file)
}

/// An HTML id from parts: letters, digits, `-` and `_` kept, others `_`.
pub fn anchor(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("--")
}

/// Text escaped for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn text_block(out: &mut String, text: Option<&str>) {
    if let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) {
        out.push_str("<div class=\"text\">");
        out.push_str(&esc(text));
        out.push_str("</div>\n");
    }
}

fn yaml_block(out: &mut String, value: &impl serde::Serialize) {
    let text = serde_norway::to_string(value).unwrap_or_else(|e| format!("(cannot show: {e})"));
    out.push_str("<pre>");
    out.push_str(&esc(text.trim_end()));
    out.push_str("</pre>\n");
}

/// The last segment of a `$ref`.
fn ref_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

fn render_spec(out: &mut String, file: &str, spec: &openapiv3::OpenAPI) {
    use openapiv3::ReferenceOr;
    use std::fmt::Write as _;
    let id = stem(file);
    let components = spec.components.clone().unwrap_or_default();
    let _ = writeln!(
        out,
        "<section id=\"{}\"><h2>{} <small>({}, version {})</small></h2>",
        anchor(&[id]),
        esc(&spec.info.title),
        esc(file),
        esc(&spec.info.version)
    );
    text_block(out, spec.info.description.as_deref());
    if !spec.servers.is_empty() {
        out.push_str("<h3>Servers</h3>\n<ul>\n");
        for server in &spec.servers {
            let _ = write!(out, "<li><code>{}</code>", esc(&server.url));
            if let Some(description) = &server.description {
                let _ = write!(
                    out,
                    ": <span class=\"text\">{}</span>",
                    esc(description.trim())
                );
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<h3>Operations</h3>\n<ul>\n");
    for (path, item) in &spec.paths.paths {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        for (method, op) in item.iter() {
            let op_id = op.operation_id.as_deref().unwrap_or("");
            let _ = writeln!(
                out,
                "<li><a href=\"#{}\"><span class=\"method\">{}</span> <code>{}</code></a> {}</li>",
                anchor(&["op", id, op_id]),
                esc(method),
                esc(path),
                esc(op.summary.as_deref().unwrap_or(""))
            );
        }
    }
    out.push_str("</ul>\n");
    for (path, item) in &spec.paths.paths {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        for (method, op) in item.iter() {
            let op_id = op.operation_id.as_deref().unwrap_or("");
            let _ = writeln!(
                out,
                "<div class=\"op\" id=\"{}\"><h4><span class=\"method\">{}</span> <code>{}</code></h4>",
                anchor(&["op", id, op_id]),
                esc(method),
                esc(path)
            );
            let _ = writeln!(out, "<p>Operation <code>{}</code>{}</p>", esc(op_id), {
                let tags = op.tags.join(", ");
                if tags.is_empty() {
                    String::new()
                } else {
                    format!("; tags: {}", esc(&tags))
                }
            });
            if let Some(summary) = &op.summary {
                let _ = writeln!(out, "<p><strong>{}</strong></p>", esc(summary));
            }
            text_block(out, op.description.as_deref());
            let params: Vec<&ReferenceOr<openapiv3::Parameter>> =
                item.parameters.iter().chain(&op.parameters).collect();
            if !params.is_empty() {
                out.push_str("<h5>Parameters</h5>\n<table><tr><th>name</th><th>in</th><th>required</th><th>schema</th><th>description</th></tr>\n");
                for param in params {
                    let resolved = match param {
                        ReferenceOr::Item(p) => Some(p),
                        ReferenceOr::Reference { reference } => components
                            .parameters
                            .get(ref_name(reference))
                            .and_then(|p| p.as_item()),
                    };
                    let Some(param) = resolved else { continue };
                    let data = param.parameter_data_ref();
                    let place = match param {
                        openapiv3::Parameter::Query { .. } => "query",
                        openapiv3::Parameter::Header { .. } => "header",
                        openapiv3::Parameter::Path { .. } => "path",
                        openapiv3::Parameter::Cookie { .. } => "cookie",
                    };
                    let _ = write!(
                        out,
                        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>",
                        esc(&data.name),
                        place,
                        if data.required { "yes" } else { "no" }
                    );
                    match &data.format {
                        openapiv3::ParameterSchemaOrContent::Schema(schema) => {
                            schema_ref(out, id, schema)
                        }
                        openapiv3::ParameterSchemaOrContent::Content(content) => {
                            yaml_block(out, content)
                        }
                    }
                    out.push_str("</td><td>");
                    text_block(out, data.description.as_deref());
                    if let Some(example) = &data.example {
                        out.push_str("Example:");
                        yaml_block(out, example);
                    }
                    out.push_str("</td></tr>\n");
                }
                out.push_str("</table>\n");
            }
            if let Some(body) = &op.request_body {
                let resolved = match body {
                    ReferenceOr::Item(b) => Some(b),
                    ReferenceOr::Reference { reference } => components
                        .request_bodies
                        .get(ref_name(reference))
                        .and_then(|b| b.as_item()),
                };
                if let Some(body) = resolved {
                    let _ = writeln!(
                        out,
                        "<h5>Request body{}</h5>",
                        if body.required { " (required)" } else { "" }
                    );
                    text_block(out, body.description.as_deref());
                    content(out, id, &body.content, &components);
                }
            }
            out.push_str("<h5>Responses</h5>\n");
            let responses = op
                .responses
                .responses
                .iter()
                .map(|(status, r)| (status.to_string(), r))
                .chain(
                    op.responses
                        .default
                        .iter()
                        .map(|r| ("default".to_owned(), r)),
                );
            for (status, response) in responses {
                let resolved = match response {
                    ReferenceOr::Item(r) => Some(r),
                    ReferenceOr::Reference { reference } => components
                        .responses
                        .get(ref_name(reference))
                        .and_then(|r| r.as_item()),
                };
                let Some(response) = resolved else { continue };
                let _ = writeln!(out, "<h6>{}</h6>", esc(&status));
                text_block(out, Some(&response.description));
                for (name, header) in &response.headers {
                    let _ = writeln!(out, "<p>Header <code>{}</code></p>", esc(name));
                    if let ReferenceOr::Item(header) = header {
                        text_block(out, header.description.as_deref());
                    }
                }
                content(out, id, &response.content, &components);
            }
            out.push_str("</div>\n");
        }
    }
    if !components.schemas.is_empty() {
        out.push_str("<h3>Schemas</h3>\n");
        for (name, schema) in &components.schemas {
            let _ = writeln!(
                out,
                "<div id=\"{}\"><h4><code>{}</code></h4>",
                anchor(&["schema", id, name]),
                esc(name)
            );
            yaml_block(out, schema);
            out.push_str("</div>\n");
        }
    }
    out.push_str("</section>\n");
}

/// A schema: a link to a named one, or its YAML.
fn schema_ref(out: &mut String, spec: &str, schema: &openapiv3::ReferenceOr<openapiv3::Schema>) {
    use std::fmt::Write as _;
    match schema {
        openapiv3::ReferenceOr::Reference { reference } => {
            let name = ref_name(reference);
            let _ = write!(
                out,
                "<a href=\"#{}\"><code>{}</code></a>",
                anchor(&["schema", spec, name]),
                esc(name)
            );
        }
        openapiv3::ReferenceOr::Item(schema) => yaml_block(out, schema),
    }
}

/// Media types with their schema and examples.
fn content(
    out: &mut String,
    spec: &str,
    content: &openapiv3::Content,
    components: &openapiv3::Components,
) {
    use std::fmt::Write as _;
    for (media_type, media) in content {
        let _ = write!(out, "<p><code>{}</code>", esc(media_type));
        if let Some(schema) = &media.schema {
            out.push_str(": ");
            schema_ref(out, spec, schema);
        }
        out.push_str("</p>\n");
        if let Some(example) = &media.example {
            out.push_str("<p>Example:</p>");
            yaml_block(out, example);
        }
        for (name, example) in &media.examples {
            let resolved = match example {
                openapiv3::ReferenceOr::Item(e) => Some(e),
                openapiv3::ReferenceOr::Reference { reference } => components
                    .examples
                    .get(ref_name(reference))
                    .and_then(|e| e.as_item()),
            };
            let Some(example) = resolved else { continue };
            let _ = writeln!(
                out,
                "<p>Example <code>{}</code>{}</p>",
                esc(name),
                example
                    .summary
                    .as_deref()
                    .map(|s| format!(": {}", esc(s)))
                    .unwrap_or_default()
            );
            text_block(out, example.description.as_deref());
            if let Some(value) = &example.value {
                yaml_block(out, value);
            }
        }
    }
}
