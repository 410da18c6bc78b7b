//! A [`Target`] wrapper that stops a cycle at an exact point: after K creates (or K
//! deactivations) it either requests a shutdown (SIGTERM: the cycle winds down and records
//! itself) or "crashes" — the next create (deactivation) reaches Zoom, then its answer never comes and the test drops the cycle
//! future, so nothing after the Zoom write is recorded (a SIGKILL between the target write
//! and the state write). Counting happens in the wrapper, so the point does not depend on
//! timing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Notify, watch};
use zoomsync::model::{Anchor, Change, MemberPatch, RemoteGroup, RemoteUser, ScimUser};
use zoomsync::scim::{ScimError, Target};

pub enum Halt {
    /// After `after` successful creates, request a shutdown.
    Shutdown { after: usize, signal: watch::Sender<bool> },
    /// Create number `after + 1` is sent to Zoom; then its caller waits forever and `crashed`
    /// is notified.
    Crash { after: usize, crashed: Arc<Notify> },
    /// As `Shutdown`, counting successful deactivations (`set_active(false)`) instead.
    ShutdownAfterDeactivations { after: usize, signal: watch::Sender<bool> },
    /// As `Crash`, counting deactivations: number `after + 1` reaches Zoom, its answer never
    /// comes.
    CrashOnDeactivation { after: usize, crashed: Arc<Notify> },
}

pub struct HaltingTarget<T> {
    inner: T,
    halt: Halt,
    started: AtomicUsize,
    succeeded: AtomicUsize,
}

impl<T> HaltingTarget<T> {
    pub fn new(inner: T, halt: Halt) -> Self {
        Self { inner, halt, started: AtomicUsize::new(0), succeeded: AtomicUsize::new(0) }
    }
}

impl<T: Target> Target for HaltingTarget<T> {
    fn begin_cycle(&self) {
        self.inner.begin_cycle();
    }

    async fn create_user(&self, anchor: &Anchor, user: &ScimUser) -> Result<RemoteUser, ScimError> {
        let number = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let result = self.inner.create_user(anchor, user).await;
        match &self.halt {
            Halt::Crash { after, crashed } if number > *after => {
                // The create happened on Zoom; the process dies before it hears back.
                crashed.notify_one();
                std::future::pending::<()>().await;
            }
            Halt::Shutdown { after, signal }
                if result.is_ok() && self.succeeded.fetch_add(1, Ordering::SeqCst) + 1 == *after =>
            {
                let _ = signal.send(true);
            }
            _ => {}
        }
        result
    }

    async fn update_user(&self, id: &str, changes: &[Change]) -> Result<RemoteUser, ScimError> {
        self.inner.update_user(id, changes).await
    }

    async fn set_active(&self, id: &str, active: bool) -> Result<(), ScimError> {
        if active {
            return self.inner.set_active(id, active).await;
        }
        let number = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let result = self.inner.set_active(id, active).await;
        match &self.halt {
            Halt::CrashOnDeactivation { after, crashed } if number > *after => {
                crashed.notify_one();
                std::future::pending::<()>().await;
            }
            Halt::ShutdownAfterDeactivations { after, signal }
                if result.is_ok() && self.succeeded.fetch_add(1, Ordering::SeqCst) + 1 == *after =>
            {
                let _ = signal.send(true);
            }
            _ => {}
        }
        result
    }

    async fn delete_user(&self, id: &str) -> Result<(), ScimError> {
        self.inner.delete_user(id).await
    }

    async fn mark_user(&self, id: &str, anchor: &Anchor) -> Result<(), ScimError> {
        self.inner.mark_user(id, anchor).await
    }

    async fn get_user(&self, id: &str) -> Result<RemoteUser, ScimError> {
        self.inner.get_user(id).await
    }

    async fn find_user(&self, user_name: &str) -> Result<Option<RemoteUser>, ScimError> {
        self.inner.find_user(user_name).await
    }

    async fn list_users(&self) -> Result<Vec<RemoteUser>, ScimError> {
        self.inner.list_users().await
    }

    async fn find_group(&self, display_name: &str) -> Result<Option<RemoteGroup>, ScimError> {
        self.inner.find_group(display_name).await
    }

    async fn get_group(&self, id: &str) -> Result<RemoteGroup, ScimError> {
        self.inner.get_group(id).await
    }

    async fn create_group(&self, anchor: &Anchor, display_name: &str) -> Result<RemoteGroup, ScimError> {
        self.inner.create_group(anchor, display_name).await
    }

    async fn rename_group(&self, id: &str, display_name: &str) -> Result<(), ScimError> {
        self.inner.rename_group(id, display_name).await
    }

    async fn patch_members(&self, id: &str, patch: &MemberPatch) -> Result<(), ScimError> {
        self.inner.patch_members(id, patch).await
    }

    async fn delete_group(&self, id: &str) -> Result<(), ScimError> {
        self.inner.delete_group(id).await
    }
}
