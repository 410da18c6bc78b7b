use proptest::prelude::*;
use serde_json::json;

use super::*;

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn len(patch: &MemberPatch) -> usize {
    member_patch_body(patch).chars().count()
}

/// Reference packing: re-serialises the whole candidate body for every id (quadratic, but
/// independent of `Sizer`'s arithmetic).
fn naive(ids: &[String], max: usize, wrap: fn(Vec<String>) -> MemberPatch) -> Vec<MemberPatch> {
    let mut out = Vec::new();
    let mut batch: Vec<String> = Vec::new();
    for id in ids {
        let mut candidate = batch.clone();
        candidate.push(id.clone());
        if !batch.is_empty() && len(&wrap(candidate.clone())) >= max {
            out.push(wrap(std::mem::take(&mut batch)));
            batch.push(id.clone());
        } else {
            batch = candidate;
        }
    }
    if !batch.is_empty() {
        out.push(wrap(batch));
    }
    out
}

#[test]
fn bodies_have_the_documented_shapes() {
    let add: Value = serde_json::from_str(&member_patch_body(&MemberPatch::Add(ids(&["a&1", "b"])))).unwrap();
    assert_eq!(
        add,
        json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": "a&1"}, {"value": "b"}]}]})
    );
    let remove: Value = serde_json::from_str(&member_patch_body(&MemberPatch::Remove(ids(&["a&1", "q\"\\"])))).unwrap();
    assert_eq!(
        remove,
        json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "remove", "path": "members[value eq \"a&1\"]"},
            {"op": "remove", "path": "members[value eq \"q\\\"\\\\\"]"}]})
    );
    assert_eq!(create_group_body("Eng", None), json!({"schemas": [CORE_GROUP], "displayName": "Eng"}));
    let anchor = crate::model::Anchor::new("G-1").unwrap();
    assert_eq!(
        create_group_body("Eng", Some(&anchor)),
        json!({"schemas": [CORE_GROUP], "displayName": "Eng", "externalId": "g-1"})
    );
    assert_eq!(
        rename_body("Ops"),
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "Ops"}]})
    );
    assert_eq!(filter_literal(r#"a"b\c"#), r#""a\"b\\c""#);
}

#[test]
fn batching_table() {
    let one_add = len(&MemberPatch::Add(ids(&["abc"])));
    let two_add = len(&MemberPatch::Add(ids(&["abc", "def"])));
    let one_rm = len(&MemberPatch::Remove(ids(&["abc"])));
    let a = ids(&["abc", "def", "ghi"]);
    // (add, remove, max_chars, expected)
    type Row = (Vec<String>, Vec<String>, usize, Vec<MemberPatch>);
    let table: Vec<Row> = vec![
        (vec![], vec![], 10, vec![]),
        (a.clone(), vec![], 100_000, vec![MemberPatch::Add(a.clone())]),
        (a.clone(), a.clone(), 100_000, vec![MemberPatch::Remove(a.clone()), MemberPatch::Add(a.clone())]),
        // a body exactly max_chars long is one too many
        (a.clone(), vec![], two_add, a.iter().map(|i| MemberPatch::Add(vec![i.clone()])).collect()),
        (a.clone(), vec![], two_add + 1, vec![MemberPatch::Add(ids(&["abc", "def"])), MemberPatch::Add(ids(&["ghi"]))]),
        // too small for even one id: each goes alone, nothing is dropped, no loop
        (a.clone(), vec![], one_add, a.iter().map(|i| MemberPatch::Add(vec![i.clone()])).collect()),
        (vec![], ids(&["abc", "x"]), 0, vec![MemberPatch::Remove(ids(&["abc"])), MemberPatch::Remove(ids(&["x"]))]),
        (vec![], ids(&["abc"]), one_rm + 1, vec![MemberPatch::Remove(ids(&["abc"]))]),
    ];
    for (add, remove, max, want) in table {
        assert_eq!(member_batches(&add, &remove, max), want, "add {add:?} remove {remove:?} max {max}");
    }
}

#[test]
fn zoom_limit_holds_thousands_of_zoom_ids() {
    // 22-character Zoom ids: 35 characters per add (~2,850 a body), 70 per remove (~1,430)
    let members: Vec<String> = (0..5_000).map(|i| format!("k&KdKr6TLWuxdDtk{i:06}")).collect();
    let batches = member_batches(&members, &members, ZOOM_PATCH_MAX_CHARS);
    let (removes, adds): (Vec<_>, Vec<_>) = batches.iter().partition(|b| matches!(b, MemberPatch::Remove(_)));
    assert_eq!((removes.len(), adds.len()), (4, 2), "{:?}", batches.iter().map(|b| b.ids().len()).collect::<Vec<_>>());
    assert!(batches.iter().all(|b| len(b) < ZOOM_PATCH_MAX_CHARS));
}

#[test]
fn a_hundred_thousand_members_are_cut_in_linear_time() {
    let members: Vec<String> = (0..100_000).map(|i| format!("id-{i:018}")).collect();
    let started = std::time::Instant::now();
    let batches = member_batches(&members, &members, ZOOM_PATCH_MAX_CHARS);
    let took = started.elapsed();
    let total: usize = batches.iter().map(|b| b.ids().len()).sum();
    assert_eq!(total, 200_000);
    // generous for a debug build on a shared machine; the quadratic version takes minutes
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    assert!(batches.iter().all(|b| len(b) < ZOOM_PATCH_MAX_CHARS));
}

/// Ids with what JSON or the filter must escape (quotes, backslashes, control characters),
/// non-ASCII and `&`, sometimes long enough to exceed a small limit alone.
fn id_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[A-Za-z0-9&_-]{22}",
        2 => "[a\"\\\\&é€😀\\u{1}\\n\\t ]{0,12}",
        1 => "[a-z]{40,90}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_body_fits_nothing_is_lost_and_packing_is_greedy(
        add in proptest::collection::vec(id_strategy(), 0..60),
        remove in proptest::collection::vec(id_strategy(), 0..60),
        max in 60usize..900,
    ) {
        let batches = member_batches(&add, &remove, max);
        // removes first, then adds; no empty batch
        let split = batches.iter().take_while(|b| matches!(b, MemberPatch::Remove(_))).count();
        prop_assert!(batches[split..].iter().all(|b| matches!(b, MemberPatch::Add(_))));
        prop_assert!(batches.iter().all(|b| !b.ids().is_empty()));
        // the union, in order, is the input
        let got_rm: Vec<String> = batches[..split].iter().flat_map(|b| b.ids().to_vec()).collect();
        let got_add: Vec<String> = batches[split..].iter().flat_map(|b| b.ids().to_vec()).collect();
        prop_assert_eq!(&got_rm, &remove);
        prop_assert_eq!(&got_add, &add);
        for b in &batches {
            let body = member_patch_body(b);
            // the body is valid JSON carrying exactly these ids
            let v: Value = serde_json::from_str(&body).unwrap();
            prop_assert_eq!(v, member_patch_value(b));
            // under the limit, unless a single id cannot fit alone
            prop_assert!(body.chars().count() < max || b.ids().len() == 1, "{} chars, max {}", body.len(), max);
        }
        // as few batches as greedy packing allows: the reference packing agrees
        let mut want = naive(&remove, max, MemberPatch::Remove);
        want.extend(naive(&add, max, MemberPatch::Add));
        prop_assert_eq!(batches, want);
    }
}
