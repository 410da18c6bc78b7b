//! Test certificates for private servers (slapd, Samba): a CA, a server certificate it signed
//! for one IP, and an unrelated CA (for "wrong CA" tests). EC keys: fast to make, and GnuTLS
//! (slapd, Samba) serves them. The key is 0600: Samba refuses it otherwise.

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
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tls.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
}
