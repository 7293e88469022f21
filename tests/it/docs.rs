//! What the README promises of its examples: each Rust example reads as a
//! complete program on GitHub and docs.rs alike, with no line hidden from
//! the reader (rustdoc hides `# ` lines; GitHub shows them as written).

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
