//! What every client shares: the builder and its settings (`builder`), the
//! transport that carries each generated client's requests (credentials,
//! retries, timeouts, limits, scrubbing, the path check: `transport`), the
//! retry policy (`retry`), secrets and credential providers (`secret`), and
//! credentials that renew themselves (`refresh`).
//!
//! DESIGN: nothing here knows an API. The clients (`crate::v1`, `crate::v2`,
//! `crate::messaging`, `crate::connector`) use these; these use only each
//! other, the crate's `Error` and names, and the generated clients' hooks.

pub(crate) mod builder;
pub(crate) mod refresh;
pub(crate) mod retry;
pub(crate) mod secret;
pub(crate) mod transport;
