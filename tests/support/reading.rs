//! Reading the users of a configured directory, as `sync` does, for tests that check what
//! the source hands over.

use zoomsync::config::Config;
use zoomsync::source::{self, Decoder, DirectoryRead, Snapshot, SourceError};

/// Reads every user of `cfg`'s directory (the configured adapter and decode rules).
pub async fn read(cfg: &Config) -> Result<DirectoryRead, SourceError> {
    let directory = source::AnyDirectory::from_config(&cfg.directory);
    source::read_users(&directory, &Decoder::new(cfg.directory.decode.clone())).await
}

/// The snapshot of a complete read; panics with the reason when the read was cut short.
pub fn complete(read: DirectoryRead) -> Snapshot {
    match read {
        DirectoryRead::Complete(s) => s,
        DirectoryRead::Incomplete { reason, .. } => panic!("read incomplete: {reason}"),
    }
}
