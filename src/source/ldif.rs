//! LDIF file source (placeholder, filled in below).
use std::path::PathBuf;

use super::{Directory, ReadEnd, SourceError};
use crate::model::RawEntry;

pub struct LdifDirectory {
    path: PathBuf,
}

impl LdifDirectory {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }
}

impl Directory for LdifDirectory {
    async fn stream(&self, _on_entry: &mut (dyn FnMut(RawEntry) + Send)) -> Result<ReadEnd, SourceError> {
        Err(SourceError::LdifUnreadable { path: self.path.display().to_string(), detail: "not built".into() })
    }
    fn describe(&self) -> String {
        format!("ldif {}", self.path.display())
    }
}

/// Writes users as LDIF that this source reads back to the same users.
pub fn write_users(
    out: &mut dyn std::io::Write,
    rules: &crate::config::DecodeRules,
    users: &[crate::model::DirectoryUser],
) -> std::io::Result<()> {
    let _ = (out, rules, users);
    Ok(())
}
