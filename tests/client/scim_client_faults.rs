//! The SCIM client under pressure, against the in-process Zoom emulator: rate limits with the
//! client configured too fast, injected 5xx / timeouts / dropped connections, hopeless
//! targets and the retry budgets. Short timeouts keep every test bounded.

use std::time::{Duration, Instant};

use zoomsync::config::{RateLimit, TargetConfig};
use zoomsync::emulator::{
    Emulator, EmulatorConfig, FaultConfig, FaultSpec, RateLimit as EmuRate, RatePreset, RetryAfterStyle, Route,
    RunningEmulator,
};
use zoomsync::model::Anchor;
use zoomsync::model::{Field, ScimUser};
use zoomsync::scim::{RetryPolicy, ScimClient, ScimError, Target};

async fn emulator(config: EmulatorConfig) -> RunningEmulator {
    Emulator::start(config, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

fn target(emu: &RunningEmulator, per_second: f64, timeout: Duration) -> TargetConfig {
    TargetConfig {
        rate: RateLimit { light_per_second: per_second, medium_per_second: per_second },
        max_concurrency: 4,
        timeout,
        ..emu.target_config().unwrap()
    }
}

fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(5),
        per_request: Duration::from_secs(60),
        per_cycle: Duration::from_secs(300),
    }
}

fn client(cfg: &TargetConfig, policy: RetryPolicy) -> ScimClient {
    zoomsync::install_crypto_provider();
    ScimClient::new(cfg).unwrap().with_retry_policy(policy)
}

fn user(name: &str) -> ScimUser {
    let mut u = ScimUser { active: true, ..ScimUser::default() };
    u.fields.insert(Field::UserName, name.to_string());
    u.fields.insert(Field::GivenName, "Test".to_string());
    u
}

fn anchor(i: usize) -> Anchor {
    Anchor::new(&format!("anchor-{i}")).unwrap()
}

/// Creates `n` users with up to 8 in flight; every one must succeed.
/// Creates `n` users, 8 at a time. A Conflict is the client's documented answer when an
/// earlier attempt's answer was lost (it may have created the user): looked up, as the
/// engine's adoption does — on a busy machine an ordinary request can outlast a short timeout.
async fn create_all(c: &ScimClient, prefix: &str, n: usize) -> Vec<String> {
    use futures::StreamExt;
    let results: Vec<_> = futures::stream::iter(0..n)
        .map(|i| async move {
            let name = format!("{prefix}{i}@example.com");
            match c.create_user(&anchor(i), &user(&name)).await {
                Err(ScimError::Conflict { .. }) => c.find_user(&name).await.unwrap().unwrap(),
                other => other.unwrap(),
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    results.into_iter().map(|r| r.id).collect()
}

fn spec(f: impl FnOnce(&mut FaultSpec)) -> FaultSpec {
    let mut s = FaultSpec::default();
    f(&mut s);
    s
}

#[tokio::test]
async fn a_too_fast_client_absorbs_429s_and_loses_nothing() {
    // The three Retry-After styles run side by side (each against its own emulator): the
    // test is paced by the rate limit, not by work.
    let styles = [RetryAfterStyle::Seconds, RetryAfterStyle::Iso, RetryAfterStyle::None];
    futures::future::join_all(styles.into_iter().map(|style| async move {
        let mut config = EmulatorConfig::unlimited();
        config.rate_limit = EmuRate::per_second(4);
        config.knobs.retry_after = style;
        // 100 ms latency keeps several requests in flight before any rate header is back
        config.faults.global.latency_ms = 100;
        let emu = emulator(config).await;
        // ten times faster than the account allows, 8 in flight
        let mut cfg = target(&emu, 40.0, Duration::from_secs(5));
        cfg.max_concurrency = 8;
        let c = client(&cfg, policy(30));
        let ids = create_all(&c, "fast", 16).await;
        assert_eq!(ids.len(), 16);
        let counts = emu.request_counts();
        assert_eq!(counts.route_status(Route::CreateUser, 201), 16, "{style:?}");
        assert_eq!(emu.users().len(), 17, "owner + 16, no duplicates ({style:?})");
        assert!(counts.status(429) >= 1, "the test must provoke 429s ({style:?}): {counts:?}");
        assert!(c.light_slowdown() >= 1, "429s slow the client down ({style:?})");
    }))
    .await;
}

#[tokio::test]
async fn legacy_one_per_second_with_a_client_at_five() {
    let config = EmulatorConfig { rate_limit: EmuRate::preset(RatePreset::Legacy1Rps), ..EmulatorConfig::default() };
    let emu = emulator(config).await;
    let c = client(&target(&emu, 5.0, Duration::from_secs(5)), policy(30));
    let ids = create_all(&c, "legacy", 6).await;
    assert_eq!(ids.len(), 6);
    assert_eq!(emu.request_counts().route_status(Route::CreateUser, 201), 6);
    // reads use other endpoints' buckets and still work
    for id in &ids {
        assert_eq!(&c.get_user(id).await.unwrap().id, id);
    }
}

#[tokio::test]
async fn scripted_faults_on_each_operation_are_retried_away() {
    let emu = emulator(EmulatorConfig::unlimited()).await;
    // Timeouts: 2 s for the client, 6 s for the held PUT — far apart, so a slow ordinary
    // answer on a busy machine is not taken for the fault.
    let c = client(&target(&emu, 1000.0, Duration::from_secs(2)), policy(6));
    let mut faults = FaultConfig::default();
    faults.routes.insert(
        Route::CreateUser.key().into(),
        spec(|s| {
            s.error_rate = 1.0;
            s.error_status = 503;
            s.times = Some(2);
        }),
    );
    faults.routes.insert(
        Route::GetUser.key().into(),
        spec(|s| {
            s.drop_rate = 1.0;
            s.times = Some(2);
        }),
    );
    faults.routes.insert(
        Route::PutUser.key().into(),
        spec(|s| {
            s.timeout_rate = 1.0;
            s.timeout_hold_ms = 6_000;
            s.times = Some(1);
        }),
    );
    faults.routes.insert(
        Route::FilterUsers.key().into(),
        spec(|s| {
            s.error_rate = 1.0;
            s.error_status = 502;
            s.times = Some(1);
        }),
    );
    emu.set_faults(faults).unwrap();
    let created = c.create_user(&anchor(1), &user("flaky@example.com")).await.unwrap();
    assert_eq!(c.get_user(&created.id).await.unwrap().id, created.id);
    let changes = [zoomsync::model::Change { field: Field::Title, old: None, new: Some("Boss".into()) }];
    let updated = c.update_user(&created.id, &changes).await.unwrap();
    assert_eq!(updated.user.get(Field::Title), Some("Boss"));
    assert_eq!(c.find_user("flaky@example.com").await.unwrap().unwrap().id, created.id);
    let counts = emu.request_counts();
    assert_eq!(counts.route_status(Route::CreateUser, 503), 2);
    assert_eq!(counts.route_status(Route::CreateUser, 201), 1);
    assert_eq!(counts.route(Route::GetUser), 3, "two drops, then the answer");
    // the held PUT is logged only when its hold ends; the retry's answer is there already
    assert_eq!(counts.route_status(Route::PutUser, 200), 1);
    assert_eq!(emu.users().len(), 2);
    assert!(c.cycle_retry_time() > Duration::ZERO);
}

#[tokio::test]
async fn random_faults_within_the_budget_lose_nothing() {
    let emu = emulator(EmulatorConfig::unlimited()).await;
    // Timeouts 2 s (client) and 6 s (held): see scripted_faults_on_each_operation_are_retried_away.
    let c = client(&target(&emu, 1000.0, Duration::from_secs(2)), policy(25));
    let global = spec(|s| {
        s.error_rate = 0.15;
        s.error_status = 500;
        s.drop_rate = 0.1;
        s.timeout_rate = 0.05;
        s.timeout_hold_ms = 6_000;
    });
    emu.set_faults(FaultConfig { global, ..FaultConfig::default() }).unwrap();
    let ids = create_all(&c, "rand", 30).await;
    for id in &ids {
        c.set_active(id, false).await.unwrap();
    }
    emu.clear_faults();
    let all = c.list_users().await.unwrap();
    assert_eq!(all.len(), 31);
    assert_eq!(all.iter().filter(|u| !u.user.active).count(), 30);
    let counts = emu.request_counts();
    assert!(counts.status(500) + counts.dropped() + counts.status(504) > 0, "faults fired: {counts:?}");
}

#[tokio::test]
async fn hopeless_targets_return_retryable_in_bounded_time() {
    let emu = emulator(EmulatorConfig::unlimited()).await;
    let c = client(&target(&emu, 1000.0, Duration::from_millis(200)), policy(4));
    // Token fetched before the faults: a token endpoint failing every attempt is Fatal (no
    // request can succeed without one), tested in cycle::bounded.
    c.list_users().await.unwrap();
    let cases = [
        ("5xx", spec(|s| s.error_rate = 1.0)),
        ("drop", spec(|s| s.drop_rate = 1.0)),
        (
            "timeout",
            spec(|s| {
                s.timeout_rate = 1.0;
                s.timeout_hold_ms = 5_000;
            }),
        ),
    ];
    for (i, (name, global)) in cases.into_iter().enumerate() {
        emu.set_faults(FaultConfig { global, ..FaultConfig::default() }).unwrap();
        emu.reset_requests();
        let started = Instant::now();
        let err = c.create_user(&anchor(i), &user(&format!("hopeless{i}@example.com"))).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10), "{name}: took {:?}", started.elapsed());
        let ScimError::Retryable { detail, .. } = &err else { panic!("{name}: expected Retryable, got {err:?}") };
        assert!(detail.contains("attempts exhausted") && detail.contains("after 4 attempt(s)"), "{name}: {detail}");
        let posts = emu.request_counts().route(Route::CreateUser);
        assert!(posts <= 4, "{name}: {posts} POSTs");
    }
    assert_eq!(emu.users().len(), 1, "nothing was applied");
}

#[tokio::test]
async fn the_cycle_budget_stops_retrying_until_the_next_cycle() {
    let emu = emulator(EmulatorConfig::unlimited()).await;
    let mut p = policy(50);
    p.base_delay = Duration::from_millis(50);
    p.max_delay = Duration::from_millis(50);
    p.per_cycle = Duration::from_millis(400);
    let c = client(&target(&emu, 1000.0, Duration::from_secs(2)), p);
    c.list_users().await.unwrap(); // token fetched before the faults
    emu.set_faults(FaultConfig { global: spec(|s| s.error_rate = 1.0), ..FaultConfig::default() }).unwrap();
    emu.reset_requests();
    let err = c.get_user("x").await.unwrap_err();
    assert!(matches!(&err, ScimError::Retryable { detail, .. } if detail.contains("per-cycle")), "{err:?}");
    assert!(c.cycle_retry_time() <= Duration::from_millis(400));
    let first = emu.request_counts().total;
    assert!(first > 2, "retried until the cycle budget ran out: {first}");
    // the budget is spent: the next operation gives up after one attempt
    let err = c.get_user("y").await.unwrap_err();
    assert!(matches!(&err, ScimError::Retryable { detail, .. } if detail.contains("per-cycle")), "{err:?}");
    assert_eq!(emu.request_counts().total, first + 1);
    c.begin_cycle();
    assert_eq!(c.cycle_retry_time(), Duration::ZERO);
    let _ = c.get_user("z").await.unwrap_err();
    assert!(emu.request_counts().total > first + 2, "a new cycle retries again");
}

#[tokio::test]
async fn a_daily_limit_pauses_the_cycle_until_midnight() {
    let mut config = EmulatorConfig::unlimited();
    config.rate_limit = EmuRate { light_per_day: Some(2), ..EmuRate::preset(RatePreset::Pro) };
    config.knobs.retry_after = RetryAfterStyle::Iso;
    let emu = emulator(config).await;
    let c = client(&target(&emu, 1000.0, Duration::from_secs(2)), policy(6));
    create_all(&c, "day", 2).await;
    let started = Instant::now();
    let err = c.create_user(&anchor(9), &user("third@example.com")).await.unwrap_err();
    // Not waited for: a wait would last until midnight (or the one-minute cap); the bound
    // is loose enough for a busy machine.
    assert!(started.elapsed() < Duration::from_secs(30));
    let ScimError::Paused { until, detail } = &err else { panic!("expected Paused, got {err:?}") };
    let wait = until.duration_since(std::time::SystemTime::now()).unwrap_or_default();
    assert!(wait > Duration::ZERO && wait <= Duration::from_secs(86_400), "{wait:?}");
    assert!(detail.contains("HTTP 429"), "{detail}");
    assert_eq!(emu.request_counts().route_status(Route::CreateUser, 429), 1, "no retry inside the operation");
    // The cycle is paused for this client: the next call is not even sent...
    let again = c.create_user(&anchor(10), &user("fourth@example.com")).await.unwrap_err();
    assert_eq!(again, err);
    assert_eq!(emu.request_counts().route(Route::CreateUser), 3);
    // ...until the next cycle asks again.
    c.begin_cycle();
    assert!(matches!(c.create_user(&anchor(10), &user("fourth@example.com")).await, Err(ScimError::Paused { .. })));
    assert_eq!(emu.request_counts().route(Route::CreateUser), 4);
}

#[tokio::test]
async fn every_timeout_counts_against_the_cycle_budget() {
    let emu = emulator(EmulatorConfig::unlimited()).await;
    let timeout = Duration::from_millis(300);
    let mut p = policy(50);
    p.per_cycle = Duration::from_secs(1);
    let c = client(&target(&emu, 1000.0, timeout), p);
    c.list_users().await.unwrap(); // token fetched before the faults
    // Held far beyond the client's timeout; `times` left over counts the arrivals.
    let mut faults = FaultConfig::default();
    let budget = 10_000;
    faults.routes.insert(
        Route::CreateUser.key().into(),
        spec(|s| {
            s.timeout_rate = 1.0;
            s.timeout_hold_ms = 600_000;
            s.times = Some(budget);
        }),
    );
    emu.set_faults(faults).unwrap();
    let arrived = || budget - emu.faults().routes[Route::CreateUser.key()].times.unwrap();
    let err = c.create_user(&anchor(1), &user("slow@example.com")).await.unwrap_err();
    assert!(matches!(&err, ScimError::Retryable { detail, .. } if detail.contains("per-cycle")), "{err:?}");
    // 1 s of budget at 300 ms per timeout: four attempts, not fifty.
    let posts = arrived();
    assert!((2..=4).contains(&posts), "{posts} attempts");
    assert!(c.cycle_retry_time() >= Duration::from_millis(600), "{:?}", c.cycle_retry_time());
    // spent: the next operation makes one attempt
    let _ = c.create_user(&anchor(2), &user("slower@example.com")).await.unwrap_err();
    assert_eq!(arrived(), posts + 1);
}
