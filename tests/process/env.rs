//! Configuration from the environment combined with settings in code.
//!
//! One test only: it changes the process environment, which nothing else in
//! this test binary may read at the same time.

use crate::support::{CaptureServer, Reply};
use liveperson_ccs::{CcsV1Client, CcsV2Client, Error, MessagingClient, Region, RetryPolicy};

const VARIABLES: &[&str] = &[
    "LP_ACCOUNT_ID",
    "LP_REGION",
    "LP_CCS_API_KEY",
    "LP_CCS_ACCESS_TOKEN",
    "LP_CCS_BASE_URL",
    "LP_MESSAGING_BASE_URL",
    "LP_MESSAGING_DOMAIN",
    "LP_APP_JWT",
];

fn set(name: &str, value: &str) {
    // SAFETY: this test binary runs one test, on this thread; nothing reads
    // or writes the environment concurrently.
    unsafe { std::env::set_var(name, value) }
}

fn clear() {
    for name in VARIABLES {
        // SAFETY: as in `set`.
        unsafe { std::env::remove_var(name) }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_environment_combines_with_settings_in_code() {
    let _alone = crate::ONE_AT_A_TIME.lock().await;
    let capture = CaptureServer::start().await;
    capture.set_fallback(Reply::status(500));

    // The account and base URL from the environment; the key and a retry
    // policy in code: no credential variable needed.
    clear();
    set("LP_ACCOUNT_ID", "le11112222");
    set("LP_CCS_BASE_URL", &capture.base_url());
    let v1 = CcsV1Client::builder()
        .with_env()
        .unwrap()
        .api_key("key-from-code")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    assert_eq!(v1.account().as_str(), "le11112222");
    assert!(v1.list_namespaces().await.is_err());
    let sent = capture.only_request();
    assert_eq!(
        sent.path(),
        "/v1/account/le11112222",
        "env account and base URL"
    );
    assert_eq!(sent.header("maven-api-key"), Some("key-from-code"));
    // RetryPolicy::none(): the 500 was not retried (only_request above).

    // The shortcut still insists on the credential, naming the variable.
    let error = CcsV1Client::from_env().unwrap_err();
    assert!(
        matches!(&error, Error::InvalidInput { reason, .. } if reason.contains("LP_CCS_API_KEY")),
        "{error:?}"
    );
    set("LP_CCS_API_KEY", "key-from-env");
    assert!(CcsV1Client::from_env().is_ok());
    // A setter after with_env overrides the variable.
    capture.clear();
    let v1 = CcsV1Client::builder()
        .with_env()
        .unwrap()
        .api_key("key-from-code")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    assert!(v1.list_namespaces().await.is_err());
    assert_eq!(
        capture.only_request().header("maven-api-key"),
        Some("key-from-code")
    );

    // The region, when no base URL is set; a wrong region is an error.
    clear();
    set("LP_ACCOUNT_ID", "le11112222");
    set("LP_REGION", "emea");
    let v2 = CcsV2Client::builder()
        .with_env()
        .unwrap()
        .access_token("token-from-code")
        .build()
        .unwrap();
    let emea = CcsV2Client::builder()
        .account("le11112222")
        .region(Region::Emea)
        .access_token("t")
        .build()
        .unwrap();
    assert_eq!(v2.base_url(), emea.base_url());
    set("LP_REGION", "mars");
    assert!(CcsV2Client::builder().with_env().is_err());

    // Messaging: LP_MESSAGING_BASE_URL is read; LP_MESSAGING_DOMAIN wins.
    clear();
    set("LP_ACCOUNT_ID", "le11112222");
    set("LP_MESSAGING_BASE_URL", "http://127.0.0.1:9");
    let messaging = MessagingClient::builder()
        .with_env()
        .unwrap()
        .app_jwt("jwt-from-code")
        .build()
        .unwrap();
    assert_eq!(messaging.base_url(), Some("http://127.0.0.1:9"));
    set("LP_MESSAGING_DOMAIN", "va.msg.liveperson.net");
    set("LP_APP_JWT", "jwt-from-env");
    let messaging = MessagingClient::from_env().unwrap();
    assert_eq!(messaging.base_url(), Some("https://va.msg.liveperson.net"));
    clear();
}
