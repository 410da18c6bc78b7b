//! Private servers on loopback, each started for one test and stopped by its own pid:
//! slapd, 389-ds, a Samba AD DC and scim2-server, with what they share (ports below 32768,
//! test certificates, spawning, waiting for and stopping a child, `ldapadd`/`ldapmodify` as
//! the admin) and an LDAP relay that counts and cuts messages.

pub mod ds389;
pub mod ldap_tools;
pub mod ports;
pub mod process;
pub mod relay;
pub mod samba;
pub mod scim2;
pub mod slapd;
pub mod tls;

/// Finds a server binary or fails the test with how to install it (never skips).
pub fn require_binary(name: &str, package_hint: &str) -> std::path::PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin", "/bin"] {
        let p = std::path::Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "{name} is not installed: run `sudo scripts/install-test-deps.sh` \
         (or `apt-get install {package_hint}`) and run the tests again"
    );
}
