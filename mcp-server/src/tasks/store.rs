//! [`TaskStore`]: where task records are kept, and the in-memory default.

use super::TaskRecord;
use crate::error::BoxError;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// How many tasks may be held at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskLimits {
    /// Per principal (default 100).
    pub per_owner: usize,
    /// In all (default 10 000).
    pub total: usize,
}

impl Default for TaskLimits {
    fn default() -> Self {
        TaskLimits {
            per_owner: 100,
            total: 10_000,
        }
    }
}

/// Why a [`TaskStore`] refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskStoreError {
    /// The principal already holds `max` tasks.
    #[error("too many tasks for this principal (at most {max})")]
    OwnerLimit {
        /// The limit.
        max: usize,
    },
    /// The server already holds `max` tasks.
    #[error("too many tasks on this server (at most {max})")]
    TotalLimit {
        /// The limit.
        max: usize,
    },
    /// The backend failed.
    #[error("task store failure: {0}")]
    Backend(BoxError),
}

/// Storage of task records. Records expire at [`TaskRecord::expires_at_ms`]: the store must not
/// return an expired record (a Redis backend would use key TTLs).
#[async_trait]
pub trait TaskStore: Send + Sync + 'static {
    /// Stores a new record, unless its owner or the store already holds the most `limits`
    /// allow (expired records do not count).
    ///
    /// # Errors
    /// [`TaskStoreError::OwnerLimit`], [`TaskStoreError::TotalLimit`], or a backend failure.
    async fn insert(&self, record: TaskRecord, limits: TaskLimits) -> Result<(), TaskStoreError>;

    /// The record of task `task_id`, unless it is unknown or expired.
    ///
    /// # Errors
    /// A backend failure.
    async fn get(&self, task_id: &str) -> Result<Option<TaskRecord>, TaskStoreError>;

    /// Replaces the record with the same id; `Ok(false)` when it is gone (expired, removed).
    ///
    /// # Errors
    /// A backend failure.
    async fn update(&self, record: TaskRecord) -> Result<bool, TaskStoreError>;

    /// Deletes the record of task `task_id` (no error when it is unknown).
    ///
    /// # Errors
    /// A backend failure.
    async fn remove(&self, task_id: &str) -> Result<(), TaskStoreError>;
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The default [`TaskStore`]: a map in this process, expired records purged on insert.
#[derive(Debug, Default)]
pub struct InMemoryTaskStore {
    records: Mutex<HashMap<String, TaskRecord>>,
}

impl InMemoryTaskStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        InMemoryTaskStore::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, TaskRecord>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl TaskStore for InMemoryTaskStore {
    async fn insert(&self, record: TaskRecord, limits: TaskLimits) -> Result<(), TaskStoreError> {
        let now = now_ms();
        let mut map = self.map();
        map.retain(|_, r| r.expires_at_ms() > now);
        if map.len() >= limits.total {
            return Err(TaskStoreError::TotalLimit { max: limits.total });
        }
        let owned = map.values().filter(|r| r.owner == record.owner).count();
        if owned >= limits.per_owner {
            return Err(TaskStoreError::OwnerLimit {
                max: limits.per_owner,
            });
        }
        map.insert(record.task_id.clone(), record);
        Ok(())
    }

    async fn get(&self, task_id: &str) -> Result<Option<TaskRecord>, TaskStoreError> {
        let now = now_ms();
        Ok(self
            .map()
            .get(task_id)
            .filter(|r| r.expires_at_ms() > now)
            .cloned())
    }

    async fn update(&self, record: TaskRecord) -> Result<bool, TaskStoreError> {
        let now = now_ms();
        let mut map = self.map();
        match map.get_mut(&record.task_id) {
            Some(r) if r.expires_at_ms() > now => {
                *r = record;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn remove(&self, task_id: &str) -> Result<(), TaskStoreError> {
        self.map().remove(task_id);
        Ok(())
    }
}
