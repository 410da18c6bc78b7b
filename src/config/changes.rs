//! `directory.changes`: which change mechanism the daemon uses between full cycles.
//! Only the value; `source::changes::choose` decides what it means for a given server.

use serde::{Deserialize, Serialize};

/// The requested change mechanism (`"auto"`, `"syncrepl"`, `"usn"`, `"dirsync"`, `"off"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangesMode {
    /// syncrepl where the server offers it, uSNChanged polling on AD, else none.
    #[default]
    Auto,
    /// RFC 4533 content synchronization (OpenLDAP syncprov, 389-ds Content Sync plugin).
    Syncrepl,
    /// Active Directory `uSNChanged` polling (no special rights).
    Usn,
    /// Active Directory DirSync (replication rights; reports deletions).
    Dirsync,
    /// Scheduled cycles only.
    Off,
}

impl ChangesMode {
    /// The config value that selects it.
    pub fn config_name(self) -> &'static str {
        match self {
            ChangesMode::Auto => "auto",
            ChangesMode::Syncrepl => "syncrepl",
            ChangesMode::Usn => "usn",
            ChangesMode::Dirsync => "dirsync",
            ChangesMode::Off => "off",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        changes: ChangesMode,
    }

    #[test]
    fn lower_case_names_round_trip() {
        for mode in [ChangesMode::Auto, ChangesMode::Syncrepl, ChangesMode::Usn, ChangesMode::Dirsync, ChangesMode::Off]
        {
            let text = format!("changes = \"{}\"", mode.config_name());
            assert_eq!(toml::from_str::<Holder>(&text).unwrap().changes, mode);
            assert_eq!(serde_json::to_string(&mode).unwrap(), format!("\"{}\"", mode.config_name()));
        }
        assert!(toml::from_str::<Holder>("changes = \"Syncrepl\"").is_err());
        assert!(toml::from_str::<Holder>("changes = \"persist\"").is_err());
    }
}
