//! What the README promises of its examples: each Rust example reads as a
//! complete program on GitHub and docs.rs alike, with no line hidden from
//! the reader (rustdoc hides `# ` lines; GitHub shows them as written).
//! And what the rustdoc promises of the clients' methods: each public async
//! method names the request it sends.

#[test]
fn readme_rust_examples_hide_no_lines() {
    let readme = include_str!("../../README.md");
    let mut in_rust = false;
    let mut hidden = Vec::new();
    let mut examples = 0;
    for (number, line) in readme.lines().enumerate() {
        let fence = line.trim_start();
        if let Some(info) = fence.strip_prefix("```") {
            if in_rust {
                in_rust = false;
            } else if info.starts_with("rust") {
                in_rust = true;
                examples += 1;
            }
            continue;
        }
        if in_rust && (line.starts_with("# ") || line == "#") {
            hidden.push(format!("README.md:{}: {line}", number + 1));
        }
    }
    assert!(examples >= 5, "{examples} Rust examples found");
    assert!(
        hidden.is_empty(),
        "hidden lines in README examples:\n{}",
        hidden.join("\n")
    );
}

/// Every Rust example that is a program has its `main`.
#[test]
fn readme_rust_examples_are_programs() {
    let readme = include_str!("../../README.md");
    for block in readme.split("```rust").skip(1) {
        let code = block.split("```").next().unwrap_or_default();
        assert!(
            code.contains("fn main()"),
            "a README example without `fn main()`:\n{code}"
        );
    }
}

/// Every `pub async fn` of the clients (v1, v2, messaging, connector) has a
/// doc block with a `Sends ...` line naming an HTTP method and a path, e.g.
/// `Sends \`PUT /v1/account/{accountId}/...\``. The file text is read as
/// written, so a method added without one fails here.
#[test]
fn every_public_async_method_names_its_request() {
    let files = [
        ("src/v1.rs", include_str!("../../src/v1.rs")),
        ("src/v2.rs", include_str!("../../src/v2.rs")),
        (
            "src/messaging/client.rs",
            include_str!("../../src/messaging/client.rs"),
        ),
        (
            "src/messaging/conversation.rs",
            include_str!("../../src/messaging/conversation.rs"),
        ),
        (
            "src/connector/auth.rs",
            include_str!("../../src/connector/auth.rs"),
        ),
        (
            "src/connector/discovery.rs",
            include_str!("../../src/connector/discovery.rs"),
        ),
    ];
    let mut methods = 0;
    let mut missing = Vec::new();
    for (file, text) in files {
        let lines: Vec<&str> = text.lines().collect();
        for (at, line) in lines.iter().enumerate() {
            let Some(rest) = line.trim_start().strip_prefix("pub async fn ") else {
                continue;
            };
            methods += 1;
            let name = rest.split(['(', '<']).next().unwrap_or(rest);
            // The doc block above, past any attribute.
            let doc: Vec<&str> = lines[..at]
                .iter()
                .rev()
                .map(|l| l.trim_start())
                .skip_while(|l| l.starts_with("#["))
                .take_while(|l| l.starts_with("///"))
                .map(|l| l.trim_start_matches('/').trim())
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let doc = doc.join(" ");
            let names_request = doc.split("Sends ").skip(1).any(|after| {
                ["GET /", "PUT /", "POST /", "PATCH /", "DELETE /"]
                    .iter()
                    .any(|request| after.contains(request))
            });
            if !names_request {
                missing.push(format!("{file}: {name}"));
            }
        }
    }
    assert!(
        methods >= 30,
        "only {methods} methods found: is the scan broken?"
    );
    assert!(
        missing.is_empty(),
        "these public async methods do not say which request they send \
         (a `Sends `METHOD /path`` line in their rustdoc):\n{}",
        missing.join("\n")
    );
}
