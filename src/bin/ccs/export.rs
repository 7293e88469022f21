//! `ccs export`: an account as JSON Lines ([`crate::format`]), streamed page
//! by page. [`export_lines`] is also `copy`'s reading side, and
//! [`export_file_atomically`] is `serve --export-on-exit`'s.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use futures::StreamExt;
use indicatif::ProgressBar;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::Failure;
use crate::args::Conn;
use crate::format::{self, Header, Line, NamespaceLine, SessionLine, Target, Trailer};
use crate::interrupt::{self, or_interrupted};
use crate::progress::{count, progress, rate};
use crate::store::Store;

pub const EXAMPLES: &str = "\
Examples:
  ccs export --output backup.jsonl
  ccs export --namespace orders --namespace bots | gzip > backup.jsonl.gz

Lines: a header (format version 2, the account), then per namespace its line
and one line per session (namespace, session, properties, ttl_seconds where
set), then a trailer: the counts of namespaces, sessions and properties and
the SHA-256 of every byte before it. The trailer is written last, only when
the export finished: `ccs import` refuses a file without it, so a failed or
interrupted export (even through a pipe) cannot be restored as if whole.
`ccs schema` prints the JSON Schema. Reads page by page: memory stays
bounded.";

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Only this namespace (repeatable; default: every namespace).
    #[arg(long = "namespace", value_name = "NS")]
    namespaces: Vec<String>,
    /// Write to this file (through a temporary file, renamed when complete)
    /// instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Sessions per request (1 to 1000).
    #[arg(long, default_value_t = 1000)]
    page_size: u32,
    #[command(flatten)]
    conn: Conn,
}

/// Where export lines go: a writer (with the digest of what it wrote, for
/// the trailer), or a channel to an import.
pub enum Sink<'a> {
    Write {
        out: &'a mut dyn Write,
        digest: Sha256,
        line: Vec<u8>,
    },
    Channel(mpsc::Sender<Line>),
}

impl<'a> Sink<'a> {
    /// Lines written as JSON Lines into `out`.
    pub fn write(out: &'a mut dyn Write) -> Sink<'a> {
        Sink::Write {
            out,
            digest: Sha256::new(),
            line: Vec::new(),
        }
    }

    async fn put(&mut self, line: Line) -> Result<(), Failure> {
        match self {
            Sink::Write {
                out,
                digest,
                line: buffer,
            } => {
                buffer.clear();
                serde_json::to_writer(&mut *buffer, &line)
                    .map_err(|e| Failure::new(format!("cannot write: {e}")))?;
                buffer.push(b'\n');
                digest.update(&buffer[..]);
                out.write_all(buffer)?;
                Ok(())
            }
            Sink::Channel(tx) => tx
                .send(line)
                .await
                .map_err(|_| Failure::new("the import side stopped")),
        }
    }

    /// The trailer, once every other line is written: into a file only (a
    /// channel's reader sees the lines end, or the export fail).
    async fn finish(&mut self, counts: &ExportCounts) -> Result<(), Failure> {
        let Sink::Write { digest, .. } = self else {
            return Ok(());
        };
        let trailer = Trailer {
            namespaces: counts.namespaces,
            sessions: counts.sessions,
            properties: counts.properties,
            sha256: format::sha256_hex(digest),
        };
        self.put(Line::Trailer(trailer)).await
    }
}

/// What an export wrote.
#[derive(Default)]
pub struct ExportCounts {
    namespaces: u64,
    sessions: u64,
    properties: u64,
}

/// The header, then per namespace its line and its sessions, then (into a
/// file) the trailer, into `sink`; `counts` says what was written, also
/// when the export fails or is interrupted.
pub async fn export_lines(
    store: &Store,
    only: &[String],
    page_size: u32,
    sink: &mut Sink<'_>,
    bar: &ProgressBar,
    counts: &mut ExportCounts,
) -> Result<(), Failure> {
    sink.put(Line::Header(Header::new(store.account()))).await?;
    let listed = store.namespaces().await?;
    let mut chosen: Vec<NamespaceLine> = Vec::new();
    if only.is_empty() {
        for ns in listed {
            if format::check(
                &Line::Namespace(NamespaceLine {
                    name: ns.name.clone(),
                    ttl_seconds: None,
                }),
                false,
                Target::V1,
            )
            .is_empty()
            {
                chosen.push(NamespaceLine {
                    name: ns.name,
                    ttl_seconds: ns.ttl_seconds,
                });
            } else {
                bar.suspend(|| {
                    eprintln!(
                        "warning: skipping namespace {:?}: it cannot be written back (reserved or invalid name)",
                        ns.name
                    );
                });
            }
        }
    } else {
        for name in only {
            crate::store::rules::namespace(name).map_err(Failure::usage)?;
            let ttl = listed
                .iter()
                .find(|n| &n.name == name)
                .map(|n| n.ttl_seconds);
            if ttl.is_none() {
                bar.suspend(|| eprintln!("warning: namespace {name:?} is not listed by the account; exporting its sessions anyway"));
            }
            chosen.push(NamespaceLine {
                name: name.clone(),
                ttl_seconds: ttl.flatten(),
            });
        }
    }
    for ns in chosen {
        let name = ns.name.clone();
        sink.put(Line::Namespace(ns)).await?;
        counts.namespaces += 1;
        // Only the sessions that have a TTL: the service lists them in one answer.
        let ttls: HashMap<String, u64> = store.session_ttls(&name).await?.into_iter().collect();
        let mut sessions = std::pin::pin!(store.sessions(&name, page_size)?);
        while let Some(entry) = sessions.next().await {
            let (session, properties) = entry?;
            counts.sessions += 1;
            counts.properties += properties.len() as u64;
            let ttl_seconds = ttls.get(&session).copied();
            sink.put(Line::Session(SessionLine {
                namespace: name.clone(),
                session,
                properties,
                ttl_seconds,
            }))
            .await?;
            bar.inc(1);
        }
    }
    // Only now, with everything read: a failed export has no trailer, so
    // its file is refused by `ccs import`.
    sink.finish(counts).await?;
    Ok(())
}

pub async fn export(args: ExportArgs) -> Result<ExitCode, Failure> {
    let store = args.conn.store()?;
    store.require(false)?;
    let started = Instant::now();
    let bar = progress(None, "exported");
    let mut counts = ExportCounts::default();
    // `None`: interrupted (Ctrl-C); the export's future is dropped then, and
    // with it an unfinished output file's temporary file.
    let done = match &args.output {
        Some(path) => {
            let mut file = AtomicFile::create(path)?;
            let done = match file.writer() {
                Some(out) => {
                    let mut sink = Sink::write(out);
                    or_interrupted(export_lines(
                        &store,
                        &args.namespaces,
                        args.page_size,
                        &mut sink,
                        &bar,
                        &mut counts,
                    ))
                    .await
                }
                None => Some(Ok(())),
            };
            match done {
                Some(Ok(())) => {
                    file.commit()?;
                    Some(Ok(()))
                }
                // Dropped uncommitted: the temporary file is removed.
                other => other,
            }
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = BufWriter::with_capacity(256 * 1024, stdout.lock());
            let done = {
                let mut sink = Sink::write(&mut out);
                or_interrupted(export_lines(
                    &store,
                    &args.namespaces,
                    args.page_size,
                    &mut sink,
                    &bar,
                    &mut counts,
                ))
                .await
            };
            out.flush()?;
            done
        }
    };
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let summary = format!(
        "{}, {}, {} in {:.1} s ({} properties/s)",
        count(counts.namespaces, "namespace", "namespaces"),
        count(counts.sessions, "session", "sessions"),
        count(counts.properties, "property", "properties"),
        elapsed.as_secs_f64(),
        rate(counts.properties, elapsed)
    );
    match done {
        Some(result) => {
            result?;
            eprintln!("exported {summary}");
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let output = match &args.output {
                Some(path) => format!(
                    "{} was not written (its temporary file was removed)",
                    path.display()
                ),
                None => "the output ends without its trailer, so `ccs import` refuses it".into(),
            };
            eprintln!("interrupted (Ctrl-C) after exporting {summary}; {output}");
            Ok(ExitCode::from(interrupt::EXIT_STATUS))
        }
    }
}

/// A file written through a temporary file beside it, synced, then renamed
/// over it: a crash mid-write never leaves a truncated file. Dropped without
/// [`commit`](AtomicFile::commit), the temporary file is removed.
pub struct AtomicFile {
    path: PathBuf,
    temp: PathBuf,
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<AtomicFile, Failure> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| Failure::usage(format!("{} is not a file name", path.display())))?;
        let temp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&temp)
            .map_err(|e| Failure::new(format!("cannot create {}: {e}", temp.display())))?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            temp,
            out: Some(BufWriter::with_capacity(256 * 1024, file)),
        })
    }

    /// The writer; `None` once committed.
    pub fn writer(&mut self) -> Option<&mut BufWriter<File>> {
        self.out.as_mut()
    }

    pub fn commit(mut self) -> Result<(), Failure> {
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        let file = out.into_inner().map_err(|e| {
            Failure::new(format!(
                "cannot write {}: {}",
                self.temp.display(),
                e.error()
            ))
        })?;
        file.sync_all()?;
        std::fs::rename(&self.temp, &self.path).map_err(|e| {
            Failure::new(format!(
                "cannot rename {} to {}: {e}",
                self.temp.display(),
                self.path.display()
            ))
        })
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// `ccs serve --export-on-exit`: the whole account into `path`.
pub async fn export_file_atomically(store: &Store, path: &Path) -> Result<(), Failure> {
    let mut file = AtomicFile::create(path)?;
    if let Some(out) = file.writer() {
        let mut sink = Sink::write(out);
        let mut counts = ExportCounts::default();
        export_lines(
            store,
            &[],
            1000,
            &mut sink,
            &ProgressBar::hidden(),
            &mut counts,
        )
        .await?;
    }
    file.commit()
}
