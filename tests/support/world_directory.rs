//! A directory adapter that kills the server after N entries: a crash mid-read.

use std::process::Command;

use zoomsync::model::RawEntry;
use zoomsync::source::{Directory, ReadEnd, SearchRequest, SourceError};

pub struct KillAfter<D> {
    inner: D,
    pid: u32,
    after: usize,
}

impl<D> KillAfter<D> {
    pub fn new(inner: D, pid: u32, after: usize) -> Self {
        Self { inner, pid, after }
    }
}

impl<D: Directory + Sync> Directory for KillAfter<D> {
    async fn stream(&self, on_entry: &mut (dyn FnMut(RawEntry) + Send)) -> Result<ReadEnd, SourceError> {
        let mut seen = 0;
        let pid = self.pid;
        let after = self.after;
        self.inner
            .stream(&mut |e| {
                seen += 1;
                if seen == after {
                    let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
                }
                on_entry(e);
            })
            .await
    }

    async fn search(
        &self,
        requests: &[SearchRequest],
        on_entry: &mut (dyn FnMut(usize, RawEntry) + Send),
    ) -> Result<ReadEnd, SourceError> {
        self.inner.search(requests, on_entry).await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}
