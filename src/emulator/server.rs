//! The accept loop of [`Emulator`](super::Emulator): HTTP/1.1 through hyper,
//! with the three timeouts `axum::serve` does not have.
//!
//! Each connection is in one of three phases, watched by [`Watched`], a
//! wrapper of its socket, and by [`Timed`], a wrapper of each request body:
//!
//! * **idle**: no request in flight and no byte of the next one yet (a new
//!   connection, or a keep-alive one between requests). After
//!   [`Timeouts::idle`] without a byte, the connection is closed.
//! * **head**: the first byte of a request came; its head (request line and
//!   headers) must be complete within [`Timeouts::header_read`] of it, else
//!   the connection is closed. This stops a client that sends its headers a
//!   byte at a time from holding a connection forever.
//! * **busy**: the request is being answered (its body read, the handler
//!   run, the answer written). While its body is being read, the rest of
//!   the body must arrive within [`Timeouts::body_read`] of the handler's
//!   first read of it (at the end of the head; after an injected `delay`
//!   only for a body with no declared length, which is not read ahead of
//!   the wait); else the read fails, the handler answers 408 and hyper closes
//!   the connection after that answer (it stops reading a request whose body
//!   failed). Otherwise no timeout applies: a slow answer is the emulator's
//!   own doing.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::Bytes;
use axum::response::Response;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

/// The `tracing` target of every event the emulator logs: one of its own,
/// outside `liveperson_ccs`, so that a filter on the clients' target
/// (`liveperson_ccs=debug`) does not also print each request the emulator
/// answers. Ask for them with `ccs_emulator=debug` (`RUST_LOG` for
/// `ccs serve`, or a [`Targets`](https://docs.rs/tracing-subscriber/latest/tracing_subscriber/filter/struct.Targets.html)
/// filter in-process).
pub const LOG_TARGET: &str = "ccs_emulator";

/// Marks an answer that must not be sent: the connection is closed instead
/// (an injected `drop` fault; see `routes.rs`). Its body fails too, so that a
/// server of the caller's (around [`super::router`]) aborts the answer.
#[derive(Clone, Copy, Debug)]
pub(super) struct DropConnection;

/// How long a connection may stay idle, and how long a request head and a
/// request body may take.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timeouts {
    /// Longest wait for the first byte of a request (new or keep-alive).
    pub(super) idle: Duration,
    /// Longest time from a request's first byte to the end of its headers.
    pub(super) header_read: Duration,
    /// Longest time from the first read of a request's body to its end.
    pub(super) body_read: Duration,
}

/// Serves `handler` on `listener` until `stop` resolves, then lets open
/// connections finish their requests (idle ones close at once).
///
/// `handler` answers each request directly, without an axum `Router` around
/// it: the emulator matches its own routes (`routes.rs`), so a router would
/// only add its per-request work (a boxed service cloned, extensions, a
/// path lookup). Hyper writes `Content-Length` from the body's exact size
/// and leaves the body out of an answer to `HEAD`, as axum would.
pub(super) async fn serve<H, F>(
    listener: TcpListener,
    handler: H,
    timeouts: Timeouts,
    stop: impl Future<Output = ()>,
) where
    H: Fn(axum::extract::Request) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let tcp = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _peer)) => tcp,
                Err(error) => {
                    // E.g. out of file descriptors: wait a little rather than spin.
                    tracing::warn!(target: LOG_TARGET, %error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Small answers should leave at once; failing to set it only costs latency.
        let _ = tcp.set_nodelay(true);
        let link = Arc::new(Link::default());
        let io = TokioIo::new(Watched::new(tcp, Arc::clone(&link), timeouts));
        let handler = handler.clone();
        let service = service_fn(move |request: hyper::Request<Incoming>| {
            let guard = InFlight::enter(&link);
            let request = request.map(|body| {
                axum::body::Body::new(Timed::new(body, Arc::clone(&link), timeouts.body_read))
            });
            let answer = handler(request);
            async move {
                let response = answer.await;
                drop(guard);
                if response.extensions().get::<DropConnection>().is_some() {
                    // A `drop` fault: an error makes hyper close the
                    // connection without writing anything.
                    Err(Dropped)
                } else {
                    Ok(response)
                }
            }
        });
        let connection = http1::Builder::new()
            // The timeouts are `Watched`'s (hyper's own header timer also
            // runs between keep-alive requests, so it would cut idle ones).
            .header_read_timeout(None)
            .serve_connection(io, service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::trace!(target: LOG_TARGET, %error, "connection closed");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Why a connection was closed without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

/// Counts a request in flight on its connection while it lives.
struct InFlight(Arc<Link>);

impl InFlight {
    fn enter(link: &Arc<Link>) -> InFlight {
        link.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(link))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the service of one connection and its socket ([`Watched`]) share.
#[derive(Default)]
struct Link {
    /// Requests in flight (0 or 1: HTTP/1.1 without pipelined handling).
    in_flight: AtomicUsize,
    body: Mutex<BodyWatch>,
}

/// The body being read on a connection, if any.
#[derive(Default)]
struct BodyWatch {
    /// When the body being read must be complete (`None`: no body is being read).
    deadline: Option<Instant>,
    /// Set when [`Watched`] failed a read because `deadline` had passed.
    timed_out: bool,
    /// The task of a read left pending while busy with no deadline: woken
    /// when a deadline is set or the connection turns idle, so that its timer
    /// starts.
    parked_read: Option<Waker>,
}

impl Link {
    fn body(&self) -> MutexGuard<'_, BodyWatch> {
        // Nothing panics while holding it; a poisoned lock still holds valid data.
        self.body.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A request body whose reading [`Watched`] times: from the handler's first
/// read of it until its end (or until it is dropped).
struct Timed {
    inner: Incoming,
    link: Arc<Link>,
    timeout: Duration,
    state: TimedState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TimedState {
    NotRead,
    Reading,
    Done,
}

/// The error of a body that did not arrive in time (the handler answers 408).
#[derive(Debug)]
pub(super) struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request body not received in time")
    }
}

impl std::error::Error for BodyTimedOut {}

impl Timed {
    fn new(inner: Incoming, link: Arc<Link>, timeout: Duration) -> Timed {
        Timed {
            inner,
            link,
            timeout,
            state: TimedState::NotRead,
        }
    }

    /// Stops timing; true if the body had timed out.
    fn finish(&mut self) -> bool {
        let reading = self.state == TimedState::Reading;
        self.state = TimedState::Done;
        if !reading {
            return false;
        }
        let mut watch = self.link.body();
        watch.deadline = None;
        std::mem::take(&mut watch.timed_out)
    }
}

impl Body for Timed {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.state == TimedState::NotRead {
            if this.inner.is_end_stream() {
                this.state = TimedState::Done;
            } else {
                this.state = TimedState::Reading;
                let parked = {
                    let mut watch = this.link.body();
                    watch.deadline = Some(Instant::now() + this.timeout);
                    watch.timed_out = false;
                    watch.parked_read.take()
                };
                // A read parked without a timer must now arm one.
                if let Some(read) = parked {
                    read.wake();
                }
            }
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if this.inner.is_end_stream() {
                    this.finish();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                if this.finish() {
                    Poll::Ready(Some(Err(Box::new(BodyTimedOut))))
                } else {
                    Poll::Ready(Some(Err(Box::new(error))))
                }
            }
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Timed {
    fn drop(&mut self) {
        // A body dropped unread to its end: hyper reads no more of it (it
        // drains what is at hand or closes the connection), so no deadline.
        self.finish();
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Idle,
    Head,
    Busy,
}

/// A socket that fails its reads with `TimedOut` when the connection has been
/// idle, or reading one request head or body, for too long (see the module
/// docs).
struct Watched {
    tcp: TcpStream,
    link: Arc<Link>,
    timeouts: Timeouts,
    phase: Phase,
    /// When the current phase times out (while busy, the body's deadline
    /// in `link` is used instead).
    deadline: Instant,
    timer: Pin<Box<Sleep>>,
}

impl Watched {
    fn new(tcp: TcpStream, link: Arc<Link>, timeouts: Timeouts) -> Watched {
        let deadline = Instant::now() + timeouts.idle;
        Watched {
            tcp,
            link,
            timeouts,
            phase: Phase::Idle,
            deadline,
            timer: Box::pin(tokio::time::sleep_until(deadline)),
        }
    }

    /// Busy while a request is in flight; idle again (from now) once it ends.
    fn refresh(&mut self) {
        if self.link.in_flight.load(Ordering::Acquire) > 0 {
            self.phase = Phase::Busy;
        } else if self.phase == Phase::Busy {
            self.phase = Phase::Idle;
            self.deadline = Instant::now() + self.timeouts.idle;
            let parked = self.link.body().parked_read.take();
            if let Some(read) = parked {
                read.wake();
            }
        }
    }

    /// Ready with an error once the current phase has run out of time.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let deadline = if self.phase == Phase::Busy {
            let mut watch = self.link.body();
            match watch.deadline {
                Some(deadline) => deadline,
                None => {
                    watch.parked_read = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
        } else {
            self.deadline
        };
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                let what = match self.phase {
                    Phase::Head => "request headers not received in time",
                    Phase::Busy => {
                        self.link.body().timed_out = true;
                        "request body not received in time"
                    }
                    Phase::Idle => "connection idle too long",
                };
                tracing::debug!(target: LOG_TARGET, what, "closing a connection");
                Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, what))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.refresh();
        let before = buf.filled().len();
        match Pin::new(&mut this.tcp).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before && this.phase == Phase::Idle {
                    this.phase = Phase::Head;
                    this.deadline = Instant::now() + this.timeouts.header_read;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => this.poll_expired(cx).map(Err),
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.refresh();
        Pin::new(&mut this.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.refresh();
        Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}
