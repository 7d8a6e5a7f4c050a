//! [`PolicyHandle`]: the policy a running server uses, swapped atomically on reload.

use super::{AccessPolicy, PolicyError};
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

/// A shared, replaceable [`AccessPolicy`]. Clones share the policy: give one to
/// [`ServerBuilder::access_policy`](crate::builder::ServerBuilder::access_policy) and keep one
/// to [`replace`](Self::replace) or [`reload`](Self::reload) it while the server runs. Each
/// request reads the policy once, so a swap applies from the next request on, and no request
/// sees half of a policy.
///
/// ```
/// use mcp_rs_server::policy::{AccessPolicy, Item, PolicyHandle, Rule};
///
/// let handle = PolicyHandle::new(AccessPolicy::allow_all());
/// assert!(handle.current().decide(None, Item::Tool("reset")).is_allowed());
/// handle.replace(
///     AccessPolicy::builder().rule(Rule::deny("no-reset").tools(["reset"])).build()?,
/// );
/// assert!(!handle.current().decide(None, Item::Tool("reset")).is_allowed());
/// # Ok::<_, mcp_rs_server::policy::PolicyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PolicyHandle(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// Read by every request (one atomic pointer load, no lock shared between cores).
    policy: ArcSwap<AccessPolicy>,
    file: Option<PathBuf>,
}

impl PolicyHandle {
    /// A handle holding `policy`.
    #[must_use]
    pub fn new(policy: AccessPolicy) -> Self {
        PolicyHandle(Arc::new(Inner {
            policy: ArcSwap::from_pointee(policy),
            file: None,
        }))
    }

    /// A handle holding the policy of `path` (see [`AccessPolicy::from_file`]);
    /// [`reload`](Self::reload) reads the file again.
    ///
    /// # Errors
    /// As [`AccessPolicy::from_file`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, PolicyError> {
        let path = path.as_ref();
        let policy = AccessPolicy::from_file(path)?;
        Ok(PolicyHandle(Arc::new(Inner {
            policy: ArcSwap::from_pointee(policy),
            file: Some(path.to_owned()),
        })))
    }

    /// The policy in force now.
    #[must_use]
    pub fn current(&self) -> Arc<AccessPolicy> {
        self.0.policy.load_full()
    }

    /// Puts `policy` in force, from the next request on.
    pub fn replace(&self, policy: AccessPolicy) {
        self.0.policy.store(Arc::new(policy));
    }

    /// Reads the file again and puts its policy in force. On error the policy in force
    /// stays.
    ///
    /// # Errors
    /// [`PolicyError::NoFile`] for a handle not made by [`from_file`](Self::from_file), or
    /// the file's read, parse or compile error.
    pub fn reload(&self) -> Result<(), PolicyError> {
        let path = self.0.file.as_deref().ok_or(PolicyError::NoFile)?;
        self.replace(AccessPolicy::from_file(path)?);
        Ok(())
    }

    /// The file [`reload`](Self::reload) reads, if any.
    #[must_use]
    pub fn file(&self) -> Option<&Path> {
        self.0.file.as_deref()
    }

    /// Polls the file's modification time every `every` (a tokio task) and reloads when it
    /// has changed and then stayed the same for one more poll (so a file is not read while it
    /// is being written). A file that fails to load, an empty one included, is logged (target
    /// `mcp_rs_server::policy`) and the policy in force stays. Replace the file atomically
    /// (write a temporary file, then rename it over the policy) where you can. The task ends when every clone of the handle is dropped, or
    /// when the returned handle is aborted. Without a file, the task ends at once.
    pub fn watch(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.0);
        let path = self.0.file.clone();
        // Read now, not when the task first runs: a change in between must count.
        let mut seen = path.as_deref().and_then(modified);
        let mut pending: Option<Option<(SystemTime, u64)>> = None;
        tokio::spawn(async move {
            let Some(path) = path else { return };
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let now = modified(&path);
                if now == seen {
                    pending = None;
                    continue;
                }
                // Changed: reload only once two polls in a row see the same stamp, so a
                // half-written file (a prefix of the new policy is often valid TOML) is not
                // put in force.
                if pending != Some(now) {
                    pending = Some(now);
                    continue;
                }
                pending = None;
                seen = now;
                match PolicyHandle(inner).reload() {
                    Ok(()) => tracing::info!(
                        target: "mcp_rs_server::policy",
                        file = %path.display(),
                        "access policy reloaded"
                    ),
                    Err(e) => tracing::warn!(
                        target: "mcp_rs_server::policy",
                        file = %path.display(),
                        error = %e,
                        "access policy not reloaded; the previous policy stays in force"
                    ),
                }
            }
        })
    }
}

impl From<AccessPolicy> for PolicyHandle {
    fn from(policy: AccessPolicy) -> Self {
        PolicyHandle::new(policy)
    }
}

/// The file's modification time and length (`None` when it cannot be read, e.g. while it is
/// being replaced). The length catches a rewrite within the file system's mtime resolution.
fn modified(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}
