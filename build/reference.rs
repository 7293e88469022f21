//! The emulator's HTML reference (`GET /docs` of `ccs serve`), rendered from
//! the specs at build time by build.rs, only when the `emulator` feature is
//! on: a build of the clients alone does none of this.
//!
//! What a reader gets: a navigation beside the text (the specs, under each
//! its operations grouped by tag and its schemas), every description rendered
//! as CommonMark (raw HTML in a description is shown as text, never as
//! markup), each operation with its parameters as a table and its bodies'
//! schemas as trees, and examples as formatted JSON. Stable anchors:
//! `#<spec stem>` for a spec, `#<stem>/<operationId>` for an operation,
//! `#<stem>/schemas/<Name>` for a schema, `#<stem>/tags/<tag>` for a tag. One
//! file, no script, nothing loaded from elsewhere: it reads offline, and on a
//! phone (below 800 px the navigation goes above the text).

use serde_json::Value;
use std::fmt::Write as _;
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

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1d2330;background:#fff}\
a{color:#1f5fbf}\
nav{position:fixed;top:0;left:0;bottom:0;width:20em;overflow-y:auto;padding:.8em .8em 2em;background:#f5f6f8;border-right:1px solid #dde1e6;font-size:14px}\
nav .home{display:block;font-weight:700;margin-bottom:.5em;text-decoration:none;color:inherit}\
nav details{margin:.15em 0}\
nav summary{cursor:pointer;font-weight:600;padding:.15em 0}\
nav summary a{color:inherit;text-decoration:none}\
nav ul{list-style:none;margin:0 0 .2em;padding:0 0 0 .6em}\
nav li a{display:block;padding:.05em .2em;text-decoration:none;color:#1d2330;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;border-radius:3px}\
nav li a:hover{background:#e3e7ec}\
nav .tag{margin:.45em 0 .1em .6em;color:#5c6470;font-size:11px;text-transform:uppercase;letter-spacing:.05em}\
nav details details summary{font-weight:400;color:#5c6470;margin-left:.6em;font-size:13px}\
main{margin-left:20em;padding:1em 2.5em 4em;max-width:66em}\
h1{font-size:1.6em;margin:.3em 0}h2{font-size:1.45em;margin:2.2em 0 .3em;padding-top:.4em;border-top:3px solid #1d2330}\
h2 small,h4 small{font-weight:400;color:#5c6470;font-size:.65em}\
h3{font-size:1.2em;margin:1.8em 0 .3em;color:#333b48}\
h4{font-size:1.05em;margin:0 0 .2em;overflow-wrap:anywhere}h5{font-size:.95em;margin:1em 0 .3em}\
.op,.schema{border:1px solid #dde1e6;border-radius:6px;padding:.8em 1em;margin:1.2em 0}\
.op:target,.schema:target{border-color:#1f5fbf;box-shadow:0 0 0 2px #c9dbf5}\
.summary{font-weight:600;margin:.1em 0}.summary p{margin:0}\
.meta{color:#5c6470;font-size:13px;margin:.2em 0}\
.m{display:inline-block;min-width:4.2em;text-align:center;font:700 11px/1.7 ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace;border-radius:3px;color:#fff;background:#5c6470;text-transform:uppercase;vertical-align:.1em}\
.m-get{background:#2e7d32}.m-post{background:#1f5fbf}.m-put{background:#a35f00}.m-delete{background:#b3261e}.m-patch{background:#6a3fb5}\
nav .m{min-width:4.6em;font-size:9px;margin-right:.35em}\
code,pre{font-family:ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace;font-size:.9em}\
:not(pre)>code{background:#eef0f3;padding:.05em .3em;border-radius:3px;overflow-wrap:anywhere}\
pre{background:#f4f5f7;border:1px solid #e4e7eb;padding:.6em .8em;overflow-x:auto;border-radius:4px;line-height:1.35}\
.path{font-size:1em}\
table{border-collapse:collapse;width:100%;margin:.3em 0}\
th,td{border-bottom:1px solid #dde1e6;padding:.35em .5em;text-align:left;vertical-align:top}\
th{font-size:13px;color:#5c6470;font-weight:600}\
.params td:first-child code,.params .ty code{overflow-wrap:normal;white-space:nowrap}\
.params td:nth-child(3){min-width:12em}\
td p{margin:0 0 .3em}\
.tree{list-style:none;margin:.2em 0;padding:0 0 0 1em;border-left:2px solid #e4e7eb}\
.tree>li{margin:.35em 0}.tree p{margin:.1em 0}\
.ty{color:#6a3fb5;font-size:13px}.req{color:#b3261e;font-size:12px;font-weight:600}\
.c{color:#5c6470;font-size:13px}\
.d{margin:.1em 0 .2em}.d p{margin:.45em 0}.tree .d p{margin:.15em 0}\
.resp{margin:.8em 0}\
.st{display:inline-block;font:700 13px ui-monospace,Menlo,Consolas,monospace;padding:0 .35em;border-radius:3px;background:#eef0f3}\
.st-2{background:#dcefdc;color:#1b5e20}.st-4,.st-5,.st-d{background:#f8e1df;color:#8c1d18}\
.ex summary{cursor:pointer;color:#5c6470;font-size:13px}\
@media (max-width:800px){\
nav{position:static;width:auto;border-right:0;border-bottom:1px solid #dde1e6}\
main{margin-left:0;padding:.5em .8em 3em}\
.op,.schema{padding:.6em .6em}\
.params thead{display:none}.params tr{display:block;border-bottom:1px solid #dde1e6;padding:.3em 0}\
.params td{display:block;border:0;padding:.1em 0}\
.params td[data-l]{display:inline-block;margin-right:1em;font-size:14px}.params td:nth-child(3){min-width:0}\
.params td[data-l]::before{content:attr(data-l) ': ';color:#5c6470;font-size:12px}\
}";

/// A parsed spec and what the page needs of it.
struct Page<'a> {
    file: &'a str,
    stem: &'a str,
    spec: openapiv3::OpenAPI,
    /// `components.schemas`, as JSON (the trees are drawn from it).
    schemas: serde_json::Map<String, Value>,
}

/// One operation of a spec.
struct Op<'a> {
    path: &'a str,
    method: &'a str,
    item: &'a openapiv3::PathItem,
    op: &'a openapiv3::Operation,
}

impl Op<'_> {
    fn id(&self) -> &str {
        self.op.operation_id.as_deref().unwrap_or("")
    }
}

/// A self-contained HTML reference of OpenAPI specs (file name, text): a
/// navigation, then each spec with its operations by tag and its schemas.
pub fn reference_html(specs: &[(String, String)]) -> Result<String, String> {
    let mut pages = Vec::new();
    for (file, text) in specs {
        let spec: openapiv3::OpenAPI = serde_norway::from_str(text)
            .map_err(|e| format!("{file}: not a valid OpenAPI 3.0 document: {e}"))?;
        let schemas = spec
            .components
            .as_ref()
            .map(|c| serde_json::to_value(&c.schemas))
            .transpose()
            .map_err(|e| format!("{file}: cannot read its schemas: {e}"))?
            .and_then(|v| match v {
                Value::Object(map) => Some(map),
                _ => None,
            })
            .unwrap_or_default();
        for (path, item) in &spec.paths.paths {
            let openapiv3::ReferenceOr::Item(item) = item else {
                return Err(format!(
                    "{file}: path {path}: a $ref path item is not shown"
                ));
            };
            for (method, op) in item.iter() {
                if op.operation_id.as_deref().unwrap_or("").is_empty() {
                    return Err(format!(
                        "{file}: {method} {path} has no operationId (its anchor in the reference)"
                    ));
                }
            }
        }
        pages.push(Page {
            file,
            stem: stem(file),
            spec,
            schemas,
        });
    }
    let mut out = String::new();
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>liveperson-ccs: API reference</title>\n<style>",
    );
    out.push_str(STYLE);
    out.push_str("</style></head><body>\n");
    navigation(&mut out, &pages);
    out.push_str(
        "<main>\n<h1 id=\"top\">liveperson-ccs: API reference</h1>\n\
         <p>The OpenAPI files this emulator serves at <code>/openapi/{file}</code>, each \
         described below. Every operation has an anchor <code>#{spec}/{operationId}</code> \
         and every schema <code>#{spec}/schemas/{Name}</code>.</p>\n<ul>\n",
    );
    for page in &pages {
        let _ = writeln!(
            out,
            "<li><a href=\"#{}\">{}</a>: <code>{}</code>, version {}</li>",
            anchor(&[page.stem]),
            esc(&page.spec.info.title),
            esc(page.file),
            esc(&page.spec.info.version)
        );
    }
    out.push_str("</ul>\n");
    for page in &pages {
        render_spec(&mut out, page);
    }
    out.push_str("</main>\n</body></html>\n");
    Ok(out)
}

fn stem(file: &str) -> &str {
    file.strip_suffix(".yaml").unwrap_or(file)
}

/// An HTML id from parts joined by `/`: letters, digits, `-`, `_` and `.`
/// kept, any other character `_`.
pub fn anchor(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
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

/// CommonMark rendered to HTML. Raw HTML in the text is shown as text (an
/// `<id>` placeholder stays readable and never becomes a tag).
pub fn markdown(text: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser};
    let parser = Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(
        |event| match event {
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            event => event,
        },
    );
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, parser);
    out
}

/// A one-line text (a summary) as inline CommonMark: its single paragraph
/// without the `<p>`.
fn markdown_inline(text: &str) -> String {
    let html = markdown(text);
    let trimmed = html.trim_end();
    match trimmed
        .strip_prefix("<p>")
        .and_then(|t| t.strip_suffix("</p>"))
    {
        Some(inner) if !inner.contains("<p>") => inner.to_owned(),
        _ => html,
    }
}

/// A description block, if there is text.
fn description(out: &mut String, class: &str, text: Option<&str>) {
    if let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) {
        let _ = writeln!(out, "<div class=\"{class}\">{}</div>", markdown(text));
    }
}

/// A JSON value, formatted.
fn json_block(out: &mut String, value: &Value) {
    let text =
        serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("(cannot show: {e})"));
    let _ = writeln!(out, "<pre><code>{}</code></pre>", esc(&text));
}

/// A JSON value on one line (enum values, defaults).
fn json_inline(value: &Value) -> String {
    format!("<code>{}</code>", esc(&value.to_string()))
}

/// The last segment of a `$ref`.
fn ref_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// A spec's operations grouped by their first tag: the spec's `tags` in
/// their order, then tags it does not list, then untagged ones (`other`).
fn by_tag<'a>(spec: &'a openapiv3::OpenAPI) -> Vec<(String, Vec<Op<'a>>)> {
    let mut groups: Vec<(String, Vec<Op<'a>>)> = spec
        .tags
        .iter()
        .map(|t| (t.name.clone(), Vec::new()))
        .collect();
    for (path, item) in &spec.paths.paths {
        let openapiv3::ReferenceOr::Item(item) = item else {
            continue;
        };
        for (method, op) in item.iter() {
            let tag = op.tags.first().cloned().unwrap_or_else(|| "other".into());
            let op = Op {
                path,
                method,
                item,
                op,
            };
            match groups.iter_mut().find(|(name, _)| *name == tag) {
                Some((_, ops)) => ops.push(op),
                None => groups.push((tag, vec![op])),
            }
        }
    }
    groups.retain(|(_, ops)| !ops.is_empty());
    groups
}

fn method_badge(method: &str) -> String {
    format!(
        "<span class=\"m m-{}\">{}</span>",
        esc(method),
        esc(&method.to_ascii_uppercase())
    )
}

/// The navigation: each spec a `<details>` (the first open) with its
/// operations by tag, and its schemas in a `<details>` of their own.
fn navigation(out: &mut String, pages: &[Page]) {
    out.push_str(
        "<nav aria-label=\"Contents\">\n<a class=\"home\" href=\"#top\">API reference</a>\n",
    );
    for (index, page) in pages.iter().enumerate() {
        let _ = writeln!(
            out,
            "<details{}><summary><a href=\"#{}\">{}</a></summary>",
            if index == 0 { " open" } else { "" },
            anchor(&[page.stem]),
            esc(&page.spec.info.title)
        );
        for (tag, ops) in by_tag(&page.spec) {
            let _ = writeln!(out, "<p class=\"tag\">{}</p>\n<ul>", esc(&tag));
            for op in ops {
                let label = op
                    .op
                    .summary
                    .as_deref()
                    .map(markdown_inline)
                    .unwrap_or_else(|| esc(op.id()));
                let _ = writeln!(
                    out,
                    "<li><a href=\"#{}\" title=\"{} {}\">{}{}</a></li>",
                    anchor(&[page.stem, op.id()]),
                    esc(&op.method.to_ascii_uppercase()),
                    esc(op.path),
                    method_badge(op.method),
                    label
                );
            }
            out.push_str("</ul>\n");
        }
        if !page.schemas.is_empty() {
            let _ = writeln!(
                out,
                "<details><summary>Schemas ({})</summary>\n<ul>",
                page.schemas.len()
            );
            for name in page.schemas.keys() {
                let _ = writeln!(
                    out,
                    "<li><a href=\"#{}\">{}</a></li>",
                    anchor(&[page.stem, "schemas", name]),
                    esc(name)
                );
            }
            out.push_str("</ul></details>\n");
        }
        out.push_str("</details>\n");
    }
    out.push_str("</nav>\n");
}

fn render_spec(out: &mut String, page: &Page) {
    let spec = &page.spec;
    let stem = page.stem;
    let components = spec.components.clone().unwrap_or_default();
    let _ = writeln!(
        out,
        "<section id=\"{}\"><h2>{} <small>{} · version {}</small></h2>",
        anchor(&[stem]),
        esc(&spec.info.title),
        esc(page.file),
        esc(&spec.info.version)
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">The file: <code>/openapi/{}</code></p>",
        esc(page.file)
    );
    description(out, "d", spec.info.description.as_deref());
    if !spec.servers.is_empty() {
        out.push_str("<h3>Servers</h3>\n<ul>\n");
        for server in &spec.servers {
            let _ = write!(out, "<li><code>{}</code>", esc(&server.url));
            if let Some(text) = &server.description {
                let _ = write!(out, ": {}", markdown_inline(text.trim()));
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }
    if !components.security_schemes.is_empty() {
        let _ = writeln!(
            out,
            "<h3 id=\"{}\">Authentication</h3>",
            anchor(&[stem, "auth"])
        );
        for (name, scheme) in &components.security_schemes {
            let scheme = serde_json::to_value(scheme).unwrap_or(Value::Null);
            let what = match scheme["type"].as_str() {
                Some("apiKey") => format!(
                    "API key in the {} <code>{}</code>",
                    esc(scheme["in"].as_str().unwrap_or("?")),
                    esc(scheme["name"].as_str().unwrap_or("?"))
                ),
                Some("http") => format!(
                    "HTTP <code>{}</code>{}",
                    esc(scheme["scheme"].as_str().unwrap_or("?")),
                    scheme["bearerFormat"]
                        .as_str()
                        .map(|f| format!(" ({})", esc(f)))
                        .unwrap_or_default()
                ),
                Some(other) => esc(other),
                None => String::new(),
            };
            let _ = writeln!(out, "<p><code>{}</code>: {what}</p>", esc(name));
            description(out, "d", scheme["description"].as_str());
        }
    }
    let tags = by_tag(spec);
    for (tag, ops) in &tags {
        let _ = writeln!(
            out,
            "<h3 id=\"{}\">{}</h3>",
            anchor(&[stem, "tags", tag]),
            esc(tag)
        );
        let tag_text = spec
            .tags
            .iter()
            .find(|t| t.name == *tag)
            .and_then(|t| t.description.as_deref());
        description(out, "d", tag_text);
        for op in ops {
            render_operation(out, page, &components, op);
        }
    }
    if !page.schemas.is_empty() {
        let _ = writeln!(
            out,
            "<h3 id=\"{}\">Schemas</h3>",
            anchor(&[stem, "schemas"])
        );
        for (name, schema) in &page.schemas {
            let _ = writeln!(
                out,
                "<section class=\"schema\" id=\"{}\"><h4><code>{}</code> <small>{}</small></h4>",
                anchor(&[stem, "schemas", name]),
                esc(name),
                type_label(page, schema)
            );
            schema_body(out, page, schema, false);
            if let Some(example) = schema.get("example") {
                out.push_str("<p class=\"meta\">Example</p>\n");
                json_block(out, example);
            }
            out.push_str("</section>\n");
        }
    }
    out.push_str("</section>\n");
}

fn render_operation(out: &mut String, page: &Page, components: &openapiv3::Components, op: &Op) {
    use openapiv3::ReferenceOr;
    let stem = page.stem;
    let id = anchor(&[stem, op.id()]);
    let _ = writeln!(
        out,
        "<section class=\"op\" id=\"{id}\"><h4>{} <code class=\"path\">{}</code></h4>",
        method_badge(op.method),
        esc(op.path)
    );
    if let Some(summary) = &op.op.summary {
        let _ = writeln!(out, "<p class=\"summary\">{}</p>", markdown_inline(summary));
    }
    let security = op.op.security.as_ref().or(page.spec.security.as_ref());
    let auth = security
        .map(|requirements| {
            requirements
                .iter()
                .map(|r| {
                    r.keys()
                        .map(|k| format!("<code>{}</code>", esc(k)))
                        .collect::<Vec<_>>()
                        .join(" and ")
                })
                .filter(|r| !r.is_empty())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<p class=\"meta\">Operation <a href=\"#{id}\"><code>{}</code></a>{}{}</p>",
        esc(op.id()),
        if op.op.deprecated {
            " · <strong>deprecated</strong>"
        } else {
            ""
        },
        if auth.is_empty() {
            String::new()
        } else {
            format!(
                " · <a href=\"#{}\">auth</a>: {}",
                anchor(&[stem, "auth"]),
                auth.join(" or ")
            )
        }
    );
    description(out, "d", op.op.description.as_deref());
    let params: Vec<&openapiv3::Parameter> = op
        .item
        .parameters
        .iter()
        .chain(&op.op.parameters)
        .filter_map(|param| match param {
            ReferenceOr::Item(p) => Some(p),
            ReferenceOr::Reference { reference } => components
                .parameters
                .get(ref_name(reference))
                .and_then(|p| p.as_item()),
        })
        .collect();
    if !params.is_empty() {
        out.push_str(
            "<h5>Parameters</h5>\n<table class=\"params\"><thead><tr><th>name</th><th>in</th>\
             <th>type</th><th>required</th><th>description</th></tr></thead><tbody>\n",
        );
        for param in params {
            let data = param.parameter_data_ref();
            let place = match param {
                openapiv3::Parameter::Query { .. } => "query",
                openapiv3::Parameter::Header { .. } => "header",
                openapiv3::Parameter::Path { .. } => "path",
                openapiv3::Parameter::Cookie { .. } => "cookie",
            };
            let schema = match &data.format {
                openapiv3::ParameterSchemaOrContent::Schema(schema) => {
                    serde_json::to_value(schema).unwrap_or(Value::Null)
                }
                openapiv3::ParameterSchemaOrContent::Content(content) => content
                    .values()
                    .next()
                    .and_then(|m| m.schema.as_ref())
                    .and_then(|s| serde_json::to_value(s).ok())
                    .unwrap_or(Value::Null),
            };
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td data-l=\"in\">{place}</td>\
                 <td data-l=\"type\"><span class=\"ty\">{}</span>",
                esc(&data.name),
                type_label(page, &schema)
            );
            let limits = constraints(&resolve(page, &schema));
            if !limits.is_empty() {
                let _ = write!(out, "<br><span class=\"c\">{}</span>", limits.join("; "));
            }
            let _ = write!(
                out,
                "</td><td data-l=\"required\">{}</td><td>",
                if data.required {
                    "<span class=\"req\">yes</span>"
                } else {
                    "no"
                }
            );
            let text = data.description.as_deref().map(str::trim).unwrap_or("");
            out.push_str(&markdown(text));
            if let Some(example) = &data.example {
                let _ = write!(out, "<p class=\"c\">Example: {}</p>", json_inline(example));
            }
            out.push_str("</td></tr>\n");
        }
        out.push_str("</tbody></table>\n");
    }
    if let Some(body) = &op.op.request_body {
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
                if body.required {
                    " <span class=\"req\">required</span>"
                } else {
                    ""
                }
            );
            description(out, "d", body.description.as_deref());
            content(out, page, components, &body.content);
        }
    }
    out.push_str("<h5>Responses</h5>\n");
    let responses = op
        .op
        .responses
        .responses
        .iter()
        .map(|(status, r)| (status.to_string(), r))
        .chain(
            op.op
                .responses
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
        let class = status
            .chars()
            .next()
            .filter(|c| ('1'..='5').contains(c))
            .unwrap_or('d');
        let _ = writeln!(
            out,
            "<div class=\"resp\"><span class=\"st st-{class}\">{}</span>",
            esc(&status)
        );
        description(out, "d", Some(&response.description));
        if !response.headers.is_empty() {
            out.push_str(
                "<table class=\"params\"><thead><tr><th>header</th><th>type</th>\
                 <th>description</th></tr></thead><tbody>\n",
            );
            for (name, header) in &response.headers {
                let header = match header {
                    ReferenceOr::Item(h) => Some(h),
                    ReferenceOr::Reference { reference } => components
                        .headers
                        .get(ref_name(reference))
                        .and_then(|h| h.as_item()),
                };
                let Some(header) = header else { continue };
                let schema = match &header.format {
                    openapiv3::ParameterSchemaOrContent::Schema(s) => {
                        serde_json::to_value(s).unwrap_or(Value::Null)
                    }
                    openapiv3::ParameterSchemaOrContent::Content(_) => Value::Null,
                };
                let _ = writeln!(
                    out,
                    "<tr><td><code>{}</code></td><td data-l=\"type\"><span class=\"ty\">{}</span></td><td>{}</td></tr>",
                    esc(name),
                    type_label(page, &schema),
                    markdown(header.description.as_deref().unwrap_or("").trim())
                );
            }
            out.push_str("</tbody></table>\n");
        }
        content(out, page, components, &response.content);
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
}

/// Media types with their schema tree and examples.
fn content(
    out: &mut String,
    page: &Page,
    components: &openapiv3::Components,
    content: &openapiv3::Content,
) {
    for (media_type, media) in content {
        let schema = media
            .schema
            .as_ref()
            .and_then(|s| serde_json::to_value(s).ok());
        let _ = write!(out, "<p class=\"meta\"><code>{}</code>", esc(media_type));
        if let Some(schema) = &schema {
            let _ = write!(
                out,
                ": <span class=\"ty\">{}</span>",
                type_label(page, schema)
            );
        }
        out.push_str("</p>\n");
        if let Some(schema) = &schema {
            schema_body(out, page, schema, true);
        }
        if let Some(example) = &media.example {
            out.push_str("<p class=\"meta\">Example</p>\n");
            json_block(out, example);
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
                "<p class=\"meta\">Example <code>{}</code>{}</p>",
                esc(name),
                example
                    .summary
                    .as_deref()
                    .map(|s| format!(": {}", markdown_inline(s)))
                    .unwrap_or_default()
            );
            description(out, "d", example.description.as_deref());
            if let Some(value) = &example.value {
                json_block(out, value);
            }
        }
    }
}

/// A `$ref`'s schema, or the schema itself.
fn resolve<'a>(page: &'a Page, schema: &'a Value) -> std::borrow::Cow<'a, Value> {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => match page.schemas.get(ref_name(reference)) {
            Some(target) => std::borrow::Cow::Borrowed(target),
            None => std::borrow::Cow::Owned(Value::Null),
        },
        None => std::borrow::Cow::Borrowed(schema),
    }
}

/// A link to a named schema.
fn schema_link(page: &Page, reference: &str) -> String {
    let name = ref_name(reference);
    format!(
        "<a href=\"#{}\"><code>{}</code></a>",
        anchor(&[page.stem, "schemas", name]),
        esc(name)
    )
}

/// A schema's type in words (HTML): `string (date-time)`, `array of X`,
/// a link for a `$ref`, `one of`...
fn type_label(page: &Page, schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return schema_link(page, reference);
    }
    let mut label = match schema.get("type").and_then(Value::as_str) {
        Some("array") => match schema.get("items") {
            Some(items) => format!("array of {}", type_label(page, items)),
            None => "array".to_owned(),
        },
        Some("object") | None if schema.get("properties").is_none() => {
            if let Some(Value::Object(map)) = schema.get("additionalProperties")
                && !map.is_empty()
            {
                format!(
                    "map of string to {}",
                    type_label(page, &schema["additionalProperties"])
                )
            } else if schema.get("oneOf").is_some() {
                "one of".to_owned()
            } else if schema.get("anyOf").is_some() {
                "any of".to_owned()
            } else if schema.get("allOf").is_some() {
                "all of".to_owned()
            } else if schema.get("type").is_some() {
                "object".to_owned()
            } else {
                "any".to_owned()
            }
        }
        Some(other) => esc(other),
        None => "object".to_owned(),
    };
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        let _ = write!(label, " ({})", esc(format));
    }
    if schema.get("nullable") == Some(&Value::Bool(true)) {
        label.push_str(" or null");
    }
    label
}

/// `characters` of 2, `character` of 1.
fn unit(count: &Value, plural: &str) -> String {
    if count.as_u64() == Some(1) {
        match plural {
            "properties" => "property".to_owned(),
            other => other.strip_suffix('s').unwrap_or(other).to_owned(),
        }
    } else {
        plural.to_owned()
    }
}

/// A schema's constraints in words (HTML).
fn constraints(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let get = |key: &str| schema.get(key).filter(|v| !v.is_null());
    if let Some(Value::Array(values)) = get("enum") {
        let values: Vec<String> = values.iter().map(json_inline).collect();
        out.push(format!("one of {}", values.join(", ")));
    }
    let bound = |min: &str, max: &str, what: &str, out: &mut Vec<String>| match (get(min), get(max))
    {
        (Some(a), Some(b)) if a == b => out.push(format!("exactly {a} {}", unit(a, what))),
        (Some(a), Some(b)) => out.push(format!("{a} to {b} {what}")),
        (Some(a), None) => out.push(format!("at least {a} {}", unit(a, what))),
        (None, Some(b)) => out.push(format!("at most {b} {}", unit(b, what))),
        (None, None) => {}
    };
    bound("minLength", "maxLength", "characters", &mut out);
    bound("minItems", "maxItems", "items", &mut out);
    bound("minProperties", "maxProperties", "properties", &mut out);
    let exclusive = |key: &str| get(key) == Some(&Value::Bool(true));
    if let Some(min) = get("minimum") {
        let op = if exclusive("exclusiveMinimum") {
            "&gt;"
        } else {
            "≥"
        };
        out.push(format!("{op} {min}"));
    }
    if let Some(max) = get("maximum") {
        let op = if exclusive("exclusiveMaximum") {
            "&lt;"
        } else {
            "≤"
        };
        out.push(format!("{op} {max}"));
    }
    if let Some(step) = get("multipleOf") {
        out.push(format!("multiple of {step}"));
    }
    if exclusive("uniqueItems") {
        out.push("unique items".into());
    }
    if let Some(Value::String(pattern)) = get("pattern") {
        out.push(format!("pattern <code>{}</code>", esc(pattern)));
    }
    if let Some(default) = get("default") {
        out.push(format!("default {}", json_inline(default)));
    }
    if exclusive("readOnly") {
        out.push("read-only".into());
    }
    if exclusive("writeOnly") {
        out.push("write-only".into());
    }
    if exclusive("deprecated") {
        out.push("<strong>deprecated</strong>".into());
    }
    if let Some(Value::Object(discriminator)) = get("discriminator")
        && let Some(Value::String(property)) = discriminator.get("propertyName")
    {
        out.push(format!("told apart by <code>{}</code>", esc(property)));
    }
    match get("additionalProperties") {
        Some(Value::Bool(false)) => out.push("no other properties".into()),
        Some(Value::Bool(true)) => out.push("other properties allowed".into()),
        Some(Value::Object(map)) if map.is_empty() => out.push("other properties allowed".into()),
        _ => {}
    }
    out
}

/// Deepest nesting drawn inline; deeper schemas are left out (a schema
/// section shows each named one).
const MAX_DEPTH: usize = 8;

/// A schema's description, constraints and tree. `expand_ref`: a `$ref` is
/// drawn as its target's tree (a body's schema); otherwise, as in the
/// schemas section, the schema is drawn as it is.
fn schema_body(out: &mut String, page: &Page, schema: &Value, expand_ref: bool) {
    let target = if expand_ref {
        resolve(page, schema)
    } else {
        std::borrow::Cow::Borrowed(schema)
    };
    if !expand_ref || schema.get("$ref").is_none() {
        description(out, "d", target.get("description").and_then(Value::as_str));
    }
    let limits = constraints(&target);
    if !limits.is_empty() {
        let _ = writeln!(out, "<p class=\"c\">{}</p>", limits.join("; "));
    }
    children(out, page, &target, 0);
}

/// What is nested in a schema, as a tree: properties, other properties,
/// an array's items, the branches of a `oneOf`, `anyOf` or `allOf`. A
/// `$ref` inside is a link (its tree is in the schemas section).
fn children(out: &mut String, page: &Page, schema: &Value, depth: usize) {
    if depth > MAX_DEPTH || schema.get("$ref").is_some() {
        return;
    }
    let mut items = String::new();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for (name, property) in properties {
            node(
                &mut items,
                page,
                &format!("<code>{}</code>", esc(name)),
                property,
                required.contains(&name.as_str()),
                depth,
            );
        }
    }
    // `additionalProperties: {}` is JSON Schema's default (any other
    // property): said among the constraints, not drawn as a branch.
    if let Some(other @ Value::Object(map)) = schema.get("additionalProperties")
        && !map.is_empty()
    {
        node(
            &mut items,
            page,
            "<em>any other name</em>",
            other,
            false,
            depth,
        );
    }
    if let Some(item) = schema.get("items")
        && has_children(item)
    {
        node(&mut items, page, "<em>each item</em>", item, false, depth);
    }
    for (key, word) in [("oneOf", "option"), ("anyOf", "option"), ("allOf", "part")] {
        if let Some(Value::Array(branches)) = schema.get(key) {
            for (index, branch) in branches.iter().enumerate() {
                node(
                    &mut items,
                    page,
                    &format!("<em>{word} {}</em>", index + 1),
                    branch,
                    false,
                    depth,
                );
            }
        }
    }
    if !items.is_empty() {
        let _ = writeln!(out, "<ul class=\"tree\">\n{items}</ul>");
    }
}

/// Whether a schema has a tree of its own to draw inline.
fn has_children(schema: &Value) -> bool {
    schema.get("$ref").is_none()
        && ["properties", "oneOf", "anyOf", "allOf", "items"]
            .iter()
            .any(|k| schema.get(*k).is_some())
        || matches!(schema.get("additionalProperties"), Some(Value::Object(m)) if !m.is_empty())
}

/// One line of a tree: name, type, required, constraints, description, and
/// what is nested under it.
fn node(out: &mut String, page: &Page, name: &str, schema: &Value, required: bool, depth: usize) {
    let _ = write!(
        out,
        "<li>{name} <span class=\"ty\">{}</span>{}",
        type_label(page, schema),
        if required {
            " <span class=\"req\">required</span>"
        } else {
            ""
        }
    );
    let limits = constraints(schema);
    if !limits.is_empty() {
        let _ = write!(out, " <span class=\"c\">{}</span>", limits.join("; "));
    }
    out.push('\n');
    description(out, "d", schema.get("description").and_then(Value::as_str));
    if has_children(schema) {
        children(out, page, schema, depth + 1);
    }
    out.push_str("</li>\n");
}
