//! A fallback chain: when one provider fails (after its own retries), the next one is asked, possibly for another
//! model name. After the last one, the pipeline's offline analyst takes over.

use std::sync::Arc;

use futures::{StreamExt, stream};

use crate::error::{Error, Result};
use crate::provider::{ChatChunk, ChatRequest, ChatStream, Provider};

/// Tries providers in order.
#[derive(Debug)]
pub struct Fallback {
    chain: Vec<(Arc<dyn Provider>, Option<String>)>,
}

impl Fallback {
    /// `chain`: each provider with the model to ask it for (`None`: the request's model). Must not be empty.
    pub fn new(chain: Vec<(Arc<dyn Provider>, Option<String>)>) -> Result<Self> {
        if chain.is_empty() {
            return Err(Error::invalid_argument(
                "chain",
                "a fallback chain needs at least one provider",
            ));
        }
        Ok(Fallback { chain })
    }
}

struct State {
    chain: Vec<(Arc<dyn Provider>, Option<String>)>,
    request: ChatRequest,
    index: usize,
    current: Option<ChatStream>,
    done: bool,
}

impl State {
    fn fail(mut self, error: Error) -> Option<(Result<ChatChunk>, State)> {
        self.current = None;
        // A cancelled call or a request the host got wrong fails the same everywhere.
        let hopeless = matches!(error, Error::Cancelled | Error::InvalidArgument { .. });
        if hopeless || self.index + 1 >= self.chain.len() {
            self.done = true;
            return Some((Err(error), self));
        }
        let from = self.chain[self.index].0.name().to_string();
        self.index += 1;
        let (next, model) = &self.chain[self.index];
        let chunk = ChatChunk::Fallback {
            from,
            to: next.name().to_string(),
            model: model.clone().unwrap_or_else(|| self.request.model.clone()),
            reason: error.to_string(),
        };
        Some((Ok(chunk), self))
    }
}

#[async_trait::async_trait]
impl Provider for Fallback {
    fn name(&self) -> &str {
        self.chain[0].0.name()
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
        let state = State {
            chain: self.chain.clone(),
            request,
            index: 0,
            current: None,
            done: false,
        };
        let s = stream::unfold(state, |mut st| async move {
            if st.done {
                return None;
            }
            if st.current.is_none() {
                let (provider, model) = &st.chain[st.index];
                let mut request = st.request.clone();
                if let Some(m) = model {
                    request.model = m.clone();
                }
                match provider.chat(request).await {
                    Ok(s) => st.current = Some(s),
                    Err(e) => return st.fail(e),
                }
            }
            let next = match st.current.as_mut() {
                Some(s) => s.next().await,
                None => None,
            };
            match next {
                Some(Ok(chunk)) => Some((Ok(chunk), st)),
                Some(Err(e)) => st.fail(e),
                None => None,
            }
        });
        Ok(Box::pin(s))
    }
}
