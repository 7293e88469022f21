//! The arguments every data command shares: where to connect ([`Conn`],
//! each flag falling back to its environment variable) and how to print
//! ([`Output`]).

use std::io::IsTerminal;

use clap::Args;
use liveperson_ccs::Region;

use crate::Failure;
use crate::store::{Settings, Store};

/// Where to connect: flags, each falling back to its environment variable.
// The fields are public for `copy`, which builds its two sides from its own
// `--from-*` and `--to-*` flags (`//`, not `///`: field docs are help text).
#[derive(Args, Clone, Debug, Default)]
pub struct Conn {
    /// The account (site) id, e.g. le12345678 [env: LP_ACCOUNT_ID]
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// americas (default), emea or apac [env: LP_REGION]
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// One base URL for v1 and v2 instead of the region's hosts, e.g. a `ccs
    /// serve` [env: LP_CCS_BASE_URL]
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// The CCS v1 API key; the environment is safer [env: LP_CCS_API_KEY]
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// The CCS v2 access token; the environment is safer [env: LP_CCS_ACCESS_TOKEN]
    #[arg(long, value_name = "TOKEN")]
    pub access_token: Option<String>,
    /// Attempts per request in all, on 429 (honouring Retry-After), 5xx and
    /// connection failures
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub attempts: u32,
}

impl Conn {
    /// Resolves flags and environment (`prefix` before each variable and
    /// `flag_prefix` before each flag, for `copy`'s two sides).
    pub fn settings(&self, env_prefix: &str, flag_prefix: &str) -> Result<Settings, Failure> {
        let env = |name: &str| {
            std::env::var(format!("{env_prefix}{name}"))
                .ok()
                .filter(|v| !v.trim().is_empty())
        };
        let how =
            |flag: &str, var: &str| format!("pass --{flag_prefix}{flag} or set {env_prefix}{var}");
        let account = self
            .account
            .clone()
            .or_else(|| env("LP_ACCOUNT_ID"))
            .ok_or_else(|| {
                Failure::usage(format!("no account: {}", how("account", "LP_ACCOUNT_ID")))
            })?;
        let region = match self.region.clone().or_else(|| env("LP_REGION")) {
            Some(region) => region
                .parse::<Region>()
                .map_err(|e| Failure::usage(format!("{e}; {}", how("region", "LP_REGION"))))?,
            None => Region::default(),
        };
        for (given, flag, var) in [
            (&self.api_key, "api-key", "LP_CCS_API_KEY"),
            (&self.access_token, "access-token", "LP_CCS_ACCESS_TOKEN"),
        ] {
            if given.is_some() {
                eprintln!(
                    "warning: --{flag_prefix}{flag} shows the secret in the process list and shell history; set {env_prefix}{var} instead"
                );
            }
        }
        Ok(Settings {
            account,
            region,
            base_url: self.base_url.clone().or_else(|| env("LP_CCS_BASE_URL")),
            api_key: self.api_key.clone().or_else(|| env("LP_CCS_API_KEY")),
            access_token: self
                .access_token
                .clone()
                .or_else(|| env("LP_CCS_ACCESS_TOKEN")),
            attempts: self.attempts,
            api_key_hint: how("api-key", "LP_CCS_API_KEY"),
            access_token_hint: how("access-token", "LP_CCS_ACCESS_TOKEN"),
        })
    }

    /// The layer's clients for these settings.
    pub fn store(&self) -> Result<Store, Failure> {
        Store::connect(self.settings("", "")?)
    }
}

/// Output: a table on a terminal, JSON with `--json` or when piped.
#[derive(Args, Clone, Copy, Debug, Default)]
pub struct Output {
    /// Print JSON (the default when stdout is not a terminal)
    #[arg(long)]
    json: bool,
}

impl Output {
    pub fn json(self) -> bool {
        self.json || !std::io::stdout().is_terminal()
    }
}
