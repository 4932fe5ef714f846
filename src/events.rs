//! Event subscriptions over IPC: a window that may read (the `subscribe_events` command is
//! in the `default` permission set) gets the engine's events on a `Channel` of its own.
//! Global Tauri events would reach every window, whatever its permissions; a channel
//! reaches only the window that asked.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tauri::async_runtime::JoinHandle;
use telemetry_engine::api::{check_event_kinds, next, ApiError, LiveEvent};
use tokio::sync::broadcast;

use crate::error::Result;

/// Event subscriptions open at once, all windows together.
pub const MAX_EVENT_SUBSCRIPTIONS: usize = 64;

/// The open subscriptions: owner (window label) and forwarding task, by id.
type Registry = Arc<Mutex<HashMap<u32, (String, JoinHandle<()>)>>>;

/// Every window's event subscriptions.
#[derive(Default)]
pub(crate) struct EventSubscriptions {
    next: AtomicU32,
    open: Registry,
}

impl EventSubscriptions {
    /// Forwards the events of `kinds` (all when empty) from `bus` to `send` for `owner`,
    /// until `send` fails (the window is gone), it unsubscribes, or its window is
    /// destroyed. Returns the subscription's id.
    pub(crate) fn subscribe(
        &self,
        owner: &str,
        kinds: Vec<String>,
        mut bus: broadcast::Receiver<LiveEvent>,
        send: impl Fn(LiveEvent) -> bool + Send + 'static,
    ) -> Result<u32> {
        check_event_kinds(&kinds)?;
        let mut open = self.open.lock();
        if open.len() >= MAX_EVENT_SUBSCRIPTIONS {
            return Err(ApiError::bad_argument(
                "kinds",
                format!(
                    "{MAX_EVENT_SUBSCRIPTIONS} event subscriptions are open already; \
                     unsubscribe_events one first"
                ),
            )
            .into());
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let registry = self.open.clone();
        let task = tauri::async_runtime::spawn(async move {
            while let Some(event) = next(&mut bus).await {
                if !(kinds.is_empty() || kinds.iter().any(|k| k == event.kind())) {
                    continue;
                }
                // Sent under the registry's lock and only while the subscription is in
                // it: once `unsubscribe` or `remove_owner` returns, nothing more is sent
                // (aborting the task alone would let an event already taken through).
                let sent = {
                    let open = registry.lock();
                    open.contains_key(&id) && send(event)
                };
                if !sent {
                    break;
                }
            }
            registry.lock().remove(&id);
        });
        open.insert(id, (owner.to_owned(), task));
        Ok(id)
    }

    /// Ends `owner`'s subscription `id`; false for an unknown one or another window's.
    pub(crate) fn unsubscribe(&self, owner: &str, id: u32) -> bool {
        let mut open = self.open.lock();
        if open.get(&id).is_none_or(|(o, _)| o != owner) {
            return false;
        }
        if let Some((_, task)) = open.remove(&id) {
            task.abort();
        }
        true
    }

    /// Ends every subscription of `owner` (its window was destroyed).
    pub(crate) fn remove_owner(&self, owner: &str) {
        self.open.lock().retain(|_, (o, task)| {
            let keep = o != owner;
            if !keep {
                task.abort();
            }
            keep
        });
    }

    /// Subscriptions open now.
    #[cfg(test)]
    fn count(&self) -> usize {
        self.open.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telemetry_engine::health::{HealthStatus, StatusChange};

    fn change(check: &str) -> LiveEvent {
        LiveEvent::Health(StatusChange {
            check: check.into(),
            from: HealthStatus::Unknown,
            to: HealthStatus::Healthy,
            message: String::new(),
            timestamp_ms: 0,
        })
    }

    #[test]
    fn a_window_gets_the_kinds_it_asked_for_until_it_goes() {
        tauri::async_runtime::block_on(async {
            let (bus, _) = broadcast::channel(16);
            let subs = EventSubscriptions::default();
            let (got_tx, mut got) = tokio::sync::mpsc::unbounded_channel();
            let send = move |e| got_tx.send(e).is_ok();
            let id = subs
                .subscribe("main", vec!["health".into()], bus.subscribe(), send)
                .unwrap();
            subs.subscribe("panel", vec!["trace".into()], bus.subscribe(), |_| true)
                .unwrap();
            bus.send(change("disk_space")).unwrap();
            match got.recv().await {
                Some(LiveEvent::Health(c)) => assert_eq!(c.check, "disk_space"),
                other => panic!("{other:?}"),
            }
            // Another window can neither end it; its own window can.
            assert!(!subs.unsubscribe("panel", id));
            subs.remove_owner("main");
            assert_eq!(subs.count(), 1);
            bus.send(change("memory")).unwrap();
            assert!(
                got.recv().await.is_none(),
                "the forwarder ended with its window"
            );
            let err = subs
                .subscribe("main", vec!["everything".into()], bus.subscribe(), |_| true)
                .unwrap_err();
            assert!(err
                .to_string()
                .starts_with("kinds: \"everything\" is not one of"));
        });
    }

    #[test]
    fn subscriptions_are_capped_and_a_gone_receiver_frees_its_place() {
        tauri::async_runtime::block_on(async {
            let (bus, _) = broadcast::channel(16);
            let subs = EventSubscriptions::default();
            for _ in 0..MAX_EVENT_SUBSCRIPTIONS {
                subs.subscribe("main", Vec::new(), bus.subscribe(), |_| false)
                    .unwrap();
            }
            assert!(subs
                .subscribe("main", Vec::new(), bus.subscribe(), |_| true)
                .is_err());
            // Every receiver is gone (`send` fails): the next event frees every place.
            bus.send(change("disk_space")).unwrap();
            for _ in 0..100 {
                if subs.count() == 0 {
                    break;
                }
                tokio::task::yield_now().await;
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            assert_eq!(subs.count(), 0);
        });
    }
}
