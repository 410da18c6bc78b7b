//! `plan` never lies: run as an admin would (the binary, an LDIF directory, the in-process
//! emulator), a `plan --full` that cannot read the target fails like `sync --once` does
//! instead of printing an empty plan that hides a pending deactivation.

use std::path::Path;

use zoomsync::emulator::{Emulator, EmulatorConfig, RunningEmulator};

use crate::cycle::directory::{PEOPLE as PEOPLE_DN, people_ldif, person_ldif, user_dn, user_name};

const PEOPLE: usize = 5;

fn write_config(dir: &Path, zoom: &RunningEmulator, extra: &str) {
    let config = format!(
        r#"[directory]
kind = "ldif"
flavor = "openldap"
path = "people.ldif"

[target]
kind = "zoom"
base_url = "{}"
token_url = "{}"
account_id = "{}"
client_id = "{}"
client_secret_file = "zoom-secret"
requests_per_second = 1000
timeout = "10s"

[state]
path = "state"

[admin]
socket = "admin.sock"

[metrics]
enabled = false
{}"#,
        zoom.base_url(),
        zoom.token_url(),
        zoom.account_id(),
        zoom.client_id(),
        extra
    );
    std::fs::write(dir.join("zoomsync.toml"), config).unwrap();
}

/// Writes a secret file as an operator would (mode 0600: no warning about its mode).
fn write_secret(dir: &Path, value: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("zoom-secret");
    std::fs::write(&path, value).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Runs the binary without blocking the runtime the emulator answers on.
async fn zoomsync(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_zoomsync"))
        .args(args)
        .arg("--config")
        .arg(dir.join("zoomsync.toml"))
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_full_with_a_wrong_client_secret_fails_like_sync() {
    let zoom = Emulator::start(EmulatorConfig::unlimited(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &zoom, "");
    std::fs::write(dir.path().join("people.ldif"), people_ldif(PEOPLE)).unwrap();
    write_secret(dir.path(), zoom.client_secret());
    let (code, out, err) = zoomsync(dir.path(), &["sync", "--once"]).await;
    assert_eq!(code, 0, "{out}\n{err}");

    // Someone leaves (a deactivation is due) and the secret is wrong.
    std::fs::write(dir.path().join("people.ldif"), people_ldif(PEOPLE - 1)).unwrap();
    write_secret(dir.path(), "not-the-secret");
    let (plan_code, plan_out, plan_err) = zoomsync(dir.path(), &["plan", "--full"]).await;
    let (sync_code, sync_out, sync_err) = zoomsync(dir.path(), &["sync", "--once", "--full"]).await;
    assert_eq!(sync_code, 1, "{sync_out}\n{sync_err}");
    assert_eq!(plan_code, sync_code, "plan fails like sync:\n{plan_out}\n{plan_err}");
    assert!(plan_err.contains("401") && plan_err.contains("client secret"), "says why:\n{plan_err}");
    assert!(!plan_out.contains("totals:"), "no plan is printed as if complete:\n{plan_out}");
    assert!(!plan_out.contains("not-the-secret") && !plan_err.contains("not-the-secret"));

    // Without --full the plan needs no target: the deactivation shows, exit 0.
    let (code, out, err) = zoomsync(dir.path(), &["plan"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("deactivate"), "{out}");
}

/// A manager outside the scope is named, with what happens, in `plan` and `plan --json`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_says_why_a_manager_is_left_unset() {
    let zoom = Emulator::start(EmulatorConfig::unlimited(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &zoom, "\n[mapping]\nmanager = \"manager\"\n");
    let boss = format!("uid=boss,{PEOPLE_DN}");
    let with_manager =
        |i: usize, dn: &str| person_ldif(i, &user_name(i)).replace("\n\n", &format!("\nmanager: {dn}\n\n"));
    let ldif = format!("version: 1\n\n{}{}", with_manager(0, &boss), with_manager(1, &user_dn(0)));
    std::fs::write(dir.path().join("people.ldif"), ldif).unwrap();
    write_secret(dir.path(), zoom.client_secret());
    let (code, out, err) = zoomsync(dir.path(), &["sync", "--once"]).await;
    assert_eq!(code, 0, "{out}\n{err}");

    let why = format!("manager {boss} is outside the sync scope; manager left unset");
    let (code, out, err) = zoomsync(dir.path(), &["plan"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let line = out.lines().find(|l| l.starts_with("note")).unwrap_or_else(|| panic!("no note:\n{out}"));
    assert!(line.contains(&user_name(0)) && line.ends_with(&why), "{line}");
    assert!(out.contains("update") && out.contains("manager: ∅ -> "), "person 1's manager, now on Zoom:\n{out}");

    let (code, out, err) = zoomsync(dir.path(), &["plan", "--json"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["notes"][0]["user_name"], user_name(0).as_str(), "{plan:#}");
    assert_eq!(plan["notes"][0]["note"], why.as_str());
    assert_eq!((plan["managers"]["resolved"].as_u64(), plan["managers"]["out_of_scope"].as_u64()), (Some(1), Some(1)));
    let manager_id = zoom.user_by_name(&user_name(0)).unwrap().id;
    assert_eq!(plan["ops"][0]["changes"][0]["new"], manager_id.as_str(), "{plan:#}");
}
