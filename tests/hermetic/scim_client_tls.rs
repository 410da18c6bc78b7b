//! A target (or token endpoint) whose TLS certificate cannot be verified: not a passing
//! outage but a trust problem only an operator can fix (`target.ca_file`, a proxy), so the
//! client stops at the first failed handshake with a Fatal error naming the certificate.

use std::time::Duration;

use zoomsync::config::{RateLimit, Secret, TargetAuth, TargetConfig, TargetKind};
use zoomsync::model::{Anchor, Field, ScimUser};
use zoomsync::scim::{RetryPolicy, ScimClient, ScimError, Target};

use crate::untrusted_tls::UntrustedTls;

fn config(base_url: url::Url, auth: TargetAuth) -> TargetConfig {
    TargetConfig {
        kind: TargetKind::Zoom,
        base_url,
        auth,
        rate: RateLimit { light_per_second: 1000.0, medium_per_second: 1000.0 },
        max_concurrency: 4,
        ca_file: None,
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(10),
    }
}

/// Production's attempts, milliseconds apart: a retried handshake would show in the count.
fn client(cfg: &TargetConfig) -> ScimClient {
    zoomsync::install_crypto_provider();
    let policy = RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        ..RetryPolicy::default()
    };
    ScimClient::new(cfg).unwrap().with_retry_policy(policy)
}

fn assert_certificate_fatal(err: &ScimError) {
    let ScimError::Fatal { detail } = err else { panic!("expected Fatal, got {err:?}") };
    assert!(detail.contains("certificate"), "{detail}");
    assert!(detail.contains("target.ca_file"), "names the fix: {detail}");
}

#[tokio::test]
async fn an_untrusted_certificate_on_the_scim_url_is_fatal_at_the_first_handshake() {
    let tls = UntrustedTls::start();
    let c = client(&config(tls.url("/scim2/"), TargetAuth::Bearer { token: Secret::from_value("bearer-token") }));
    let err = c.get_user("someone").await.unwrap_err();
    assert_certificate_fatal(&err);
    assert_eq!(tls.connections(), 1, "no retry: a certificate does not fix itself");
}

#[tokio::test]
async fn an_untrusted_certificate_on_the_token_url_is_fatal_once_for_every_waiting_request() {
    let tls = UntrustedTls::start();
    let auth = TargetAuth::ZoomOauth {
        token_url: tls.url("/oauth/token"),
        account_id: "acct".into(),
        client_id: "client".into(),
        client_secret: Secret::from_value("client-secret"),
    };
    let c = client(&config(tls.url("/scim2/"), auth));
    let mut user = ScimUser { active: true, ..ScimUser::default() };
    user.fields.insert(Field::UserName, "a@example.com".into());
    let anchor = Anchor::new("anchor-1").unwrap();
    // Four operations wait for the one token fetch; its failure is theirs too.
    let results = futures::future::join_all((0..4).map(|_| c.create_user(&anchor, &user))).await;
    for r in &results {
        assert_certificate_fatal(r.as_ref().unwrap_err());
    }
    assert_eq!(tls.connections(), 1, "one token fetch for all four, not retried");
}
