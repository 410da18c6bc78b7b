//! The instance's `config/dse.ldif`: the package's template filled in and edited, as step 2
//! of the recipe in the parent module says, with the optional plugins a test asks for.

use std::path::Path;
use std::process::Command;

use super::{ROOT_DN, ROOT_PASSWORD_HASH, TEMPLATE};
use crate::support::data::BASE;

/// The package's template-dse.ldif, filled in and edited (see the module comment).
pub(super) fn dse_ldif(root: &Path, port: u16, tls_port: u16, plugins: Plugins) -> String {
    let template = std::fs::read_to_string(TEMPLATE).unwrap_or_else(|e| panic!("{TEMPLATE}: {e}"));
    let p = |d: &str| root.join(d).display().to_string();
    let user = Command::new("id").arg("-un").output().unwrap();
    let user = String::from_utf8(user.stdout).unwrap().trim().to_string();
    let fields = [
        ("schema_dir", p("config/schema")),
        ("lock_dir", p("lock")),
        ("tmp_dir", p("tmp")),
        ("cert_dir", p("config")),
        ("ldif_dir", p("ldif")),
        ("bak_dir", p("bak")),
        ("run_dir", p("run")),
        ("inst_dir", p("inst")),
        ("log_dir", p("log")),
        ("fqdn", "localhost".into()),
        ("ds_port", port.to_string()),
        ("ds_user", user),
        ("rootdn", ROOT_DN.into()),
        ("ds_passwd", ROOT_PASSWORD_HASH.into()),
        ("ldapi_enabled", "off".into()),
        ("ldapi", p("run/ldapi")),
        ("ldapi_autobind", "off".into()),
        ("config_dir", p("config")),
        ("db_dir", p("db")),
        ("db_home_dir", p("db")),
        ("db_lib", "bdb".into()),
        ("ds_suffix", BASE.into()),
    ];
    let mut text = template;
    for (key, value) in &fields {
        text = text.replace(&format!("%{key}%"), value);
    }
    if let Some(field) = unfilled_field(&text) {
        panic!("{TEMPLATE} has a field this harness does not fill in: {field}");
    }
    let mut entries: Vec<Vec<String>> = text
        .split("\n\n")
        .map(|block| block.lines().filter(|l| !l.trim().is_empty()).map(String::from).collect::<Vec<_>>())
        .filter(|lines| !lines.is_empty())
        .collect();
    let tls = tls_port.to_string();
    set(
        &mut entries,
        "cn=config",
        &[
            ("nsslapd-listenhost", "127.0.0.1"),
            ("nsslapd-securelistenhost", "127.0.0.1"),
            ("nsslapd-securePort", &tls),
            ("nsslapd-security", "on"),
            ("nsslapd-ignore-virtual-attrs", "off"),
            ("nsslapd-sizelimit", "-1"),
            ("passwordStorageScheme", "SSHA512"),
            ("nsslapd-rootpwstoragescheme", "SSHA512"),
            ("nsslapd-accesslog-logbuffering", "on"),
        ],
    );
    set(&mut entries, "cn=MemberOf Plugin,cn=plugins,cn=config", &[("nsslapd-pluginEnabled", "on")]);
    set(&mut entries, "cn=Account Policy Plugin,cn=plugins,cn=config", &[("nsslapd-pluginEnabled", "on")]);
    if plugins.contentsync {
        enable_contentsync(&mut entries);
    }
    set(
        &mut entries,
        "cn=config,cn=ldbm database,cn=plugins,cn=config",
        &[
            ("nsslapd-cache-autosize", "0"),
            ("nsslapd-dbcachesize", "33554432"),
            ("nsslapd-db-durable-transaction", "off"),
            ("nsslapd-lookthroughlimit", "-1"),
        ],
    );
    let mut out: String = entries.iter().map(|e| e.join("\n") + "\n\n").collect();
    let has = |dn: &str| entries.iter().any(|e| same_dn(&e[0], dn));
    if !has("cn=entryuuid_syntax,cn=plugins,cn=config") {
        out.push_str(
            "dn: cn=entryuuid_syntax,cn=plugins,cn=config\nobjectClass: top\nobjectClass: nsSlapdPlugin\n\
             cn: entryuuid_syntax\nnsslapd-pluginPath: libentryuuid-syntax-plugin\n\
             nsslapd-pluginInitfunc: entryuuid_syntax_plugin_init\nnsslapd-pluginType: syntax\n\
             nsslapd-pluginEnabled: on\n\n",
        );
    }
    if !has("cn=entryuuid,cn=plugins,cn=config") {
        out.push_str(
            "dn: cn=entryuuid,cn=plugins,cn=config\nobjectClass: top\nobjectClass: nsSlapdPlugin\ncn: entryuuid\n\
             nsslapd-pluginPath: libentryuuid-plugin\nnsslapd-pluginInitfunc: entryuuid_plugin_init\n\
             nsslapd-pluginType: betxnpreoperation\nnsslapd-pluginEnabled: on\n\n",
        );
    }
    out.push_str(&format!(
        "dn: cn=entryUUID,cn=default indexes,cn=config,cn=ldbm database,cn=plugins,cn=config\n\
         objectClass: top\nobjectClass: nsIndex\ncn: entryUUID\nnsSystemIndex: false\nnsIndexType: eq\nnsIndexType: pres\n\n\
         dn: cn=userRoot,cn=ldbm database,cn=plugins,cn=config\nobjectClass: top\nobjectClass: extensibleObject\n\
         objectClass: nsBackendInstance\ncn: userRoot\nnsslapd-suffix: {BASE}\nnsslapd-cachememsize: 67108864\n\n\
         dn: cn=\"{BASE}\",cn=mapping tree,cn=config\nobjectClass: top\nobjectClass: extensibleObject\n\
         objectClass: nsMappingTree\ncn: {BASE}\ncn: \"{BASE}\"\nnsslapd-state: backend\nnsslapd-backend: userRoot\n\n"
    ));
    out
}

/// Optional plugins a test asks for (all off: the package's defaults).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Plugins {
    pub contentsync: bool,
}

/// The retro changelog's settings for content synchronization, as Red Hat's "Setting up
/// content synchronization using the SyncRepl protocol" (RHDS 12/13) has an admin make them
/// with `dsconf plugin retro-changelog`: record each change's `nsUniqueId` as
/// `targetUniqueId` (the Content Synchronization plugin finds changes by it and names
/// entries by it in its Sync State controls; without it a resumed session fails), and only
/// for the suffix being synchronized (the plugin's recommendation: no changelog records for
/// cn=config and the like).
pub const RETRO_CHANGELOG: &[(&str, &str)] = &[
    ("nsslapd-pluginEnabled", "on"),
    ("nsslapd-attribute", "nsuniqueid:targetUniqueId"),
    ("nsslapd-include-suffix", BASE),
];

/// The Content Synchronization plugin's entry: enabled (`dsconf plugin contentsync enable`).
/// It depends on the retro changelog (`nsslapd-plugin-depends-on-named`) and serves RFC 4533
/// searches from it; the root DSE advertises 1.3.6.1.4.1.4203.1.9.1.1 only while it runs.
pub const CONTENTSYNC: &[(&str, &str)] = &[("nsslapd-pluginEnabled", "on")];

/// Turns on the template's (disabled) Retro Changelog and Content Synchronization entries.
/// Plugins read their entries at start, so this is dse.ldif, not an online change (an
/// admin restarts the instance after `dsconf`).
fn enable_contentsync(entries: &mut [Vec<String>]) {
    set(entries, "cn=Retro Changelog Plugin,cn=plugins,cn=config", RETRO_CHANGELOG);
    set(entries, "cn=Content Synchronization,cn=plugins,cn=config", CONTENTSYNC);
}

/// The first `%name%` left in `text`.
fn unfilled_field(text: &str) -> Option<&str> {
    let parts: Vec<&str> = text.split('%').collect();
    let inner = parts.get(1..parts.len().saturating_sub(1)).unwrap_or(&[]);
    inner.iter().copied().find(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
}

/// Replaces (or adds) attributes of the entry `dn`; panics if the template lacks it.
fn set(entries: &mut [Vec<String>], dn: &str, values: &[(&str, &str)]) {
    let entry = entries
        .iter_mut()
        .find(|e| same_dn(&e[0], dn))
        .unwrap_or_else(|| panic!("{TEMPLATE} has no entry {dn}: the harness needs updating for this 389-ds"));
    for (name, value) in values {
        let mut kept = Vec::with_capacity(entry.len());
        let mut dropping = false;
        for line in entry.drain(..) {
            if line.starts_with(' ') {
                if !dropping {
                    kept.push(line);
                }
                continue;
            }
            let attr = line.split(':').next().unwrap_or("");
            dropping = attr.eq_ignore_ascii_case(name);
            if !dropping {
                kept.push(line);
            }
        }
        kept.push(format!("{name}: {value}"));
        *entry = kept;
    }
}

/// `dn: …` line against a DN, ignoring case and blanks after commas.
pub(super) fn same_dn(dn_line: &str, dn: &str) -> bool {
    let norm = |s: &str| s.to_ascii_lowercase().replace(", ", ",");
    dn_line.strip_prefix("dn: ").is_some_and(|d| norm(d.trim()) == norm(dn))
}
