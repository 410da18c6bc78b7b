//! The generic `scim` profile with the open attribute model against scim2-server, whose User
//! resource type carries the enterprise extension (`division`, `costCenter`, `organization`,
//! `manager {value, $ref, displayName}`) and RFC 7643's canonical phone types (`work`,
//! `mobile`, …): a user created with them reads back as sent, and an update of two of them
//! is one PATCH of exactly two operations that leaves the rest alone. A relay between the
//! client and the server keeps the request bodies (the access log has only request lines).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::servers::scim2::Scim2Server;
use zoomsync::config::{RateLimit, Secret, TargetAuth, TargetConfig, TargetKind};
use zoomsync::model::{Anchor, Change, Field, ScimUser};
use zoomsync::scim::{RetryPolicy, ScimClient, Target};

/// Forwards connections to the server and keeps what each client sent, one entry per
/// connection (the server speaks HTTP/1.0 and closes after each answer: one request each).
/// Each connection's task ends when both sides have closed.
struct Recorder {
    port: u16,
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Recorder {
    async fn start(server_port: u16) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = sent.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let log = log.clone();
                let slot = {
                    let mut log = log.lock().unwrap();
                    log.push(Vec::new());
                    log.len() - 1
                };
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)).await else { return };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    // Bytes are kept before they are passed on: once the client has its
                    // answer, its whole request is in the log.
                    let upstream = async {
                        let mut buf = [0u8; 8192];
                        while let Ok(n @ 1..) = client_read.read(&mut buf).await {
                            log.lock().unwrap()[slot].extend_from_slice(&buf[..n]);
                            if server_write.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    let downstream = async {
                        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                        let _ = client_write.shutdown().await;
                    };
                    tokio::join!(upstream, downstream);
                });
            }
        });
        Recorder { port, sent }
    }

    /// The JSON bodies of the requests whose request line starts with `method`.
    fn bodies(&self, method: &str) -> Vec<Value> {
        let prefix = format!("{method} ");
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.starts_with(prefix.as_bytes()))
            .map(|r| {
                let text = String::from_utf8_lossy(r);
                let (_, body) = text.split_once("\r\n\r\n").expect("a request with headers");
                serde_json::from_str(body).unwrap_or_else(|e| panic!("{method} body is JSON ({e}): {body}"))
            })
            .collect()
    }
}

fn client(base: &str, token: &str) -> ScimClient {
    zoomsync::install_crypto_provider();
    let target = TargetConfig {
        kind: TargetKind::Scim,
        base_url: url::Url::parse(base).unwrap(),
        auth: TargetAuth::Bearer { token: Secret::from_value(token) },
        rate: RateLimit { light_per_second: 500.0, medium_per_second: 500.0 },
        max_concurrency: 4,
        ca_file: None,
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
    };
    let policy = RetryPolicy { base_delay: Duration::from_millis(20), ..RetryPolicy::default() };
    ScimClient::new(&target).unwrap().with_retry_policy(policy)
}

fn field(name: &str) -> Field {
    Field::from_config_name(name).unwrap_or_else(|| panic!("{name} is in the catalogue"))
}

fn user(name: &str, values: &[(Field, &str)]) -> ScimUser {
    let mut u = ScimUser { active: true, ..ScimUser::default() };
    u.fields.insert(Field::UserName, name.to_string());
    for (f, v) in values {
        u.fields.insert(*f, v.to_string());
    }
    u
}

fn change(f: Field, old: &str, new: &str) -> Change {
    Change { field: f, old: Some(old.to_string()), new: Some(new.to_string()) }
}

#[tokio::test]
async fn enterprise_and_phone_attributes_round_trip_and_an_update_patches_only_what_changed() {
    let s = Scim2Server::start();
    let relay = Recorder::start(s.port).await;
    let c = client(&format!("http://127.0.0.1:{}/open-model/v2/", relay.port), &s.token);

    let boss = c.create_user(&Anchor::new("boss-1").unwrap(), &user("boss", &[])).await.unwrap();
    let sent = user(
        "dana",
        &[
            (Field::GivenName, "Dana"),
            (Field::FamilyName, "Scully"),
            (Field::WorkEmail, "dana@example.com"),
            (Field::WorkPhone, "+1 555 0100"),
            (field("mobilePhone"), "+1 555 0199"),
            (field("division"), "Field Office"),
            (field("costCenter"), "CC-1"),
            (field("organization"), "FBI"),
            (field("manager"), boss.id.as_str()),
            (Field::Department, "X-Files"),
        ],
    );
    let created = c.create_user(&Anchor::new("dana-1").unwrap(), &sent).await.unwrap();
    assert_eq!(created.user, sent, "every attribute sent comes back");
    let posted = relay.bodies("POST");
    let body = posted.last().unwrap();
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    assert_eq!(
        body[ent],
        json!({"division": "Field Office", "costCenter": "CC-1", "organization": "FBI",
            "manager": {"value": boss.id}, "department": "X-Files"})
    );
    assert_eq!(
        body["phoneNumbers"],
        json!([{"type": "work", "value": "+1 555 0100"}, {"type": "mobile", "value": "+1 555 0199"}])
    );

    let patches_before = relay.bodies("PATCH").len();
    let updated = c
        .update_user(
            &created.id,
            &[change(field("costCenter"), "CC-1", "CC-2"), change(field("mobilePhone"), "+1 555 0199", "+1 555 0142")],
        )
        .await
        .unwrap();
    let patches = relay.bodies("PATCH");
    assert_eq!(patches.len(), patches_before + 1, "one PATCH for the update");
    assert_eq!(
        patches.last().unwrap()["Operations"],
        json!([
            {"op": "replace", "path": format!("{ent}:costCenter"), "value": "CC-2"},
            {"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0142"},
        ]),
        "exactly the two changes"
    );
    let mut expected = sent.clone();
    expected.fields.insert(field("costCenter"), "CC-2".into());
    expected.fields.insert(field("mobilePhone"), "+1 555 0142".into());
    assert_eq!(updated.user, expected, "the rest untouched: work phone, division, organization, manager");
    let read = c.get_user(&created.id).await.unwrap();
    assert_eq!(read.user, expected);
    assert_eq!(read.user.get(Field::WorkPhone), Some("+1 555 0100"));
}
