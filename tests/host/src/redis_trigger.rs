//! The Redis trigger, with Spin 3.6.3's delivery semantics: one pub/sub
//! connection per distinct address; messages handled one at a time per
//! address (each handler finishes before the next message is read); every
//! component on a channel runs concurrently, each in a fresh instance; a
//! handler error or trap is logged and the message dropped (no retry); and
//! when the connection drops the trigger ends with an error — no reconnect —
//! which ends the whole process, as `spin up` does.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;

use crate::redis_bindings::RedisHandlerPre;
use crate::runtime::{new_store, ComponentConfig, HostState, Services};
use crate::stats::Stats;

pub struct Subscription {
    pub channel: String,
    pub component: String,
}

pub struct RedisTriggerApp {
    /// Address → its subscriptions.
    pub listeners: HashMap<String, Vec<Subscription>>,
    pub handlers: HashMap<String, (RedisHandlerPre<HostState>, Arc<ComponentConfig>)>,
    pub services: Arc<Services>,
}

impl RedisTriggerApp {
    /// Runs every listener; returns when the first one ends (always an error).
    pub async fn run(self: Arc<Self>) -> anyhow::Result<()> {
        let listeners = self.listeners.keys().cloned().map(|address| {
            let app = self.clone();
            Box::pin(async move { app.listen(&address).await })
        });
        let (result, _, _) = futures::future::select_all(listeners).await;
        result
    }

    async fn listen(&self, address: &str) -> anyhow::Result<()> {
        let subscriptions = &self.listeners[address];
        let client = redis::Client::open(address).context("invalid Redis trigger address")?;
        let mut pubsub = client
            .get_async_pubsub()
            .await
            .context("connecting the Redis trigger")?;
        for s in subscriptions {
            pubsub.subscribe(&s.channel).await.context("SUBSCRIBE")?;
        }
        tracing::info!(channels = subscriptions.len(), "Redis trigger listening");
        let mut messages = pubsub.on_message();
        while let Some(msg) = messages.next().await {
            let channel = msg.get_channel_name().to_string();
            let payload = msg.get_payload_bytes().to_vec();
            let handlers = subscriptions
                .iter()
                .filter(|s| s.channel == channel)
                .map(|s| self.dispatch(&s.component, &channel, payload.clone()));
            futures::future::join_all(handlers).await;
        }
        anyhow::bail!("disconnected from the Redis trigger address")
    }

    async fn dispatch(&self, component: &str, channel: &str, payload: Vec<u8>) {
        let Some((pre, config)) = self.handlers.get(component).cloned() else {
            return;
        };
        let mut store = new_store(pre.engine(), config, self.services.clone());
        let result = async {
            let handler = pre.instantiate_async(&mut store).await?;
            handler
                .fermyon_spin_inbound_redis()
                .call_handle_message(&mut store, &payload)
                .await
        }
        .await;
        store.data_mut().release_pg_connections().await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::info!(component, channel, "handler returned an error: {e:?}"),
            Err(trap) => {
                Stats::bump(&self.services.stats.traps);
                tracing::info!(component, channel, "handler trapped: {trap:?}");
            }
        }
    }
}
