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
