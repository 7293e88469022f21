//! The source layout holds what CONTRIBUTING.md and each folder's `mod.rs`
//! promise: no file of `src/` imports a file that imports it back.
//!
//! A file's imports are the paths it names that start with `crate::`,
//! `super::`, `self::` or one of its own child modules, each resolved to the
//! file of the longest module prefix. The crate root (`lib.rs`, which only
//! declares modules and re-exports) and the binary's root are facades: paths
//! into them are not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One source file: its module path and the module paths it names.
struct Source {
    module: Vec<String>,
    text: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` → `[a, b]`; `src/a/mod.rs` → `[a]`; the root → `[]`.
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(root).expect("under the root");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The text without comments and string literals, so that a path in a
/// doc comment or a message is not an import.
fn code_only(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if text[i..].starts_with("//") {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if text[i..].starts_with("/*") {
            i = text[i + 2..]
                .find("*/")
                .map_or(bytes.len(), |at| i + 2 + at + 2);
        } else if text[i..].starts_with("r#\"") || text[i..].starts_with("r\"") {
            let hashes = text[i + 1..].bytes().take_while(|b| *b == b'#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let start = i + 2 + hashes;
            i = text[start..]
                .find(&close)
                .map_or(bytes.len(), |at| start + at + close.len());
            out.push_str("\"\"");
        } else if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if bytes[i] == b'\'' && bytes.get(i + 2) == Some(&b'\'') {
            // A char literal such as '"' (lifetimes have no closing quote).
            i += 3;
        } else if text[i..].starts_with("'\\") {
            i += text[i + 1..].find('\'').map_or(bytes.len(), |at| at + 2);
        } else {
            let c = text[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn ident_at(text: &str, at: usize) -> (&str, usize) {
    let end = text[at..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(text.len(), |n| at + n);
    (&text[at..end], end)
}

/// The paths that a `use` tree or a qualified path starting at `at` (just
/// after `prefix::`) names, each as its segments after the prefix.
fn paths_at(text: &str, at: usize) -> Vec<Vec<String>> {
    let rest = &text[at..];
    if let Some(inner) = rest.strip_prefix('{') {
        // A group: split at top-level commas.
        let mut depth = 0;
        let mut items = Vec::new();
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    items.push(&inner[start..i]);
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        for item in items {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            out.extend(paths_at(item, 0));
        }
        return out;
    }
    let (ident, end) = ident_at(text, at);
    if ident.is_empty() {
        return vec![Vec::new()];
    }
    if text[end..].starts_with("::") {
        let tails = paths_at(text, end + 2);
        return tails
            .into_iter()
            .map(|tail| {
                let mut path = vec![ident.to_owned()];
                path.extend(tail);
                path
            })
            .collect();
    }
    vec![vec![ident.to_owned()]]
}

/// The code without its `#[cfg(test)]` modules: a test module's `super` is
/// the file's own module, and tests are not part of the layout.
fn without_test_modules(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let Some(open) = after.find('{') else {
            rest = "";
            break;
        };
        let mut depth = 0;
        let mut end = after.len();
        for (i, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Every path the code of `source` names, resolved to absolute module paths.
fn named_paths(source: &Source, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let code = without_test_modules(&code_only(&source.text));
    let mut out = Vec::new();
    let here = &source.module;
    // `super` of `a/b.rs` and of `a/b/mod.rs` alike is `[a]`.
    let parent: Vec<String> = here
        .iter()
        .take(here.len().saturating_sub(1))
        .cloned()
        .collect();
    let mut i = 0;
    while let Some(found) = code[i..].find("::") {
        let colons = i + found;
        // The identifier just before `::`.
        let start = code[..colons]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |n| n + 1);
        let head = &code[start..colons];
        let preceded_by_path = code[..start].ends_with("::");
        i = colons + 2;
        if preceded_by_path || head.is_empty() {
            continue;
        }
        let base: Vec<String> = match head {
            "crate" => Vec::new(),
            "super" => parent.clone(),
            "self" => here.clone(),
            child if children.contains(child) => {
                let mut base = here.clone();
                base.push(child.to_owned());
                base
            }
            _ => continue,
        };
        for tail in paths_at(&code, colons + 2) {
            let mut path = base.clone();
            path.extend(tail);
            out.push(path);
        }
    }
    out
}

/// The edges between files of the crate rooted at `root_file`'s folder.
fn import_graph(root: &Path, files: &[PathBuf]) -> BTreeMap<String, BTreeSet<String>> {
    let sources: Vec<(PathBuf, Source)> = files
        .iter()
        .map(|file| {
            let text =
                std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            (
                file.clone(),
                Source {
                    module: module_of(root, file),
                    text,
                },
            )
        })
        .collect();
    let by_module: BTreeMap<Vec<String>, String> = sources
        .iter()
        .map(|(file, source)| {
            (
                source.module.clone(),
                file.strip_prefix(root)
                    .expect("under root")
                    .display()
                    .to_string(),
            )
        })
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, source) in &sources {
        let name = &by_module[&source.module];
        let children: BTreeSet<String> = by_module
            .keys()
            .filter(|m| m.len() == source.module.len() + 1 && m.starts_with(&source.module))
            .filter_map(|m| m.last().cloned())
            .collect();
        let edges = graph.entry(name.clone()).or_default();
        for path in named_paths(source, &children) {
            // The longest module prefix that is a file.
            let target = (0..=path.len())
                .rev()
                .find_map(|n| by_module.get(&path[..n]));
            let Some(target) = target else { continue };
            // Paths into the crate root's facade are not imports.
            if target == name || by_module.get(&Vec::new()) == Some(target) {
                continue;
            }
            edges.insert(target.clone());
        }
    }
    graph
}

/// The circles of `graph`: each strongly connected group of two or more files.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let reaches = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(node) = todo.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|k| (k, reaches(k))).collect();
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for node in graph.keys() {
        if groups.iter().any(|g| g.contains(node)) {
            continue;
        }
        let group: BTreeSet<String> = graph
            .keys()
            .filter(|other| {
                *other == node || (reach[node].contains(*other) && reach[*other].contains(node))
            })
            .cloned()
            .collect();
        if group.len() > 1 {
            groups.push(group);
        }
    }
    groups
}

#[test]
fn no_file_of_the_library_imports_a_file_that_imports_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.retain(|f| !f.starts_with(root.join("bin")));
    let graph = import_graph(&root, &files);
    assert!(graph.len() > 30, "{} files", graph.len());
    // The checker sees real imports: the messaging client's.
    assert!(
        graph["messaging/conversation.rs"].contains("messaging/client.rs"),
        "{graph:?}"
    );
    let found = circles(&graph);
    let edges: Vec<String> = found
        .iter()
        .flat_map(|group| {
            group.iter().flat_map(|from| {
                graph[from]
                    .iter()
                    .filter(|to| group.contains(*to))
                    .map(move |to| format!("{from} -> {to}"))
            })
        })
        .collect();
    assert!(
        found.is_empty(),
        "import circles between files of src/ (the edges within each): {edges:#?}"
    );
}

#[test]
fn no_file_of_the_ccs_binary_imports_a_file_that_imports_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin/ccs");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let graph = import_graph(&root, &files);
    assert!(graph.len() > 5, "{} files", graph.len());
    let found = circles(&graph);
    assert!(
        found.is_empty(),
        "import circles between files of src/bin/ccs/: {found:#?}"
    );
}

/// The checker finds a circle where there is one.
#[test]
fn a_circle_is_found() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a.rs", vec!["b.rs"]),
        ("b.rs", vec!["c.rs"]),
        ("c.rs", vec!["a.rs"]),
        ("d.rs", vec!["a.rs"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    let found = circles(&graph);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].len(), 3);
    let code = "use super::{a::X, b::{c::Y, Z}};\nlet x = crate::m::f(); // crate::n\n\"crate::o\"";
    let paths = named_paths(
        &Source {
            module: vec!["p".into(), "q".into()],
            text: code.to_owned(),
        },
        &BTreeSet::new(),
    );
    assert_eq!(
        paths,
        [
            vec!["p", "a", "X"],
            vec!["p", "b", "c", "Y"],
            vec!["p", "b", "Z"],
            vec!["m", "f"],
        ]
        .map(|p| p.into_iter().map(str::to_owned).collect::<Vec<_>>())
    );
}
