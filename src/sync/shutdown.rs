//! A shutdown request the cycle checks between operations: the operation in flight
//! finishes, nothing new starts.

#[derive(Clone)]
pub struct Shutdown(Option<tokio::sync::watch::Receiver<bool>>);

impl Shutdown {
    pub fn new(rx: tokio::sync::watch::Receiver<bool>) -> Self {
        Self(Some(rx))
    }

    /// A handle that never fires (one-shot commands, tests).
    pub fn never() -> Self {
        Self(None)
    }

    pub fn is_requested(&self) -> bool {
        self.0.as_ref().is_some_and(|rx| *rx.borrow())
    }
}
