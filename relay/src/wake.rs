//! What wakes the idle relay. Every producer of the outbox publishes its
//! event on the Redis channel of its type right after the commit (the
//! services do; so do the relay's own re-publications), so a message on one
//! of those channels means there is something new to relay. A lost message
//! costs at most `--poll-ms`: the loop reads the outbox that often anyway.
//!
//! Not Postgres `LISTEN/NOTIFY`: a notifying commit holds a database-wide
//! lock until it is flushed, serialising every order
//! (docs/decisions/0001-relay-woken-by-redis-not-notify.md).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Notify;

use crate::event::EVENT_TYPES;

const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Subscribes to the event channels on `redis_url` and wakes `wake` per
/// message, reconnecting with a backoff for as long as the task lives.
pub async fn listen(redis_url: String, wake: Arc<Notify>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match subscribe(&redis_url, &wake).await {
            Ok(()) => {
                tracing::warn!("Redis ended the wake-up subscription; polling meanwhile");
                backoff = Duration::from_millis(200);
            }
            Err(e) => {
                tracing::warn!(error = %e, "no Redis wake-up subscription; polling meanwhile")
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn subscribe(redis_url: &str, wake: &Notify) -> redis::RedisResult<()> {
    let client = redis::Client::open(redis_url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    for channel in EVENT_TYPES {
        pubsub.subscribe(*channel).await?;
    }
    // Something may have been committed while no one listened.
    wake.notify_one();
    let mut messages = pubsub.on_message();
    while messages.next().await.is_some() {
        wake.notify_one();
    }
    Ok(())
}
