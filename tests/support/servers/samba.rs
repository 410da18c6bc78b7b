//! A private Samba Active Directory domain controller for one test.
//!
//! The domain (`EXAMPLE.TEST`, base `DC=example,DC=test`) is provisioned once per test
//! process into a template directory under the system temp dir; each [`SambaDc`] copies it,
//! rewrites the paths in its `smb.conf`, adds its own TLS certificate (IP SAN), and runs
//! `samba -i -M single` as a child, LDAP service only. Samba's LDAP ports cannot be changed
//! (389/636/3268/3269), so each instance takes a loopback address of its own (127.0.0.X,
//! added with `ip addr add`, which fails if another process already holds it: a cross-process
//! lock) and instances within the process are serialised by a global mutex.
//!
//! `ldb:nosync = true` (Samba's own selftest setting) skips fsync on every write: bulk
//! ldapadd of 1,000 users drops from ~46 s to ~3 s.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::ldap_tools::LdapTools;
use super::process::{NotReady, ServerProcess};
use super::require_binary;
pub use crate::support::data::samba::*;

pub const REALM: &str = "EXAMPLE.TEST";
pub const DOMAIN: &str = "EXAMPLE";
/// The UPN suffix of the domain (lower case, as users get it).
pub const UPN_SUFFIX: &str = "example.test";
pub const BASE: &str = "DC=example,DC=test";
pub const ADMIN_BIND: &str = "Administrator@EXAMPLE.TEST";
pub const ADMIN_PASSWORD: &str = "Passw0rd!Admin";
/// The OU that `users_ldif` puts users in.
pub const SYNC_OU: &str = "OU=Sync,DC=example,DC=test";

/// `userAccountControl` values: NORMAL_ACCOUNT (0x200), ACCOUNTDISABLE (0x2),
/// PASSWD_NOTREQD (0x20).
pub const UAC_ENABLED: u32 = 512;
pub const UAC_DISABLED: u32 = 514;
/// Enabled, no password required: lets ldapadd create enabled users without `unicodePwd`
/// (which would need ldaps and ~40 ms of hashing per user).
pub const UAC_ENABLED_NO_PASSWORD: u32 = 544;
/// What Samba gives a user added without a password and without a UAC.
pub const UAC_DISABLED_NO_PASSWORD: u32 = 546;

const APT_PACKAGES: &str = "samba samba-dsdb-modules samba-ad-provision samba-vfs-modules";

/// One running instance at a time in this process (fixed ports).
static INSTANCE: Mutex<()> = Mutex::new(());
static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();

pub struct SambaDc {
    /// Spawned tied to its stdin: samba -i exits on EOF on stdin, so if this process dies
    /// however it dies, the pipe closes and the DC goes with it (Samba's selftest relies on
    /// the same). `None` until spawned; stopped in `drop` before the address goes.
    process: Option<ServerProcess>,
    dir: tempfile::TempDir,
    /// The 127.0.0.X we added to lo (removed on drop).
    ip: Ipv4Addr,
    /// Held until drop (after the server stopped and the address is gone).
    _instance: MutexGuard<'static, ()>,
}

impl SambaDc {
    /// Copies the provisioned template and starts a DC on a loopback address of its own.
    /// Fails (never skips) when Samba is not installed.
    pub fn start() -> Self {
        let samba = require_binary("samba", APT_PACKAGES);
        require_binary("samba-tool", APT_PACKAGES);
        require_binary("ldapadd", "ldap-utils");
        require_binary("ldapsearch", "ldap-utils");
        require_binary("ip", "iproute2");
        let guard = INSTANCE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let template = TEMPLATE.get_or_init(provision_template);
        let dir = tempfile::Builder::new().prefix("zoomsync-samba-").tempdir().unwrap();
        let root = dir.path().join("dc");
        super::tls::run(Command::new("cp").arg("-a").arg(template).arg(&root));
        let ip = claim_address();
        let mut dc = SambaDc { process: None, dir, ip, _instance: guard };
        for port in [389, 636] {
            if let Err(e) = TcpListener::bind((ip, port)) {
                panic!("{ip}:{port} is not free for Samba: {e}");
            }
        }
        super::tls::make_certificates(&dc.root(), ip);
        write_conf(template, &dc.root(), ip);
        let ldap_url = dc.ldap_url();
        let spawned = Instant::now();
        let process = dc.process.insert(ServerProcess::spawn_tied_to_stdin(
            Command::new(samba).args(["-i", "-M", "single", "-s"]).arg(dc.smb_conf()),
            &dc.root().join("samba.out"),
            Duration::from_secs(10),
        ));
        // An anonymous rootDSE read answers (whatever the strong-auth setting).
        let ready = process.wait_until(Duration::from_secs(60), Duration::from_millis(50), || {
            Command::new("ldapsearch")
                .args(["-x", "-H", &ldap_url, "-o", "nettimeout=2", "-b", "", "-s", "base", "dnsHostName"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap()
                .success()
        });
        match ready {
            Ok(()) => {}
            Err(NotReady::Exited(status)) => panic!("samba exited ({status}) before answering:\n{}", dc.output()),
            Err(NotReady::TimedOut) => {
                panic!("samba did not answer on {ldap_url} within 60 s:\n{}", dc.output())
            }
        }
        eprintln!("samba: DC on {ip} (pid {}) answered {:.1?} after spawn", dc.pid(), spawned.elapsed());
        dc
    }

    /// What samba wrote to stdout/stderr.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.root().join("samba.out")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.process.as_ref().map_or(0, ServerProcess::pid)
    }

    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// The instance's Samba directory (etc/, private/, tls/ …).
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("dc")
    }

    /// A scratch directory next to the DC, removed with it (configs, password files).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn smb_conf(&self) -> PathBuf {
        self.root().join("etc/smb.conf")
    }

    pub fn ca_file(&self) -> PathBuf {
        self.root().join("tls/ca.crt")
    }

    /// A CA that did not sign the server certificate.
    pub fn other_ca_file(&self) -> PathBuf {
        self.root().join("tls/other-ca.crt")
    }

    pub fn ldap_url(&self) -> String {
        format!("ldap://{}", self.ip)
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://{}", self.ip)
    }

    /// Adds entries with `ldapadd` over ldap:// as Administrator (simple bind is allowed on
    /// plain LDAP: `ldap server require strong auth = no`). Panics with the error.
    pub fn ldapadd(&self, ldif: &str) {
        self.ldap_tool("ldapadd", &self.ldap_url(), ldif);
    }

    /// Applies `changetype:` records with `ldapmodify` over ldap:// as Administrator.
    pub fn ldapmodify(&self, ldif: &str) {
        self.ldap_tool("ldapmodify", &self.ldap_url(), ldif);
    }

    /// `ldapmodify` over ldaps:// (needed for `unicodePwd`).
    pub fn ldapmodify_tls(&self, ldif: &str) {
        self.ldap_tool("ldapmodify", &self.ldaps_url(), ldif);
    }

    /// The LDAP tools on `url` as Administrator (simple bind), checking the server against
    /// the test CA on ldaps://.
    fn admin(&self, url: &str) -> LdapTools<'static> {
        LdapTools { url: url.to_string(), bind_dn: ADMIN_BIND, password: ADMIN_PASSWORD, ca_file: Some(self.ca_file()) }
    }

    fn ldap_tool(&self, tool: &str, url: &str, ldif: &str) {
        self.admin(url).apply(tool, ldif);
    }

    /// Sets `userAccountControl` (e.g. [`UAC_DISABLED`]) on an entry.
    pub fn set_account_control(&self, dn: &str, uac: u32) {
        self.ldapmodify(&format!(
            "dn: {dn}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: {uac}\n"
        ));
    }

    /// Disables a user as an admin would: UAC 514 (NORMAL_ACCOUNT | ACCOUNTDISABLE).
    pub fn disable_user(&self, dn: &str) {
        self.set_account_control(dn, UAC_DISABLED);
    }

    /// Sets a password (over ldaps: AD refuses `unicodePwd` on a clear connection) and
    /// enables the account (UAC 512).
    pub fn set_password(&self, dn: &str, password: &str) {
        let quoted: Vec<u8> = format!("\"{password}\"").encode_utf16().flat_map(u16::to_le_bytes).collect();
        let encoded = base64::engine::general_purpose::STANDARD.encode(quoted);
        self.ldapmodify_tls(&format!(
            "dn: {dn}\nchangetype: modify\nreplace: unicodePwd\nunicodePwd:: {encoded}\n-\n\
             replace: userAccountControl\nuserAccountControl: {UAC_ENABLED}\n"
        ));
    }

    /// A service account in CN=Users with a password, for zoomsync to bind as. Returns its DN.
    pub fn add_service_account(&self, name: &str, password: &str) -> String {
        let dn = format!("CN={name},CN=Users,{BASE}");
        self.ldapadd(&format!(
            "dn: {dn}\nobjectClass: user\nsAMAccountName: {name}\nuserPrincipalName: {name}@{UPN_SUFFIX}\n\
             userAccountControl: {UAC_DISABLED_NO_PASSWORD}\n"
        ));
        self.set_password(&dn, password);
        dn
    }

    /// `ldapsearch` as Administrator over ldap://, paged (1000), LDIF unwrapped; the
    /// attribute values of each entry by lower-case name, keyed by DN. Base64 values
    /// (`attr:: …`) are decoded.
    pub fn search(&self, base: &str, filter: &str, attributes: &[&str]) -> BTreeMap<String, Entry> {
        self.admin(&self.ldap_url()).search(base, filter, attributes)
    }

    /// `userAccountControl` of an entry, read back with ldapsearch.
    pub fn account_control(&self, dn: &str) -> u32 {
        let found = self.search(dn, "(objectClass=*)", &["userAccountControl"]);
        let entry = found.values().next().unwrap_or_else(|| panic!("{dn} not found"));
        String::from_utf8(entry.first("useraccountcontrol").unwrap().clone()).unwrap().parse().unwrap()
    }

    /// Samba's own text form of a user's objectGUID, from `samba-tool user show` (which
    /// reads sam.ldb directly and prints GUIDs as text; ~0.5 s per call: Python start-up).
    pub fn samba_tool_guid(&self, sam_account_name: &str) -> String {
        let out = Command::new("samba-tool")
            .args(["user", "show", sam_account_name, "--attributes=objectGUID", "-s"])
            .arg(self.smb_conf())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "samba-tool user show {sam_account_name}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text.lines()
            .find_map(|l| l.strip_prefix("objectGUID: "))
            .unwrap_or_else(|| panic!("no objectGUID in samba-tool output:\n{text}"))
            .trim()
            .to_string()
    }

    /// Stops the server by its pid (SIGTERM, and EOF on its stdin; SIGKILL after 10 s) and
    /// waits for it.
    pub fn stop(&mut self) {
        if let Some(process) = self.process.as_mut() {
            process.stop();
        }
    }
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        self.stop();
        release_address(self.ip);
    }
}

/// Provisions the domain once per test process. Leftover templates of processes that no
/// longer run are removed first (a static is never dropped, so each run cleans the last).
fn provision_template() -> PathBuf {
    let tmp = std::env::temp_dir();
    let prefix = "zoomsync-samba-template-";
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(pid) = name.strip_prefix(prefix).and_then(|rest| rest.split('-').next()) else {
                continue;
            };
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let dir = tmp.join(format!("{prefix}{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.conf");
    // An empty -s file: don't inherit /etc/samba/smb.conf's shares and log paths.
    std::fs::write(&empty, "").unwrap();
    let started = Instant::now();
    let out = Command::new("samba-tool")
        .args(["domain", "provision", "-s"])
        .arg(&empty)
        .arg(format!("--targetdir={}", dir.display()))
        .args([&format!("--realm={REALM}"), &format!("--domain={DOMAIN}"), &format!("--adminpass={ADMIN_PASSWORD}")])
        .args(["--server-role=dc", "--dns-backend=NONE", "--use-rfc2307"])
        .args(["--option=interfaces=127.0.0.1", "--option=bind interfaces only=yes"])
        .args(["--option=server services=ldap", "--option=ldb:nosync=true"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "samba-tool domain provision failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("samba: provisioned template {} in {:.1?}", dir.display(), started.elapsed());
    dir
}

/// The template's smb.conf with the instance's paths and address, plus what provision
/// does not write: weak-auth simple binds on ldap://, our pid directory, TLS files, nosync.
fn write_conf(template: &Path, root: &Path, ip: Ipv4Addr) {
    let text = std::fs::read_to_string(template.join("etc/smb.conf")).unwrap();
    let text = text.replace(template.to_str().unwrap(), root.to_str().unwrap());
    let text = text.replace("interfaces = 127.0.0.1", &format!("interfaces = {ip}"));
    assert!(text.contains(&format!("interfaces = {ip}")), "no interfaces line in:\n{text}");
    let r = root.display();
    let extra = format!(
        "[global]\n\
         \tldap server require strong auth = no\n\
         \tpid directory = {r}\n\
         \tlog file = {r}/log.%m\n\
         \tldb:nosync = true\n\
         \ttls enabled = yes\n\
         \ttls keyfile = {r}/tls/server.key\n\
         \ttls certfile = {r}/tls/server.crt\n\
         \ttls cafile = {r}/tls/ca.crt\n"
    );
    let text = text.replacen("[global]\n", &extra, 1);
    std::fs::write(root.join("etc/smb.conf"), text).unwrap();
}

/// Adds a 127.0.0.X/32 to lo that nobody holds. `ip addr add` fails when the address exists,
/// so concurrent test processes never share one. Each claim is recorded in
/// `<tmp>/zoomsync-samba-addr-<ip>` with our pid; an address whose recorded owner no longer
/// runs (a test process killed before its drop) is taken back. Returns the address.
fn claim_address() -> Ipv4Addr {
    release_stale_addresses();
    let start = std::process::id() as usize % 150;
    let mut last = String::new();
    for k in 0..150 {
        let x = 100 + ((start + k) % 150) as u8;
        let ip = Ipv4Addr::new(127, 0, 0, x);
        let owner_file = address_owner_file(ip);
        let out = Command::new("ip").args(["addr", "add", &format!("{ip}/32"), "dev", "lo"]).output().unwrap();
        if out.status.success() {
            std::fs::write(&owner_file, std::process::id().to_string()).unwrap();
            return ip;
        }
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        if !last.contains("File exists") {
            break;
        }
    }
    panic!("cannot add a 127.0.0.X address to lo for Samba (needs root / CAP_NET_ADMIN): {last}");
}

/// Removes the addresses (and owner files) of test processes that no longer run.
fn release_stale_addresses() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(ip) = name.strip_prefix("zoomsync-samba-addr-").and_then(|ip| ip.parse::<Ipv4Addr>().ok()) else {
            continue;
        };
        let owner = std::fs::read_to_string(e.path()).unwrap_or_default();
        if !owner.trim().is_empty() && !Path::new("/proc").join(owner.trim()).exists() {
            release_address(ip);
        }
    }
}

fn address_owner_file(ip: Ipv4Addr) -> PathBuf {
    std::env::temp_dir().join(format!("zoomsync-samba-addr-{ip}"))
}

fn release_address(ip: Ipv4Addr) {
    let _ = Command::new("ip")
        .args(["addr", "del", &format!("{ip}/32"), "dev", "lo"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = std::fs::remove_file(address_owner_file(ip));
}
