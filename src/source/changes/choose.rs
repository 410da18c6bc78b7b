//! PURE: which change mechanism to run against a server, from what was asked
//! (`directory.changes`), what the root DSE offers and the configured flavour. `check`
//! prints the reason either way.

use super::dirsync_control::DIRSYNC_CONTROL;
use crate::config::{ChangesMode, Flavor};
use crate::source::root_dse::{RootDse, SYNCREPL_CONTROL, ServerKind};

/// The mechanism to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chosen {
    Syncrepl,
    Usn,
    DirSync,
    /// Scheduled cycles only, and why (for `check` and the log).
    Off {
        reason: String,
    },
}

/// An explicit mode the server cannot do: a finding for `check`, with what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("directory.changes = \"{}\": {reason}", requested.config_name())]
pub struct Why {
    pub requested: ChangesMode,
    pub reason: String,
}

/// PURE: `auto` is syncrepl where the server advertises the control, uSNChanged polling on
/// Active Directory, and off otherwise (with the reason); an explicit mode the server
/// cannot do is an error. The server family comes from the root DSE; `flavor` stands in
/// only when the root DSE does not say.
pub fn choose(requested: ChangesMode, root_dse: &RootDse, flavor: Flavor) -> Result<Chosen, Why> {
    let is_ad = match root_dse.server() {
        Some(kind) => kind == ServerKind::ActiveDirectory,
        None => flavor == Flavor::ActiveDirectory,
    };
    let syncrepl = root_dse.supports_syncrepl();
    let server = root_dse.describe();
    let why = |reason: String| Why { requested, reason };
    match requested {
        ChangesMode::Off => Ok(Chosen::Off { reason: "directory.changes = \"off\"".into() }),
        ChangesMode::Auto if syncrepl => Ok(Chosen::Syncrepl),
        ChangesMode::Auto if is_ad => Ok(Chosen::Usn),
        ChangesMode::Auto => Ok(Chosen::Off {
            reason: format!(
                "{server} does not advertise content synchronization ({SYNCREPL_CONTROL}) and is not Active \
                 Directory: changes are seen at the next scheduled cycle; to enable: {}",
                how_to_enable_syncrepl(root_dse)
            ),
        }),
        ChangesMode::Syncrepl if syncrepl => Ok(Chosen::Syncrepl),
        ChangesMode::Syncrepl if is_ad => Err(why(format!(
            "{server} is Active Directory, which has no content synchronization: use \"usn\" (or \"dirsync\" with \
             replication rights)"
        ))),
        ChangesMode::Syncrepl => Err(why(format!(
            "{server} does not advertise content synchronization ({SYNCREPL_CONTROL}): {}",
            how_to_enable_syncrepl(root_dse)
        ))),
        ChangesMode::Usn if is_ad => Ok(Chosen::Usn),
        ChangesMode::Usn | ChangesMode::Dirsync if !is_ad => Err(why(format!(
            "{server} is not Active Directory; uSNChanged and DirSync are AD's{}",
            if syncrepl { ": use \"syncrepl\" or \"auto\"" } else { "" }
        ))),
        ChangesMode::Usn => Ok(Chosen::Usn),
        ChangesMode::Dirsync if root_dse.supports_control(DIRSYNC_CONTROL) => Ok(Chosen::DirSync),
        ChangesMode::Dirsync => {
            Err(why(format!("{server} does not advertise the DirSync control ({DIRSYNC_CONTROL}): use \"usn\"")))
        }
    }
}

/// What an admin does to get syncrepl on this server.
fn how_to_enable_syncrepl(root_dse: &RootDse) -> &'static str {
    match root_dse.server() {
        Some(ServerKind::OpenLdap) => "load the syncprov overlay on the database: overlay syncprov",
        Some(ServerKind::Ds389) => {
            "enable the Content Synchronization plugin: dsconf <instance> plugin contentsync enable"
        }
        _ => "the server would need RFC 4533 content synchronization",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::root_dse::AD_CAPABILITY;

    fn openldap(syncprov: bool) -> RootDse {
        RootDse {
            object_classes: vec!["top".into(), "OpenLDAProotDSE".into()],
            supported_controls: if syncprov {
                vec![SYNCREPL_CONTROL.into()]
            } else {
                vec!["1.2.840.113556.1.4.319".into()]
            },
            ..RootDse::default()
        }
    }

    fn ds389(contentsync: bool) -> RootDse {
        RootDse {
            vendor_name: Some("389 Project".into()),
            vendor_version: Some("389-Directory/2.3.1".into()),
            supported_controls: if contentsync { vec![SYNCREPL_CONTROL.into()] } else { vec![] },
            ..RootDse::default()
        }
    }

    fn ad(dirsync: bool) -> RootDse {
        RootDse {
            supported_capabilities: vec![AD_CAPABILITY.into()],
            supported_controls: if dirsync { vec![DIRSYNC_CONTROL.into()] } else { vec![] },
            ..RootDse::default()
        }
    }

    fn unknown() -> RootDse {
        RootDse::default()
    }

    #[test]
    fn the_table() {
        use ChangesMode::*;
        use Flavor::*;
        let ok = |c: Chosen| Some(c);
        let cases: Vec<(ChangesMode, RootDse, Flavor, Option<Chosen>)> = vec![
            (Auto, openldap(true), OpenLdap, ok(Chosen::Syncrepl)),
            (Auto, ds389(true), Ds389, ok(Chosen::Syncrepl)),
            (Auto, ad(true), ActiveDirectory, ok(Chosen::Usn)),
            (Auto, ad(false), ActiveDirectory, ok(Chosen::Usn)),
            // The root DSE decides over the flavour; the flavour only when the root DSE is silent.
            (Auto, ad(false), Generic, ok(Chosen::Usn)),
            (Auto, unknown(), ActiveDirectory, ok(Chosen::Usn)),
            (Syncrepl, openldap(true), OpenLdap, ok(Chosen::Syncrepl)),
            (Syncrepl, openldap(false), OpenLdap, None),
            (Syncrepl, ad(true), ActiveDirectory, None),
            (Syncrepl, ds389(false), Ds389, None),
            (Usn, ad(false), ActiveDirectory, ok(Chosen::Usn)),
            (Usn, openldap(true), OpenLdap, None),
            (Usn, unknown(), Generic, None),
            (Dirsync, ad(true), ActiveDirectory, ok(Chosen::DirSync)),
            (Dirsync, ad(false), ActiveDirectory, None),
            (Dirsync, ds389(true), Ds389, None),
            (Off, openldap(true), OpenLdap, ok(Chosen::Off { reason: "directory.changes = \"off\"".into() })),
        ];
        for (mode, dse, flavor, expected) in cases {
            let got = choose(mode, &dse, flavor);
            match expected {
                Some(chosen) => assert_eq!(got, Ok(chosen), "{mode:?} {dse:?} {flavor:?}"),
                None => assert!(got.is_err(), "{mode:?} {dse:?} {flavor:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn auto_without_a_mechanism_is_off_with_the_fix() {
        // A root DSE that names another family outweighs an AD flavour.
        assert!(matches!(choose(ChangesMode::Auto, &openldap(false), Flavor::ActiveDirectory), Ok(Chosen::Off { .. })));
        match choose(ChangesMode::Auto, &openldap(false), Flavor::OpenLdap) {
            Ok(Chosen::Off { reason }) => {
                assert!(reason.contains(SYNCREPL_CONTROL) && reason.contains("overlay syncprov"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        match choose(ChangesMode::Auto, &ds389(false), Flavor::Ds389) {
            Ok(Chosen::Off { reason }) => assert!(reason.contains("contentsync"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_setting_and_the_alternative() {
        let e = choose(ChangesMode::Syncrepl, &ad(true), Flavor::ActiveDirectory).unwrap_err();
        assert!(e.to_string().starts_with("directory.changes = \"syncrepl\": "), "{e}");
        assert!(e.reason.contains("\"usn\""), "{e}");
        let e = choose(ChangesMode::Usn, &openldap(true), Flavor::OpenLdap).unwrap_err();
        assert!(e.reason.contains("use \"syncrepl\""), "{e}");
    }
}
