//! The LDAP source against a real, private slapd: paged reads over LDAPS and StartTLS,
//! distinct errors, INCOMPLETE when the server dies mid-read, and a self-signed server
//! certificate pinned by `ca_file` (host name and expiry still checked).

use std::path::Path;

use crate::support::data::{self, SERVICE_DN, SERVICE_PASSWORD};
use crate::support::reading::{complete, read};
use crate::support::servers::slapd::Slapd;
use crate::support::servers::tls::{self as tls, ServerCert};
use zoomsync::config::{self, Config};
use zoomsync::source::{self, Decoder, Directory, ReadEnd, Snapshot, SourceError};

/// A config for the test slapd; `extra` lines go into `[directory]`.
fn config(dir: &Path, url: &str, extra: &str, password: &str) -> Config {
    zoomsync::install_crypto_provider();
    std::fs::write(dir.join("ldap-password"), password).unwrap();
    let text = format!(
        r#"[directory]
url = "{url}"
bind_dn = "{SERVICE_DN}"
bind_password_file = "ldap-password"
base_dn = "ou=people,dc=example,dc=com"
disabled_attribute = "employeeType"
disabled_value = "former"
page_size = 500
{extra}
"#
    );
    config::parse(&text, dir, None).unwrap_or_else(|e| panic!("config: {e}\n{text}"))
}

#[tokio::test]
async fn reads_10000_users_paged_over_ldaps_and_starttls() {
    let server = Slapd::start(&data::people_ldif(10_000));
    let ca = format!("ca_file = {:?}", server.ca_file());
    for (url, extra) in [(server.ldaps_url(), ca.clone()), (server.ldap_url(), format!("start_tls = true\n{ca}"))] {
        let cfg = config(server.dir(), &url, &extra, SERVICE_PASSWORD);
        let snapshot = complete(read(&cfg).await.unwrap());
        assert_eq!(snapshot.users.len(), 10_000, "{url}");
        assert!(snapshot.rejected.is_empty());
        assert_eq!(snapshot.disabled_count(), 400, "every 25th user is former");
        let first = snapshot.users.iter().find(|u| u.user_name == "user000007@example.com").unwrap();
        assert_eq!(first.attr("title"), Some("Engineer 0"));
        assert_eq!(first.anchor.as_str().len(), 36, "entryUUID anchor: {}", first.anchor);
        let mut anchors: Vec<_> = snapshot.users.iter().map(|u| &u.anchor).collect();
        anchors.sort();
        anchors.dedup();
        assert_eq!(anchors.len(), 10_000);
    }
}

#[tokio::test]
async fn connection_errors_are_distinct() {
    let server = Slapd::start(&data::people_ldif(3));
    let dir = server.dir();
    let ca = format!("ca_file = {:?}", server.ca_file());

    let wrong_ca =
        config(dir, &server.ldaps_url(), &format!("ca_file = {:?}", server.other_ca_file()), SERVICE_PASSWORD);
    let err = read(&wrong_ca).await.unwrap_err();
    assert!(matches!(err, SourceError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("UnknownIssuer") || err.to_string().contains("certificate"), "{err}");

    let wrong_ca_starttls = config(
        dir,
        &server.ldap_url(),
        &format!("start_tls = true\nca_file = {:?}", server.other_ca_file()),
        SERVICE_PASSWORD,
    );
    assert!(matches!(read(&wrong_ca_starttls).await.unwrap_err(), SourceError::Tls { .. }));

    let wrong_password = config(dir, &server.ldaps_url(), &ca, "not-the-password");
    let err = read(&wrong_password).await.unwrap_err();
    assert_eq!(err, SourceError::InvalidCredentials { bind_dn: SERVICE_DN.into() });
    assert!(!err.to_string().contains("not-the-password"));

    let nobody = crate::support::servers::ports::free_port();
    let unreachable = config(dir, &format!("ldaps://127.0.0.1:{nobody}"), &ca, SERVICE_PASSWORD);
    assert!(matches!(read(&unreachable).await.unwrap_err(), SourceError::Unreachable { .. }));

    let mut missing_base = config(dir, &server.ldaps_url(), &ca, SERVICE_PASSWORD);
    if let config::SourceConfig::Ldap(l) = &mut missing_base.directory.source {
        l.base_dn = "ou=nowhere,dc=example,dc=com".into();
    }
    assert_eq!(
        read(&missing_base).await.unwrap_err(),
        SourceError::BaseDnNotFound { base_dn: "ou=nowhere,dc=example,dc=com".into() }
    );
}

#[tokio::test]
async fn slapd_killed_mid_read_is_incomplete_not_shorter() {
    let mut server = Slapd::start(&data::people_ldif(10_000));
    let mut cfg =
        config(server.dir(), &server.ldaps_url(), &format!("ca_file = {:?}", server.ca_file()), SERVICE_PASSWORD);
    if let config::SourceConfig::Ldap(l) = &mut cfg.directory.source {
        l.page_size = 100;
    }
    let directory = source::AnyDirectory::from_config(&cfg.directory);
    let decoder = Decoder::new(cfg.directory.decode.clone());
    let mut builder = Snapshot::builder(&decoder);
    let mut seen = 0;
    let end = directory
        .stream(&mut |entry| {
            seen += 1;
            if seen == 1_000 {
                server.kill();
            }
            builder.push(&entry);
        })
        .await
        .unwrap();
    let partial = builder.finish();
    match end {
        ReadEnd::Incomplete { reason } => assert!(!reason.is_empty()),
        ReadEnd::Complete => panic!("a killed server must not look like a complete read"),
    }
    assert!(partial.users.len() < 10_000);
}

#[tokio::test]
async fn rejected_entries_carry_dn_and_reason_and_others_still_read() {
    let mut ldif = String::new();
    data::base_entries(&mut ldif);
    for i in 0..5 {
        data::person(&mut ldif, i, &format!("user{i:06}@example.com"));
    }
    data::person(&mut ldif, 5, "");
    data::person(&mut ldif, 6, "not-an-address");
    data::person(&mut ldif, 7, "user000000@example.com");
    let server = Slapd::start(&ldif);
    let cfg = config(server.dir(), &server.ldaps_url(), &format!("ca_file = {:?}", server.ca_file()), SERVICE_PASSWORD);
    let snapshot = complete(read(&cfg).await.unwrap());
    assert_eq!(snapshot.users.len(), 4, "{:?}", snapshot.rejected);
    let reasons: Vec<(String, String)> = snapshot.rejected.iter().map(|r| (r.dn.clone(), r.reason.clone())).collect();
    let find =
        |uid: &str| reasons.iter().find(|(dn, _)| dn.starts_with(&format!("uid={uid},"))).map(|(_, r)| r.as_str());
    assert!(find("user000005").unwrap().contains("no value for mail"));
    assert!(find("user000006").unwrap().contains("not a valid e-mail"));
    assert!(find("user000007").unwrap().contains("duplicate userName"));
    assert!(find("user000000").unwrap().contains("duplicate userName"));
    assert!(snapshot.rejected.iter().all(|r| r.anchor.is_some()));
}

/// LDAPS and StartTLS to `server` with `ca_file`: the TLS error of each, or the user count.
async fn over_both(server: &Slapd, host: &str, ca_file: &Path) -> Vec<Result<usize, SourceError>> {
    let ca = format!("ca_file = {ca_file:?}");
    let mut results = Vec::new();
    for (url, extra) in [
        (format!("ldaps://{host}:{}", server.tls_port), ca.clone()),
        (format!("ldap://{host}:{}", server.port), format!("start_tls = true\n{ca}")),
    ] {
        let cfg = config(server.dir(), &url, &extra, SERVICE_PASSWORD);
        results.push(read(&cfg).await.map(|r| complete(r).users.len()));
    }
    results
}

/// The TLS failure detail of `result`, failing the test on anything else.
fn tls_detail(result: &Result<usize, SourceError>) -> String {
    match result {
        Err(err @ SourceError::Tls { .. }) => err.to_string(),
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_self_signed_server_certificate_in_ca_file_is_pinned() {
    let server = Slapd::start_with_cert(&data::people_ldif(3), &ServerCert::self_signed_localhost());
    for host in ["127.0.0.1", "localhost"] {
        for result in over_both(&server, host, &server.server_cert_file()).await {
            assert_eq!(result, Ok(3), "{host}");
        }
    }
    // Made without subjectAltName (`openssl req -x509 -subj /CN=localhost`): the CN names it.
    let no_san = ServerCert::SelfSigned { cn: "localhost".into(), san: None };
    let server = Slapd::start_with_cert(&data::people_ldif(3), &no_san);
    for result in over_both(&server, "localhost", &server.server_cert_file()).await {
        assert_eq!(result, Ok(3));
    }
}

#[tokio::test]
async fn a_self_signed_certificate_not_in_ca_file_says_to_put_it_there() {
    let server = Slapd::start_with_cert(&data::people_ldif(3), &ServerCert::self_signed_localhost());
    tls::make_self_signed(server.dir(), "other-self-signed", "127.0.0.1", Some("IP:127.0.0.1"));
    for result in over_both(&server, "127.0.0.1", &server.dir().join("other-self-signed.crt")).await {
        let detail = tls_detail(&result);
        assert!(detail.contains("self-signed"), "{detail}");
        assert!(detail.contains("put exactly that certificate in ca_file"), "{detail}");
        assert!(detail.contains("openssl s_client -connect 127.0.0.1:"), "{detail}");
    }
}

#[tokio::test]
async fn a_pinned_certificate_for_another_host_names_the_host_and_its_names() {
    let cert = ServerCert::SelfSigned { cn: "ldap.example.test".into(), san: Some("DNS:ldap.example.test".into()) };
    let server = Slapd::start_with_cert(&data::people_ldif(3), &cert);
    for result in over_both(&server, "127.0.0.1", &server.server_cert_file()).await {
        let detail = tls_detail(&result);
        assert!(detail.contains("not valid for 127.0.0.1"), "{detail}");
        assert!(detail.contains("ldap.example.test"), "{detail}");
    }
}

#[tokio::test]
async fn an_expired_pinned_certificate_is_refused() {
    let cert = ServerCert::SelfSignedExpired { cn: "127.0.0.1".into(), san: Some("IP:127.0.0.1".into()) };
    let server = Slapd::start_with_cert(&data::people_ldif(3), &cert);
    for result in over_both(&server, "127.0.0.1", &server.server_cert_file()).await {
        let detail = tls_detail(&result);
        assert!(detail.contains("expired on 2020-02-01"), "{detail}");
        assert!(detail.contains("renew"), "{detail}");
    }
}
