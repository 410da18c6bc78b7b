//! A private OpenLDAP server for one test: its own directory, CA, config and ports on
//! 127.0.0.1, loaded offline with slapadd, stopped by its own pid on drop.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::ports::free_port;
use super::process::{ServerProcess, listening};
use super::require_binary;
use super::tls::ServerCert;
use crate::support::data::SERVICE_DN;

pub struct Slapd {
    /// Declared before `dir`: the server stops before its directory is removed.
    process: ServerProcess,
    dir: tempfile::TempDir,
    pub port: u16,
    pub tls_port: u16,
    /// The `-d` level it runs with (kept for [`Slapd::restart`]).
    level: String,
}

const CONFIG: &str = r#"include         /etc/ldap/schema/core.schema
include         /etc/ldap/schema/cosine.schema
include         /etc/ldap/schema/inetorgperson.schema
include         /etc/ldap/schema/nis.schema
modulepath      /usr/lib/ldap
moduleload      back_mdb
moduleload      memberof
@MODULES@pidfile         @DIR@/slapd.pid
argsfile        @DIR@/slapd.args
sizelimit       size.soft=unlimited size.hard=unlimited size.prtotal=unlimited
timelimit       unlimited
TLSCACertificateFile    @DIR@/tls/ca.crt
TLSCertificateFile      @DIR@/tls/server.crt
TLSCertificateKeyFile   @DIR@/tls/server.key
database        mdb
maxsize         4294967296
dbnosync
suffix          "dc=example,dc=com"
rootdn          "cn=admin,dc=example,dc=com"
rootpw          adminpass
directory       @DIR@/data
index           objectClass eq
index           uid,cn,mail eq
index           member,memberOf eq
index           entryUUID eq
@LIMITS@
overlay         memberof
memberof-group-oc   groupOfNames
memberof-member-ad  member
memberof-memberof-ad memberOf
memberof-refint     true
@OVERLAYS@access to attrs=userPassword
        by self write
        by anonymous auth
        by * none
access to *
        by dn.exact="@SERVICE@" read
        by self read
        by * none
"#;

impl Slapd {
    /// Starts slapd with `ldif` loaded offline (slapadd bypasses overlays: write memberOf
    /// yourself if a test needs it).
    pub fn start(ldif: &str) -> Self {
        Self::start_with_cert(ldif, &ServerCert::FromTestCa)
    }

    /// Starts slapd presenting `cert` ([`Slapd::server_cert_file`]).
    pub fn start_with_cert(ldif: &str, cert: &ServerCert) -> Self {
        Self::start_configured(ldif, cert, "")
    }

    /// Starts slapd with slapd.conf `limits` for the service account (e.g.
    /// `size.prtotal=100`, `size.pr=100`): what an admin's size limits look like to zoomsync.
    pub fn start_with_limits(ldif: &str, limits: &str) -> Self {
        let line = format!("limits          dn.exact=\"{SERVICE_DN}\" {limits}");
        Self::start_configured(ldif, &ServerCert::FromTestCa, &line)
    }

    /// Starts slapd with the syncprov overlay (an RFC 4533 provider) on the data database,
    /// so a client can run syncrepl (refreshAndPersist). `sessionlog`: how many write
    /// operations syncprov remembers, so a consumer resuming with a recent cookie gets a
    /// delete phase (deleted UUIDs listed); `None` keeps none, and a resumed refresh is a
    /// present phase (every present UUID listed, the rest deleted). The module ships in
    /// Debian's and Ubuntu's `slapd` package (`/usr/lib/ldap/syncprov.so`).
    pub fn start_with_syncprov(ldif: &str, sessionlog: Option<u32>) -> Self {
        Self::start_syncprov_logging(ldif, sessionlog, "none")
    }

    /// As [`Slapd::start_with_syncprov`], with slapd's debug output at `level` (`-d`) in
    /// its log ([`Slapd::log`]): `stats` logs every operation (`SRCH base=…`).
    pub fn start_syncprov_logging(ldif: &str, sessionlog: Option<u32>, level: &str) -> Self {
        let mut overlay =
            String::from("index           entryCSN eq\noverlay         syncprov\nsyncprov-checkpoint 100 1\n");
        if let Some(ops) = sessionlog {
            overlay.push_str(&format!("syncprov-sessionlog {ops}\n"));
        }
        Self::start_with(ldif, &ServerCert::FromTestCa, "", "moduleload      syncprov\n", &overlay, level)
    }

    /// [`Slapd::start_with_syncprov`] (with a session log), and the service account may
    /// write the entry `writable` (the standby lease): an admin's ACL for `[lease] dn`.
    pub fn start_with_syncprov_and_writable(ldif: &str, writable: &str) -> Self {
        let overlay = format!(
            "index           entryCSN eq\noverlay         syncprov\nsyncprov-checkpoint 100 1\n\
             syncprov-sessionlog 10000\naccess to dn.exact=\"{writable}\"\n        by dn.exact=\"{SERVICE_DN}\" write\n        by * none\n"
        );
        Self::start_with(ldif, &ServerCert::FromTestCa, "", "moduleload      syncprov\n", &overlay, "none")
    }

    fn start_configured(ldif: &str, cert: &ServerCert, limits: &str) -> Self {
        Self::start_with(ldif, cert, limits, "", "", "none")
    }

    fn start_with(ldif: &str, cert: &ServerCert, limits: &str, modules: &str, overlays: &str, level: &str) -> Self {
        let slapd = require_binary("slapd", "slapd ldap-utils");
        let slapadd = require_binary("slapadd", "slapd");
        let dir = tempfile::Builder::new().prefix("zoomsync-slapd-").tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("data")).unwrap();
        super::tls::make_server_certificate(root, std::net::Ipv4Addr::LOCALHOST, cert);
        let conf = root.join("slapd.conf");
        let text = CONFIG
            .replace("@DIR@", root.to_str().unwrap())
            .replace("@SERVICE@", SERVICE_DN)
            .replace("@LIMITS@", limits)
            .replace("@MODULES@", modules)
            .replace("@OVERLAYS@", overlays);
        std::fs::write(&conf, text).unwrap();
        let data = root.join("data.ldif");
        std::fs::write(&data, ldif).unwrap();
        super::tls::run(Command::new(slapadd).args(["-q", "-w", "-f"]).arg(&conf).arg("-l").arg(&data));
        let log_path = root.join("slapd.log");
        let mut last_log = String::new();
        for _ in 0..5 {
            let (port, tls_port) = (free_port(), free_port());
            let urls = format!("ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/");
            let mut process = ServerProcess::spawn(
                Command::new(&slapd).arg("-f").arg(&conf).args(["-h", &urls, "-d", level]),
                &log_path,
                Duration::from_secs(5),
            );
            // Both ports accept a TCP connection.
            let ready =
                process.wait_until(Duration::from_secs(15), Duration::from_millis(20), || listening(&[port, tls_port]));
            if ready.is_ok() {
                return Slapd { process, dir, port, tls_port, level: level.to_string() };
            }
            last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
        }
        panic!("slapd did not start on a free port:\n{last_log}");
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("tls/ca.crt")
    }

    /// The certificate the server presents (the self-signed one for [`ServerCert::SelfSigned`]).
    pub fn server_cert_file(&self) -> PathBuf {
        self.dir.path().join("tls/server.crt")
    }

    /// A CA that did not sign the server certificate.
    pub fn other_ca_file(&self) -> PathBuf {
        self.dir.path().join("tls/other-ca.crt")
    }

    pub fn ldap_url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.tls_port)
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Starts slapd again after [`Slapd::kill`]: the same config, data and ports, as an
    /// admin restarting a crashed server would (its log goes on in the same file).
    pub fn restart(&mut self) {
        let slapd = require_binary("slapd", "slapd ldap-utils");
        let root = self.dir.path();
        let urls = format!("ldap://127.0.0.1:{}/ ldaps://127.0.0.1:{}/", self.port, self.tls_port);
        let log = std::fs::OpenOptions::new().append(true).create(true).open(root.join("slapd.log")).unwrap();
        let mut command = Command::new(slapd);
        command.arg("-f").arg(root.join("slapd.conf")).args(["-h", &urls, "-d", &self.level]);
        command.stdout(log.try_clone().unwrap()).stderr(log);
        self.process =
            ServerProcess::adopt(command.stdin(std::process::Stdio::null()).spawn().unwrap(), Duration::from_secs(5));
        let ports = [self.port, self.tls_port];
        let ready = self.process.wait_until(Duration::from_secs(30), Duration::from_millis(20), || listening(&ports));
        if let Err(e) = ready {
            panic!("slapd did not start again on {ports:?}: {e:?}\n{}", self.log());
        }
    }

    /// What slapd wrote (its debug output at the level it was started with).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }
}
