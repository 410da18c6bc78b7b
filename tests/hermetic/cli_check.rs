//! `zoomsync check` with a bad config, run as a user would: no directory needed (the checks
//! against a private slapd are in the ldap tier's cli_check.rs).

use std::process::Command;

fn zoomsync(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zoomsync")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_with_a_bad_config_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[directory]\nurl = \"ldaps://x\"\nbase_dn = \"o=x\"\npage_size = -5\n").unwrap();
    let (code, _, err) = zoomsync(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("directory.page_size"), "{err}");
}

#[test]
fn a_generic_flavour_config_names_every_missing_key_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("generic.toml");
    std::fs::write(&path, "[directory]\nflavor = \"generic\"\nurl = \"ldaps://ldap.example.com\"\n").unwrap();
    let (code, out, err) = zoomsync(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    for key in
        ["directory.base_dn", "directory.anchor_attribute", "directory.user_name_attribute", "directory.user_filter"]
    {
        assert!(err.contains(key), "{key} missing from: {err}");
    }
}

/// `check` over an LDIF file (no server needed): `ldif` as the file, `directory` lines added
/// to `[directory]`, `extra` sections after it.
fn check_ldif(ldif: &str, directory: &str, extra: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("people.ldif"), ldif).unwrap();
    let path = dir.path().join("zoomsync.toml");
    // A state directory this user can create: the default, /var/lib/zoomsync, is not
    // creatable by everyone, and `check` refuses an unusable `state.path`.
    let text = format!("[directory]\nkind = \"ldif\"\npath = \"people.ldif\"\n{directory}\n{extra}");
    let text = if text.contains("[state]") { text } else { format!("{text}\n[state]\npath = \"state\"\n") };
    std::fs::write(&path, text).unwrap();
    zoomsync(&["check", "--config", path.to_str().unwrap()])
}

/// `n` inetOrgPerson entries; `anchor(i)` adds the anchor line(s) of entry `i`.
fn people(n: usize, anchor: impl Fn(usize) -> String, extra: impl Fn(usize) -> String) -> String {
    (0..n)
        .map(|i| {
            format!(
                "dn: uid=u{i},ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: u{i}\ncn: U {i}\nsn: U\n\
                 mail: u{i}@example.com\n{}{}\n",
                anchor(i),
                extra(i)
            )
        })
        .collect()
}

fn uuid(i: usize) -> String {
    format!("entryUUID: 00000000-0000-4000-8000-{i:012}\n")
}

#[test]
fn check_needs_attention_when_no_entry_is_read_or_none_has_an_anchor() {
    // The filter (or an ACI hiding every entry: the server answers with nothing, not an
    // error) leaves no entry: "users in scope: 0" is not a success.
    let ldif = people(30, uuid, |_| String::new());
    let (code, out, err) = check_ldif(&ldif, "user_filter = \"(objectClass=posixAccount)\"", "");
    assert_eq!(code, 4, "{out}{err}");
    assert!(out.contains("users in scope: 0"), "{out}");
    assert!(out.contains("needs attention") && out.contains("no entry"), "{out}");

    // Entries, but none with a readable anchor: every one rejected.
    let ldif = people(30, |_| String::new(), |_| String::new());
    let (code, out, err) = check_ldif(&ldif, "", "");
    assert_eq!(code, 4, "{out}{err}");
    assert!(
        out.contains("needs attention") && out.contains("none of the 30 entries has a readable entryUUID"),
        "{out}"
    );

    // Control: the same entries with anchors are fine.
    let (code, out, err) = check_ldif(&people(30, uuid, |_| String::new()), "", "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("users in scope: 30 (0 disabled)") && !out.contains("needs attention"), "{out}");
}

#[test]
fn check_applies_groups_scope_as_plan_and_sync_do() {
    let mut ldif = people(50, uuid, |_| String::new());
    ldif.push_str(
        "dn: cn=Zoom Users,ou=groups,dc=example,dc=com\nobjectClass: groupOfNames\ncn: Zoom Users\n\
         entryUUID: 10000000-0000-4000-8000-000000000001\n",
    );
    for i in 0..12 {
        ldif.push_str(&format!("member: uid=u{i},ou=people,dc=example,dc=com\n"));
    }
    ldif.push('\n');
    let groups = "[groups]\nnames = [\"Zoom Users\"]\nscope = [\"Zoom Users\"]\n";
    let (code, out, err) = check_ldif(&ldif, "user_filter = \"(objectClass=inetOrgPerson)\"", groups);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("users in scope: 12 (0 disabled)"), "{out}");
    assert!(out.contains("38 of 50 users are in no scoping group"), "{out}");

    // A scope that leaves nobody needs attention.
    ldif = ldif.replace("cn: Zoom Users\n", "cn: Zoom Users\nmember: uid=nobody,ou=people,dc=example,dc=com\n");
    let ldif: String = ldif.lines().filter(|l| !l.starts_with("member: uid=u")).map(|l| format!("{l}\n")).collect();
    let (code, out, err) = check_ldif(&ldif, "", groups);
    assert_eq!(code, 4, "{out}{err}");
    assert!(out.contains("users in scope: 0") && out.contains("groups.scope"), "{out}");
}

/// 389-ds's lock attribute on an LDIF export: `nsAccountLock: true` (any case) is disabled,
/// `false` is not — with `flavor = "389ds"` and with `disabled_attribute = "nsAccountLock"`
/// and no value (which used to count `false` as disabled). Role locks show as `nsRole`;
/// an entry without entryUUID is anchored on its nsUniqueId.
#[test]
fn nsaccountlock_true_is_disabled_and_false_is_not() {
    let lock = |i: usize| match i {
        0 => "nsAccountLock: true\n".to_string(),
        1 => "nsAccountLock: TRUE\n".to_string(),
        2 => "nsAccountLock: false\n".to_string(),
        3 => "nsAccountLock: False\n".to_string(),
        4 => "nsRole: cn=nsdisabledrole,dc=example,dc=com\nnsRole: cn=nsmanageddisabledrole,dc=example,dc=com\n"
            .to_string(),
        5 => "nsRole: cn=contractors,dc=example,dc=com\n".to_string(),
        _ => String::new(),
    };
    let ldif = people(10, uuid, lock);
    let (code, out, err) = check_ldif(&ldif, "disabled_attribute = \"nsAccountLock\"", "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("users in scope: 10 (3 disabled)"), "true, TRUE and the disabled role: {out}");

    let unique = |i: usize| format!("nsUniqueId: 9a2b3c4d-11f111f1-8000{i:04}-00000000\n");
    let anchors = |i: usize| if i < 7 { uuid(i) + &unique(i) } else { unique(i) };
    let (code, out, err) = check_ldif(&people(10, anchors, lock), "flavor = \"389ds\"", "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("users in scope: 10 (3 disabled)"), "{out}");
    assert!(out.contains("3 entries are anchored on nsUniqueId"), "{out}");
}

/// `check` refuses at load what `run` and `sync` refuse: a cron expression
/// tokio-cron-scheduler cannot parse, a malformed base DN (before any connection: it used
/// to be "read INCOMPLETE", exit 3, after contacting Zoom), an unusable `state.path` (it
/// used to be exit 1 at the first write, restarted by systemd every 30 s).
#[test]
fn check_refuses_what_run_and_sync_refuse() {
    let cases = [
        ("", "[schedule]\ncron = \"99 99 99 * * *\"\n", "schedule.cron"),
        ("", "[schedule]\ncron = \"0 0 25 * * *\"\n", "schedule.cron"),
        ("", "[state]\npath = \"people.ldif\"\n", "state.path"),
        ("", "[state]\npath = \"people.ldif/state\"\n", "state.path"),
        ("", "[groups]\nnames = [\"A\"]\nbase_dn = \"ou=staff,,dc=acme=x\"\n", "groups.base_dn"),
    ];
    let ldif = people(3, uuid, |_| String::new());
    for (directory, extra, key) in cases {
        let (code, out, err) = check_ldif(&ldif, directory, extra);
        assert_eq!(code, 2, "{extra}\n{out}{err}");
        assert!(err.contains(key), "{key} not named: {err}");
        assert!(!out.contains("OK"), "{out}");
    }
}

/// The same malformed base DN stops `check` and `sync` at load (exit 2, naming the key),
/// before the directory or Zoom is contacted (nothing listens at either address).
#[test]
fn a_malformed_base_dn_is_a_config_error_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), "secret\n").unwrap();
    std::fs::write(dir.path().join("zoom-secret"), "secret\n").unwrap();
    std::fs::set_permissions(dir.path().join("pw"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    std::fs::set_permissions(dir.path().join("zoom-secret"), std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .unwrap();
    let path = dir.path().join("zoomsync.toml");
    std::fs::write(
        &path,
        "[directory]\nurl = \"ldaps://127.0.0.1:9\"\nbind_dn = \"cn=sync,dc=acme\"\nbind_password_file = \"pw\"\n\
         base_dn = \"ou=staff,,dc=acme=x\"\n\n[target]\nbase_url = \"http://127.0.0.1:9/scim2\"\n\
         token_url = \"http://127.0.0.1:9/oauth/token\"\naccount_id = \"a\"\nclient_id = \"c\"\n\
         client_secret_file = \"zoom-secret\"\n\n[state]\npath = \"state\"\n",
    )
    .unwrap();
    for command in [&["check"][..], &["plan"], &["sync", "--once"]] {
        let mut args = command.to_vec();
        args.extend(["--config", path.to_str().unwrap()]);
        let (code, out, err) = zoomsync(&args);
        assert_eq!(code, 2, "{command:?}\n{out}{err}");
        assert!(err.contains("directory.base_dn") && err.contains("RDN 2 is empty"), "{command:?}: {err}");
        assert!(!err.contains("INCOMPLETE"), "{err}");
    }
    assert!(!dir.path().join("state").exists(), "nothing was created");
}

/// `check` counts the users the mapping rejects (a value over 256 characters, a control
/// character) exactly as `plan` and `sync` do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_rejects_what_the_mapping_rejects_as_sync_does() {
    use base64::Engine as _;
    let w = crate::cli_state::CliWorld::start(2, "", "").await;
    let path = w.dir.path().join("people.ldif");
    let mut text = std::fs::read_to_string(&path).unwrap();
    let long = "T".repeat(300);
    let bell = base64::engine::general_purpose::STANDARD.encode("Bell\u{7}Ringer");
    let extra = [
        ("long", format!("title: {long}\n"), "mail: long@example.com\n"),
        ("bell", format!("cn:: {bell}\n"), "mail: bell@example.com\n"),
        ("nomail", String::new(), ""),
    ];
    for (n, (name, attr, mail)) in extra.iter().enumerate() {
        text.push_str(&format!(
            "dn: uid={name},ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\n\
             entryUUID: 00000000-0000-4000-8000-0000000001{n:02}\nuid: {name}\n{}{}givenName: G\n{mail}{attr}\n",
            if attr.starts_with("cn") { "" } else { "cn: Some One\n" },
            if attr.starts_with("sn") { "" } else { "sn: One\n" },
        ));
    }
    std::fs::write(&path, text).unwrap();
    let out = w.expect(&["check"], 0).await;
    assert!(out.contains("rejected entries: 3"), "{out}");
    for reason in ["longer than 256", "control character"] {
        assert!(out.contains(reason), "check: {reason}: {out}");
    }
    let plan = w.expect(&["plan"], 0).await;
    assert!(plan.contains("users read, 3 rejected"), "{plan}");
    let (_, sync, err) = w.zoomsync(&["sync", "--once"]).await;
    assert_eq!(w.zoom.users().len(), 3, "the owner and the two good users: {sync}{err}");
}

/// Two things decode takes without rejecting the entry, which the operator may want to fix
/// in the directory: several mail values (the first becomes the userName) and a value that
/// is not UTF-8 (`sn:: ` base64 of Latin-1 "Müller", ignored). `check` names the entries;
/// they are warnings, not a reason for exit 4.
#[test]
fn check_names_several_mail_values_and_values_that_are_not_utf8() {
    let extra = |i: usize| match i {
        1 => "mail: second1@example.com\n".to_string(),
        3 => "mail: second3@example.com\nmail: third3@example.com\n".to_string(),
        4 => "description:: TfxsbGVy\ntitle:: TfxsbGVy\n".to_string(),
        _ => String::new(),
    };
    let ldif = people(6, uuid, extra);
    let (code, out, err) = check_ldif(&ldif, "", "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("users in scope: 6 (0 disabled)"), "nobody rejected: {out}");
    assert!(
        out.contains(
            "warning: 2 entries have several mail values; the first is used: uid=u1,ou=people,dc=example,dc=com, \
             uid=u3,ou=people,dc=example,dc=com\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "warning: 1 attribute values are not UTF-8 and were ignored: uid=u4,ou=people,dc=example,dc=com (title)\n"
        ),
        "only kept attributes are decoded (description is not): {out}"
    );

    // Clean entries: no warning.
    let (code, out, err) = check_ldif(&people(3, uuid, |_| String::new()), "", "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("warning:"), "{out}");
}
