//! Ctrl-C (SIGINT) for the commands that move data (export, import, copy):
//! once [`listen`] is called, the first Ctrl-C does not kill the process
//! but is noted, and each command stops at its next step, removes its
//! temporary files, prints what it did and exits with status
//! [`EXIT_STATUS`]. A second Ctrl-C exits at once.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// The exit status of an interrupted command (128 + SIGINT, as shells do).
pub const EXIT_STATUS: u8 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static NOTIFY: Notify = Notify::const_new();

/// Takes Ctrl-C from now on (call it once, inside the runtime).
pub fn listen() {
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No handler could be installed: Ctrl-C keeps its default.
            return;
        }
        INTERRUPTED.store(true, Ordering::SeqCst);
        NOTIFY.notify_waiters();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(i32::from(EXIT_STATUS));
        }
    });
}

/// Whether Ctrl-C has been pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Completes when Ctrl-C is pressed (at once if it was).
pub async fn wait() {
    let notified = NOTIFY.notified();
    let mut notified = std::pin::pin!(notified);
    // Registered before the flag is read, so no notification is missed.
    notified.as_mut().enable();
    if interrupted() {
        return;
    }
    notified.await;
}

/// `work`'s output, or `None` if Ctrl-C came first (`work` is then
/// dropped: what it holds is released, its temporary files removed).
pub async fn or_interrupted<T>(work: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        biased;
        output = work => Some(output),
        () = wait() => None,
    }
}
