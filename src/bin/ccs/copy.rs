//! `ccs copy`: an export streamed into an import through a channel, without
//! a file: [`export_lines`] on one connection, [`write_lines`] on the other.

use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use futures::StreamExt;
use indicatif::ProgressBar;
use tokio::sync::mpsc;

use crate::Failure;
use crate::args::Conn;
use crate::export::{ExportCounts, Sink, export_lines};
use crate::format::Line;
use crate::import::{Api, WriteArgs, summarize, write_lines};
use crate::progress::progress;
use crate::store::Store;

pub const EXAMPLES: &str = "\
Examples:
  ccs copy --from-account le12345678 --to-base-url http://127.0.0.1:8080 --to-account le12345678
  FROM_LP_ACCOUNT_ID=le1 FROM_LP_CCS_API_KEY=... TO_LP_ACCOUNT_ID=le2 TO_LP_CCS_API_KEY=... ccs copy

Each --from-X falls back to FROM_<variable>, each --to-X to TO_<variable>
(FROM_LP_ACCOUNT_ID, TO_LP_CCS_BASE_URL, ...).";

#[derive(Args, Debug)]
pub struct CopyArgs {
    /// Only this namespace (repeatable; default: every namespace).
    #[arg(long = "namespace", value_name = "NS")]
    namespaces: Vec<String>,
    #[command(flatten)]
    options: WriteArgs,
    /// Source account [env: FROM_LP_ACCOUNT_ID]
    #[arg(long, value_name = "ID")]
    from_account: Option<String>,
    /// Source region [env: FROM_LP_REGION]
    #[arg(long, value_name = "REGION")]
    from_region: Option<String>,
    /// Source base URL [env: FROM_LP_CCS_BASE_URL]
    #[arg(long, value_name = "URL")]
    from_base_url: Option<String>,
    /// Source API key [env: FROM_LP_CCS_API_KEY]
    #[arg(long, value_name = "KEY")]
    from_api_key: Option<String>,
    /// Destination account [env: TO_LP_ACCOUNT_ID]
    #[arg(long, value_name = "ID")]
    to_account: Option<String>,
    /// Destination region [env: TO_LP_REGION]
    #[arg(long, value_name = "REGION")]
    to_region: Option<String>,
    /// Destination base URL [env: TO_LP_CCS_BASE_URL]
    #[arg(long, value_name = "URL")]
    to_base_url: Option<String>,
    /// Destination API key (v1) [env: TO_LP_CCS_API_KEY]
    #[arg(long, value_name = "KEY")]
    to_api_key: Option<String>,
    /// Destination access token (v2) [env: TO_LP_CCS_ACCESS_TOKEN]
    #[arg(long, value_name = "TOKEN")]
    to_access_token: Option<String>,
    /// Attempts per request in all (429, 5xx, connection failures).
    #[arg(long, value_name = "N", default_value_t = 6)]
    attempts: u32,
}

pub async fn copy(args: CopyArgs) -> Result<ExitCode, Failure> {
    let from = Conn {
        account: args.from_account,
        region: args.from_region,
        base_url: args.from_base_url,
        api_key: args.from_api_key,
        access_token: None,
        attempts: args.attempts,
    };
    let to = Conn {
        account: args.to_account,
        region: args.to_region,
        base_url: args.to_base_url,
        api_key: args.to_api_key,
        access_token: args.to_access_token,
        attempts: args.attempts,
    };
    let source = Store::connect(from.settings("FROM_", "from-")?)?;
    let destination = Store::connect(to.settings("TO_", "to-")?)?;
    source.require(false)?;
    let options = args.options.options(false);
    destination.require(options.api == Api::V2)?;
    let started = Instant::now();
    let (tx, mut rx) = mpsc::channel::<Line>(1024);
    let bar = progress(None, "copied");
    let reading = async {
        let mut sink = Sink::Channel(tx);
        let mut counts = ExportCounts::default();
        export_lines(
            &source,
            &args.namespaces,
            1000,
            &mut sink,
            &ProgressBar::hidden(),
            &mut counts,
        )
        .await
    };
    let lines = futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
        .enumerate()
        .map(|(i, line)| (i + 1, Ok(Some(line))));
    let writing = write_lines(&destination, lines, &options, &bar, true);
    let (read, report) = tokio::join!(reading, writing);
    bar.finish_and_clear();
    // Line numbers count the lines of the source's export as it streams.
    let source_name = format!("the export of account {}", source.account());
    let ok = summarize("copy", &source_name, &report, started.elapsed());
    if report.interrupted() {
        return Ok(ExitCode::from(crate::interrupt::EXIT_STATUS));
    }
    if let Err(failure) = read {
        return Err(Failure::new(format!(
            "reading the source failed, so the copy is incomplete: {}",
            failure.message
        )));
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
