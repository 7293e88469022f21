//! `ccs serve`: the emulator, with `--import` at start and
//! `--export-on-exit` on Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use liveperson_ccs::emulator::{Emulator, EmulatorConfig, WebhookEvent};
use liveperson_ccs::webhooks::{SignatureAlgorithm, SignatureEncoding};

use crate::store::{Settings, Store};
use crate::{export, import};

pub const EXAMPLES: &str = "\
Examples:
  ccs serve --addr 127.0.0.1:8080
  ccs serve --addr 127.0.0.1:0 --api-key secret-for-tests
  ccs serve --import fixtures.jsonl --export-on-exit state.jsonl
  ccs serve --agent echo --webhook http://127.0.0.1:9000/webhooks
  ccs serve --webhook cqm.ExConversationChangeNotification=http://127.0.0.1:9000/conv \\
            --webhook ms.MessagingEventNotification.ContentEvent=http://127.0.0.1:9000/text \\
            --webhook-retries 2 --app-client-id my-id --app-client-secret my-secret

Webhooks are signed with --app-client-secret and carry --app-client-id in
x-liveperson-client-id; without them, with the client id ccs-serve-client and
the secret ccs-serve-webhook-secret (so a receiver under test can verify).

--import and --export-on-exit work on one account: --account, LP_ACCOUNT_ID,
or (for --import) the account in the file's header.";

/// `ccs serve`'s flags.
#[derive(Args, Debug)]
pub struct ServeArgs {
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
    /// Answer 408 and close the connection when a request body is not
    /// complete this many seconds after the end of its headers (the 10 MiB
    /// body limit needs 350 KB/s at the default).
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds)]
    body_read_timeout: Duration,
    /// With --app-client-secret: Sentinel issues AppJWTs only for this
    /// client id, and the connector APIs accept only tokens the emulator
    /// issued (default: any non-empty client id, secret and token).
    #[arg(long, value_name = "ID", requires = "app_client_secret")]
    app_client_id: Option<String>,
    /// The client secret that goes with --app-client-id.
    #[arg(long, value_name = "SECRET", requires = "app_client_id")]
    app_client_secret: Option<String>,
    /// Turn off the admin routes (reset, journal, faults, clock under
    /// /__emulator/, and /openapi/, /docs): they then answer 404 as any
    /// unknown path.
    #[arg(long)]
    no_admin: bool,
    /// How many of the most recent requests the journal
    /// (`GET /__emulator/requests`) keeps; 0 records none.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    journal_limit: usize,
    /// How long the AppJWTs and ConsumerJWSs the emulator issues live.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    token_ttl: u64,
    /// Load this export (`ccs export`'s JSON Lines) before serving.
    #[arg(long, value_name = "FILE")]
    import: Option<PathBuf>,
    /// On Ctrl-C or SIGTERM, write the account's data to this file (through a
    /// temporary file in the same folder, renamed when complete).
    #[arg(long, value_name = "FILE")]
    export_on_exit: Option<PathBuf>,
    /// The account for --import and --export-on-exit [env: LP_ACCOUNT_ID]
    #[arg(long, value_name = "ID")]
    account: Option<String>,
    /// Deliver webhooks: `URL` for every event type, or `EVENT=URL` for one
    /// (EVENT a key of the manifest's capabilities.webhooks, e.g.
    /// ms.MessagingEventNotification.ContentEvent or
    /// cqm.ExConversationChangeNotification); repeatable, a later one for
    /// the same event type wins. Signed with --app-client-secret (default
    /// ccs-serve-webhook-secret), carrying --app-client-id (default
    /// ccs-serve-client).
    #[arg(long, value_name = "[EVENT=]URL", value_parser = webhook)]
    webhook: Vec<(Option<WebhookEvent>, String)>,
    /// LivePerson's max_retries for every --webhook: a failed delivery is
    /// tried again up to N times, 30 s apart on the emulator's clock.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=5))]
    webhook_retries: u8,
    /// How deliveries are signed (x-liveperson-signature).
    #[arg(long, value_enum, value_name = "FORM", default_value = "sha1-base64")]
    webhook_signature: SignatureForm,
    /// Play an agent: `echo` accepts each new conversation and answers
    /// each consumer text with the same text.
    #[arg(long, value_enum, value_name = "AGENT")]
    agent: Option<Agent>,
    /// Turn the emulated account's automatic messages on: a conversation
    /// whose consumer declared AUTO_MESSAGES (Client-Properties) gets a
    /// system message (role CONTROLLER) when it opens, when an agent joins
    /// and when it is transferred.
    #[arg(long)]
    auto_messages: bool,
    /// Give the emulated account a post-conversation survey: when the main
    /// dialog of a conversation whose consumer declared MULTI_DIALOG
    /// closes, a POST_SURVEY dialog opens and its bot asks one question;
    /// the consumer's answer there ends the conversation.
    #[arg(long)]
    survey: bool,
}

/// The forms of `--webhook-signature`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum SignatureForm {
    /// `sha1=` and Base64: what LivePerson sends.
    Sha1Base64,
    /// `sha1=` and lowercase hex.
    Sha1Hex,
    /// `sha256=` and Base64.
    Sha256Base64,
    /// `sha256=` and lowercase hex.
    Sha256Hex,
}

/// The agents of `--agent`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Agent {
    /// Accepts each new conversation; echoes each consumer text.
    Echo,
}

/// `URL` (every event type) or `EVENT=URL` (one), the URL checked as the
/// emulator checks it.
fn webhook(text: &str) -> Result<(Option<WebhookEvent>, String), String> {
    let (event, url) = match text.split_once('=') {
        // `EVENT=` before anything URL-like: an event type.
        Some((event, url)) if !event.contains([':', '/']) => {
            (Some(event.parse::<WebhookEvent>()?), url)
        }
        _ => (None, text),
    };
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("'{url}' is not an absolute URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("'{url}' is not an http or https URL with a host"));
    }
    Ok((event, url.to_owned()))
}

impl ServeArgs {
    /// The emulator's settings from the flags (credentials, timeouts, ...):
    /// a new emulator flag is read here.
    fn emulator_config(&self) -> EmulatorConfig {
        let mut config = EmulatorConfig::new()
            .idle_timeout(self.idle_timeout)
            .header_read_timeout(self.header_read_timeout)
            .body_read_timeout(self.body_read_timeout)
            .token_ttl(Duration::from_secs(self.token_ttl))
            .admin(!self.no_admin)
            .journal_limit(self.journal_limit);
        if let (Some(id), Some(secret)) = (&self.app_client_id, &self.app_client_secret) {
            config = config.app_credentials(id.clone(), secret.clone());
        }
        if let Some(key) = &self.api_key {
            config = config.api_key(key.clone());
        }
        if let Some(token) = &self.access_token {
            config = config.access_token(token.clone());
        }
        for (event, url) in &self.webhook {
            config = match event {
                Some(event) => config.webhook(*event, url.clone(), self.webhook_retries),
                None => config.webhook_all(url.clone(), self.webhook_retries),
            };
        }
        let (algorithm, encoding) = match self.webhook_signature {
            SignatureForm::Sha1Base64 => (SignatureAlgorithm::Sha1, SignatureEncoding::Base64),
            SignatureForm::Sha1Hex => (SignatureAlgorithm::Sha1, SignatureEncoding::Hex),
            SignatureForm::Sha256Base64 => (SignatureAlgorithm::Sha256, SignatureEncoding::Base64),
            SignatureForm::Sha256Hex => (SignatureAlgorithm::Sha256, SignatureEncoding::Hex),
        };
        config
            .webhook_signature(algorithm, encoding)
            .echo_agent(matches!(self.agent, Some(Agent::Echo)))
            .auto_messages(self.auto_messages)
            .post_conversation_survey(self.survey)
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

pub async fn serve(args: ServeArgs) -> ExitCode {
    let config = args.emulator_config();
    // Only whether app credentials are required is logged, never their values.
    let app_credentials_required = args.app_client_id.is_some();
    // How many endpoints, not which (a URL's query may hold a secret).
    let webhooks = args.webhook.len();
    let echo_agent = args.agent.is_some();
    let ServeArgs {
        addr,
        api_key,
        access_token,
        import,
        export_on_exit,
        account,
        token_ttl,
        ..
    } = args;
    let mut account = account.or_else(|| {
        std::env::var("LP_ACCOUNT_ID")
            .ok()
            .filter(|a| !a.trim().is_empty())
    });
    if let Some(file) = &import
        && account.is_none()
    {
        match import::header_account(file) {
            Ok(found) => account = found,
            Err(failure) => {
                eprintln!("error: {}", failure.message);
                return ExitCode::from(2);
            }
        }
    }
    if (import.is_some() || export_on_exit.is_some()) && account.is_none() {
        eprintln!(
            "error: --import and --export-on-exit need an account: pass --account or set LP_ACCOUNT_ID"
        );
        return ExitCode::from(2);
    }
    // What the in-process client sends: the required credential, or any.
    let client_key = api_key.clone().unwrap_or_else(|| "ccs-serve".into());
    let client_token = access_token.clone().unwrap_or_else(|| "ccs-serve".into());
    // Only whether a credential is required is logged, never its value.
    tracing::info!(
        api_key_required = api_key.is_some(),
        access_token_required = access_token.is_some(),
        app_credentials_required = app_credentials_required,
        token_ttl_seconds = token_ttl,
        webhooks,
        echo_agent,
        "starting the CCS emulator"
    );
    let signals = ShutdownSignals::listen();
    let emulator = match Emulator::bind(addr, config).await {
        Ok(emulator) => emulator,
        Err(error) => {
            tracing::error!(%addr, %error, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    let store = match account.map(|account| {
        Store::connect(Settings {
            account,
            region: Default::default(),
            base_url: Some(emulator.base_url()),
            api_key: Some(client_key),
            access_token: Some(client_token),
            attempts: 3,
            api_key_hint: String::new(),
            access_token_hint: String::new(),
        })
    }) {
        None => None,
        Some(Ok(store)) => Some(store),
        Some(Err(failure)) => {
            eprintln!("error: {}", failure.message);
            return ExitCode::from(2);
        }
    };
    if let (Some(file), Some(store)) = (&import, &store) {
        match import::import_file(
            store,
            file,
            &file.display().to_string(),
            import::ImportOptions {
                concurrency: 8,
                // The emulator's account is the one chosen for it (--account,
                // LP_ACCOUNT_ID or the file's header): loading another
                // account's data there is what `serve --import` is for.
                from_other_account: true,
                ..import::ImportOptions::default()
            },
        )
        .await
        {
            Ok(true) => tracing::info!(file = %file.display(), "imported"),
            Ok(false) => {
                eprintln!("error: the import of {} failed", file.display());
                emulator.shutdown().await;
                return ExitCode::FAILURE;
            }
            Err(failure) => {
                eprintln!("error: {}", failure.message);
                emulator.shutdown().await;
                return failure_code(&failure);
            }
        }
    }
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
    let mut code = ExitCode::SUCCESS;
    if let (Some(file), Some(store)) = (&export_on_exit, &store) {
        match export::export_file_atomically(store, file).await {
            Ok(()) => tracing::info!(file = %file.display(), "exported"),
            Err(failure) => {
                eprintln!(
                    "error: the export to {} failed: {}",
                    file.display(),
                    failure.message
                );
                code = ExitCode::FAILURE;
            }
        }
    }
    emulator.shutdown().await;
    code
}

fn failure_code(failure: &crate::Failure) -> ExitCode {
    ExitCode::from(if failure.usage { 2 } else { 1 })
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

    #[test]
    fn webhook_flags_name_an_event_type_or_none() {
        assert_eq!(
            webhook("http://127.0.0.1:9/a?x=1"),
            Ok((None, "http://127.0.0.1:9/a?x=1".to_owned()))
        );
        assert_eq!(
            webhook("cqm.ExConversationChangeNotification=http://h/c"),
            Ok((
                Some(WebhookEvent::ConversationChange),
                "http://h/c".to_owned()
            ))
        );
        for bad in ["nope=http://h/", "ftp://h/", "/relative", "http://"] {
            assert!(webhook(bad).is_err(), "{bad}");
        }
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
