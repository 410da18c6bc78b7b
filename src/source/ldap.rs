//! LDAP source (placeholder).
use super::{Directory, ReadEnd, SourceError};
use crate::config::{DecodeRules, LdapConfig};
use crate::model::RawEntry;

pub struct LdapDirectory {
    config: LdapConfig,
    attributes: Vec<String>,
}

impl LdapDirectory {
    pub fn new(config: LdapConfig, rules: &DecodeRules) -> Self {
        Self { config, attributes: rules.requested_attributes() }
    }
}

impl Directory for LdapDirectory {
    async fn stream(&self, _on_entry: &mut (dyn FnMut(RawEntry) + Send)) -> Result<ReadEnd, SourceError> {
        let _ = &self.attributes;
        Err(SourceError::Unreachable { url: self.config.url.clone(), detail: "not built".into() })
    }
    fn describe(&self) -> String {
        self.config.url.clone()
    }
}
