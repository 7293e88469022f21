//! `ccs import`: a JSON Lines export ([`crate::format`]) checked line by
//! line, then written. The writer ([`write_lines`]) is also `copy`'s, and
//! [`import_file`] is `serve --import`'s.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use futures::stream::FuturesUnordered;
use futures::{Stream, StreamExt};
use indicatif::ProgressBar;

use crate::Failure;
use crate::args::Conn;
use crate::format::{self, Line, SessionLine, Target};
use crate::interrupt::{self, or_interrupted};
use crate::progress::{count, progress, rate};
use crate::store::{Store, V2_MAX_TTL_SECONDS};

pub const EXAMPLES: &str = "\
Examples:
  ccs import backup.jsonl --dry-run          # check only
  ccs import backup.jsonl --concurrency 16
  LP_CCS_BASE_URL=http://127.0.0.1:8080 ccs import backup.jsonl

The whole file is read and checked before anything is written: every line
(names, reserved namespaces, 800,000 characters per session, values nested
at most 64 levels, the format version), each session after its namespace's
line, each namespace and session once, the header's account against
--account (--from-other-account takes another account's file), and the
trailer's counts and SHA-256 against the lines before it, so a cut, edited
or unfinished export is refused. A bad file is refused with line numbers
and nothing is written; only then is the file read again to write it (it
must not change meanwhile; standard input is spooled first). A version-1
file (no trailer) is still read, with a warning that it cannot be checked
for truncation. Writes merge, so running an interrupted import again
finishes it. Failed sessions are listed at the end, in line order; a
namespace that cannot be created holds back its sessions (exit status 1).";

/// Which API an import writes through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Api {
    /// v1: namespaces with TTLs, session TTLs, then the properties (PATCH).
    #[default]
    V1,
    /// v2: one document upsert per session (a TTL is required).
    V2,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The export to load (JSON Lines); `-` reads it from standard input
    /// (e.g. `ccs export | ccs import -`).
    file: PathBuf,
    #[command(flatten)]
    options: WriteArgs,
    /// Check the file and say what would be written; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Take a file whose header names another account than the one written
    /// to (a deliberate cross-account restore); without it such a file is
    /// refused.
    #[arg(long)]
    from_other_account: bool,
    #[command(flatten)]
    conn: Conn,
}

/// How lines are written; shared by import and copy.
#[derive(Args, Debug, Clone)]
pub struct WriteArgs {
    /// The API to write through.
    #[arg(long, value_enum, default_value_t = Api::V1)]
    api: Api,
    /// Sessions written at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// With --api v2: the TTL of a session that has none of its own or of its
    /// namespace (default: the longest v2 takes, 13 months).
    #[arg(long, value_name = "SECONDS")]
    v2_ttl: Option<u64>,
}

/// How an import writes.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    pub api: Api,
    pub concurrency: usize,
    pub dry_run: bool,
    pub v2_ttl: Option<u64>,
    /// Take a file whose header names another account.
    pub from_other_account: bool,
}

impl WriteArgs {
    pub fn options(&self, dry_run: bool) -> ImportOptions {
        ImportOptions {
            api: self.api,
            concurrency: usize::from(self.concurrency),
            dry_run,
            v2_ttl: self.v2_ttl,
            from_other_account: false,
        }
    }
}

fn target(api: Api) -> Target {
    match api {
        Api::V1 => Target::V1,
        Api::V2 => Target::V2,
    }
}

/// The account named in a file's header, if any.
pub fn header_account(path: &Path) -> Result<Option<String>, Failure> {
    let mut first = Vec::new();
    format::read_line(
        &mut BufReader::new(open(path)?),
        &mut first,
        format::MAX_LINE_BYTES,
    )?;
    let first = String::from_utf8_lossy(&first);
    Ok(match format::parse(&first) {
        Ok(Some(Line::Header(header))) => header.account,
        _ => None,
    })
}

fn open(path: &Path) -> Result<File, Failure> {
    File::open(path).map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))
}

/// What an import did.
#[derive(Default)]
pub struct Report {
    namespaces: u64,
    sessions: u64,
    properties: u64,
    skipped: u64,
    /// Line number, what, why.
    failures: Vec<(usize, String, String)>,
    /// The last line taken to be written.
    read_to: usize,
    /// Ctrl-C stopped the writing.
    interrupted: bool,
}

impl Report {
    /// Whether Ctrl-C stopped the writing.
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }
}

pub async fn import(args: ImportArgs) -> Result<ExitCode, Failure> {
    let store = args.conn.store()?;
    let mut options = args.options.options(args.dry_run);
    options.from_other_account = args.from_other_account;
    store.require(options.api == Api::V2)?;
    let ok = if args.file.as_os_str() == "-" {
        // Every line is checked before any is written, so the input is read
        // twice: standard input is kept in a private temporary file first.
        let spool = tokio::task::spawn_blocking(Spool::stdin)
            .await
            .map_err(|e| Failure::usage(format!("cannot read standard input: {e}")))??;
        if interrupt::interrupted() {
            // The spool is removed as it drops.
            eprintln!("interrupted (Ctrl-C) while reading standard input; nothing was written");
            return Ok(ExitCode::from(interrupt::EXIT_STATUS));
        }
        import_file(&store, spool.path(), "standard input", options).await
    } else {
        let name = args.file.display().to_string();
        import_file(&store, &args.file, &name, options).await
    };
    if interrupt::interrupted() {
        // The summary (or, while checking, the failure) says where it stopped.
        if let Err(failure) = ok {
            eprintln!("{}", failure.message);
        }
        return Ok(ExitCode::from(interrupt::EXIT_STATUS));
    }
    Ok(if ok? {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Standard input, copied into a temporary file only its owner can read;
/// removed when dropped.
struct Spool {
    path: PathBuf,
}

impl Spool {
    fn stdin() -> Result<Spool, Failure> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "ccs-import-{}-{}.jsonl",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        let mut file = open.open(&path).map_err(|e| {
            Failure::usage(format!(
                "cannot spool standard input to {}: {e}",
                path.display()
            ))
        })?;
        // From here on the file is removed however this ends.
        let spool = Spool { path };
        std::io::copy(&mut std::io::stdin().lock(), &mut file)
            .and_then(|_| std::io::Write::flush(&mut file))
            .map_err(|e| Failure::usage(format!("cannot read standard input: {e}")))?;
        Ok(spool)
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Checks every line of the file, then writes it. `Ok(false)` when some
/// sessions failed (each listed on stderr); `Err` when the file is refused.
/// `name` is how messages call the file.
pub async fn import_file(
    store: &Store,
    path: &Path,
    name: &str,
    options: ImportOptions,
) -> Result<bool, Failure> {
    let started = Instant::now();
    let target = target(options.api);
    // Pass 1: the whole file is read and checked (every line, the order, the
    // account, the trailer's counts and digest) and nothing is kept but
    // names and counts; nothing is written unless all of it passes. Only
    // then pass 2 reads it again, through the same open file, to write: its
    // content must not change in between (standard input is first spooled
    // to a private file).
    let account = (!options.from_other_account).then(|| store.account());
    let check = format::FileCheck::new(target, account);
    // One open file for both passes: a file renamed over the path meanwhile
    // (another export's atomic write) is not the one read the second time.
    let mut file = open(path)?;
    let checked = check
        .read(&mut BufReader::new(&file), interrupt::interrupted)
        .map_err(|(number, e)| {
            if e.kind() == std::io::ErrorKind::Interrupted {
                Failure::usage(format!(
                    "interrupted (Ctrl-C) while checking {name}, at line {number}; nothing was written"
                ))
            } else {
                Failure::usage(format!("{name}: line {number}: {e}"))
            }
        })?;
    if checked.problem_count > 0 {
        eprintln!(
            "{name}: {}:",
            count(checked.problem_count, "problem", "problems")
        );
        for (line, problem) in &checked.problems {
            eprintln!("  line {line}: {problem}");
        }
        if checked.problem_count > checked.problems.len() {
            eprintln!(
                "  ... and {} more",
                checked.problem_count - checked.problems.len()
            );
        }
        return Err(Failure::usage(format!(
            "{name} was refused; nothing was written. Fix the lines above (`ccs schema` prints the format)"
        )));
    }
    if checked.version == Some(1) {
        eprintln!(
            "warning: {name} is a version-1 export, which has no trailer: it cannot be checked for truncation (a cut file imports as a smaller one). `ccs export` now writes version 2."
        );
    }
    let format::Counts {
        namespaces,
        sessions,
        properties,
    } = checked.counts;
    if options.dry_run {
        eprintln!(
            "{name}: valid; would write {}, {}, {} through {} (nothing written: --dry-run)",
            count(namespaces, "namespace", "namespaces"),
            count(sessions, "session", "sessions"),
            count(properties, "property", "properties"),
            match options.api {
                Api::V1 => "v1",
                Api::V2 => "v2",
            }
        );
        return Ok(true);
    }
    // Pass 2: write, streaming the file again.
    std::io::Seek::rewind(&mut file)
        .map_err(|e| Failure::new(format!("cannot read {name} again: {e}")))?;
    let mut reader = BufReader::new(file);
    let mut number = 0usize;
    let mut stopped = false;
    let lines = futures::stream::iter(std::iter::from_fn(move || {
        if stopped {
            return None;
        }
        let mut bytes = Vec::new();
        match format::read_line(&mut reader, &mut bytes, format::MAX_LINE_BYTES) {
            Ok(format::Read::End) => None,
            Ok(format::Read::TooLong) => {
                // Pass 1 read every line whole: the file has changed since.
                stopped = true;
                Some((
                    number + 1,
                    Err("the line is over 8 MiB: the file changed since it was checked".into()),
                ))
            }
            Ok(format::Read::Line) => {
                number += 1;
                let line = std::str::from_utf8(&bytes)
                    .map_err(|e| format!("not UTF-8 text: {e}"))
                    .and_then(format::parse);
                Some((number, line))
            }
            Err(e) => {
                stopped = true;
                Some((number + 1, Err(format!("cannot read further: {e}"))))
            }
        }
    }));
    let bar = progress(Some(sessions), "");
    let report = write_lines(store, lines, &options, &bar, false).await;
    bar.finish_and_clear();
    Ok(summarize(name, name, &report, started.elapsed()))
}

/// Prints what was written and what failed, each failure with its line of
/// `source` (the file, or copy's source); `true` when nothing failed.
pub fn summarize(what: &str, source: &str, report: &Report, elapsed: Duration) -> bool {
    eprintln!(
        "{what}: {}, {} and {} written, {} skipped (nothing to write), {} failed, in {:.1} s ({} properties/s)",
        count(report.namespaces, "namespace", "namespaces"),
        count(report.sessions, "session", "sessions"),
        count(report.properties, "property", "properties"),
        count(report.skipped, "session", "sessions"),
        report.failures.len(),
        elapsed.as_secs_f64(),
        rate(report.properties, elapsed)
    );
    for (line, what, why) in &report.failures {
        eprintln!("  failed: line {line} of {source}: {what}: {why}");
    }
    if report.interrupted {
        eprintln!(
            "Interrupted (Ctrl-C) at line {} of {source}: the sessions being written then were abandoned and later lines not read. Running the same command again finishes the job: writes merge, so nothing is doubled.",
            report.read_to
        );
    } else if !report.failures.is_empty() {
        eprintln!(
            "Running the same command again retries them: writes merge, so nothing is doubled."
        );
    }
    report.failures.is_empty() && !report.interrupted
}

/// One session written, or why not.
enum Outcome {
    Written { properties: u64 },
    Skipped,
}

/// Writes lines in order: a namespace line waits for the sessions before it
/// and is written before those after it; sessions go `concurrency` at a time.
/// The sessions of a namespace that could not be created are not written
/// (each is listed as failed).
/// With `check`, each line is checked as it comes (for `copy`).
pub async fn write_lines(
    store: &Store,
    lines: impl Stream<Item = (usize, Result<Option<Line>, String>)>,
    options: &ImportOptions,
    bar: &ProgressBar,
    check: bool,
) -> Report {
    let mut report = Report::default();
    let done = or_interrupted(write_all(store, lines, options, bar, check, &mut report)).await;
    if done.is_none() {
        // The sessions in flight were dropped with `write_all`: their
        // requests were abandoned (a re-run writes them; writes merge).
        report.interrupted = true;
    }
    // Sessions finish in any order; the list reads in the file's (stable:
    // a line's own failures keep their order).
    report.failures.sort_by_key(|(number, _, _)| *number);
    report
}

async fn write_all(
    store: &Store,
    lines: impl Stream<Item = (usize, Result<Option<Line>, String>)>,
    options: &ImportOptions,
    bar: &ProgressBar,
    check: bool,
    report: &mut Report,
) {
    let target = target(options.api);
    let concurrency = options.concurrency.max(1);
    let mut namespace_ttls: HashMap<String, u64> = HashMap::new();
    // A namespace that could not be created holds back its sessions (each
    // listed as failed): written without it, they would miss its TTL and
    // outlive it. The value is the namespace's line.
    let mut failed_namespaces: HashMap<String, usize> = HashMap::new();
    let mut in_flight = FuturesUnordered::new();
    let mut lines = std::pin::pin!(lines);
    let mut first = true;
    let record =
        |report: &mut Report, number: usize, what: String, result: Result<Outcome, Failure>| {
            match result {
                Ok(Outcome::Written { properties }) => {
                    report.sessions += 1;
                    report.properties += properties;
                }
                Ok(Outcome::Skipped) => report.skipped += 1,
                Err(failure) => report.failures.push((number, what, failure.message)),
            }
        };
    while let Some((number, line)) = lines.next().await {
        report.read_to = number;
        let line = match line {
            Ok(Some(line)) => line,
            Ok(None) => continue,
            Err(problem) => {
                report.failures.push((number, "line".into(), problem));
                continue;
            }
        };
        if check {
            let problems = format::check(&line, first, target);
            if !problems.is_empty() {
                report
                    .failures
                    .push((number, describe(&line), problems.join("; ")));
                first = false;
                continue;
            }
        }
        first = false;
        match line {
            Line::Header(_) | Line::Trailer(_) => {}
            Line::Namespace(ns) => {
                // Sessions before it are done first, so TTLs apply in file order.
                while let Some((number, what, result)) = in_flight.next().await {
                    record(report, number, what, result);
                    bar.inc(1);
                }
                if let Some(ttl) = ns.ttl_seconds {
                    namespace_ttls.insert(ns.name.clone(), ttl);
                }
                if options.api == Api::V1 {
                    match store.create_namespace(&ns.name, ns.ttl_seconds).await {
                        Ok(()) => {
                            report.namespaces += 1;
                            failed_namespaces.remove(&ns.name);
                        }
                        Err(failure) => {
                            failed_namespaces.insert(ns.name.clone(), number);
                            report.failures.push((
                                number,
                                format!("namespace {}", ns.name),
                                failure.message,
                            ));
                        }
                    }
                }
            }
            Line::Session(session) => {
                if let Some(at) = failed_namespaces.get(&session.namespace) {
                    report.failures.push((
                        number,
                        format!("{}/{}", session.namespace, session.session),
                        format!(
                            "held back: its namespace could not be created (line {at}), and written without it the session would not get the namespace's TTL"
                        ),
                    ));
                    bar.inc(1);
                    continue;
                }
                if in_flight.len() >= concurrency
                    && let Some((number, what, result)) = in_flight.next().await
                {
                    record(report, number, what, result);
                    bar.inc(1);
                }
                let ns_ttl = namespace_ttls.get(&session.namespace).copied();
                let what = format!("{}/{}", session.namespace, session.session);
                in_flight.push(async move {
                    let result = write_session(store, session, options, ns_ttl).await;
                    (number, what, result)
                });
            }
        }
    }
    while let Some((number, what, result)) = in_flight.next().await {
        record(report, number, what, result);
        bar.inc(1);
    }
}

fn describe(line: &Line) -> String {
    match line {
        Line::Header(_) => "header".into(),
        Line::Trailer(_) => "trailer".into(),
        Line::Namespace(ns) => format!("namespace {}", ns.name),
        Line::Session(s) => format!("{}/{}", s.namespace, s.session),
    }
}

async fn write_session(
    store: &Store,
    session: SessionLine,
    options: &ImportOptions,
    namespace_ttl: Option<u64>,
) -> Result<Outcome, Failure> {
    let SessionLine {
        namespace,
        session,
        properties,
        ttl_seconds,
    } = session;
    match options.api {
        Api::V1 => {
            if properties.is_empty() && ttl_seconds.is_none() {
                return Ok(Outcome::Skipped);
            }
            // The TTL first: it applies to the writes after it.
            if let Some(ttl) = ttl_seconds {
                store.set_session_ttl(&namespace, &session, ttl).await?;
            }
            if !properties.is_empty() {
                store.set(&namespace, &session, &properties).await?;
            }
        }
        Api::V2 => {
            if properties.is_empty() {
                return Ok(Outcome::Skipped);
            }
            let ttl = ttl_seconds
                .filter(|t| *t > 0)
                .or(namespace_ttl.filter(|t| *t > 0))
                .or(options.v2_ttl)
                .unwrap_or(V2_MAX_TTL_SECONDS)
                .clamp(1, V2_MAX_TTL_SECONDS);
            store
                .doc_upsert(&namespace, &session, &properties, ttl)
                .await?;
        }
    }
    Ok(Outcome::Written {
        properties: properties.len() as u64,
    })
}
