//! Inspect and edit: namespaces, sessions, properties, v2 documents.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use futures::StreamExt;
use liveperson_ccs::v1::{RawProperties, RawValue};
use serde_json::{Value, json};

use crate::Failure;
use crate::args::{Conn, Output};
use crate::progress::count;
use crate::store::Store;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the account's namespaces with their TTLs.
    #[command(after_help = "Example:\n  ccs namespaces --json | jq -r '.[].name'")]
    Namespaces {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        output: Output,
    },
    /// Create or delete a namespace, or set its TTL.
    #[command(
        after_help = "Examples:\n  ccs namespace create orders --ttl 3600\n  ccs namespace ttl orders 0\n  ccs namespace delete orders"
    )]
    Namespace {
        #[command(subcommand)]
        action: NamespaceAction,
    },
    /// List every session id of a namespace (page after page).
    #[command(after_help = "Example:\n  ccs sessions orders --json | jq length")]
    Sessions {
        /// The namespace.
        namespace: String,
        /// Sessions per request (1 to 1000).
        #[arg(long, default_value_t = 1000)]
        page_size: u32,
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        output: Output,
    },
    /// Show a session's properties: all of them, or the named ones.
    #[command(
        after_help = "Examples:\n  ccs get orders s1\n  ccs get orders s1 intent tier --json\n  ccs get orders __default__   # the namespace-level properties"
    )]
    Get {
        /// The namespace.
        namespace: String,
        /// The session id (`__default__`: the namespace level).
        session: String,
        /// Property names (default: all).
        properties: Vec<String>,
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        output: Output,
    },
    /// Set properties of a session: NAME=JSON (text that is not JSON is taken as a string).
    #[command(
        after_help = "Examples:\n  ccs set orders s1 intent=billing confidence=0.92 'orders=[1,2,3]'\n  ccs set orders s1 'note=\"42\"'   # the string \"42\", not a number\n  ccs set orders s1 intent=billing --ttl 600"
    )]
    Set {
        /// The namespace.
        namespace: String,
        /// The session id.
        session: String,
        /// NAME=JSON pairs (split at the first '=').
        #[arg(required = true, value_name = "NAME=JSON")]
        assignments: Vec<String>,
        /// Set the session's TTL in seconds first (it applies to this and later writes).
        #[arg(long, value_name = "SECONDS")]
        ttl: Option<u64>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Delete the named properties of a session, or all of them.
    #[command(
        after_help = "Examples:\n  ccs delete orders s1 intent\n  ccs delete orders s1          # every property of s1"
    )]
    Delete {
        /// The namespace.
        namespace: String,
        /// The session id.
        session: String,
        /// Property names (default: all).
        properties: Vec<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// CCS v2 documents: get, upsert, delete.
    #[command(
        after_help = "Examples:\n  ccs doc upsert orders s1 property1=100 --ttl 3600\n  ccs doc get orders s1\n  ccs doc delete orders s1 property1\n\nThe session `__default__` is the namespace's document."
    )]
    Doc {
        #[command(subcommand)]
        action: DocAction,
    },
}

#[derive(Subcommand, Debug)]
pub enum NamespaceAction {
    /// Create a namespace (with a TTL in seconds, if given).
    Create {
        namespace: String,
        #[arg(long, value_name = "SECONDS")]
        ttl: Option<u64>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Delete a namespace with all its data.
    Delete {
        namespace: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Set a namespace's TTL in seconds (0: none); it applies to later writes.
    Ttl {
        namespace: String,
        seconds: u64,
        #[command(flatten)]
        conn: Conn,
    },
}

#[derive(Subcommand, Debug)]
pub enum DocAction {
    /// Show a document (`__default__`: the namespace's).
    Get {
        namespace: String,
        session: String,
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        output: Output,
    },
    /// Upsert NAME=JSON properties; the whole document then expires after --ttl.
    Upsert {
        namespace: String,
        session: String,
        #[arg(required = true, value_name = "NAME=JSON")]
        assignments: Vec<String>,
        /// Seconds until the document expires (1 to 34214400).
        #[arg(long, value_name = "SECONDS")]
        ttl: u64,
        #[command(flatten)]
        conn: Conn,
    },
    /// Delete the named properties, or the whole document.
    Delete {
        namespace: String,
        session: String,
        properties: Vec<String>,
        #[command(flatten)]
        conn: Conn,
    },
}

/// `NAME=JSON` pairs as a map; a value that is not JSON is a string. A JSON
/// value is kept as written (`1.10` stays `1.10`), without the whitespace
/// around it.
pub fn assignments(pairs: &[String]) -> Result<RawProperties, Failure> {
    let mut map = RawProperties::new();
    for pair in pairs {
        let Some((name, text)) = pair.split_once('=') else {
            return Err(Failure::usage(format!(
                "{pair:?} is not NAME=JSON (e.g. intent=billing or 'orders=[1,2]')"
            )));
        };
        let value = match RawValue::from_string(text.trim().to_owned()) {
            Ok(json) => json,
            Err(_) => serde_json::value::to_raw_value(text)
                .map_err(|e| Failure::usage(format!("{name}: {e}")))?,
        };
        map.insert(name.to_owned(), value);
    }
    Ok(map)
}

pub async fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Namespaces { conn, output } => {
            let store = conn.store()?;
            let list = store.namespaces().await?;
            if output.json() {
                let list: Vec<Value> = list
                    .iter()
                    .map(|n| json!({"name": n.name, "ttl_seconds": n.ttl_seconds, "created_at": n.created_at}))
                    .collect();
                print_json(&Value::Array(list))?;
            } else {
                let rows = list
                    .into_iter()
                    .map(|n| {
                        vec![
                            n.name,
                            n.ttl_seconds.map_or("-".into(), |t| format!("{t}s")),
                            n.created_at,
                        ]
                    })
                    .collect();
                print_table(&["NAMESPACE", "TTL", "CREATED"], rows)?;
            }
        }
        Command::Namespace { action } => match action {
            NamespaceAction::Create {
                namespace,
                ttl,
                conn,
            } => {
                conn.store()?.create_namespace(&namespace, ttl).await?;
                eprintln!("created namespace {namespace}");
            }
            NamespaceAction::Delete { namespace, conn } => {
                conn.store()?.delete_namespace(&namespace).await?;
                eprintln!("deleted namespace {namespace}");
            }
            NamespaceAction::Ttl {
                namespace,
                seconds,
                conn,
            } => {
                conn.store()?
                    .create_namespace(&namespace, Some(seconds))
                    .await?;
                eprintln!("namespace {namespace}: TTL {seconds}s for later writes");
            }
        },
        Command::Sessions {
            namespace,
            page_size,
            conn,
            output,
        } => sessions(&conn.store()?, &namespace, page_size, output.json()).await?,
        Command::Get {
            namespace,
            session,
            properties,
            conn,
            output,
        } => {
            let found = conn.store()?.get(&namespace, &session, &properties).await?;
            print_properties(found, output.json())?;
        }
        Command::Set {
            namespace,
            session,
            assignments: pairs,
            ttl,
            conn,
        } => {
            let properties = assignments(&pairs)?;
            let store = conn.store()?;
            if let Some(ttl) = ttl {
                store.set_session_ttl(&namespace, &session, ttl).await?;
            }
            store.set(&namespace, &session, &properties).await?;
            eprintln!(
                "set {} of {namespace}/{session}",
                count(properties.len(), "property", "properties")
            );
        }
        Command::Delete {
            namespace,
            session,
            properties,
            conn,
        } => {
            conn.store()?
                .delete(&namespace, &session, &properties)
                .await?;
            if properties.is_empty() {
                eprintln!("deleted every property of {namespace}/{session}");
            } else {
                eprintln!(
                    "deleted {} of {namespace}/{session}",
                    count(properties.len(), "property", "properties")
                );
            }
        }
        Command::Doc { action } => doc(action).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn doc(action: DocAction) -> Result<(), Failure> {
    match action {
        DocAction::Get {
            namespace,
            session,
            conn,
            output,
        } => match conn.store()?.doc_get(&namespace, &session).await? {
            Some(doc) => {
                if output.json() {
                    /// The document as printed, its values as the service holds them.
                    #[derive(serde::Serialize)]
                    struct Shown<'a> {
                        payload: &'a RawProperties,
                        expires_at: &'a Option<String>,
                    }
                    print_json(&Shown {
                        payload: &doc.payload,
                        expires_at: &doc.expires_at,
                    })?;
                } else {
                    if let Some(at) = &doc.expires_at {
                        println!("expires at {at}");
                    }
                    print_properties(doc.payload, false)?;
                }
            }
            None => {
                return Err(Failure::new(format!(
                    "no document {namespace}/{session} (it does not exist or has expired)"
                )));
            }
        },
        DocAction::Upsert {
            namespace,
            session,
            assignments: pairs,
            ttl,
            conn,
        } => {
            let payload = assignments(&pairs)?;
            conn.store()?
                .doc_upsert(&namespace, &session, &payload, ttl)
                .await?;
            eprintln!(
                "upserted {} into {namespace}/{session}",
                count(payload.len(), "property", "properties")
            );
        }
        DocAction::Delete {
            namespace,
            session,
            properties,
            conn,
        } => {
            conn.store()?
                .doc_delete(&namespace, &session, &properties)
                .await?;
            eprintln!("deleted from {namespace}/{session}");
        }
    }
    Ok(())
}

async fn sessions(
    store: &Store,
    namespace: &str,
    page_size: u32,
    json: bool,
) -> Result<(), Failure> {
    let mut ids = std::pin::pin!(store.session_ids(namespace, page_size)?);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // A JSON array written as it comes: a namespace of a million sessions is
    // never held in memory.
    if json {
        out.write_all(b"[")?;
    }
    let mut first = true;
    while let Some(id) = ids.next().await {
        let id = id?;
        if json {
            out.write_all(if first { b"\n  " } else { b",\n  " })?;
            serde_json::to_writer(&mut out, &id).map_err(|e| Failure::new(e.to_string()))?;
        } else {
            writeln!(out, "{id}")?;
        }
        first = false;
    }
    if json {
        out.write_all(if first { b"]\n" } else { b"\n]\n" })?;
    }
    out.flush()?;
    Ok(())
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).map_err(|e| Failure::new(e.to_string()))?;
    writeln!(out)?;
    Ok(())
}

fn print_properties(properties: RawProperties, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(&properties);
    }
    let rows = properties
        .into_iter()
        .map(|(name, value)| vec![name, value.get().to_owned()])
        .collect();
    print_table(&["PROPERTY", "VALUE"], rows)
}

/// Columns padded to their widest cell; the last column is not padded.
pub fn print_table(headers: &[&str], rows: Vec<Vec<String>>) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(table(headers, &rows).as_bytes())?;
    Ok(())
}

fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let mut text = String::new();
    let header_row: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header_row).chain(rows) {
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            text.push_str(cell);
            if i < last {
                let pad = widths.get(i).copied().unwrap_or(0) - cell.chars().count() + 2;
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_take_json_or_text() {
        let map = assignments(&[
            "a=1".into(),
            "b=billing".into(),
            "c=\"42\"".into(),
            "d=[1, 2]".into(),
            "e=x=y".into(),
            "f=".into(),
            "g= 1.10 ".into(),
            "h=123456789012345678901234".into(),
        ])
        .unwrap();
        let text = |name: &str| map[name].get().to_owned();
        assert_eq!(text("a"), "1");
        assert_eq!(text("b"), r#""billing""#);
        assert_eq!(text("c"), r#""42""#);
        assert_eq!(text("d"), "[1, 2]");
        assert_eq!(text("e"), r#""x=y""#);
        assert_eq!(text("f"), r#""""#);
        assert_eq!(text("g"), "1.10");
        assert_eq!(text("h"), "123456789012345678901234");
        let error = assignments(&["novalue".into()]).unwrap_err();
        assert!(error.usage && error.message.contains("NAME=JSON"));
    }

    #[test]
    fn tables_align_columns() {
        let text = table(
            &["NAME", "TTL"],
            &[
                vec!["orders".into(), "60s".into()],
                vec!["é".into(), "-".into()],
            ],
        );
        assert_eq!(text, "NAME    TTL\norders  60s\né       -\n");
    }
}
