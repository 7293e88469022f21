//! The axum handler (feature `webhooks-axum`): a [`MethodRouter`] that
//! checks each call with a [`Receiver`], answers at once, and hands the new
//! notifications to a bounded queue.

use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use serde_json::json;
use tokio::sync::mpsc;

use super::Notification;
use super::receiver::Receiver;

const LOG_TARGET: &str = "liveperson_ccs::webhooks";

/// What the handler shares between calls.
struct Endpoint {
    receiver: Receiver,
    queue: mpsc::Sender<Notification>,
    /// The worker of [`Receiver::axum_handler`], started by the first call
    /// (so that making the route needs no runtime).
    worker: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Receiver {
    /// A `POST` route for a connector's webhook endpoint, and the bounded
    /// queue (`capacity` notifications, at least 1) its new notifications go
    /// to. The route fits a `Router` of any state `S`.
    ///
    /// Each call is answered at once, whatever the reader of the queue is
    /// doing:
    ///
    /// | call | answer |
    /// | --- | --- |
    /// | checked, room in the queue for its changes | `200 {"received": N, "duplicates": D}`: the N new ones are queued, redeliveries are not |
    /// | checked, but the queue is full (or its reader dropped) | `503 {"error": "busy", ...}`, nothing queued or remembered: LivePerson retries later |
    /// | client id, account id or signature refused | `401 {"error": "client_id" \| "account_id" \| "signature", "message": ...}` |
    /// | body not a notification | `400 {"error": "body", "message": ...}` naming the field |
    ///
    /// Room is reserved for all the call's changes before any is remembered,
    /// so a 503 loses nothing: the retry is not taken for a redelivery.
    /// A call with more changes than `capacity` is always a 503: make the
    /// queue larger than the changes of one call (LivePerson sends few).
    ///
    /// ```no_run
    /// use liveperson_ccs::webhooks::{Notification, Receiver};
    ///
    /// # async fn demo() -> std::io::Result<()> {
    /// let receiver = Receiver::new("my-client-id", "my-client-secret", "64467156");
    /// let (route, mut queue) = receiver.axum_channel(1024);
    /// let app = axum::Router::new().route("/liveperson/webhooks", route);
    /// tokio::spawn(async move {
    ///     while let Some(notification) = queue.recv().await {
    ///         if let Notification::Content(text) = notification {
    ///             println!("{}: {}", text.conversation(), text.event.message);
    ///         }
    ///     }
    /// });
    /// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
    /// axum::serve(listener, app).await
    /// # }
    /// ```
    pub fn axum_channel<S>(
        &self,
        capacity: usize,
    ) -> (MethodRouter<S>, mpsc::Receiver<Notification>)
    where
        S: Clone + Send + Sync + 'static,
    {
        let (queue, reader) = mpsc::channel(capacity.max(1));
        let endpoint = Endpoint {
            receiver: self.clone(),
            queue,
            worker: Mutex::new(None),
        };
        (route(endpoint), reader)
    }

    /// A `POST` route for a connector's webhook endpoint that calls
    /// `handler` with each new notification, one at a time in the order
    /// received, through a queue of `capacity` notifications: answers as
    /// [`axum_channel`](Self::axum_channel) does (so a 503 when `handler`
    /// falls `capacity` notifications behind).
    ///
    /// Each call of `handler` runs as its own task: a panic in it is
    /// logged and the next notification is handled.
    ///
    /// ```no_run
    /// use liveperson_ccs::webhooks::{Notification, Receiver};
    ///
    /// # async fn demo() -> std::io::Result<()> {
    /// let receiver = Receiver::new("my-client-id", "my-client-secret", "64467156");
    /// let route = receiver.axum_handler(1024, |notification| async move {
    ///     if let Notification::Conversation(change) = notification {
    ///         println!("{} is now {:?}", change.conversation_id, change.details.state);
    ///     }
    /// });
    /// let app = axum::Router::new().route("/liveperson/webhooks", route);
    /// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
    /// axum::serve(listener, app).await
    /// # }
    /// ```
    pub fn axum_handler<S, F, Fut>(&self, capacity: usize, handler: F) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
        F: Fn(Notification) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (queue, mut reader) = mpsc::channel(capacity.max(1));
        let handler = Arc::new(handler);
        let start = move || {
            tokio::spawn(async move {
                while let Some(notification) = reader.recv().await {
                    let handler = handler.clone();
                    let call = tokio::spawn(async move { handler(notification).await });
                    if let Err(err) = call.await {
                        tracing::error!(target: LOG_TARGET, "the webhook handler failed: {err}");
                    }
                }
            });
        };
        route(Endpoint {
            receiver: self.clone(),
            queue,
            worker: Mutex::new(Some(Box::new(start))),
        })
    }
}

fn route<S: Clone + Send + Sync + 'static>(endpoint: Endpoint) -> MethodRouter<S> {
    post(handle).with_state(Arc::new(endpoint))
}

async fn handle(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let start = endpoint
        .worker
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if let Some(start) = start {
        start();
    }
    let checked = match endpoint.receiver.check(&headers, &body) {
        Ok(checked) => checked,
        Err(err) => {
            tracing::warn!(target: LOG_TARGET, check = err.check(), "webhook call refused: {err}");
            return answer(
                err.status(),
                json!({"error": err.check(), "message": err.to_string()}),
            );
        }
    };
    let count = checked.notifications.len();
    let permits = if count == 0 {
        None
    } else {
        match endpoint.queue.try_reserve_many(count) {
            Ok(permits) => Some(permits),
            Err(_) => {
                tracing::warn!(target: LOG_TARGET, changes = count, "webhook queue full: answered 503");
                let mut response = answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"error": "busy", "message": "the receiver's queue is full; retry later"}),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
                return response;
            }
        }
    };
    let delivery = endpoint.receiver.admit(checked);
    let (received, duplicates) = (delivery.notifications().len(), delivery.duplicates());
    if let Some(permits) = permits {
        // One permit per change; the redeliveries' permits are given back
        // when `permits` is dropped.
        for (permit, notification) in permits.zip(delivery) {
            permit.send(notification);
        }
    }
    answer(
        StatusCode::OK,
        json!({"received": received, "duplicates": duplicates}),
    )
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}
