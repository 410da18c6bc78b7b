//! The lease's LDAP side (`[lease]`; the decisions are `source::lease`): one connection per
//! look, the root DSE (does the server offer the RFC 4528 assertion control?), one Base
//! read of the lease attribute, and at most one Modify that swaps the value read for the new
//! one. Every step under the directory's timeout.

use std::collections::HashSet;

use ldap3::controls::Assertion;
use ldap3::{Ldap, Mod, Scope, ldap_escape};

use super::entry::to_raw_entry;
use super::{connect, settings};
use crate::config::{LdapConfig, LeaseConfig};
use crate::source::SourceError;
use crate::source::lease::Lease;
use crate::source::root_dse::RootDse;

/// RFC 4528 (`supportedControl` on the root DSE).
pub const ASSERTION_CONTROL: &str = "1.3.6.1.1.12";

const RC_NO_SUCH_ATTRIBUTE: u32 = 16;
const RC_ATTRIBUTE_OR_VALUE_EXISTS: u32 = 20;
const RC_NO_SUCH_OBJECT: u32 = 32;
const RC_INSUFFICIENT_ACCESS: u32 = 50;
const RC_ASSERTION_FAILED: u32 = 122;

/// Why a look at the lease, or a swap, did not succeed. Whatever it is, the lease this host
/// held runs out by itself: nothing here extends it.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Another host changed the value between the read and the swap.
    #[error("another host changed the lease first ({detail})")]
    Lost { detail: String },
    #[error("the lease entry {dn} does not exist: create it with `{attribute}: none 0`")]
    NoEntry { dn: String, attribute: String },
    #[error(
        "the lease attribute {attribute} of {dn} has no value and the server offers no assertion control \
         (1.3.6.1.1.12) to take it safely: set it to `none 0`"
    )]
    NeedsBootstrap { dn: String, attribute: String },
    #[error("the server refused the lease operation: {detail}")]
    Refused { detail: String },
}

/// One connection to the directory for the lease.
pub struct LeaseConn {
    ldap: Ldap,
    config: LdapConfig,
    lease: LeaseConfig,
    assertion: bool,
}

impl LeaseConn {
    /// Connects and binds as the directory's service account, and reads the root DSE.
    pub async fn open(config: &LdapConfig, lease: &LeaseConfig) -> Result<Self, LeaseError> {
        let mut ldap = connect(config, settings(config)?).await?;
        let ldap3::SearchResult(entries, _) = ldap
            .with_timeout(config.timeout)
            .search("", Scope::Base, "(objectClass=*)", vec!["supportedControl"])
            .await
            .map_err(|e| refused(format!("reading the root DSE: {e}")))?;
        let assertion = entries
            .into_iter()
            .filter_map(|e| to_raw_entry(e.0))
            .any(|e| RootDse::from_entry(&e).supports_control(ASSERTION_CONTROL));
        Ok(Self { ldap, config: config.clone(), lease: lease.clone(), assertion })
    }

    /// Whether the server offers the RFC 4528 assertion control.
    pub fn supports_assertion(&self) -> bool {
        self.assertion
    }

    /// The lease attribute's values (text; none when it has no value).
    pub async fn values(&mut self) -> Result<Vec<String>, LeaseError> {
        let attribute = self.lease.attribute.as_str();
        let result = self
            .ldap
            .with_timeout(self.config.timeout)
            .search(&self.lease.dn, Scope::Base, "(objectClass=*)", vec![attribute])
            .await
            .map_err(|e| refused(format!("reading {}: {e}", self.lease.dn)))?;
        let ldap3::SearchResult(entries, result) = result;
        match result.rc {
            0 => {}
            RC_NO_SUCH_OBJECT => return Err(self.no_entry()),
            rc => return Err(refused(format!("reading {}: rc={rc} {}", self.lease.dn, result.text))),
        }
        let Some(entry) = entries.into_iter().find_map(|e| to_raw_entry(e.0)) else {
            // The service account may not read it (no ACL): it looks absent.
            return Err(self.no_entry());
        };
        Ok(entry.values(attribute).iter().map(|v| String::from_utf8_lossy(v).trim().to_string()).collect())
    }

    /// One Modify: delete `old` (the exact value read) and add `new`, atomically. With no
    /// old value, only an assertion that the attribute still has none makes it safe.
    pub async fn swap(&mut self, old: Option<&str>, new: &Lease) -> Result<(), LeaseError> {
        let attribute = self.lease.attribute.clone();
        let new_value = new.value();
        let mut mods = Vec::new();
        if let Some(old) = old {
            mods.push(Mod::Delete(attribute.clone(), HashSet::from([old.to_string()])));
        }
        mods.push(Mod::Add(attribute.clone(), HashSet::from([new_value])));
        let mut request = self.ldap.with_timeout(self.config.timeout);
        if old.is_none() {
            if !self.assertion {
                return Err(LeaseError::NeedsBootstrap { dn: self.lease.dn.clone(), attribute });
            }
            let mut control = Assertion::new(format!("(!({attribute}=*))"));
            control.crit = true;
            request = request.with_controls(vec![control]);
        } else if self.assertion {
            let old = old.unwrap_or_default();
            let mut control = Assertion::new(format!("({attribute}={})", ldap_escape(old)));
            control.crit = true;
            request = request.with_controls(vec![control]);
        }
        let result =
            request.modify(&self.lease.dn, mods).await.map_err(|e| refused(format!("modifying the lease: {e}")))?;
        match result.rc {
            0 => Ok(()),
            RC_NO_SUCH_ATTRIBUTE | RC_ASSERTION_FAILED | RC_ATTRIBUTE_OR_VALUE_EXISTS => {
                Err(LeaseError::Lost { detail: format!("rc={} {}", result.rc, result.text).trim().to_string() })
            }
            RC_NO_SUCH_OBJECT => Err(self.no_entry()),
            RC_INSUFFICIENT_ACCESS => Err(refused(format!(
                "rc=50 insufficient access: the service account needs write access to {} of {}",
                self.lease.attribute, self.lease.dn
            ))),
            rc => Err(refused(format!("modifying the lease: rc={rc} {}", result.text))),
        }
    }

    /// Unbinds (best effort).
    pub async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }

    fn no_entry(&self) -> LeaseError {
        LeaseError::NoEntry { dn: self.lease.dn.clone(), attribute: self.lease.attribute.clone() }
    }
}

fn refused(detail: String) -> LeaseError {
    LeaseError::Refused { detail }
}
