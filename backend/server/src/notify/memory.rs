//! In-memory [`Directory`] and [`Notifier`] for tests: members and activity are set by the test, and every
//! delivered notification is kept for it to inspect.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Mutex, PoisonError},
};

use super::{Directory, Notification, Notifier, NotifyError};

/// A directory whose channels and inactive users the test sets.
#[derive(Debug, Default)]
pub struct MemoryDirectory {
    channels: Mutex<BTreeMap<String, Vec<String>>>,
    inactive: Mutex<BTreeSet<String>>,
}

impl MemoryDirectory {
    /// Sets the members of `channel`.
    pub fn set_channel(&self, channel: &str, members: &[&str]) {
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                channel.to_owned(),
                members.iter().map(|m| (*m).to_owned()).collect(),
            );
    }

    /// Marks `user` active or inactive.
    pub fn set_active(&self, user: &str, active: bool) {
        let mut inactive = self.inactive.lock().unwrap_or_else(PoisonError::into_inner);
        if active {
            inactive.remove(user);
        } else {
            inactive.insert(user.to_owned());
        }
    }
}

#[async_trait::async_trait]
impl Directory for MemoryDirectory {
    async fn channel_members(&self, _account_id: &str, channel: &str) -> Result<Vec<String>, NotifyError> {
        let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(channels.get(channel).cloned().unwrap_or_default())
    }

    async fn is_active(&self, _account_id: &str, user: &str) -> Result<bool, NotifyError> {
        Ok(!self
            .inactive
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(user))
    }
}

/// A notifier that keeps every delivery, and can be told to fail those of some alerts (as Slack does, with a
/// 5xx).
#[derive(Debug, Default)]
pub struct MemoryNotifier {
    delivered: Mutex<Vec<Notification>>,
    failing: Mutex<BTreeSet<String>>,
}

impl MemoryNotifier {
    /// Makes deliveries for `alert_id` fail with a transient error (`false`: succeed again).
    pub fn set_failing(&self, alert_id: &str, failing: bool) {
        let mut set = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        if failing {
            set.insert(alert_id.to_owned());
        } else {
            set.remove(alert_id);
        }
    }

    /// Every notification delivered so far, in order.
    pub fn delivered(&self) -> Vec<Notification> {
        self.delivered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The notifications of one alert, in order.
    pub fn of_alert(&self, alert_id: &str) -> Vec<Notification> {
        self.delivered()
            .into_iter()
            .filter(|n| n.alert_id == alert_id)
            .collect()
    }
}

#[async_trait::async_trait]
impl Notifier for MemoryNotifier {
    async fn deliver(&self, n: &Notification) -> Result<(), NotifyError> {
        if self
            .failing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&n.alert_id)
        {
            return Err(NotifyError::Transient(format!(
                "delivery for {} failed",
                n.alert_id
            )));
        }
        self.delivered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(n.clone());
        Ok(())
    }

    async fn was_delivered(&self, n: &Notification) -> Result<bool, NotifyError> {
        let delivered = self.delivered.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(delivered.iter().any(|d| d.key == n.key))
    }
}
