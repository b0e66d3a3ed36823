//! A job's event log (a stream of sealed batches per job) and the `:events` channel that wakes followers.

use super::*;

impl RedisQueue {
    /// Relays `<prefix>:events` messages to this process's followers until the queue is dropped.
    pub(super) fn start_following(&self) {
        use futures::StreamExt;
        use std::sync::atomic::Ordering;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to listen from: followers read every second instead.
            return;
        };
        if self.following.swap(true, Ordering::AcqRel) {
            return;
        }
        let (client, channel, signals) = (
            self.client.clone(),
            format!("{}:events", self.prefix),
            Arc::downgrade(&self.signals),
        );
        runtime.spawn(async move {
            while signals.strong_count() > 0 {
                let subscribed = async {
                    let mut pubsub = client.get_async_pubsub().await?;
                    pubsub.subscribe(&channel).await?;
                    Ok::<_, redis::RedisError>(pubsub)
                };
                let mut pubsub = match subscribed.await {
                    Ok(p) => p,
                    Err(err) => {
                        tracing::warn!(error = %err, "following job events: cannot subscribe, trying again");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let mut messages = pubsub.on_message();
                loop {
                    let next = tokio::time::timeout(Duration::from_secs(5), messages.next()).await;
                    let Some(signals) = signals.upgrade() else {
                        return;
                    };
                    match next {
                        Ok(Some(m)) => {
                            if let Ok(id) = m.get_payload::<String>() {
                                signals.wake(&id);
                            }
                        }
                        // The connection closed: subscribe again (followers re-read every second meanwhile).
                        Ok(None) => break,
                        Err(_) => {}
                    }
                }
            }
        });
    }

    pub(super) async fn publish_events(
        &self,
        job: &Claimed,
        client: &str,
        events: &[JobEvent],
    ) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let (client_tag, payload) =
            crate::queue::seal_events(&self.vault, job, client, events).await?;
        let key = self.events(&job.id);
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.cmd("XADD")
            .arg(&key)
            .arg("MAXLEN")
            .arg("~")
            .arg(EVENTS_MAX)
            .arg("*")
            .arg("c")
            .arg(client_tag)
            .arg("p")
            .arg(payload)
            .ignore()
            .cmd("EXPIRE")
            .arg(&key)
            .arg(EVENTS_TTL_SECONDS)
            .ignore()
            .cmd("PUBLISH")
            .arg(format!("{}:events", self.prefix))
            .arg(&job.id)
            .ignore();
        let () = pipe.query_async(&mut conn).await.map_err(e)?;
        Ok(())
    }

    pub(super) async fn read_event_batches(
        &self,
        tenant: &str,
        id: &str,
        cursor: &str,
    ) -> Result<(Vec<JobEvent>, String)> {
        if cursor.contains(char::is_whitespace) {
            return Err(Error::invalid_argument(
                "cursor",
                "not a cursor of this queue",
            ));
        }
        let mut conn = self.conn.clone();
        let owner: Option<String> = redis::cmd("HGET")
            .arg(self.job(id))
            .arg("tenant")
            .query_async(&mut conn)
            .await
            .map_err(e)?;
        if owner.as_deref() != Some(tenant) {
            return Ok((Vec::new(), cursor.to_string()));
        }
        let start = if cursor.is_empty() {
            "-".to_string()
        } else {
            format!("({cursor}")
        };
        let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.events(id))
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(256)
            .query_async(&mut conn)
            .await
            .map_err(|err| {
                if err.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError) {
                    Error::invalid_argument("cursor", "not a cursor of this queue")
                } else {
                    e(err)
                }
            })?;
        let mut events = Vec::new();
        let mut last = cursor.to_string();
        for entry in entries.ids {
            last.clone_from(&entry.id);
            let (Some(client_tag), Some(payload)) =
                (entry.get::<String>("c"), entry.get::<Vec<u8>>("p"))
            else {
                continue;
            };
            events.extend(
                crate::queue::open_events(&self.vault, tenant, id, &client_tag, &payload).await?,
            );
        }
        Ok((events, last))
    }
}
