//! Test certificates for private servers (slapd, Samba): a CA, a server certificate it signed
//! for one IP, and an unrelated CA (for "wrong CA" tests); or a single self-signed certificate
//! as `openssl req -x509` makes it (CA:TRUE), current or expired. EC keys: fast to make, and
//! GnuTLS (slapd, Samba) serves them. The key is 0600: Samba refuses it otherwise.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;

use super::require_binary;

/// Runs a setup command, failing the test with its output.
pub fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `root/tls/{ca,other-ca,server}.{crt,key}` for a server on `ip`.
pub fn make_certificates(root: &Path, ip: Ipv4Addr) {
    let openssl = require_binary("openssl", "openssl");
    let tls = root.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    for (name, cn) in [("ca", "zoomsync test CA"), ("other-ca", "unrelated CA")] {
        run(Command::new(&openssl)
            .current_dir(&tls)
            .args(["req", "-x509"])
            .args(ec)
            .args(["-days", "30", "-subj", &format!("/CN={cn}")])
            .args(["-keyout", &format!("{name}.key"), "-out", &format!("{name}.crt")]));
    }
    run(Command::new(&openssl).current_dir(&tls).arg("req").args(ec).args([
        "-subj",
        &format!("/CN={ip}"),
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]));
    std::fs::write(
        tls.join("ext.cnf"),
        format!(
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n\
             subjectAltName=IP:{ip},DNS:localhost\n"
        ),
    )
    .unwrap();
    run(Command::new(&openssl).current_dir(&tls).args([
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-out",
        "server.crt",
        "-extfile",
        "ext.cnf",
    ]));
    restrict_key(&tls.join("server.key"));
}

/// What a test server presents.
#[derive(Clone, Debug)]
pub enum ServerCert {
    /// `server.crt`, signed by the test CA `ca.crt`.
    FromTestCa,
    /// One self-signed certificate (CA:TRUE) with subject `CN={cn}` and, when given,
    /// `subjectAltName={san}` (e.g. `IP:127.0.0.1,DNS:localhost`).
    SelfSigned { cn: String, san: Option<String> },
    /// The same, valid only in January 2020.
    SelfSignedExpired { cn: String, san: Option<String> },
}

impl ServerCert {
    /// Self-signed for 127.0.0.1 and localhost, as most test URLs use.
    pub fn self_signed_localhost() -> Self {
        ServerCert::SelfSigned { cn: "127.0.0.1".into(), san: Some("IP:127.0.0.1,DNS:localhost".into()) }
    }
}

/// Writes what the server presents as `root/tls/server.{crt,key}` (plus the CA files of
/// [`make_certificates`], which a server config may name whatever it presents).
pub fn make_server_certificate(root: &Path, ip: Ipv4Addr, cert: &ServerCert) {
    make_certificates(root, ip);
    let tls = root.join("tls");
    match cert {
        ServerCert::FromTestCa => {}
        ServerCert::SelfSigned { cn, san } => make_self_signed(&tls, "server", cn, san.as_deref()),
        ServerCert::SelfSignedExpired { cn, san } => make_expired_self_signed(&tls, "server", cn, san.as_deref()),
    }
}

/// `dir/{name}.{crt,key}`: a self-signed certificate made the way most admins make one,
/// `openssl req -x509` (the default extensions mark it CA:TRUE), valid for 30 days.
pub fn make_self_signed(dir: &Path, name: &str, cn: &str, san: Option<&str>) {
    let openssl = require_binary("openssl", "openssl");
    let mut cmd = Command::new(&openssl);
    cmd.current_dir(dir)
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args(["-days", "30", "-subj", &format!("/CN={cn}")])
        .args(["-keyout", &format!("{name}.key"), "-out", &format!("{name}.crt")]);
    if let Some(san) = san {
        cmd.args(["-addext", &format!("subjectAltName={san}")]);
    }
    run(&mut cmd);
    restrict_key(&dir.join(format!("{name}.key")));
}

/// `dir/{name}.{crt,key}`: like [`make_self_signed`] but valid only in January 2020.
/// `openssl req` (3.0) cannot set a past start date, `openssl ca -selfsign` can.
pub fn make_expired_self_signed(dir: &Path, name: &str, cn: &str, san: Option<&str>) {
    let openssl = require_binary("openssl", "openssl");
    let work = dir.join(format!("{name}-ca"));
    std::fs::create_dir_all(&work).unwrap();
    let san_line = san.map(|s| format!("subjectAltName = {s}\n")).unwrap_or_default();
    std::fs::write(
        work.join("ca.cnf"),
        format!(
            "[ca]\ndefault_ca = own\n[own]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n\
             default_md = sha256\npolicy = any\nx509_extensions = ext\nunique_subject = no\n\
             [any]\ncommonName = supplied\n\
             [ext]\nbasicConstraints = critical,CA:TRUE\nsubjectKeyIdentifier = hash\n{san_line}"
        ),
    )
    .unwrap();
    std::fs::write(work.join("index.txt"), "").unwrap();
    std::fs::write(work.join("serial"), "01\n").unwrap();
    let key = dir.join(format!("{name}.key"));
    run(Command::new(&openssl)
        .current_dir(&work)
        .args(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args(["-subj", &format!("/CN={cn}"), "-out", "req.csr", "-keyout"])
        .arg(&key));
    run(Command::new(&openssl)
        .current_dir(&work)
        .args(["ca", "-batch", "-config", "ca.cnf", "-selfsign", "-notext", "-in", "req.csr", "-keyfile"])
        .arg(&key)
        .args(["-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-out"])
        .arg(dir.join(format!("{name}.crt"))));
    restrict_key(&key);
}

fn restrict_key(key: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600)).unwrap();
}
