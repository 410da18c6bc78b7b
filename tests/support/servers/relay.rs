//! A TCP relay in front of a plain-LDAP port that parses the BER framing of each LDAPMessage
//! (SEQUENCE { messageID INTEGER, protocolOp [APPLICATION n] … }) and counts what crossed:
//! connections, binds, search requests, entries per page, search references.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What crossed a relay, by LDAP message: SearchResultEntry counts per SearchResultDone
/// (one page each), search references, bind and search requests, client connections.
#[derive(Debug, Default, Clone)]
pub struct Wire {
    pub pages: Vec<usize>,
    pub entries_in_page: usize,
    pub references: usize,
    pub searches: usize,
    pub binds: usize,
    pub connections: usize,
}

pub struct Relay {
    port: u16,
    wire: Arc<Mutex<Wire>>,
}

/// Bytes that, sent by the client, make the relay drop the connection (a network failure at
/// a chosen request); empty: never.
type Cut = Arc<Vec<u8>>;

impl Relay {
    /// Listens on a free loopback port below 32768 and relays each connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> Relay {
        Self::cutting(upstream, b"")
    }

    /// Like [`Relay::start`], but the connection is dropped, both ways, when the client sends
    /// a message containing `needle` (which is not forwarded).
    pub fn cutting(upstream: SocketAddr, needle: &[u8]) -> Relay {
        let cut: Cut = Arc::new(needle.to_vec());
        let (listener, port) = loop {
            let port = super::ports::free_port();
            if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
                break (l, port);
            }
        };
        let wire = Arc::new(Mutex::new(Wire::default()));
        let shared = wire.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                shared.lock().unwrap().connections += 1;
                let server = TcpStream::connect(upstream).unwrap();
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (up, up_cut) = (shared.clone(), cut.clone());
                std::thread::spawn(move || pump(client, server, &up, Some(&up_cut)));
                let down = shared.clone();
                std::thread::spawn(move || pump(s2, c2, &down, None));
            }
        });
        Relay { port, wire }
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn wire(&self) -> Wire {
        self.wire.lock().unwrap().clone()
    }
}

/// Copies `from` to `to`, recording each complete LDAPMessage's protocolOp tag; `cut` is
/// given for the client-to-server direction.
fn pump(mut from: TcpStream, mut to: TcpStream, wire: &Mutex<Wire>, cut: Option<&Cut>) {
    let client_to_server = cut.is_some();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        let n = match from.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(needle) = cut.filter(|c| !c.is_empty())
            && chunk[..n].windows(needle.len()).any(|w| w == needle.as_slice())
        {
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
            return;
        }
        // Counted before it is passed on: a test that reads the counts as soon as its client
        // has the answer must find them there (a busy machine showed the race).
        buf.extend_from_slice(&chunk[..n]);
        while let Some((op, len)) = next_message(&buf) {
            let mut w = wire.lock().unwrap();
            match (client_to_server, op) {
                (true, 0x60) => w.binds += 1,
                (true, 0x63) => w.searches += 1,
                (false, 0x64) => w.entries_in_page += 1,
                (false, 0x73) => w.references += 1,
                (false, 0x65) => {
                    let n = std::mem::take(&mut w.entries_in_page);
                    w.pages.push(n);
                }
                _ => {}
            }
            buf.drain(..len);
        }
        if to.write_all(&chunk[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// (protocolOp tag, total length) of the first complete message in `buf`.
fn next_message(buf: &[u8]) -> Option<(u8, usize)> {
    let (header, body) = ber_length(buf)?;
    let total = header + body;
    if buf.len() < total {
        return None;
    }
    // messageID: INTEGER with a short length.
    let id_len = *buf.get(header + 1)? as usize;
    Some((*buf.get(header + 2 + id_len)?, total))
}

/// (header length, content length) of the TLV at the start of `buf`.
fn ber_length(buf: &[u8]) -> Option<(usize, usize)> {
    let first = *buf.get(1)?;
    if first < 0x80 {
        return Some((2, first as usize));
    }
    let n = (first & 0x7f) as usize;
    let bytes = buf.get(2..2 + n)?;
    Some((2 + n, bytes.iter().fold(0usize, |acc, b| acc << 8 | *b as usize)))
}
