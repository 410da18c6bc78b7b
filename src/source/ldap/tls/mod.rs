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
mod tests;
