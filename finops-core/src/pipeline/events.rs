//! The event stream: the pipeline runs inside the stream itself (no spawned task), so dropping the stream drops
//! the work, and the stream needs no particular runtime beyond what the providers use.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use futures::channel::mpsc;

use super::{AnalysisRequest, Event, Pipeline, run};

/// Where a running analysis sends its events (nowhere for `analyze`).
#[derive(Debug, Clone)]
pub(crate) struct Emitter {
    tx: Option<mpsc::UnboundedSender<Event>>,
}

impl Emitter {
    pub(crate) fn silent() -> Self {
        Emitter { tx: None }
    }

    /// Sends events to `tx` (a queue's worker relays them to followers in other processes).
    pub(crate) fn to(tx: mpsc::UnboundedSender<Event>) -> Self {
        Emitter { tx: Some(tx) }
    }

    /// Whether anyone receives events (so callers can skip building them).
    pub(crate) fn is_listening(&self) -> bool {
        self.tx.is_some()
    }

    pub(crate) fn emit(&self, event: Event) {
        if let Some(tx) = &self.tx {
            // The receiver only goes away with the stream, which also drops this work: nothing to do on error.
            let _ = tx.unbounded_send(event);
        }
    }
}

/// The events of one analysis, in order. Ends after `Completed` or `Failed`.
pub struct EventStream {
    work: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    rx: mpsc::UnboundedReceiver<Event>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("running", &self.work.is_some())
            .finish()
    }
}

impl EventStream {
    pub(crate) fn start(pipeline: Pipeline, request: AnalysisRequest) -> Self {
        let (tx, rx) = mpsc::unbounded();
        let emitter = Emitter { tx: Some(tx) };
        let work = async move {
            match run::run(&pipeline, request, &emitter).await {
                Ok(analysis) => emitter.emit(Event::Completed {
                    analysis: Box::new(analysis),
                }),
                Err(e) => emitter.emit(Event::Failed { error: (&e).into() }),
            }
        };
        EventStream {
            work: Some(Box::pin(work)),
            rx,
        }
    }
}

impl Stream for EventStream {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        if let Some(work) = self.work.as_mut()
            && work.as_mut().poll(cx).is_ready()
        {
            // Dropping the finished work drops its sender, so the channel ends once drained.
            self.work = None;
        }
        match Pin::new(&mut self.rx).poll_next(cx) {
            Poll::Ready(Some(event)) => Poll::Ready(Some(event)),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending if self.work.is_none() => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
