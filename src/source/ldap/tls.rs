//! The directory's TLS client configuration when `ca_file` is set.
//!
//! The CA file's certificates are the roots for ordinary verification (rustls'
//! `WebPkiServerVerifier`, unchanged). A server certificate that is byte for byte one of them
//! is pinned: accepted without a chain, as `ldapsearch` accepts a self-signed certificate
//! (`openssl req -x509`, which marks it CA:TRUE) given as its CA file, but still only for the
//! host name in `directory.url` and within its validity period. Handshake signatures are
//! verified with the crypto provider's algorithms either way. A refusal says what to fix.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error, OtherError, RootCertStore, SignatureScheme,
};
use x509_parser::extensions::GeneralName;

/// The client configuration for a server verified against (or pinned by) `ca_file`; `url` is
/// `directory.url`, for the commands the refusals suggest. Errors are the detail of a TLS
/// error.
pub(super) fn client_config(ca_file: &Path, url: &str) -> Result<ClientConfig, String> {
    let ca = ca_file.display();
    let mut roots = RootCertStore::empty();
    let mut pinned = Vec::new();
    let certs = CertificateDer::pem_file_iter(ca_file).map_err(|e| format!("cannot read CA file {ca}: {e}"))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("bad certificate in {ca}: {e}"))?;
        roots.add(cert.clone()).map_err(|e| format!("unusable CA in {ca}: {e}"))?;
        pinned.push(cert);
    }
    if roots.is_empty() {
        return Err(format!("no certificate in CA file {ca}"));
    }
    let provider =
        CryptoProvider::get_default().cloned().unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("unusable CA file {ca}: {e}"))?;
    let verifier = PinningVerifier { webpki, pinned, ca_file: ca.to_string(), fetch: fetch_command(url) };
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// The text of a handshake error: a refusal of [`PinningVerifier`] as it was written,
/// anything else as rustls words it.
pub(super) fn describe(error: &Error) -> String {
    if let Error::InvalidCertificate(CertificateError::Other(OtherError(inner))) = error {
        if let Some(refusal) = inner.downcast_ref::<Refusal>() {
            return refusal.0.clone();
        }
    }
    error.to_string()
}

/// Why a server certificate was refused, in words for the operator.
#[derive(Debug)]
struct Refusal(String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

fn refuse(message: String) -> Error {
    Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Refusal(message)))))
}

#[derive(Debug)]
struct PinningVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    /// The certificates of the CA file, DER: a server presenting one of them is pinned.
    pinned: Vec<CertificateDer<'static>>,
    ca_file: String,
    /// The command that fetches the server's certificate (see [`fetch_command`]).
    fetch: String,
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let host = server_name.to_str();
        let facts = Facts::parse(end_entity);
        if self.pinned.iter().any(|p| p.as_ref() == end_entity.as_ref()) {
            let facts = facts.ok_or(Error::InvalidCertificate(CertificateError::BadEncoding))?;
            let name_ok = match facts.alt_names {
                Some(_) => verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name).is_ok(),
                None => facts.common_name.as_deref().is_some_and(|cn| cn_matches(&host, cn)),
            };
            let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
            return pinned_verdict(&facts, &host, name_ok, now, &self.ca_file)
                .map(|()| ServerCertVerified::assertion())
                .map_err(refuse);
        }
        self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now).map_err(|e| {
            let advice = match &e {
                Error::InvalidCertificate(cert) => advice(cert, facts.as_ref(), &host, &self.ca_file, &self.fetch),
                _ => None,
            };
            match advice {
                Some(advice) => refuse(format!("{advice} ({e})")),
                None => e,
            }
        })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// What the refusals and the pinned checks need from a certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Facts {
    /// Validity period, UNIX seconds.
    not_before: i64,
    not_after: i64,
    /// The subjectAltName DNS names and IP addresses; `None` without the extension.
    alt_names: Option<Vec<String>>,
    common_name: Option<String>,
    /// Subject and issuer are the same name.
    self_signed: bool,
    /// basicConstraints CA:TRUE.
    is_ca: bool,
}

impl Facts {
    fn parse(der: &CertificateDer<'_>) -> Option<Facts> {
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
        let alt_names = cert.subject_alternative_name().ok()?.map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some((*dns).to_string()),
                    GeneralName::IPAddress(bytes) => ip_text(bytes),
                    _ => None,
                })
                .collect()
        });
        Some(Facts {
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            alt_names,
            common_name: cert.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()).map(str::to_string),
            self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
            is_ca: cert.is_ca(),
        })
    }

    /// The names the certificate is valid for: its subjectAltName, or without one its CN.
    fn names(&self) -> Vec<String> {
        match &self.alt_names {
            Some(names) => names.clone(),
            None => self.common_name.iter().cloned().collect(),
        }
    }
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    let ip = match bytes.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
        16 => IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?),
        _ => return None,
    };
    Some(ip.to_string())
}

/// Whether a certificate without subjectAltName is for `host` by its CN (as OpenSSL's
/// host check falls back to it): the same name, case and a final dot aside. No wildcards.
fn cn_matches(host: &str, cn: &str) -> bool {
    let normal = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
    !cn.is_empty() && normal(host) == normal(cn)
}

/// Whether a pinned certificate is acceptable at `now` (UNIX seconds) for `host`, whose name
/// check (`name_ok`) is done: the refusal otherwise.
fn pinned_verdict(facts: &Facts, host: &str, name_ok: bool, now: i64, ca_file: &str) -> Result<(), String> {
    let pinned = format!("the server's certificate (pinned: it is in {ca_file})");
    if now < facts.not_before {
        return Err(format!(
            "{pinned} is not valid before {} (now {}); check the clocks here and on the server",
            time_text(facts.not_before),
            time_text(now)
        ));
    }
    if now > facts.not_after {
        return Err(format!(
            "{pinned} expired on {}; renew it on the server and put the new one in ca_file",
            time_text(facts.not_after)
        ));
    }
    if !name_ok {
        return Err(format!("{pinned} {}", wrong_name(host, &facts.names())));
    }
    Ok(())
}

/// "is not valid for HOST: it names ...; ..." (a refusal's tail).
fn wrong_name(host: &str, names: &[String]) -> String {
    let named = match names {
        [] => "it names no host (no subjectAltName, no CN)".to_string(),
        names => format!("it names {}", names.join(", ")),
    };
    format!(
        "is not valid for {host}: {named}; use one of its names in directory.url, or reissue the certificate for {host}"
    )
}

/// What to do about a failed ordinary verification, where there is something to say.
fn advice(error: &CertificateError, facts: Option<&Facts>, host: &str, ca_file: &str, fetch: &str) -> Option<String> {
    let self_signed = facts.is_some_and(|f| f.self_signed);
    let is_ca = facts.is_some_and(|f| f.is_ca);
    let pin = format!("put exactly that certificate in ca_file (it is then pinned): {fetch}");
    match error {
        CertificateError::NotValidForNameContext { presented, .. } => {
            Some(format!("the server's certificate {}", wrong_name(host, presented)))
        }
        CertificateError::NotValidForName => {
            Some(format!("the server's certificate {}", wrong_name(host, &facts.map(Facts::names).unwrap_or_default())))
        }
        // webpki refuses a CA:TRUE end-entity certificate with an `Other` error
        // (CaUsedAsEndEntity), a self-signed one without CA:TRUE as UnknownIssuer.
        CertificateError::UnknownIssuer | CertificateError::Other(_) if self_signed => {
            let kind = if is_ca { "self-signed CA certificate" } else { "self-signed certificate" };
            Some(format!("the server presents a {kind} that is not in {ca_file}; {pin}"))
        }
        CertificateError::Other(_) if is_ca => Some(format!(
            "the server presents a CA certificate as its own and it is not in {ca_file}; {pin} \
             (or give the server a certificate issued by a CA in ca_file)"
        )),
        CertificateError::UnknownIssuer => Some(format!(
            "the server's certificate is not issued by a CA in {ca_file}; put the CA that issued it in ca_file \
             (or exactly the server's certificate, to pin it): {fetch}"
        )),
        _ => None,
    }
}

/// The shell command that saves the certificate the server at `url` presents as PEM.
fn fetch_command(url: &str) -> String {
    let (starttls, default_port) = if url.starts_with("ldaps://") { ("", 636) } else { (" -starttls ldap", 389) };
    let address = match url::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or("HOST");
            format!("{host}:{}", parsed.port().unwrap_or(default_port))
        }
        Err(_) => format!("HOST:{default_port}"),
    };
    format!("openssl s_client -connect {address}{starttls} -showcerts </dev/null | openssl x509 > server.crt")
}

/// UNIX seconds as an RFC 3339 time (the number itself before 1970).
fn time_text(secs: i64) -> String {
    match u64::try_from(secs) {
        Ok(secs) => humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)).to_string(),
        Err(_) => format!("UNIX time {secs}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
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
            (
                WITH_SAN,
                "ldap.example.test",
                mid,
                Err("is not valid for ldap.example.test: it names 127.0.0.1, localhost"),
            ),
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
            (
                CertificateError::NotValidForName,
                Some(&leaf),
                Some("not valid for h.example: it names a.example, 10.0.0.1"),
            ),
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
}
