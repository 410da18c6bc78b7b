//! A TLS server on loopback whose certificate no client trusts (self-signed, embedded below,
//! valid until 2126): the stand-in for a Zoom endpoint behind an intercepting proxy or a
//! wrong `ca_file`. It only handshakes (the client gives up there) and counts connections,
//! so a test can say how often the client tried. Plain rustls on std threads: nothing
//! outside the process.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 36500 -nodes
/// -subj /CN=untrusted.zoomsync.test -addext subjectAltName=IP:127.0.0.1,DNS:localhost
/// -addext basicConstraints=critical,CA:FALSE -addext extendedKeyUsage=serverAuth`
const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIByjCCAXCgAwIBAgIUAcMIIT2GXXQmNN9Ab03za4xVLKgwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXdW50cnVzdGVkLnpvb21zeW5jLnRlc3QwIBcNMjYxMjAyMTMz
MDQxWhgPMjEyNjExMDgxMzMwNDFaMCIxIDAeBgNVBAMMF3VudHJ1c3RlZC56b29t
c3luYy50ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEMDc+vXPqNdNpn57Z
m2gHf262NeKhscLK3BYLBKySzZwB6bSVKjTau8V+CS7Dl0oSnReWDZh+jr2WXf/f
SHXzb6OBgTB/MB0GA1UdDgQWBBTh9zFFSppwWMztCvG0x+zfMA2clDAfBgNVHSME
GDAWgBTh9zFFSppwWMztCvG0x+zfMA2clDAaBgNVHREEEzARhwR/AAABgglsb2Nh
bGhvc3QwDAYDVR0TAQH/BAIwADATBgNVHSUEDDAKBggrBgEFBQcDATAKBggqhkjO
PQQDAgNIADBFAiBU9ULWNVc4y1yidS3xxe9eWmpSbTF5ryLwoog5F1IZFQIhAJwM
2gs2JS45PK278G+LXduQ4EPt0mpUB8n97J4WrxXy
-----END CERTIFICATE-----
";

const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFoqH8kymFtftlR9e
+tZtdWLfwyre+LL/Yi46Q5f+K7ahRANCAAQwNz69c+o102mfntmbaAd/brY14qGx
wsrcFgsErJLNnAHptJUqNNq7xX4JLsOXShKdF5YNmH6OvZZd/99IdfNv
-----END PRIVATE KEY-----
";

pub struct UntrustedTls {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl UntrustedTls {
    /// Listens on `127.0.0.1:0`; each connection gets a handshake on its own thread. The
    /// threads end with the connection (or a 10 s read timeout); the listener with the process.
    pub fn start() -> UntrustedTls {
        zoomsync::install_crypto_provider();
        let cert = CertificateDer::from_pem_slice(CERT.as_bytes()).unwrap();
        let key = PrivateKeyDer::from_pem_slice(KEY.as_bytes()).unwrap();
        let config =
            Arc::new(rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(vec![cert], key).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut sock) = stream else { continue };
                counted.fetch_add(1, Ordering::SeqCst);
                let config = Arc::clone(&config);
                std::thread::spawn(move || {
                    let _ = sock.set_read_timeout(Some(Duration::from_secs(10)));
                    let Ok(mut conn) = rustls::ServerConnection::new(config) else { return };
                    while conn.is_handshaking() {
                        if conn.complete_io(&mut sock).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        UntrustedTls { addr, connections }
    }

    /// `https://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> url::Url {
        url::Url::parse(&format!("https://{}{path}", self.addr)).unwrap()
    }

    /// TCP connections accepted so far (each one a client attempt).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}
