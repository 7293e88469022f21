//! The `ccs` binary as people run it: the real executable against in-process
//! emulators (and small proxies in front of them that rate-limit, fail or
//! hang), for inspect and edit, export, import, copy and `serve`'s import and
//! export.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use futures::TryStreamExt;
use liveperson_ccs::emulator::{Emulator, EmulatorConfig};
use liveperson_ccs::{CcsV1Client, CcsV2Client};
use serde_json::{Value, json};
use tokio::process::Command;

const ACCOUNT: &str = "le12345678";
const API_KEY: &str = "cli-test-api-key-5e1f";
const TOKEN: &str = "cli-test-access-token-9c3d";
const BIG: &str = "123456789012345678901234";

fn ccs() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ccs"));
    for (name, _) in std::env::vars() {
        if name.starts_with("LP_") || name.starts_with("FROM_LP_") || name.starts_with("TO_LP_") {
            command.env_remove(name);
        }
    }
    command
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// `ccs` with the connection to `base` in the environment.
fn ccs_at(base: &str) -> Command {
    let mut command = ccs();
    command
        .env("LP_ACCOUNT_ID", ACCOUNT)
        .env("LP_CCS_BASE_URL", base)
        .env("LP_CCS_API_KEY", API_KEY)
        .env("LP_CCS_ACCESS_TOKEN", TOKEN);
    command
}

async fn run(mut command: Command, args: &[&str]) -> Output {
    command.args(args).output().await.expect("ccs runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "ccs failed ({:?}):\nstdout: {}\nstderr: {}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
}

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::new().api_key(API_KEY).access_token(TOKEN))
        .await
        .expect("the emulator starts")
}

fn v1(base: &str) -> CcsV1Client {
    CcsV1Client::builder()
        .account(ACCOUNT)
        .base_url(base)
        .api_key(API_KEY)
        .build()
        .expect("a client")
}

fn v2(base: &str) -> CcsV2Client {
    CcsV2Client::builder()
        .account(ACCOUNT)
        .base_url(base)
        .access_token(TOKEN)
        .build()
        .expect("a client")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ccs-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

/// Fills an emulator: two namespaces (one with a TTL), `sessions` sessions
/// with 5 properties each (a 24-digit number, a decimal written `1.10`,
/// nested values, text in several scripts), a session with its own TTL and
/// namespace-level properties. Through the HTTP API, so numbers keep their
/// text.
async fn fill(base: &str, sessions: usize) {
    let client = v1(base);
    client
        .set_namespace_ttl("orders", Duration::from_secs(86_400))
        .await
        .unwrap();
    client.create_namespace("bots").await.unwrap();
    client
        .session("orders", "ttl-session")
        .unwrap()
        .set_ttl(Duration::from_secs(3_600))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    for i in 0..sessions {
        let session = if i == 0 {
            "ttl-session".to_owned()
        } else {
            format!("s-{i:05} é/漢")
        };
        let body = format!(
            r#"{{"big":{BIG},"decimal":1.10,"nested":{{"list":[1,"two",null,true],"i":{i}}},"text":"héllo ✓ {i}","n":{i}}}"#
        );
        let url = format!(
            "{base}/v1/account/{ACCOUNT}/orders/{}/properties",
            session
                .replace('%', "%25")
                .replace(' ', "%20")
                .replace('/', "%2F")
        );
        let answer = http
            .patch(url)
            .header("maven-api-key", API_KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
    }
    client
        .namespace("bots")
        .unwrap()
        .set_properties(&json!({"greeting": "hi", "flags": {"a": true}}))
        .await
        .unwrap();
    client
        .session("bots", "b1")
        .unwrap()
        .set_property("step", &3)
        .await
        .unwrap();
}

/// The lines of an export but its header and trailer, sorted.
fn body_lines(export: &str) -> BTreeSet<String> {
    let mut lines: Vec<&str> = export.lines().collect();
    let header: Value = serde_json::from_str(lines.remove(0)).unwrap();
    assert_eq!(header["type"], "header");
    assert_eq!(header["format"], "liveperson-ccs-export");
    assert_eq!(header["version"], 2);
    assert_eq!(header["account"], ACCOUNT);
    let trailer: Value = serde_json::from_str(lines.pop().expect("a trailer")).unwrap();
    assert_eq!(trailer["type"], "trailer", "the last line is the trailer");
    lines.into_iter().map(str::to_owned).collect()
}

/// `lines` as a version-2 file: each line and its `\n`, then the trailer
/// that counts them and digests those bytes.
fn sealed(lines: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let body: String = lines.iter().map(|line| format!("{line}\n")).collect();
    let (mut namespaces, mut sessions, mut properties) = (0, 0, 0);
    for line in lines {
        let value: Value = serde_json::from_str(line).unwrap();
        match value["type"].as_str() {
            Some("namespace") => namespaces += 1,
            Some("session") => {
                sessions += 1;
                properties += value["properties"].as_object().unwrap().len();
            }
            _ => {}
        }
    }
    let sha256: String = Sha256::digest(body.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let trailer = json!({"type": "trailer", "namespaces": namespaces, "sessions": sessions, "properties": properties, "sha256": sha256});
    format!("{body}{trailer}\n")
}

async fn export_text(base: &str) -> String {
    let output = run(ccs_at(base), &["export", "--page-size", "100"]).await;
    assert_ok(&output);
    text(&output.stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_import_export_keeps_every_line() {
    let source = emulator().await;
    fill(&source.base_url(), 260).await;
    let dir = temp_dir("round-trip");
    let file = dir.join("backup.jsonl");
    let output = run(
        ccs_at(&source.base_url()),
        &[
            "export",
            "--page-size",
            "100",
            "--output",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert_ok(&output);
    let first = std::fs::read_to_string(&file).unwrap();
    let lines = body_lines(&first);
    // 2 namespaces, 260 sessions in orders, __default__ and b1 in bots.
    assert_eq!(lines.len(), 2 + 260 + 2, "{first}");
    assert!(lines.contains(r#"{"type":"namespace","name":"orders","ttl_seconds":86400}"#));
    assert!(lines.contains(r#"{"type":"namespace","name":"bots"}"#));
    assert!(
        lines
            .iter()
            .any(|l| l.contains(r#""session":"ttl-session""#)
                && l.ends_with(r#""ttl_seconds":3600}"#))
    );
    assert!(
        first.contains(&format!(r#""big":{BIG},"decimal":1.10"#)),
        "digits kept"
    );
    assert!(first.contains(r#""session":"s-00259 é/漢""#));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("2 namespaces, 262 sessions, 1303 properties"),
        "{stderr}"
    );
    // No temporary file is left beside the output.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    let target = emulator().await;
    let output = run(
        ccs_at(&target.base_url()),
        &["import", file.to_str().unwrap(), "--concurrency", "4"],
    )
    .await;
    assert_ok(&output);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("2 namespaces, 262 sessions and 1303 properties written, 0 sessions skipped (nothing to write), 0 failed"),
        "{stderr}"
    );
    assert_eq!(body_lines(&export_text(&target.base_url()).await), lines);

    // Twice is the same as once.
    let output = run(
        ccs_at(&target.base_url()),
        &["import", file.to_str().unwrap()],
    )
    .await;
    assert_ok(&output);
    assert_eq!(body_lines(&export_text(&target.base_url()).await), lines);

    // And through v2: the same properties, every digit kept.
    let v2_target = emulator().await;
    let output = run(
        ccs_at(&v2_target.base_url()),
        &["import", file.to_str().unwrap(), "--api", "v2"],
    )
    .await;
    assert_ok(&output);
    let doc = v2(&v2_target.base_url())
        .session_document("orders", "s-00007 é/漢")
        .unwrap()
        .get_raw()
        .await
        .unwrap()
        .expect("the document");
    assert_eq!(doc.payload["big"].get(), BIG);
    assert_eq!(doc.payload["decimal"].get(), "1.10");
    assert!(doc.expires_at.is_some(), "the namespace's TTL");
    let exported = body_lines(&export_text(&v2_target.base_url()).await);
    let properties = |lines: &BTreeSet<String>| -> BTreeSet<String> {
        lines
            .iter()
            .filter(|l| l.contains(r#""type":"session""#))
            // As text (the TTL is the line's last member), so that every
            // digit is compared.
            .map(|l| match l.rfind(r#","ttl_seconds":"#) {
                Some(at) => format!("{}}}", &l[..at]),
                None => l.clone(),
            })
            .collect()
    };
    assert_eq!(properties(&exported), properties(&lines));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_streams_one_connection_into_another() {
    let source = emulator().await;
    fill(&source.base_url(), 30).await;
    let target = emulator().await;
    let mut command = ccs();
    command
        .env("FROM_LP_ACCOUNT_ID", ACCOUNT)
        .env("FROM_LP_CCS_API_KEY", API_KEY)
        .env("TO_LP_ACCOUNT_ID", ACCOUNT)
        .env("TO_LP_CCS_API_KEY", API_KEY);
    let output = run(
        command,
        &[
            "copy",
            "--from-base-url",
            &source.base_url(),
            "--to-base-url",
            &target.base_url(),
            "--concurrency",
            "3",
        ],
    )
    .await;
    assert_ok(&output);
    assert!(text(&output.stderr).contains("32 sessions and 153 properties written"));
    assert_eq!(
        body_lines(&export_text(&target.base_url()).await),
        body_lines(&export_text(&source.base_url()).await)
    );

    // A failure names the line and where it comes from (issue 27, item 8).
    let target = emulator().await;
    target
        .inject_fault(
            liveperson_ccs::emulator::Fault::status(500)
                .path(format!("/v1/account/{ACCOUNT}/bots/b1/*"))
                .times(1),
        )
        .unwrap();
    let mut command = ccs();
    command
        .env("FROM_LP_ACCOUNT_ID", ACCOUNT)
        .env("FROM_LP_CCS_API_KEY", API_KEY)
        .env("TO_LP_ACCOUNT_ID", ACCOUNT)
        .env("TO_LP_CCS_API_KEY", API_KEY);
    let output = run(
        command,
        &[
            "copy",
            "--from-base-url",
            &source.base_url(),
            "--to-base-url",
            &target.base_url(),
            "--attempts",
            "1",
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    let failed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("failed: line"))
        .collect();
    assert_eq!(failed.len(), 1, "{stderr}");
    assert!(
        failed[0].contains(&format!(" of the export of account {ACCOUNT}: bots/b1: ")),
        "{stderr}"
    );

    // One namespace only; the missing destination key names its flag and variable.
    let mut command = ccs();
    command.env("FROM_LP_CCS_API_KEY", API_KEY);
    let output = run(
        command,
        &[
            "copy",
            "--from-account",
            ACCOUNT,
            "--to-account",
            ACCOUNT,
            "--from-base-url",
            &source.base_url(),
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("pass --to-api-key or set TO_LP_CCS_API_KEY"),
        "{stderr}"
    );
}

const HEADER: &str = r#"{"type":"header","format":"liveperson-ccs-export","version":1}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_are_refused_with_line_numbers_and_nothing_is_written() {
    let target = emulator().await;
    let dir = temp_dir("bad-files");
    let big = "x".repeat(800_001);
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "mixed",
            [
                HEADER,
                r#"{"type":"namespace","name":"good","ttl_seconds":60}"#,
                r#"{"type":"session","namespace":"good","session":"s1","properties":{"a":1}}"#,
                r#"{"type":"namespace","name":"sde"}"#,
                "",
                r#"{"type":"session","namespace":"bad-name","session":"s","properties":{}}"#,
                r#"{"type":"session","namespace":"good","session":"..","properties":{"":1}}"#,
                &format!(r#"{{"type":"session","namespace":"good","session":"s2","properties":{{"a":"{big}"}}}}"#),
                "{not json",
                r#"{"type":"session","namespace":"good","properties":{}}"#,
                r#"{"type":"sessions"}"#,
                HEADER,
            ]
            .join("\n"),
            vec![
                "line 4: invalid namespace: \"sde\" is reserved",
                "line 6: invalid namespace: \"bad-name\" contains '-'",
                "line 6: session bad-name/s comes before any namespace line",
                "line 7: invalid session id",
                "line 7: invalid property name",
                "line 8: the session's properties take 800009 characters",
                "line 9: not valid JSON",
                "line 10: not a valid session line: missing field `session`",
                "line 11: unknown line type \"sessions\"",
                "line 12: a header line may only be the first line",
                "10 problems",
            ],
        ),
        (
            "version",
            r#"{"type":"header","format":"liveperson-ccs-export","version":3}"#.to_owned(),
            vec!["line 1: format version 3 is not supported"],
        ),
        (
            "headless",
            r#"{"type":"namespace","name":"good"}"#.to_owned(),
            vec!["line 1: the first line must be the header"],
        ),
        ("empty", String::new(), vec!["the file is empty"]),
    ];
    for (name, content, expected) in cases {
        let file = dir.join(format!("{name}.jsonl"));
        std::fs::write(&file, content).unwrap();
        let output = run(
            ccs_at(&target.base_url()),
            &["import", file.to_str().unwrap()],
        )
        .await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{name}: {}",
            text(&output.stderr)
        );
        let stderr = text(&output.stderr);
        for needle in expected {
            assert!(
                stderr.contains(needle),
                "{name}: {needle:?} not in:\n{stderr}"
            );
        }
        assert!(stderr.contains("nothing was written"), "{stderr}");
    }
    let client = v1(&target.base_url());
    assert!(
        client.list_namespaces().await.unwrap().is_empty(),
        "nothing was written"
    );
    let ids: Vec<String> = client
        .session_ids("good")
        .unwrap()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(ids.is_empty());

    // A good file with --dry-run writes nothing either.
    let file = dir.join("good.jsonl");
    std::fs::write(
        &file,
        format!(
            "{HEADER}\n{}\n{}\n",
            r#"{"type":"namespace","name":"good"}"#,
            r#"{"type":"session","namespace":"good","session":"s1","properties":{"a":1}}"#
        ),
    )
    .unwrap();
    let output = run(
        ccs_at(&target.base_url()),
        &["import", file.to_str().unwrap(), "--dry-run"],
    )
    .await;
    assert_ok(&output);
    assert!(
        text(&output.stderr).contains("would write 1 namespace, 1 session, 1 property"),
        "{}",
        text(&output.stderr)
    );
    assert!(client.list_namespaces().await.unwrap().is_empty());
}

/// Issue 27, item 3: a cut, edited, disordered or foreign export is refused
/// with its line number, by `--dry-run` as by the import, and nothing is
/// written; `--from-other-account` takes a foreign one deliberately; a
/// version-1 file (no trailer) still imports, with a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_altered_disordered_or_foreign_exports_are_refused() {
    let source = emulator().await;
    fill(&source.base_url(), 10).await;
    let export = export_text(&source.base_url()).await;
    let lines: Vec<String> = export.lines().map(str::to_owned).collect();
    assert!(lines[1].contains(r#""type":"namespace""#), "{export}");
    assert!(lines[2].contains(r#""type":"session""#), "{export}");
    let dir = temp_dir("integrity");
    let target = emulator().await;

    let truncated = lines[..5].join("\n") + "\n"; // `head -n 5`
    let mut no_namespace = lines[..lines.len() - 1].to_vec();
    no_namespace.remove(1);
    let mut foreign = lines[..lines.len() - 1].to_vec();
    foreign[0] = foreign[0].replace(ACCOUNT, "le99999999");
    assert_ne!(foreign[0], lines[0]);
    let foreign = sealed(&foreign);
    let altered_at = lines.iter().position(|l| l.contains(r#""n":3,"#)).unwrap();
    let altered = export.replacen(r#""n":3,"#, r#""n":4,"#, 1);
    let cases = [
        (
            "truncated",
            truncated,
            "line 5: the file ends here, after line 5, without its trailer line".to_owned(),
        ),
        (
            "no-namespace",
            sealed(&no_namespace),
            "line 2: session ".to_owned(),
        ),
        (
            "foreign",
            foreign.clone(),
            "line 1: the file was exported from account le99999999, not le12345678".to_owned(),
        ),
        (
            "altered",
            altered,
            format!(
                "line {}: the trailer's sha256 is not the SHA-256 of lines 1 to {}",
                lines.len(),
                lines.len() - 1
            ),
        ),
    ];
    assert!(altered_at > 0 && altered_at < lines.len() - 1);
    for (name, content, expected) in cases {
        let file = dir.join(format!("{name}.jsonl"));
        std::fs::write(&file, content).unwrap();
        for dry_run in [true, false] {
            let mut args = vec!["import", file.to_str().unwrap()];
            if dry_run {
                args.push("--dry-run");
            }
            let output = run(ccs_at(&target.base_url()), &args).await;
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
            assert!(
                stderr.contains(&expected),
                "{name}: {expected:?} not in:\n{stderr}"
            );
            assert!(stderr.contains("nothing was written"), "{name}: {stderr}");
        }
    }
    assert!(
        target.requests().is_empty(),
        "nothing was sent: {:?}",
        target.requests()
    );

    // A deliberate restore into another account.
    let file = dir.join("foreign.jsonl");
    let output = run(
        ccs_at(&target.base_url()),
        &["import", file.to_str().unwrap(), "--from-other-account"],
    )
    .await;
    assert_ok(&output);
    assert_eq!(
        body_lines(&export_text(&target.base_url()).await),
        body_lines(&export)
    );

    // A version-1 file (no trailer, no account) still imports, with a warning.
    let target = emulator().await;
    let mut old = lines[..lines.len() - 1].to_vec();
    old[0] = HEADER.to_owned();
    let file = dir.join("version-1.jsonl");
    std::fs::write(&file, old.join("\n") + "\n").unwrap();
    let output = run(
        ccs_at(&target.base_url()),
        &["import", file.to_str().unwrap()],
    )
    .await;
    assert_ok(&output);
    assert!(
        text(&output.stderr).contains(
            "is a version-1 export, which has no trailer: it cannot be checked for truncation"
        ),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(
        body_lines(&export_text(&target.base_url()).await),
        body_lines(&export)
    );
}

/// Issue 27, item 8: a namespace or a session on two lines is refused with
/// both line numbers, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_namespaces_and_sessions_are_refused_with_both_lines() {
    let target = emulator().await;
    let dir = temp_dir("repeated");
    let file = dir.join("repeated.jsonl");
    let lines = [
        r#"{"type":"header","format":"liveperson-ccs-export","version":2,"account":"le12345678"}"#,
        r#"{"type":"namespace","name":"orders","ttl_seconds":60}"#,
        r#"{"type":"session","namespace":"orders","session":"s1","properties":{"a":1}}"#,
        r#"{"type":"session","namespace":"orders","session":"s2","properties":{"a":2}}"#,
        r#"{"type":"namespace","name":"orders","ttl_seconds":7200}"#,
        r#"{"type":"session","namespace":"orders","session":"s1","properties":{"a":3}}"#,
    ]
    .map(str::to_owned);
    std::fs::write(&file, sealed(&lines)).unwrap();
    for dry_run in [true, false] {
        let mut args = vec!["import", file.to_str().unwrap()];
        if dry_run {
            args.push("--dry-run");
        }
        let output = run(ccs_at(&target.base_url()), &args).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("line 5: namespace \"orders\" again (first at line 2)"),
            "{stderr}"
        );
        assert!(
            stderr.contains("line 6: session orders/s1 again (first at line 3)"),
            "{stderr}"
        );
        assert!(stderr.contains("2 problems"), "{stderr}");
        assert!(stderr.contains("nothing was written"), "{stderr}");
    }
    assert!(target.requests().is_empty(), "{:?}", target.requests());
}

/// Issue 27, item 8: a namespace that cannot be created (503 on every
/// attempt) holds back its sessions, each listed as failed; the other
/// namespaces are written, and running the import again finishes the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_that_cannot_be_created_holds_back_its_sessions() {
    let target = emulator().await;
    let dir = temp_dir("namespace-fails");
    let file = dir.join("backup.jsonl");
    let lines = [
        r#"{"type":"header","format":"liveperson-ccs-export","version":2,"account":"le12345678"}"#,
        r#"{"type":"namespace","name":"orders","ttl_seconds":60}"#,
        r#"{"type":"session","namespace":"orders","session":"s1","properties":{"a":1}}"#,
        r#"{"type":"session","namespace":"orders","session":"s2","properties":{"a":2}}"#,
        r#"{"type":"namespace","name":"bots"}"#,
        r#"{"type":"session","namespace":"bots","session":"b1","properties":{"b":1}}"#,
    ]
    .map(str::to_owned);
    std::fs::write(&file, sealed(&lines)).unwrap();
    // Both attempts at creating `orders` (the first namespace POST) fail.
    target
        .inject_fault(
            liveperson_ccs::emulator::Fault::status(503)
                .method(liveperson_ccs::Method::POST)
                .path(format!("/v1/account/{ACCOUNT}"))
                .times(2),
        )
        .unwrap();
    let output = run(
        ccs_at(&target.base_url()),
        &["import", file.to_str().unwrap(), "--attempts", "2"],
    )
    .await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("1 namespace, 1 session and 1 property written"),
        "{stderr}"
    );
    assert!(stderr.contains("3 failed"), "{stderr}");
    let failed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("failed: line"))
        .collect();
    assert_eq!(failed.len(), 3, "{stderr}");
    assert!(
        failed[0].contains(&format!(
            "failed: line 2 of {}: namespace orders: ",
            file.display()
        )),
        "{stderr}"
    );
    for (line, session) in [(1, "line 3 of "), (2, "line 4 of ")] {
        assert!(failed[line].contains(session), "{stderr}");
        assert!(
            failed[line].contains(&format!(": orders/s{line}: ")),
            "{stderr}"
        );
        assert!(
            failed[line].contains("held back: its namespace could not be created (line 2)"),
            "{stderr}"
        );
    }
    let client = v1(&target.base_url());
    let ids: Vec<String> = client
        .session_ids("orders")
        .unwrap()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(ids.is_empty(), "held back: {ids:?}");
    assert_eq!(
        client
            .session("bots", "b1")
            .unwrap()
            .get_property::<i32>("b")
            .await
            .unwrap(),
        Some(1)
    );

    // The fault is spent: the same command finishes the job, TTL included.
    let output = run(
        ccs_at(&target.base_url()),
        &["import", file.to_str().unwrap()],
    )
    .await;
    assert_ok(&output);
    let listed = client.list_namespaces().await.unwrap();
    let orders = listed.iter().find(|n| n.name == "orders").unwrap();
    assert_eq!(orders.ttl, Some(Duration::from_secs(60)));
    assert_eq!(
        client
            .session("orders", "s2")
            .unwrap()
            .get_property::<i32>("a")
            .await
            .unwrap(),
        Some(2)
    );
}

/// Issue 27, item 8: a value nested deeper than the layer's 64 levels is
/// refused by `--dry-run` as by the import, with its line, before anything
/// is written (it used to pass the check, then fail every write).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_nested_too_deep_are_refused_by_the_dry_run() {
    let target = emulator().await;
    let dir = temp_dir("deep");
    let file = dir.join("deep.jsonl");
    let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    let at_limit = format!("{}1{}", "[".repeat(64), "]".repeat(64));
    let lines = [
        r#"{"type":"header","format":"liveperson-ccs-export","version":2,"account":"le12345678"}"#
            .to_owned(),
        r#"{"type":"namespace","name":"orders"}"#.to_owned(),
        format!(
            r#"{{"type":"session","namespace":"orders","session":"ok","properties":{{"v":{at_limit}}}}}"#
        ),
        format!(
            r#"{{"type":"session","namespace":"orders","session":"deep","properties":{{"v":{deep}}}}}"#
        ),
    ];
    std::fs::write(&file, sealed(&lines)).unwrap();
    for dry_run in [true, false] {
        let mut args = vec!["import", file.to_str().unwrap()];
        if dry_run {
            args.push("--dry-run");
        }
        let output = run(ccs_at(&target.base_url()), &args).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("line 4: property \"v\" nests arrays and objects 100 levels deep; at most 64 are allowed"),
            "{stderr}"
        );
        assert!(stderr.contains("1 problem:"), "64 levels pass: {stderr}");
    }
    assert!(target.requests().is_empty(), "{:?}", target.requests());
}

/// Issue 27, item 8: a line over 8 MiB is refused with its number, and
/// nothing is written. (That it is not read whole into memory is the unit
/// test `format::tests::a_200_mb_line_is_refused_after_reading_at_most_the_limit`,
/// which counts the bytes pulled from a generated 200 MB line.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_over_the_limit_is_refused() {
    let target = emulator().await;
    let dir = temp_dir("long-line");
    let file = dir.join("long.jsonl");
    let big = "x".repeat((8 << 20) + 10);
    let lines = [
        r#"{"type":"header","format":"liveperson-ccs-export","version":2,"account":"le12345678"}"#
            .to_owned(),
        r#"{"type":"namespace","name":"orders"}"#.to_owned(),
        format!(
            r#"{{"type":"session","namespace":"orders","session":"big","properties":{{"v":"{big}"}}}}"#
        ),
    ];
    std::fs::write(&file, sealed(&lines)).unwrap();
    drop(big);
    for dry_run in [true, false] {
        let mut args = vec!["import", file.to_str().unwrap()];
        if dry_run {
            args.push("--dry-run");
        }
        let output = run(ccs_at(&target.base_url()), &args).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("line 3: the line is longer than 8388608 bytes"),
            "{stderr}"
        );
        assert!(stderr.contains("1 problem:"), "{stderr}");
        assert!(stderr.contains("nothing was written"), "{stderr}");
    }
    assert!(target.requests().is_empty(), "{:?}", target.requests());
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a proxy does with the n-th request (from 0) to a path.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Action {
    Forward,
    TooManyRequests,
    ServerError,
    Hang,
    /// Forward, and open the gate (one permit).
    Open,
    /// Wait for the gate, then answer as `ServerError` does.
    ServerErrorAfterGate,
}

type Rule = Arc<dyn Fn(u64, &str) -> Action + Send + Sync>;

struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    rule: Rule,
    requests: AtomicU64,
    refused: AtomicU64,
    gate: tokio::sync::Semaphore,
}

/// A loopback proxy in front of an emulator that does what `rule` says.
struct Proxy {
    base_url: String,
    state: Arc<ProxyState>,
    server: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: &str, rule: Rule) -> Proxy {
        let state = Arc::new(ProxyState {
            upstream: upstream.to_owned(),
            http: reqwest::Client::new(),
            rule,
            requests: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            gate: tokio::sync::Semaphore::new(0),
        });
        let app = axum::Router::new()
            .fallback(proxy_handler)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Proxy {
            base_url,
            state,
            server,
        }
    }

    fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn proxy_handler(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    let n = state.requests.fetch_add(1, Ordering::SeqCst);
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let mut action = (state.rule)(n, &path_and_query);
    if action == Action::ServerErrorAfterGate {
        state.gate.acquire().await.unwrap().forget();
        action = Action::ServerError;
    }
    match action {
        Action::Forward | Action::ServerErrorAfterGate => {}
        Action::Open => state.gate.add_permits(1),
        Action::TooManyRequests => {
            state.refused.fetch_add(1, Ordering::SeqCst);
            return Response::builder()
                .status(StatusCode::TOO_MANY_REQUESTS)
                .header("retry-after", "0")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"message":"slow down"}"#))
                .unwrap();
        }
        Action::ServerError => {
            return Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .header("content-type", "application/json")
                .body(Body::from(r#"{"message":"this session is broken"}"#))
                .unwrap();
        }
        Action::Hang => std::future::pending::<()>().await,
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 4 << 20).await.unwrap();
    let mut forward = state
        .http
        .request(parts.method, format!("{}{path_and_query}", state.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if name != "host" {
            forward = forward.header(name, value);
        }
    }
    let answer = forward.send().await.unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        response = response.header(name, value);
    }
    response
        .body(Body::from(answer.bytes().await.unwrap()))
        .unwrap()
}

/// A file of `sessions` sessions in namespace `orders`.
fn export_file(dir: &Path, sessions: usize) -> (PathBuf, BTreeSet<String>) {
    let mut lines = vec![
        HEADER.to_owned(),
        r#"{"type":"namespace","name":"orders","ttl_seconds":7200}"#.to_owned(),
    ];
    for i in 0..sessions {
        lines.push(format!(
            r#"{{"type":"session","namespace":"orders","session":"s{i:04}","properties":{{"big":{BIG},"i":{i},"tag":"t{i}"}}}}"#
        ));
    }
    let file = dir.join("fixture.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let body = lines.into_iter().skip(1).collect();
    (file, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_import_is_finished_by_running_it_again() {
    let target = emulator().await;
    let dir = temp_dir("killed");
    let (file, expected) = export_file(&dir, 400);
    // The proxy passes 120 requests, then holds every later one forever: the
    // import is stuck half-way, deterministically.
    let proxy = Proxy::start(
        &target.base_url(),
        Arc::new(|n, _| {
            if n < 120 {
                Action::Forward
            } else {
                Action::Hang
            }
        }),
    )
    .await;
    let mut child = ccs_at(&proxy.base_url)
        .args(["import", file.to_str().unwrap(), "--concurrency", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait (bounded) until it is stuck: more requests than the proxy passes.
    for _ in 0..600 {
        if proxy.requests() > 120 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(proxy.requests() > 120, "the import did not get half-way");
    child.kill().await.unwrap();
    let client = v1(&target.base_url());
    let written: Vec<String> = client
        .session_ids("orders")
        .unwrap()
        .page_size(1000)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(
        !written.is_empty() && written.len() < 400,
        "half-way: {} sessions",
        written.len()
    );

    let output = run(
        ccs_at(&target.base_url()),
        &["import", file.to_str().unwrap()],
    )
    .await;
    assert_ok(&output);
    assert_eq!(body_lines(&export_text(&target.base_url()).await), expected);
}

/// Sends SIGINT to a child, as Ctrl-C does, through `kill -INT`.
async fn interrupt(child: &tokio::process::Child) {
    let pid = child.id().expect("the child runs").to_string();
    let status = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .await
        .expect("kill runs");
    assert!(status.success());
}

/// Issue 27, item 8: Ctrl-C ends an export and an import with a summary
/// (exit status 130), and leaves no temporary file: not the export's
/// beside its output, not the import's spool of standard input. Each is
/// stuck half-way behind a proxy that holds every request after the 40th.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_ends_export_and_import_with_a_summary_and_no_temporary_file() {
    let source = emulator().await;
    fill(&source.base_url(), 300).await;
    let stuck = |upstream: String| async move {
        Proxy::start(
            &upstream,
            Arc::new(|n, _| {
                if n < 40 {
                    Action::Forward
                } else {
                    Action::Hang
                }
            }),
        )
        .await
    };
    let wait_until_stuck = |proxy: &Proxy| {
        let state = Arc::clone(&proxy.state);
        async move {
            for _ in 0..600 {
                if state.requests.load(Ordering::SeqCst) > 40 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("the command did not get stuck half-way");
        }
    };

    // Export: 10 sessions a page, so it is stuck inside `orders`.
    let proxy = stuck(source.base_url()).await;
    let dir = temp_dir("sigint-export");
    let file = dir.join("backup.jsonl");
    let child = ccs_at(&proxy.base_url)
        .args([
            "export",
            "--page-size",
            "5",
            "--output",
            file.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_stuck(&proxy).await;
    interrupt(&child).await;
    let output = child.wait_with_output().await.unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted (Ctrl-C) after exporting "),
        "{stderr}"
    );
    assert!(
        stderr.contains("backup.jsonl was not written (its temporary file was removed)"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");

    // Import from standard input: the spool is removed too.
    let export = export_text(&source.base_url()).await;
    let target = emulator().await;
    let proxy = stuck(target.base_url()).await;
    let mut child = ccs_at(&proxy.base_url)
        .args(["import", "-", "--concurrency", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(export.as_bytes()).await.unwrap();
    }
    wait_until_stuck(&proxy).await;
    // This child's spool (other tests may spool at the same time).
    let prefix = format!("ccs-import-{}-", child.id().unwrap());
    let ours = move || {
        spools()
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&prefix)
            })
            .count()
    };
    assert_eq!(ours(), 1, "standard input is spooled");
    interrupt(&child).await;
    let output = child.wait_with_output().await.unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("standard input: "), "{stderr}");
    assert!(stderr.contains(" written, "), "a summary: {stderr}");
    assert!(
        stderr.contains("Interrupted (Ctrl-C) at line ")
            && stderr.contains("Running the same command again finishes the job"),
        "{stderr}"
    );
    assert_eq!(ours(), 0, "the spool is removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_still_completes_and_failed_sessions_are_listed() {
    let target = emulator().await;
    let dir = temp_dir("storm");
    let (file, expected) = export_file(&dir, 120);
    // Every other one of the first 120 requests is refused with 429 and
    // `Retry-After: 0`: 60 refusals, spread over concurrent sessions.
    let proxy = Proxy::start(
        &target.base_url(),
        Arc::new(|n, _| {
            if n < 120 && n % 2 == 0 {
                Action::TooManyRequests
            } else {
                Action::Forward
            }
        }),
    )
    .await;
    let output = run(
        ccs_at(&proxy.base_url),
        &[
            "import",
            file.to_str().unwrap(),
            "--concurrency",
            "8",
            "--attempts",
            "70",
        ],
    )
    .await;
    assert_ok(&output);
    assert_eq!(proxy.state.refused.load(Ordering::SeqCst), 60);
    assert!(text(&output.stderr).contains("120 sessions and 360 properties written"));
    assert_eq!(body_lines(&export_text(&target.base_url()).await), expected);

    // Two sessions always fail: the others are written, both are listed with
    // the reason, and the exit status is 1.
    let target = emulator().await;
    let proxy = Proxy::start(
        &target.base_url(),
        Arc::new(|_, path| {
            if path.contains("/s0007/") || path.contains("/s0100/") {
                Action::ServerError
            } else {
                Action::Forward
            }
        }),
    )
    .await;
    let output = run(
        ccs_at(&proxy.base_url),
        &["import", file.to_str().unwrap(), "--attempts", "2"],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("118 sessions and 354 properties written"),
        "{stderr}"
    );
    assert!(stderr.contains("2 failed"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "failed: line 10 of {}: orders/s0007: set_session_properties: 500",
            file.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("this session is broken"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "failed: line 103 of {}: orders/s0100",
            file.display()
        )),
        "{stderr}"
    );
}

/// Issue 27, item 8: failures are listed in line order, not in the order
/// they happen. Line 3's session fails only after line 4's failure is
/// recorded: its answer waits until line 5's request arrives, which the
/// import sends only once a slot is free (`--concurrency 2`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_listed_in_line_order() {
    let target = emulator().await;
    let dir = temp_dir("line-order");
    let (file, _) = export_file(&dir, 6);
    let proxy = Proxy::start(
        &target.base_url(),
        Arc::new(|_, path| {
            if path.contains("/s0000/") {
                Action::ServerErrorAfterGate
            } else if path.contains("/s0001/") {
                Action::ServerError
            } else if path.contains("/s0002/") {
                Action::Open
            } else {
                Action::Forward
            }
        }),
    )
    .await;
    let output = run(
        ccs_at(&proxy.base_url),
        &[
            "import",
            file.to_str().unwrap(),
            "--attempts",
            "1",
            "--concurrency",
            "2",
        ],
    )
    .await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let failed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("failed: line"))
        .collect();
    assert_eq!(failed.len(), 2, "{stderr}");
    let source = file.display();
    assert!(
        failed[0].contains(&format!("line 3 of {source}: orders/s0000")),
        "{stderr}"
    );
    assert!(
        failed[1].contains(&format!("line 4 of {source}: orders/s0001")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_and_edit() {
    let emulator = emulator().await;
    let base = emulator.base_url();
    let output = run(
        ccs_at(&base),
        &["namespace", "create", "orders", "--ttl", "600"],
    )
    .await;
    assert_ok(&output);
    let output = run(
        ccs_at(&base),
        &[
            "set",
            "orders",
            "s1",
            "intent=billing",
            "n=42",
            "quoted=\"42\"",
            &format!("big={BIG}"),
            "list=[1, 2]",
            "--ttl",
            "60",
        ],
    )
    .await;
    assert_ok(&output);

    // Piped, so JSON by default.
    let output = run(ccs_at(&base), &["get", "orders", "s1"]).await;
    assert_ok(&output);
    let got: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        got,
        json!({"intent": "billing", "n": 42, "quoted": "42", "big": serde_json::from_str::<Value>(BIG).unwrap(), "list": [1, 2]})
    );
    assert!(text(&output.stdout).contains(BIG));
    let output = run(
        ccs_at(&base),
        &["get", "orders", "s1", "intent", "n", "--json"],
    )
    .await;
    let got: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(got, json!({"intent": "billing", "n": 42}));

    let output = run(ccs_at(&base), &["namespaces"]).await;
    let got: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(got[0]["name"], "orders");
    assert_eq!(got[0]["ttl_seconds"], 600);

    let output = run(ccs_at(&base), &["set", "orders", "s2", "a=1"]).await;
    assert_ok(&output);
    let output = run(ccs_at(&base), &["sessions", "orders", "--page-size", "1"]).await;
    let got: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(got, json!(["s1", "s2"]));

    let output = run(ccs_at(&base), &["delete", "orders", "s1", "intent"]).await;
    assert_ok(&output);
    let output = run(ccs_at(&base), &["get", "orders", "s1", "intent"]).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&output.stdout).unwrap(),
        json!({})
    );
    let output = run(ccs_at(&base), &["delete", "orders", "s2"]).await;
    assert_ok(&output);
    let output = run(ccs_at(&base), &["get", "orders", "s2"]).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&output.stdout).unwrap(),
        json!({})
    );

    // v2 documents.
    let output = run(
        ccs_at(&base),
        &[
            "doc", "upsert", "orders", "d1", "p=100", "q=abc", "r=1e2", "--ttl", "3600",
        ],
    )
    .await;
    assert_ok(&output);
    let output = run(ccs_at(&base), &["doc", "get", "orders", "d1"]).await;
    assert!(text(&output.stdout).contains(r#""r": 1e2"#), "as written");
    let got: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(got["payload"], json!({"p": 100, "q": "abc", "r": 100.0}));
    assert!(got["expires_at"].is_string());
    let output = run(ccs_at(&base), &["doc", "delete", "orders", "d1", "p"]).await;
    assert_ok(&output);
    let output = run(ccs_at(&base), &["doc", "get", "orders", "d1"]).await;
    let got: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(got["payload"], json!({"q": "abc", "r": 100.0}));
    let output = run(ccs_at(&base), &["doc", "delete", "orders", "d1"]).await;
    assert_ok(&output);
    let output = run(ccs_at(&base), &["doc", "get", "orders", "d1"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("no document orders/d1"));

    let output = run(ccs_at(&base), &["namespace", "delete", "orders"]).await;
    assert_ok(&output);
    let output = run(ccs_at(&base), &["namespaces"]).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&output.stdout).unwrap(),
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_fix_and_secrets_stay_hidden() {
    let emulator = emulator().await;
    let base = emulator.base_url();

    let output = run(ccs(), &["namespaces", "--base-url", &base]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("no account: pass --account or set LP_ACCOUNT_ID"));

    let mut command = ccs();
    command
        .env("LP_ACCOUNT_ID", ACCOUNT)
        .env("LP_CCS_BASE_URL", &base);
    let output = run(command, &["get", "orders", "s1"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("needs an API key: pass --api-key or set LP_CCS_API_KEY")
    );

    let output = run(
        ccs(),
        &[
            "namespaces",
            "--account",
            ACCOUNT,
            "--region",
            "mars",
            "--api-key",
            "k",
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("pass --region or set LP_REGION"));

    // A wrong key: the service's 403, the fix named, the key never shown.
    let wrong = "wrong-key-3f9a7d";
    let mut command = ccs();
    command
        .env("LP_ACCOUNT_ID", ACCOUNT)
        .env("LP_CCS_BASE_URL", &base);
    let output = run(command, &["namespaces", "--api-key", wrong]).await;
    assert_eq!(output.status.code(), Some(1));
    let all = text(&output.stdout) + &text(&output.stderr);
    assert!(all.contains("warning: --api-key shows the secret"), "{all}");
    assert!(
        all.contains("unauthorized") && all.contains("LP_CCS_API_KEY"),
        "{all}"
    );
    assert!(!all.contains(wrong), "{all}");

    let output = run(ccs_at(&base), &["set", "orders", "s1", "novalue"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("is not NAME=JSON"));
    let output = run(ccs_at(&base), &["get", "sde", "s1"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("reserved"));
}

#[tokio::test]
async fn every_help_gives_an_example() {
    let output = run(ccs(), &["--help"]).await;
    assert_ok(&output);
    assert!(text(&output.stdout).contains("ccs export --output backup.jsonl"));
    for command in [
        &["serve"][..],
        &["namespaces"],
        &["namespace"],
        &["sessions"],
        &["get"],
        &["set"],
        &["delete"],
        &["doc"],
        &["export"],
        &["import"],
        &["copy"],
        &["schema"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let output = run(ccs(), &args).await;
        assert_ok(&output);
        let help = text(&output.stdout);
        assert!(
            help.contains("Example"),
            "{command:?} --help has no example:\n{help}"
        );
    }
}

/// The rest of a `ccs serve`'s output, kept open while the test runs (a
/// closed pipe would fail its later writes).
type ServeOutput = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>;

/// `ccs serve` on a free port with `flags`, and its base URL once it
/// listens (its first line of output).
async fn serve(flags: &[&str]) -> (tokio::process::Child, String, ServeOutput) {
    let mut child = ccs()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let first = lines
        .next_line()
        .await
        .unwrap()
        .expect("the listening line");
    let base = first
        .strip_prefix("listening on ")
        .expect(&first)
        .to_owned();
    (child, base, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_imports_at_start_and_exports_on_sigterm() {
    let dir = temp_dir("serve");
    let (file, expected) = export_file(&dir, 50);
    let out = dir.join("state.jsonl");
    let (mut child, base, _output) = serve(&[
        "--account",
        ACCOUNT,
        "--import",
        file.to_str().unwrap(),
        "--export-on-exit",
        out.to_str().unwrap(),
    ])
    .await;
    // The data is there as soon as it listens.
    let output = run(ccs_at(&base), &["get", "orders", "s0049"]).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&output.stdout).unwrap(),
        json!({"big": serde_json::from_str::<Value>(BIG).unwrap(), "i": 49, "tag": "t49"})
    );
    assert!(text(&output.stdout).contains(BIG), "every digit kept");
    let output = run(ccs_at(&base), &["set", "orders", "added", "x=1"]).await;
    assert_ok(&output);

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{status:?}");
    let exported = std::fs::read_to_string(&out).unwrap();
    let mut expected = expected;
    expected.insert(
        r#"{"type":"session","namespace":"orders","session":"added","properties":{"x":1}}"#
            .to_owned(),
    );
    assert_eq!(body_lines(&exported), expected);
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "no temporary file is left: {names:?}");

    // A bad file stops `serve` before it listens.
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{}\n").unwrap();
    let output = run(
        ccs(),
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--account",
            ACCOUNT,
            "--import",
            bad.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(!text(&output.stdout).contains("listening"));
}

/// The committed schema describes what `ccs export` writes: each line's
/// type, required members and member types (the JSON Schema check proper is
/// `scripts/docs-check/check-export-schema`, with a third-party validator).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_follow_the_committed_schema() {
    let schema: Value =
        serde_json::from_str(include_str!("../../schemas/ccs-export.schema.json")).unwrap();
    let output = run(ccs(), &["schema"]).await;
    assert_ok(&output);
    assert_eq!(
        serde_json::from_slice::<Value>(&output.stdout).unwrap(),
        schema,
        "schemas/ccs-export.schema.json is stale: run `ccs schema > schemas/ccs-export.schema.json`"
    );
    let source = emulator().await;
    fill(&source.base_url(), 3).await;
    let export = export_text(&source.base_url()).await;
    let defs = &schema["$defs"];
    for line in export.lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        let kind = value["type"].as_str().unwrap();
        let branch = schema["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["properties"]["type"]["const"] == kind)
            .unwrap_or_else(|| panic!("no schema branch for {kind}"));
        let name = branch["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
        let def = &defs[name];
        for required in def["required"].as_array().unwrap() {
            assert!(
                value.get(required.as_str().unwrap()).is_some(),
                "{line}: {required}"
            );
        }
        for (member, member_value) in value.as_object().unwrap() {
            if member == "type" {
                continue;
            }
            let declared = &def["properties"][member];
            assert!(
                declared.is_object(),
                "{line}: {member} is not in the schema"
            );
            let types: Vec<&str> = match &declared["type"] {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => panic!("{member}: no type"),
            };
            let actual = match member_value {
                Value::String(_) => "string",
                Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
                Value::Object(_) => "object",
                other => panic!("{member}: unexpected {other}"),
            };
            assert!(
                types.contains(&actual),
                "{line}: {member} is {actual}, schema says {types:?}"
            );
        }
    }
}

/// `ccs` run with `input` on its standard input.
async fn run_with_input(mut command: Command, args: &[&str], input: &str) -> Output {
    use tokio::io::AsyncWriteExt;
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ccs runs");
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    child.wait_with_output().await.expect("ccs ends")
}

/// Temporary files `ccs import -` left behind.
fn spools() -> Vec<PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("ccs-import-"))
        })
        .collect()
}

/// `ccs export | ccs import -`: standard input is imported as a file is,
/// checked whole first (a bad line refuses it all, naming "standard input"),
/// and its temporary copy is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_reads_standard_input() {
    let source = emulator().await;
    fill(&source.base_url(), 30).await;
    let exported = export_text(&source.base_url()).await;
    let before = spools();

    let target = emulator().await;
    let output = run_with_input(ccs_at(&target.base_url()), &["import", "-"], &exported).await;
    assert_ok(&output);
    assert!(
        text(&output.stderr).contains("standard input: 2 namespaces, 32 sessions"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(
        body_lines(&export_text(&target.base_url()).await),
        body_lines(&exported)
    );

    let empty = emulator().await;
    let bad = exported.replacen(r#""type":"session""#, r#""type":"sessoin""#, 1);
    let output = run_with_input(ccs_at(&empty.base_url()), &["import", "-"], &bad).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    // The line, and the trailer that no longer agrees (counts and digest).
    assert!(stderr.contains("standard input: 3 problems:"), "{stderr}");
    assert!(stderr.contains("unknown line type \"sessoin\""), "{stderr}");
    assert!(
        stderr.contains("standard input was refused; nothing was written"),
        "{stderr}"
    );
    let after = export_text(&empty.base_url()).await;
    assert!(body_lines(&after).is_empty(), "{after}");

    assert_eq!(spools(), before, "the temporary copies are removed");
}

/// `ccs serve --journal-limit N` keeps the last N requests in the journal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_as_many_requests_as_its_journal_limit() {
    let (mut child, base, _output) = serve(&["--journal-limit", "2"]).await;
    let http = reqwest::Client::new();
    for namespace in ["a1", "a2", "a3"] {
        let status = http
            .get(format!(
                "{base}/v1/account/{ACCOUNT}/{namespace}/properties"
            ))
            .header("maven-api-key", API_KEY)
            .send()
            .await
            .unwrap()
            .status();
        assert!(
            status.is_success() || status == reqwest::StatusCode::NOT_FOUND,
            "{status}"
        );
    }
    let journal: Value = http
        .get(format!("{base}/__emulator/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths: Vec<&str> = journal
        .as_array()
        .expect("a list")
        .iter()
        .map(|entry| entry["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            format!("/v1/account/{ACCOUNT}/a2/properties"),
            format!("/v1/account/{ACCOUNT}/a3/properties"),
        ]
    );
    child.kill().await.unwrap();
}

/// A name with `\` and `..` stays one name through the command line: before
/// names were encoded by the crate's own rule, `ccs delete nsX '..\nsY\victim'`
/// deleted `nsY/victim`, and an import line reached another account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_stay_in_their_segment_through_the_cli() {
    let target = emulator().await;
    let base = target.base_url();
    let client = v1(&base);
    let victim = client.session("nsY", "victim").unwrap();
    victim.set_property("keep", &1).await.unwrap();

    let output = run(ccs_at(&base), &["delete", "nsX", r"..\nsY\victim"]).await;
    assert_ok(&output);
    assert_eq!(
        target.requests().last().map(|r| r.path.clone()).as_deref(),
        Some("/v1/account/le12345678/nsX/..%5CnsY%5Cvictim/properties")
    );
    assert_eq!(victim.get_property::<i32>("keep").await.unwrap(), Some(1));

    // An import file whose sessions try to leave their namespace and account.
    let dir = temp_dir("hostile-names");
    let file = dir.join("hostile.jsonl");
    let names = [
        r"..\..\le2\nsZ\other",
        r"..\consumer\s1",
        "../nsY/victim",
        "%2e%2e",
    ];
    let mut lines = vec![
        HEADER.to_owned(),
        r#"{"type":"namespace","name":"nsX"}"#.to_owned(),
    ];
    for name in names {
        lines.push(
            json!({"type": "session", "namespace": "nsX", "session": name, "properties": {"k": 1}})
                .to_string(),
        );
    }
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    // --dry-run and the import agree: the names are valid, each one session.
    let output = run(
        ccs_at(&base),
        &["import", file.to_str().unwrap(), "--dry-run"],
    )
    .await;
    assert_ok(&output);
    assert!(
        text(&output.stderr).contains("would write 1 namespace, 4 sessions, 4 properties"),
        "{}",
        text(&output.stderr)
    );
    target.clear_requests();
    let output = run(ccs_at(&base), &["import", file.to_str().unwrap()]).await;
    assert_ok(&output);
    for request in target.requests() {
        let path = request
            .path
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned();
        let segments: Vec<&str> = path.split('/').collect();
        assert!(
            segments[..3] == ["", "v1", "account"]
                && segments[3] == ACCOUNT
                && segments.get(4).is_none_or(|ns| *ns == "nsX"),
            "{} {path}",
            request.method
        );
    }
    for name in names {
        let session = client.session("nsX", name).unwrap();
        assert_eq!(
            session.get_property::<i32>("k").await.unwrap(),
            Some(1),
            "{name}"
        );
    }
    assert_eq!(victim.get_property::<i32>("keep").await.unwrap(), Some(1));
    let other = CcsV1Client::builder()
        .account("le2")
        .base_url(&base)
        .api_key(API_KEY)
        .build()
        .unwrap();
    assert!(other.list_namespaces().await.unwrap().is_empty());

    // What no name can be: refused by --dry-run as by the import.
    std::fs::write(
        &file,
        format!(
            "{HEADER}\n{}\n",
            json!({"type": "session", "namespace": "nsX", "session": "..", "properties": {"k": 1}})
        ),
    )
    .unwrap();
    for args in [
        vec!["import", file.to_str().unwrap(), "--dry-run"],
        vec!["import", file.to_str().unwrap()],
    ] {
        let output = run(ccs_at(&base), &args).await;
        assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
        assert!(
            text(&output.stderr).contains("line 2"),
            "{}",
            text(&output.stderr)
        );
    }
}

/// `ccs serve --body-read-timeout S`: a request body not complete S seconds
/// after its head is answered 408 and its connection closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_cuts_off_a_body_slower_than_its_body_read_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut child, base, _output) = serve(&["--body-read-timeout", "0.5"]).await;
    let addr = base.strip_prefix("http://").expect(&base);
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    // One byte of the hundred announced, then nothing.
    let request = format!(
        "PATCH /v1/account/{ACCOUNT}/ns/properties HTTP/1.1\r\nHost: x\r\n\
         maven-api-key: {API_KEY}\r\ncontent-length: 100\r\n\r\n{{"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_string(&mut answer))
        .await
        .expect("the connection is closed")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(
        answer.ends_with(r#"{"message":"request body not received in time"}"#),
        "{answer}"
    );
    child.kill().await.unwrap();
}

/// An invalid base URL is named in the error without its query (a token may
/// travel there) or user information.
#[tokio::test]
async fn a_bad_base_url_is_shown_without_its_secrets() {
    for url in [
        "http://127.0.0.1:9/?access_token=SECRETX",
        "ftp://127.0.0.1:9/?SECRETX",
        "http://user:SECRETX@127.0.0.1:9/",
    ] {
        let output = run(
            ccs(),
            &[
                "namespaces",
                "--account",
                ACCOUNT,
                "--api-key",
                "k",
                "--base-url",
                url,
            ],
        )
        .await;
        assert!(!output.status.success(), "{url}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains("base URL"), "{url}: {stderr}");
        assert!(!stderr.contains("SECRETX"), "{url}: {stderr}");
        assert!(!text(&output.stdout).contains("SECRETX"), "{url}");
    }
}
