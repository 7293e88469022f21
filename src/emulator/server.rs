//! The accept loop of [`Emulator`](super::Emulator): HTTP/1.1 through hyper,
//! with the two timeouts `axum::serve` does not have.
//!
//! Each connection is in one of three phases, watched by [`Watched`], a
//! wrapper of its socket:
//!
//! * **idle**: no request in flight and no byte of the next one yet (a new
//!   connection, or a keep-alive one between requests). After
//!   [`Timeouts::idle`] without a byte, the connection is closed.
//! * **head**: the first byte of a request came; its head (request line and
//!   headers) must be complete within [`Timeouts::header_read`] of it, else
//!   the connection is closed. This stops a client that sends its headers a
//!   byte at a time from holding a connection forever.
//! * **busy**: the request is being answered (its body read, the handler
//!   run, the answer written). No timeout applies: a slow answer is the
//!   emulator's own doing, and the body is bounded by the body limit.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

use super::routes::DropConnection;

/// How long a connection may stay idle, and how long a request head may take.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timeouts {
    /// Longest wait for the first byte of a request (new or keep-alive).
    pub(super) idle: Duration,
    /// Longest time from a request's first byte to the end of its headers.
    pub(super) header_read: Duration,
}

/// Serves `router` on `listener` until `stop` resolves, then lets open
/// connections finish their requests (idle ones close at once).
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    timeouts: Timeouts,
    stop: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let tcp = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _peer)) => tcp,
                Err(error) => {
                    // E.g. out of file descriptors: wait a little rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Small answers should leave at once; failing to set it only costs latency.
        let _ = tcp.set_nodelay(true);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let io = TokioIo::new(Watched::new(tcp, Arc::clone(&in_flight), timeouts));
        let inner = TowerToHyperService::new(router.clone());
        let service = service_fn(move |request| {
            let guard = InFlight::enter(&in_flight);
            let answer = hyper::service::Service::call(&inner, request);
            async move {
                let answer = answer.await;
                drop(guard);
                match answer {
                    // A `drop` fault: an error makes hyper close the
                    // connection without writing anything.
                    Ok(response) if response.extensions().get::<DropConnection>().is_some() => {
                        Err(Dropped)
                    }
                    Ok(response) => Ok(response),
                    Err(never) => match never {},
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
                tracing::trace!(%error, "connection closed");
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
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<AtomicUsize>) -> InFlight {
        count.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(count))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Idle,
    Head,
    Busy,
}

/// A socket that fails its reads with `TimedOut` when the connection has been
/// idle, or reading one request head, for too long (see the module docs).
struct Watched {
    tcp: TcpStream,
    in_flight: Arc<AtomicUsize>,
    timeouts: Timeouts,
    phase: Phase,
    /// When the current phase times out (unused while busy).
    deadline: Instant,
    timer: Pin<Box<Sleep>>,
    /// The task of a read left pending while busy (no timer was armed then):
    /// woken when the connection turns idle, so that its timer starts.
    parked_read: Option<Waker>,
}

impl Watched {
    fn new(tcp: TcpStream, in_flight: Arc<AtomicUsize>, timeouts: Timeouts) -> Watched {
        let deadline = Instant::now() + timeouts.idle;
        Watched {
            tcp,
            in_flight,
            timeouts,
            phase: Phase::Idle,
            deadline,
            timer: Box::pin(tokio::time::sleep_until(deadline)),
            parked_read: None,
        }
    }

    /// Busy while a request is in flight; idle again (from now) once it ends.
    fn refresh(&mut self) {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            self.phase = Phase::Busy;
        } else if self.phase == Phase::Busy {
            self.phase = Phase::Idle;
            self.deadline = Instant::now() + self.timeouts.idle;
            if let Some(read) = self.parked_read.take() {
                read.wake();
            }
        }
    }

    /// Ready with an error once the current phase has run out of time.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if self.phase == Phase::Busy {
            self.parked_read = Some(cx.waker().clone());
            return Poll::Pending;
        }
        if self.timer.deadline() != self.deadline {
            self.timer.as_mut().reset(self.deadline);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                let what = match self.phase {
                    Phase::Head => "request headers not received in time",
                    _ => "connection idle too long",
                };
                tracing::debug!(what, "closing a connection");
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
