#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

/// Self-signed, CA:TRUE, subjectAltName IP:127.0.0.1 and DNS:localhost, CN=127.0.0.1,
/// valid 2020-01-01 to 2020-02-01 (`openssl ca -selfsign`).
const WITH_SAN: &str = "-----BEGIN CERTIFICATE-----
MIIBZjCCAQugAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAkxMjcuMC4w
LjEwHhcNMjAwMTAxMDAwMDAwWhcNMjAwMjAxMDAwMDAwWjAUMRIwEAYDVQQDDAkx
MjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARGuOsyBWeaeoEbbeJi
9Kl/MIuEvZ+rSmtV/M0urPovewnpV0+awqJbPqA9/KdY2ks2Kc5GPltAZbcknLs4
m8hjo04wTDAPBgNVHRMBAf8EBTADAQH/MB0GA1UdDgQWBBSGwIw8jl+tab0LBsGN
VjKY67QTjzAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZIzj0EAwID
SQAwRgIhAIbGWuJHSPM6+NCFkrpv7YUepcAZ77lhnaMeP7SYZk30AiEAjGlF4y2g
fa/jV2jAuLSDfPB1lqbVPhhLZNNvHKU28DA=
-----END CERTIFICATE-----
";

/// Self-signed, CA:TRUE, no subjectAltName, CN=ldap.example.test, same period.
const CN_ONLY: &str = "-----BEGIN CERTIFICATE-----
MIIBWDCB/6ADAgECAgECMAoGCCqGSM49BAMCMBwxGjAYBgNVBAMMEWxkYXAuZXhh
bXBsZS50ZXN0MB4XDTIwMDEwMTAwMDAwMFoXDTIwMDIwMTAwMDAwMFowHDEaMBgG
A1UEAwwRbGRhcC5leGFtcGxlLnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AARoE/H9ar8dpZVO6m4sju7Wk3gd1p5hCBmBuIt1Mly0WwEklOOxRhNbnxrzK1kZ
mqY49/i50oxnUUYf1nflo2fVozIwMDAPBgNVHRMBAf8EBTADAQH/MB0GA1UdDgQW
BBQKhk6JppKLicHKEdIigiLtInHoLTAKBggqhkjOPQQDAgNIADBFAiBIS5b21aX+
vMzWHELbx4+xaGuuPEqDKk7aQ2JFFe6SGwIhAMmnFDpZkW4kdgDQgChE9VTl2BZI
IK60pjtIbanDuc5P
-----END CERTIFICATE-----
";

const JAN_2020: i64 = 1_577_836_800;
const FEB_2020: i64 = 1_580_515_200;

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

/// The verifier for a CA file holding `pems`, with the process's crypto provider.
fn verifier(pems: &[&str]) -> PinningVerifier {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, pems.concat()).unwrap();
    let mut roots = RootCertStore::empty();
    let pinned: Vec<_> = pems.iter().map(|p| der(p)).collect();
    for cert in &pinned {
        roots.add(cert.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    assert!(client_config(&path, "ldaps://127.0.0.1:636").is_ok());
    PinningVerifier {
        webpki: WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap(),
        pinned,
        ca_file: "/etc/zoomsync/ca.pem".into(),
        fetch: fetch_command("ldaps://127.0.0.1:636"),
    }
}

fn verify(v: &PinningVerifier, pem: &str, host: &str, at: i64) -> Result<(), String> {
    let name = ServerName::try_from(host.to_string()).unwrap();
    let now = UnixTime::since_unix_epoch(Duration::from_secs(at as u64));
    v.verify_server_cert(&der(pem), &[], &name, &[], now).map(|_| ()).map_err(|e| describe(&e))
}

#[test]
fn facts_of_a_certificate() {
    let facts = Facts::parse(&der(WITH_SAN)).unwrap();
    assert_eq!(
        facts,
        Facts {
            not_before: JAN_2020,
            not_after: FEB_2020,
            alt_names: Some(vec!["127.0.0.1".into(), "localhost".into()]),
            common_name: Some("127.0.0.1".into()),
            self_signed: true,
            is_ca: true,
        }
    );
    let facts = Facts::parse(&der(CN_ONLY)).unwrap();
    assert_eq!((&facts.alt_names, facts.names()), (&None, vec!["ldap.example.test".to_string()]));
    assert_eq!(Facts::parse(&CertificateDer::from(vec![1, 2, 3])), None);
}

#[test]
fn a_pinned_certificate_is_checked_for_name_and_period_only() {
    let v = verifier(&[WITH_SAN, CN_ONLY]);
    let mid = JAN_2020 + 86_400;
    let cases: &[(&str, &str, i64, Result<(), &str>)] = &[
        (WITH_SAN, "127.0.0.1", mid, Ok(())),
        (WITH_SAN, "localhost", mid, Ok(())),
        (WITH_SAN, "LOCALHOST", mid, Ok(())),
        (WITH_SAN, "127.0.0.1", JAN_2020, Ok(())),
        (WITH_SAN, "127.0.0.1", FEB_2020, Ok(())),
        (WITH_SAN, "127.0.0.1", FEB_2020 + 1, Err("expired on 2020-02-01T00:00:00Z; renew it")),
        (WITH_SAN, "127.0.0.1", JAN_2020 - 1, Err("is not valid before 2020-01-01T00:00:00Z")),
        (WITH_SAN, "ldap.example.test", mid, Err("is not valid for ldap.example.test: it names 127.0.0.1, localhost")),
        (WITH_SAN, "127.0.0.2", mid, Err("is not valid for 127.0.0.2")),
        // No subjectAltName: the CN is the name, as OpenSSL's check falls back to it.
        (CN_ONLY, "ldap.example.test", mid, Ok(())),
        (CN_ONLY, "ldap.example.test.", mid, Ok(())),
        (CN_ONLY, "other.example.test", mid, Err("not valid for other.example.test: it names ldap.example.test")),
        (CN_ONLY, "127.0.0.1", mid, Err("not valid for 127.0.0.1")),
    ];
    for (pem, host, at, expected) in cases {
        let got = verify(&v, pem, host, *at);
        match expected {
            Ok(()) => assert_eq!(got, Ok(()), "{host} at {at}"),
            Err(part) => {
                let err = got.expect_err(host);
                assert!(err.contains(part), "{host} at {at}: {err}");
                assert!(err.contains("pinned: it is in /etc/zoomsync/ca.pem"), "{err}");
            }
        }
    }
}

#[test]
fn a_certificate_not_in_the_ca_file_goes_through_webpki_with_advice() {
    // CA file: the CN-only certificate; the server presents the other one.
    let v = verifier(&[CN_ONLY]);
    let err = verify(&v, WITH_SAN, "127.0.0.1", JAN_2020 + 86_400).unwrap_err();
    assert!(err.starts_with("the server presents a self-signed CA certificate that is not in /etc/zoomsync/ca.pem; put exactly that certificate in ca_file (it is then pinned): openssl s_client -connect 127.0.0.1:636 -showcerts </dev/null | openssl x509 > server.crt"), "{err}");
    assert!(err.contains("CaUsedAsEndEntity"), "the original error stays: {err}");
    // Expired and not pinned: webpki's own words (nothing to add).
    let err = verify(&v, WITH_SAN, "127.0.0.1", FEB_2020 + 1).unwrap_err();
    assert!(err.contains("certificate expired"), "{err}");
}

#[test]
fn advice_by_failure() {
    let ss_ca = Facts { self_signed: true, is_ca: true, ..Facts::default() };
    let ss = Facts { self_signed: true, ..Facts::default() };
    let ca = Facts { is_ca: true, ..Facts::default() };
    let leaf = Facts { alt_names: Some(vec!["a.example".into(), "10.0.0.1".into()]), ..Facts::default() };
    let other = || CertificateError::Other(OtherError(Arc::new(Refusal("CaUsedAsEndEntity".into()))));
    let for_name = CertificateError::NotValidForNameContext {
        expected: ServerName::try_from("h.example").unwrap(),
        presented: vec!["a.example".into()],
    };
    let cases: Vec<(CertificateError, Option<&Facts>, Option<&str>)> = vec![
        (
            other(),
            Some(&ss_ca),
            Some("the server presents a self-signed CA certificate that is not in CA; put exactly"),
        ),
        (CertificateError::UnknownIssuer, Some(&ss), Some("presents a self-signed certificate that is not in CA")),
        (other(), Some(&ca), Some("presents a CA certificate as its own")),
        (CertificateError::UnknownIssuer, Some(&leaf), Some("not issued by a CA in CA; put the CA that issued it")),
        (CertificateError::UnknownIssuer, None, Some("not issued by a CA in CA")),
        (for_name, Some(&leaf), Some("certificate is not valid for h.example: it names a.example; use one")),
        (CertificateError::NotValidForName, Some(&leaf), Some("not valid for h.example: it names a.example, 10.0.0.1")),
        (CertificateError::NotValidForName, None, Some("it names no host")),
        (other(), Some(&leaf), None),
        (other(), None, None),
        (CertificateError::Expired, Some(&ss_ca), None),
        (CertificateError::BadSignature, Some(&ss_ca), None),
    ];
    for (error, facts, expected) in cases {
        let got = advice(&error, facts, "h.example", "CA", "FETCH");
        match (expected, &got) {
            (None, None) => {}
            (Some(part), Some(text)) => assert!(text.contains(part), "{error:?}: {text}"),
            _ => panic!("{error:?} {facts:?}: {got:?}"),
        }
    }
}

#[test]
fn fetch_command_by_url() {
    let cases = [
        ("ldaps://dc1.example.com", "-connect dc1.example.com:636 -showcerts"),
        ("ldaps://10.0.0.5:1636", "-connect 10.0.0.5:1636 -showcerts"),
        ("ldap://ldap.example.com", "-connect ldap.example.com:389 -starttls ldap -showcerts"),
        ("ldap://[::1]:3389", "-connect [::1]:3389 -starttls ldap -showcerts"),
        ("not a url", "-connect HOST:389 -starttls ldap"),
    ];
    for (url, part) in cases {
        let got = fetch_command(url);
        assert!(got.contains(part), "{url}: {got}");
        assert!(got.ends_with("</dev/null | openssl x509 > server.crt"), "{got}");
    }
}

#[test]
fn cn_match() {
    let cases = [
        ("ldap.example.com", "ldap.example.com", true),
        ("LDAP.example.com", "ldap.EXAMPLE.com", true),
        ("ldap.example.com.", "ldap.example.com", true),
        ("127.0.0.1", "127.0.0.1", true),
        ("ldap.example.com", "*.example.com", false),
        ("ldap.example.com", "ldap", false),
        ("", "", false),
    ];
    for (host, cn, expected) in cases {
        assert_eq!(cn_matches(host, cn), expected, "{host} vs {cn}");
    }
}

#[test]
fn times_as_text() {
    assert_eq!(time_text(FEB_2020), "2020-02-01T00:00:00Z");
    assert_eq!(time_text(0), "1970-01-01T00:00:00Z");
    assert_eq!(time_text(-5), "UNIX time -5");
}

#[test]
fn other_errors_are_described_by_rustls() {
    assert_eq!(describe(&Error::DecryptError), Error::DecryptError.to_string());
    assert_eq!(describe(&refuse("do this".into())), "do this");
}
