//! Claiming, retrying and burying jobs: starting a claimed entry, acknowledging it, moving due retries back to
//! the stream, and dead letters.

use super::*;

impl RedisQueue {
    pub(super) async fn bury(&self, id: &str, msg: &str, tenant: &str, error: &str) -> Result<()> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HSET")
            .arg(self.job(id))
            .arg("status")
            .arg("dead")
            .arg("error")
            .arg(error)
            .ignore()
            .cmd("XACK")
            .arg(self.jobs())
            .arg(GROUP)
            .arg(msg)
            .ignore()
            .cmd("XADD")
            .arg(format!("{}:dead", self.prefix))
            .arg("*")
            .arg("id")
            .arg(id)
            .arg("tenant")
            .arg(tenant)
            .ignore()
            .cmd("EVAL")
            .arg(FORGET_LATER)
            .arg(2)
            .arg(self.job(id))
            .arg(self.jobs())
            .arg(self.retention_secs())
            .arg(msg)
            .ignore();
        // Dead letters older than the retention go too (stream ids start with their time in ms).
        let horizon = chrono::Utc::now().timestamp_millis()
            - i64::try_from(self.retention.as_millis()).unwrap_or(i64::MAX);
        if horizon > 0 {
            pipe.cmd("XTRIM")
                .arg(format!("{}:dead", self.prefix))
                .arg("MINID")
                .arg(horizon)
                .ignore();
        }
        let () = pipe.query_async(&mut conn).await.map_err(e)?;
        Ok(())
    }

    /// Moves retries whose backoff ended back to the stream (each once, whoever gets there first).
    pub(super) async fn promote(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let now = chrono::Utc::now().timestamp_millis();
        let due: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(format!("{}:delayed", self.prefix))
            .arg("-inf")
            .arg(now)
            .arg("LIMIT")
            .arg(0)
            .arg(16)
            .query_async(&mut conn)
            .await
            .map_err(e)?;
        for id in due {
            let removed: i64 = redis::cmd("ZREM")
                .arg(format!("{}:delayed", self.prefix))
                .arg(&id)
                .query_async(&mut conn)
                .await
                .map_err(e)?;
            if removed == 1 {
                let _: String = redis::cmd("XADD")
                    .arg(self.jobs())
                    .arg("*")
                    .arg("id")
                    .arg(&id)
                    .query_async(&mut conn)
                    .await
                    .map_err(e)?;
            }
        }
        Ok(())
    }

    pub(super) async fn open(
        &self,
        id: &str,
        f: &std::collections::HashMap<String, Vec<u8>>,
    ) -> Result<JobSpec> {
        let text = |k: &str| String::from_utf8_lossy(f.get(k).map_or(&[][..], |v| v)).to_string();
        let sealed =
            Sealed::from_bytes(f.get("payload").map_or(&[][..], |v| v)).map_err(|err| {
                Error::Integrity {
                    reason: format!("job {id}: {err}"),
                }
            })?;
        let plain = self
            .vault
            .open_cache_value(KIND, &text("tenant"), &text("client_tag"), id, &sealed)
            .await?
            .ok_or_else(|| Error::KeyUnavailable {
                key_id: sealed.key_id.clone(),
                reason: format!("job {id}: its client or tenant was erased"),
            })?;
        serde_json::from_slice(&plain).map_err(|err| Error::Integrity {
            reason: format!("job {id}: {err}"),
        })
    }

    /// Acknowledges a stream entry whose job will not run (it ended, or was cancelled).
    pub(super) async fn ack(&self, msg: &str) -> Result<()> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("XACK")
            .arg(self.jobs())
            .arg(GROUP)
            .arg(msg)
            .ignore()
            .cmd("XDEL")
            .arg(self.jobs())
            .arg(msg)
            .ignore();
        let () = pipe.query_async(&mut conn).await.map_err(e)?;
        Ok(())
    }

    /// Moves retries whose backoff ended back to the stream, at most every 100 ms per process.
    pub(super) async fn promote_now_and_then(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        let now = chrono::Utc::now().timestamp_millis();
        let last = self.promoted.load(Ordering::Relaxed);
        if now - last < 100
            || self
                .promoted
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return Ok(());
        }
        self.promote().await
    }

    /// Starts the job of a claimed stream entry: `None` when it ended meanwhile (the entry is acknowledged) or
    /// cannot run (it goes to the dead letters).
    pub(super) async fn start(
        &self,
        worker: &str,
        entry: redis::streams::StreamId,
    ) -> Result<Option<Claimed>> {
        let mut conn = self.conn.clone();
        let Some(id) = entry.get::<String>("id") else {
            return Ok(None);
        };
        let f = self.fields(&id).await?;
        let info = Self::info(&id, &f)?;
        if info.status.is_terminal() {
            // Already ended (a completion whose acknowledgement was lost, a cancelled job): drop the entry.
            self.ack(&entry.id).await?;
            return Ok(None);
        }
        if info.attempts >= info.max_attempts {
            self.bury(
                &id,
                &entry.id,
                &info.tenant,
                "the worker stopped during every attempt",
            )
            .await?;
            return Ok(None);
        }
        let attempt: i64 = redis::Script::new(START)
            .key(self.job(&id))
            .arg(worker)
            .arg(&entry.id)
            .invoke_async(&mut conn)
            .await
            .map_err(e)?;
        let Ok(attempt) = u32::try_from(attempt) else {
            // Cancelled between the read and the start.
            self.ack(&entry.id).await?;
            return Ok(None);
        };
        match self.open(&id, &f).await {
            Ok(spec) => Ok(Some(Claimed {
                id,
                spec,
                attempt,
                worker: worker.to_string(),
            })),
            // A payload no worker can read: straight to the dead letters.
            Err(err) => {
                self.bury(&id, &entry.id, &info.tenant, &err.to_string())
                    .await?;
                Ok(None)
            }
        }
    }
}
