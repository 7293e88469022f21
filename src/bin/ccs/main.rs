//! `ccs`: command-line tools for LivePerson's Conversation Context Service.
//!
//! `ccs serve` runs the emulator of CCS v1, v2 and the Messaging CONVERSATION
//! endpoint. Its first line on stdout is `listening on http://ADDR`; logs go to
//! stderr and never show credentials. `RUST_LOG` filters them with
//! comma-separated `target=level` directives (`debug`,
//! `info,ccs_emulator=debug` for a line per request the emulator answers);
//! the default is `info`.
//!
//! The other subcommands inspect and edit context data (`namespaces`, `get`,
//! `set`, ...), and export, import and copy it as JSON Lines ([`format`](mod@format)).
//! Every call into the crate's layer is in [`store`].
//!
//! DESIGN: one file for each command that moves data (`serve`, `export`,
//! `import`, `copy`), one for the small commands that read or edit, and one
//! for each thing several commands share. Each file uses only files below it
//! in this table (and [`Failure`], which every file takes from `main.rs`):
//!
//! | file | holds | uses |
//! | --- | --- | --- |
//! | `main.rs` | the [`Cli`] and its [`Command`] enum, dispatch, [`Failure`] and its exit status (1 failed, 2 bad input or usage), the `RUST_LOG` filter | every command's file, `format` (`ccs schema`) |
//! | `serve.rs` | `ccs serve`: the emulator, `--import` at start, `--export-on-exit` at the end | `store`, `import`, `export` |
//! | `copy.rs` | `ccs copy`: `export_lines` on one connection into `write_lines` on another through a channel; its `--from-*`/`--to-*` flags | `args`, `export`, `import`, `format`, `interrupt`, `progress`, `store` |
//! | `inspect.rs` | the commands that read or edit one thing at a time: `namespaces`, `namespace`, `sessions`, `get`, `set`, `delete`, `doc`; the table and JSON printing and `NAME=JSON` parsing they share | `args`, `store` |
//! | `export.rs` | `ccs export`: [`export_lines`](export::export_lines) (also `copy`'s reading side) and the file written atomically (also `serve`'s) | `args`, `format`, `interrupt`, `progress`, `store` |
//! | `import.rs` | `ccs import`: the whole file checked, then [`write_lines`](import::write_lines) (also `copy`'s writing side); standard input spooled; `--api`, `--concurrency`, `--v2-ttl` (also `copy`'s) | `args`, `format`, `interrupt`, `progress`, `store` |
//! | `args.rs` | what every data command takes: [`Conn`](args::Conn) (account, region, base URL, credentials, attempts, each flag falling back to its environment variable) and [`Output`](args::Output) (`--json`) | `store` |
//! | `format.rs` | the export format's lines: types, [`parse`](format::parse), [`check`](format::check), [`FileCheck`](format::FileCheck) (a whole file: order, account, the trailer's counts and digest), the JSON Schema (`ccs schema`) | `store` (name rules) |
//! | `progress.rs` | the progress bar and rate on stderr of export, import and copy | (indicatif only) |
//! | `interrupt.rs` | Ctrl-C for export, import and copy: noted, so each stops with a summary and no temporary file left (exit status 130) | (tokio only) |
//! | `store.rs` | every call into the library: [`Store`](store::Store), the name rules, the library's errors as [`Failure`]s | (the library only) |
//!
//! The small commands share one file because each is a call or two into
//! `store` and a print, and they share the printing and the `NAME=JSON`
//! parsing: seven small files would scatter those. `ccs schema` is one line
//! of dispatch here.

mod args;
mod copy;
mod export;
mod format;
mod import;
mod inspect;
mod interrupt;
mod progress;
mod serve;
mod store;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

const EXAMPLES: &str = "\
Examples:
  export LP_ACCOUNT_ID=le12345678 LP_CCS_API_KEY=...   # the key stays out of shell history
  ccs namespaces
  ccs get myNamespace mySession
  ccs set myNamespace mySession intent=billing 'orders=[1,2]'
  ccs export --output backup.jsonl
  ccs import backup.jsonl --concurrency 16
  ccs serve --addr 127.0.0.1:8080 --import backup.jsonl --export-on-exit backup.jsonl

Connection (every data command): --account/LP_ACCOUNT_ID, --region/LP_REGION,
--base-url/LP_CCS_BASE_URL, --api-key/LP_CCS_API_KEY (v1),
--access-token/LP_CCS_ACCESS_TOKEN (v2). Exit status: 0 done, 1 failed, 2 bad
input or usage, 130 interrupted (export, import and copy stop at Ctrl-C with a
summary and remove their temporary files).";

#[derive(Parser)]
#[command(
    name = "ccs",
    version,
    about = "LivePerson Conversation Context Service tools: inspect, edit, export, import and copy context data, or serve an emulator",
    after_help = EXAMPLES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the CCS v1/v2 and Messaging emulator until Ctrl-C or SIGTERM.
    #[command(after_help = serve::EXAMPLES)]
    Serve(serve::ServeArgs),
    #[command(flatten)]
    Inspect(inspect::Command),
    /// Write namespaces and sessions as JSON Lines (to stdout or --output).
    #[command(after_help = export::EXAMPLES)]
    Export(export::ExportArgs),
    /// Write a JSON Lines export into an account, after checking every line.
    #[command(after_help = import::EXAMPLES)]
    Import(import::ImportArgs),
    /// Stream an export from one connection into another, without a file.
    #[command(after_help = copy::EXAMPLES)]
    Copy(copy::CopyArgs),
    /// Print the JSON Schema of the export format's lines.
    #[command(after_help = "Example:\n  ccs schema > ccs-export.schema.json")]
    Schema,
}

/// Why a command failed; `usage` for bad input (exit status 2).
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub usage: bool,
}

impl Failure {
    /// A failure of the operation (exit status 1).
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            usage: false,
        }
    }

    /// Bad input or usage (exit status 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            usage: true,
        }
    }

    fn exit_code(&self) -> ExitCode {
        ExitCode::from(if self.usage { 2 } else { 1 })
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Failure {
        Failure::new(error.to_string())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let (filter, bad_filter) = log_filter(std::env::var("RUST_LOG").ok());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal()),
        )
        .with(filter)
        .init();
    if let Some(error) = bad_filter {
        tracing::warn!(%error, "RUST_LOG is not a list of target=level directives; logging at info");
    }
    let result = match cli.command {
        Command::Serve(args) => return serve::serve(args).await,
        Command::Inspect(command) => inspect::run(command).await,
        Command::Export(args) => {
            interrupt::listen();
            export::export(args).await
        }
        Command::Import(args) => {
            interrupt::listen();
            import::import(args).await
        }
        Command::Copy(args) => {
            interrupt::listen();
            copy::copy(args).await
        }
        Command::Schema => {
            print!("{}", format::schema_json());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            failure.exit_code()
        }
    }
}

/// The log filter from `RUST_LOG` (`info` when unset or empty), and why the
/// variable was ignored if it does not parse.
///
/// `Targets` rather than `EnvFilter`: the same `target=level` directives
/// without span filters, and without the regex engine in the build.
fn log_filter(rust_log: Option<String>) -> (Targets, Option<String>) {
    let default = || Targets::new().with_default(LevelFilter::INFO);
    match rust_log.as_deref().map(str::trim) {
        None | Some("") => (default(), None),
        Some(spec) => match spec.parse::<Targets>() {
            Ok(targets) => (targets, None),
            Err(error) => (default(), Some(error.to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn log_filter_reads_rust_log() {
        let (targets, error) = log_filter(None);
        assert!(error.is_none());
        assert!(targets.would_enable("liveperson_ccs", &Level::INFO));
        assert!(!targets.would_enable("liveperson_ccs", &Level::DEBUG));

        let (targets, error) = log_filter(Some("warn,liveperson_ccs::emulator=trace".into()));
        assert!(error.is_none());
        assert!(targets.would_enable("liveperson_ccs::emulator::routes", &Level::TRACE));
        assert!(!targets.would_enable("hyper", &Level::INFO));

        let (targets, error) = log_filter(Some("liveperson_ccs=loud".into()));
        assert!(error.is_some(), "a bad level is reported");
        assert!(targets.would_enable("liveperson_ccs", &Level::INFO));
    }
}
