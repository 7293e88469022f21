//! `ccs`: command-line tools for LivePerson's Conversation Context Service.
//!
//! `ccs serve` runs the emulator of CCS v1, v2 and the Messaging CONVERSATION
//! endpoint. Its first line on stdout is `listening on http://ADDR`; logs go to
//! stderr and never show credentials. `RUST_LOG` filters them with
//! comma-separated `target=level` directives (`debug`,
//! `info,liveperson_ccs=trace`); the default is `info`.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

#[derive(Parser)]
#[command(
    name = "ccs",
    version,
    about = "LivePerson Conversation Context Service tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the CCS v1/v2 and Messaging emulator until Ctrl-C or SIGTERM.
    Serve {
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Require this `maven-api-key` on v1 calls (default: any non-empty key).
        #[arg(long, value_name = "KEY")]
        api_key: Option<String>,
        /// Require this `access_token` on v2 calls (default: any non-empty token).
        #[arg(long, value_name = "TOKEN")]
        access_token: Option<String>,
        /// Close a connection that has no request in flight and receives no
        /// byte of a next one for this many seconds.
        #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = seconds)]
        idle_timeout: Duration,
        /// Close a connection whose request headers are not complete this many
        /// seconds after their first byte.
        #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = seconds)]
        header_read_timeout: Duration,
        /// Turn off the admin routes (reset, journal, faults, clock under
        /// /__emulator/, and /openapi/, /docs): they then answer 404 as any
        /// unknown path.
        #[arg(long)]
        no_admin: bool,
    },
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
    match cli.command {
        Command::Serve {
            addr,
            api_key,
            access_token,
            idle_timeout,
            header_read_timeout,
            no_admin,
        } => {
            let config = EmulatorConfig::new()
                .idle_timeout(idle_timeout)
                .header_read_timeout(header_read_timeout)
                .admin(!no_admin);
            serve(addr, config, api_key, access_token).await
        }
    }
}

/// A positive number of seconds, e.g. `10` or `0.5`.
fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("'{text}' is not a positive number of seconds"))
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

async fn serve(
    addr: SocketAddr,
    mut config: EmulatorConfig,
    api_key: Option<String>,
    access_token: Option<String>,
) -> ExitCode {
    // Only whether a credential is required is logged, never its value.
    tracing::info!(
        api_key_required = api_key.is_some(),
        access_token_required = access_token.is_some(),
        "starting the CCS emulator"
    );
    if let Some(key) = api_key {
        config = config.api_key(key);
    }
    if let Some(token) = access_token {
        config = config.access_token(token);
    }
    let signals = ShutdownSignals::listen();
    let emulator = match Emulator::bind(addr, config).await {
        Ok(emulator) => emulator,
        Err(error) => {
            tracing::error!(%addr, %error, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    let announced =
        writeln!(stdout, "listening on {}", emulator.base_url()).and_then(|()| stdout.flush());
    drop(stdout);
    if let Err(error) = announced {
        tracing::warn!(%error, "cannot write to stdout");
    }
    tracing::info!(addr = %emulator.local_addr(), "CCS emulator ready");
    let signal = signals.recv().await;
    tracing::info!(signal, "shutting down");
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

/// Ctrl-C and SIGTERM, listened for from creation on (so a signal that comes
/// right after the `listening on` line is not missed).
struct ShutdownSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignals {
    fn listen() -> ShutdownSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind: SignalKind, name: &str| {
                signal(kind)
                    .inspect_err(|error| tracing::warn!(%error, "cannot listen for {name}"))
                    .ok()
            };
            ShutdownSignals {
                interrupt: listen(SignalKind::interrupt(), "Ctrl-C"),
                terminate: listen(SignalKind::terminate(), "SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        ShutdownSignals {}
    }

    /// Waits for the first signal; returns its name.
    async fn recv(self) -> &'static str {
        #[cfg(unix)]
        {
            async fn next(signal: Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = next(self.interrupt) => "Ctrl-C",
                () = next(self.terminate) => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            if let Err(error) = tokio::signal::ctrl_c().await {
                tracing::warn!(%error, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
            "Ctrl-C"
        }
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

    #[test]
    fn timeouts_are_positive_seconds() {
        assert_eq!(seconds("10"), Ok(Duration::from_secs(10)));
        assert_eq!(seconds("0.25"), Ok(Duration::from_millis(250)));
        for bad in ["0", "-1", "ten", "NaN", "inf", "1e400"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
    }
}
