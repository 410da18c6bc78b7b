//! Config: the example parses; every bad config names its key; secrets stay secret.

use std::path::Path;

use zoomsync::config::{self, ConfigError, TlsMode};

/// A directory with the files configs refer to, and a credentials directory.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), "ldap-secret-value\n").unwrap();
    std::fs::write(dir.path().join("ca.pem"), "-----BEGIN CERTIFICATE-----\n").unwrap();
    std::fs::create_dir(dir.path().join("creds")).unwrap();
    std::fs::write(dir.path().join("creds/ldap-password"), "ldap-secret-value").unwrap();
    std::fs::write(dir.path().join("creds/zoom-client-secret"), "zoom-secret-value").unwrap();
    dir
}

fn parse(text: &str, dir: &Path) -> Result<config::Config, ConfigError> {
    config::parse(text, dir, Some(&dir.join("creds")))
}

const GOOD: &str = r#"
[directory]
url = "ldaps://ldap.example.com"
bind_dn = "cn=sync,dc=example,dc=com"
bind_password_file = "pw"
base_dn = "ou=people,dc=example,dc=com"
"#;

#[test]
fn example_config_parses() {
    let dir = fixture();
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml")).unwrap();
    let text = example.replace("/etc/zoomsync/", &format!("{}/", dir.path().display()));
    let cfg = parse(&text, dir.path()).unwrap_or_else(|e| panic!("config.example.toml: {e}"));
    assert!(cfg.target.is_some());
    assert_eq!(cfg.safety.max_deactivations, 50);
    match cfg.directory.source {
        config::SourceConfig::Ldap(l) => assert_eq!(l.tls, TlsMode::Ldaps),
        other => panic!("{other:?}"),
    }
}

#[test]
fn group_defaults_follow_the_directory_flavor() {
    let dir = fixture();
    let cfg = parse(&format!("{GOOD}[groups]\nnames = [\"Phone\"]\n"), dir.path()).unwrap();
    let groups = cfg.groups.unwrap();
    assert_eq!(groups.nesting, config::Nesting::Expand);
    assert_eq!(groups.base_dn, "ou=people,dc=example,dc=com");
    assert!(groups.class_filter.contains("groupOfNames"));
    assert!(groups.delete_created);
    let ad = GOOD.replace("[directory]", "[directory]\nflavor = \"active_directory\"");
    let cfg = parse(&format!("{ad}[groups]\nfilter = \"(cn=Zoom-*)\"\n"), dir.path()).unwrap();
    let groups = cfg.groups.unwrap();
    assert_eq!(groups.nesting, config::Nesting::InChain);
    assert_eq!(groups.class_filter, "(objectClass=group)");
    assert!(parse(GOOD, dir.path()).unwrap().groups.is_none(), "no [groups]: users only");
}

/// `[groups]` with no group to push is refused, unless `[mapping]` reads membership: the
/// groups `member_of` names are then read, and none is pushed.
#[test]
fn groups_read_only_for_member_of_need_no_names() {
    let dir = fixture();
    let reads = format!(
        "{GOOD}[mapping]\nzoomOneBizPlus = {{ expression = '\"US_CA\" if member_of(\"Licensed\") else none' }}\n[groups]\n"
    );
    let cfg = parse(&reads, dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let groups = cfg.groups.unwrap();
    assert!(groups.names.is_empty() && groups.filter.is_none());
    assert_eq!(groups.mapped, ["Licensed"]);
    let err = parse(&format!("{GOOD}[groups]\n"), dir.path()).unwrap_err().to_string();
    assert!(err.contains("groups.names") && err.contains("no group is pushed by default"), "{err}");
}

#[test]
fn minimal_config_gets_safe_defaults() {
    let dir = fixture();
    let cfg = parse(GOOD, dir.path()).unwrap();
    assert_eq!(cfg.schedule.trigger, config::ScheduleTrigger::Interval(std::time::Duration::from_secs(2400)));
    assert_eq!(cfg.safety.delete_after, None);
    assert_eq!(cfg.metrics.listen.unwrap().to_string(), "127.0.0.1:9464");
    assert_eq!(cfg.directory.decode.anchor_attribute, "entryUUID");
}

#[test]
fn the_lease_is_off_by_default_and_takes_its_defaults_when_on() {
    let dir = fixture();
    assert_eq!(parse(GOOD, dir.path()).unwrap().lease, None);
    let off = format!("{GOOD}[lease]\nenabled = false\ndn = \"cn=l,dc=x\"\n");
    assert_eq!(parse(&off, dir.path()).unwrap().lease, None);
    let on = format!("{GOOD}[lease]\nenabled = true\ndn = \"cn=l,dc=x\"\nholder = \"sync-a\"\n");
    let lease = parse(&on, dir.path()).unwrap().lease.unwrap();
    assert_eq!(
        (lease.attribute.as_str(), lease.holder.as_str(), lease.ttl),
        ("description", "sync-a", std::time::Duration::from_secs(300))
    );
}

#[test]
fn bad_configs_name_their_key() {
    let dir = fixture();
    let with = |extra: &str| format!("{GOOD}{extra}");
    let replace = |from: &str, to: &str| GOOD.replace(from, to);
    let cases: Vec<(String, &str, &str)> = vec![
        (with("colour = \"blue\"\n"), "directory.colour", "unknown field"),
        ("[directory]\nurl = 5\n".into(), "directory.url", "invalid type"),
        (replace("ldaps://ldap.example.com", "ldap://ldap.example.com"), "directory.url", "clear"),
        (replace("ldaps://ldap.example.com", "http://ldap.example.com"), "directory.url", "ldaps://"),
        (with("start_tls = true\n"), "directory.start_tls", "already TLS"),
        (
            replace("bind_password_file = \"pw\"", "bind_password_file = \"missing\""),
            "directory.bind_password_file",
            "cannot read",
        ),
        (replace("bind_password_file = \"pw\"", ""), "directory.bind_password_file", "required"),
        (with("bind_password_credential = \"ldap-password\"\n"), "directory.bind_password_file", "not both"),
        (replace("base_dn = \"ou=people,dc=example,dc=com\"", ""), "directory.base_dn", "required"),
        (with("page_size = 0\n"), "directory.page_size", "outside"),
        (with("flavor = \"active_directory\"\npage_size = 5000\n"), "directory.page_size", "1..=1000"),
        (with("flavor = \"novell\"\n"), "directory.flavor", "not one of"),
        (with("user_filter = \"objectClass=person\"\n"), "directory.user_filter", "expected '('"),
        (with("timeout = \"soon\"\n"), "directory.timeout", ""),
        (with("ca_file = \"nope.pem\"\n"), "directory.ca_file", "does not exist"),
        (with("disabled_value = \"x\"\n"), "directory.disabled_value", "disabled_attribute"),
        (with("[safety]\nmax_deactivation_percent = 150\n"), "safety.max_deactivation_percent", "between 0 and 100"),
        (with("[safety]\nmax_deactivations = -1\n"), "safety.max_deactivations", "0 or more"),
        (with("[schedule]\ninterval = \"40m\"\ncron = \"0 0 * * * *\"\n"), "schedule.cron", "not both"),
        (with("[schedule]\ncron = \"*/40 * * * *\"\n"), "schedule.cron", "6 fields"),
        // Six fields, but not a schedule tokio-cron-scheduler accepts: `run` used to refuse
        // it while `check` said OK.
        (with("[schedule]\ncron = \"99 99 99 * * *\"\n"), "schedule.cron", "99 99 99"),
        (with("[schedule]\ncron = \"0 0 12 * * Funday\"\n"), "schedule.cron", "Funday"),
        (replace("ou=people,dc=example,dc=com", "ou=staff,,dc=acme=x"), "directory.base_dn", "RDN 2 is empty"),
        (replace("ou=people,dc=example,dc=com", "people.example.com"), "directory.base_dn", "not attribute=value"),
        (replace("ou=people,dc=example,dc=com", "ou=a;b,dc=example"), "directory.base_dn", "must be escaped"),
        (with("[groups]\nnames = [\"A\"]\nbase_dn = \"ou=groups,dc=example,\"\n"), "groups.base_dn", "is empty"),
        (with("[metrics]\nlisten = \"everywhere\"\n"), "metrics.listen", "not an address"),
        (with("[logging]\nformat = \"xml\"\n"), "logging.format", "not one of"),
        (with("[target]\naccount_id = \"a\"\nclient_id = \"c\"\n"), "target.client_secret_file", "required"),
        (
            with("[target]\nkind = \"scim\"\nbase_url = \"https://scim.example.com\"\n"),
            "target.bearer_token_file",
            "required",
        ),
        (
            with("[target]\nkind = \"scim\"\nbase_url = \"http://scim.example.com/v2\"\nbearer_token_file = \"pw\"\n"),
            "target.base_url",
            "https",
        ),
        (with("[target]\nclient_id = \"c\"\nclient_secret_file = \"pw\"\n"), "target.account_id", "required"),
        (
            with(
                "[target]\nrate_limit = \"unlimited\"\naccount_id = \"a\"\nclient_id = \"c\"\nclient_secret_file = \"pw\"\n",
            ),
            "target.rate_limit",
            "not one of",
        ),
        ("[directory]\nkind = \"ldif\"\n".into(), "directory.path", "required"),
        (with("[mapping]\ntitel = \"title\"\n"), "mapping.titel", "not a field"),
        (with("[mapping]\nuserType = { constant = \"Basic\" }\n"), "mapping.userType", "no longer accepts Basic"),
        (with("[mapping]\nzoomIQ = { constant = \"maybe\" }\n"), "mapping.zoomIQ", "not a boolean"),
        (
            with("[mapping]\n'emails[type co \"w\"].value' = \"mail\"\n"),
            "mapping.emails[type co \"w\"].value",
            "only `eq`",
        ),
        (with("[mapping]\nuserName = \"uid\"\n"), "mapping.userName", "user_name_attribute"),
        (with("[mapping]\ntitle = { attribute = \"title\", constant = \"x\" }\n"), "mapping.title", "exactly one"),
        (with("[mapping]\ndisplayName = { template = \"{givenName\" }\n"), "mapping.displayName", "attribute name"),
        (with("[groups]\n"), "groups.names", "no group is pushed by default"),
        (with("[groups]\nnames = [\"A\", \"a\"]\n"), "groups.names[1]", "listed twice"),
        (with("[groups]\nnames = [\"A\"]\nfilter = \"cn=A\"\n"), "groups.filter", "expected '('"),
        (with("[groups]\nnames = [\"A\"]\nnesting = \"deep\"\n"), "groups.nesting", "not one of"),
        (with("[groups]\nnames = [\"A\"]\nscope = [\"\"]\n"), "groups.scope[0]", "is empty"),
        (with("[groups]\nnames = [\"A\"]\nmember = \"x\"\n"), "groups.member", "unknown field"),
        (
            with("[groups]\nnames = [\"A\"]\n[groups.zoom_names]\nB = \"Bee\"\n"),
            "groups.zoom_names.\"B\"",
            "not one of groups.names",
        ),
        (
            "[directory]\nkind = \"ldif\"\npath = \"pw\"\n[groups]\nnames = [\"A\"]\nnesting = \"in_chain\"\n".into(),
            "groups.nesting",
            "needs an LDAP server",
        ),
        (with("[lease]\nenabled = true\n"), "lease.dn", "required with enabled = true"),
        (with("[lease]\nenabled = true\ndn = \"cn=lease,,x\"\n"), "lease.dn", "not a distinguished name"),
        (
            with("[lease]\nenabled = true\ndn = \"cn=l,dc=x\"\nattribute = \"a b\"\n"),
            "lease.attribute",
            "not an attribute name",
        ),
        (with("[lease]\nenabled = true\ndn = \"cn=l,dc=x\"\nholder = \"host a\"\n"), "lease.holder", "whitespace"),
        (with("[lease]\nenabled = true\ndn = \"cn=l,dc=x\"\nholder = \"none\"\n"), "lease.holder", "nobody"),
        (with("[lease]\nenabled = true\ndn = \"cn=l,dc=x\"\nttl = \"1s\"\n"), "lease.ttl", "at least 3s"),
        (with("[lease]\nholders = \"a\"\n"), "lease.holders", "unknown field"),
        (
            "[directory]\nkind = \"ldif\"\npath = \"pw\"\n[lease]\nenabled = true\ndn = \"cn=l,dc=x\"\n".into(),
            "lease.enabled",
            "LDAP directory",
        ),
        ("".into(), "directory", "required"),
        ("[directory\n".into(), "<file>", ""),
    ];
    assert!(cases.len() >= 12);
    for (text, key, problem) in cases {
        match parse(&text, dir.path()) {
            Err(ConfigError::Invalid { key: k, problem: p }) => {
                assert_eq!(k, key, "config:\n{text}\nerror: {p}");
                assert!(p.contains(problem), "{key}: {p:?} should mention {problem:?}");
                assert!(!p.contains("ldap-secret-value"));
            }
            other => panic!("config:\n{text}\nexpected an error on {key}, got {other:?}"),
        }
    }
}

#[test]
fn secrets_never_show_in_debug_output() {
    let dir = fixture();
    let text = format!(
        "{}\n[target]\naccount_id = \"a\"\nclient_id = \"c\"\nclient_secret_credential = \"zoom-client-secret\"\n",
        GOOD.replace("bind_password_file = \"pw\"", "bind_password_credential = \"ldap-password\"")
    );
    let cfg = parse(&text, dir.path()).unwrap();
    let shown = format!("{cfg:?}");
    assert!(!shown.contains("ldap-secret-value"), "{shown}");
    assert!(!shown.contains("zoom-secret-value"), "{shown}");
    assert!(shown.contains("redacted"));
}

#[test]
fn generic_flavour_reports_every_missing_key_at_once() {
    let dir = fixture();
    let text = GOOD.replace("[directory]", "[directory]\nflavor = \"generic\"");
    let err = parse(&text, dir.path()).unwrap_err().to_string();
    for key in ["directory.anchor_attribute", "directory.user_name_attribute", "directory.user_filter"] {
        assert!(err.contains(key), "{key} missing from: {err}");
    }
    // One missing key reads as before.
    let text = format!("{text}anchor_attribute = \"uid\"\nuser_name_attribute = \"mail\"\n");
    match parse(&text, dir.path()) {
        Err(ConfigError::Invalid { key, problem }) => {
            assert_eq!((key.as_str(), problem.as_str()), ("directory.user_filter", "required for flavor = \"generic\""))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn flavour_389ds_requests_the_operational_lock_and_anchor_attributes() {
    let dir = fixture();
    let with = |flavor: &str| GOOD.replace("[directory]", &format!("[directory]\nflavor = \"{flavor}\""));
    let cfg = parse(&with("389ds"), dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let decode = &cfg.directory.decode;
    assert_eq!(decode.anchor_attribute, "entryUUID");
    let requested = decode.requested_attributes();
    for name in ["entryUUID", "nsUniqueId", "mail", "nsAccountLock", "nsRole"] {
        assert!(requested.iter().any(|r| r == name), "{name} not requested: {requested:?}");
    }
    match &cfg.directory.source {
        config::SourceConfig::Ldap(l) => assert_eq!(l.user_filter, "(objectClass=inetOrgPerson)"),
        other => panic!("{other:?}"),
    }
    // Aliases for the same server family.
    for alias in ["389-ds", "RHDS", "freeipa"] {
        let other = parse(&with(alias), dir.path()).unwrap_or_else(|e| panic!("{alias}: {e}"));
        assert_eq!(other.directory.decode, *decode, "{alias}");
    }
    // An explicit anchor has no fallback.
    let cfg = parse(&format!("{}anchor_attribute = \"ipaUniqueID\"\n", with("389ds")), dir.path()).unwrap();
    let requested = cfg.directory.decode.requested_attributes();
    assert!(!requested.iter().any(|r| r == "nsUniqueId"), "{requested:?}");
    // nsAccountLock named without a value, under any flavour: 389-ds's rule (true, not present).
    let cfg = parse(&format!("{GOOD}disabled_attribute = \"nsAccountLock\"\n"), dir.path()).unwrap();
    assert!(cfg.directory.decode.requested_attributes().iter().any(|r| r == "nsRole"));
}

#[test]
fn valid_cron_and_dn_spellings_still_load() {
    let dir = fixture();
    for extra in [
        "[schedule]\ncron = \"0 15 * * * *\"\n",
        "[schedule]\ncron = \"0 0 6 * * Mon-Fri\"\n",
        "[schedule]\ncron = \"0 */20 8-18 * * *\"\n",
        "[groups]\nnames = [\"A\"]\nbase_dn = \"OU=Groups, DC=corp, DC=example\"\n",
    ] {
        let text = format!("{GOOD}{extra}");
        assert!(parse(&text, dir.path()).is_ok(), "{text}: {:?}", parse(&text, dir.path()).err());
    }
    let escaped = GOOD.replace("\"ou=people,dc=example,dc=com\"", "'ou=Doe\\, John+cn=x,dc=example,dc=com'");
    assert!(parse(&escaped, dir.path()).is_ok(), "{escaped}");
}

/// `state.path` is checked when the file loads (every command, the daemon and its reload):
/// a file, or a place this user cannot create it, names the key; nothing is created.
#[test]
fn an_unusable_state_path_names_the_key_and_a_usable_one_is_not_created() {
    let dir = fixture();
    let load = |state: &str| {
        let path = dir.path().join("zoomsync.toml");
        std::fs::write(&path, format!("{GOOD}\n[state]\npath = \"{state}\"\n")).unwrap();
        config::load(&path)
    };
    std::fs::write(dir.path().join("a-file"), "x").unwrap();
    for (state, problem) in [("a-file", "is a file"), ("a-file/state", "is a file")] {
        match load(state) {
            Err(ConfigError::Invalid { key, problem: p }) => {
                assert_eq!(key, "state.path", "{p}");
                assert!(p.contains(problem), "{state}: {p}");
            }
            other => panic!("{state}: expected a state.path error, got {other:?}"),
        }
    }
    // Absent but creatable, and existing: accepted; loading creates nothing.
    assert!(load("new/deeper").is_ok());
    assert!(!dir.path().join("new").exists(), "loading the config created the state directory");
    std::fs::create_dir(dir.path().join("existing")).unwrap();
    assert!(load("existing").is_ok());
    // A directory this user cannot write in (meaningless for root, who can write anywhere).
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    let writable_anyway = std::fs::write(locked.join("probe"), "x").is_ok();
    if !writable_anyway {
        for state in ["locked", "locked/state"] {
            match load(state) {
                Err(ConfigError::Invalid { key, problem }) => {
                    assert_eq!(key, "state.path");
                    assert!(problem.contains("not writable"), "{problem}");
                }
                other => panic!("{state}: expected a state.path error, got {other:?}"),
            }
        }
    }
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}
