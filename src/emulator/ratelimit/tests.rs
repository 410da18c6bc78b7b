//! Unit tests of `ratelimit.rs`.
use super::*;

fn wall(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn presets_match_the_reference_table() {
    let f = RateLimit::preset(RatePreset::Free).table();
    assert_eq!((f.light.per_second, f.light.per_day), (Some(4), Some(6_000)));
    assert_eq!((f.medium.per_second, f.medium.per_day), (Some(2), Some(2_000)));
    let b = RateLimit::preset(RatePreset::BusinessPlus).table();
    assert_eq!((b.light.per_second, b.medium.per_second), (Some(80), Some(60)));
    assert!(RateLimit::default().table().per_endpoint);
    assert_eq!("50rps".parse::<RateLimit>().unwrap().table().light.per_second, Some(50));
    assert!("fast".parse::<RateLimit>().is_err());
}

#[test]
fn bucket_empties_then_refills_with_time() {
    let mut l = Limiter::new(&RateLimit::per_second(2));
    let t0 = Instant::now();
    let w = wall(1_000);
    assert!(matches!(l.check(Label::Light, "a", t0, w), Verdict::Allowed { remaining: 1, .. }));
    assert!(matches!(l.check(Label::Light, "a", t0, w), Verdict::Allowed { remaining: 0, .. }));
    let Verdict::Denied { kind, retry_after, .. } = l.check(Label::Light, "a", t0, w) else { panic!() };
    assert_eq!(kind, LimitKind::Qps);
    assert_eq!(retry_after, Duration::from_millis(500));
    // the medium label has its own bucket
    assert!(matches!(l.check(Label::Medium, "b", t0, w), Verdict::Allowed { .. }));
    let t1 = t0 + Duration::from_millis(500);
    assert!(matches!(l.check(Label::Light, "a", t1, w), Verdict::Allowed { .. }));
}

#[test]
fn legacy_buckets_are_per_endpoint() {
    let mut l = Limiter::new(&RateLimit::default());
    let t0 = Instant::now();
    let w = wall(0);
    assert!(matches!(l.check(Label::Light, "GET /u/{id}", t0, w), Verdict::Allowed { limit: 1, .. }));
    assert!(matches!(l.check(Label::Light, "PUT /u/{id}", t0, w), Verdict::Allowed { .. }));
    assert!(matches!(l.check(Label::Light, "GET /u/{id}", t0, w), Verdict::Denied { .. }));
}

#[test]
fn daily_cap_resets_at_utc_midnight() {
    let cfg = RateLimit { light_per_day: Some(2), ..RateLimit::preset(RatePreset::Free) };
    let mut l = Limiter::new(&cfg);
    let t0 = Instant::now();
    let evening = wall(86_400 * 10 + 86_000);
    assert!(matches!(l.check(Label::Light, "x", t0, evening), Verdict::Allowed { remaining: 1, .. }));
    assert!(matches!(l.check(Label::Light, "x", t0 + Duration::from_secs(1), evening), Verdict::Allowed { .. }));
    let v = l.check(Label::Light, "x", t0 + Duration::from_secs(2), evening);
    assert_eq!(
        v,
        Verdict::Denied {
            category: Label::Light,
            kind: LimitKind::Daily,
            limit: 2,
            retry_after: Duration::from_secs(400)
        }
    );
    let next_day = wall(86_400 * 11 + 5);
    assert!(matches!(l.check(Label::Light, "x", t0 + Duration::from_secs(3), next_day), Verdict::Allowed { .. }));
}

#[test]
fn off_is_unlimited() {
    let mut l = Limiter::new(&RateLimit::preset(RatePreset::Off));
    for _ in 0..1000 {
        assert_eq!(l.check(Label::Medium, "x", Instant::now(), wall(0)), Verdict::Unlimited);
    }
}
