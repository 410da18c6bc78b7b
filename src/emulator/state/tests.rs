//! Unit tests of `state.rs`.
use super::*;

#[test]
fn ids_are_22_chars_from_the_alphabet_and_can_force_ampersand() {
    let mut s = Store::new(None, true);
    for _ in 0..200 {
        let id = s.new_id();
        assert_eq!(id.len(), 22);
        assert!(id.bytes().all(|b| ID_ALPHABET.contains(&b)));
        assert!(id.contains('&'));
    }
    s.ids_with_ampersand = false;
    let with_amp = (0..500).filter(|_| s.new_id().contains('&')).count();
    assert!(with_amp > 0 && with_amp < 500);
}

#[test]
fn user_names_are_case_insensitive_and_reserved_after_disassociation() {
    let mut s = Store::new(Some("Owner@Example.com"), false);
    assert!(s.name_taken("owner@example.COM"));
    let id = s.new_id();
    let u = s.blank_user(id.clone(), "a@x.org".into());
    s.insert_user(u);
    s.remove_user(&id, true);
    assert!(s.user(&id).is_none());
    assert!(s.name_taken("A@X.org"));
}

#[test]
fn licence_fields_are_cleared_but_profile_fields_kept() {
    let mut s = Store::new(None, false);
    let id = s.new_id();
    let mut u = s.blank_user(id, "a@x.org".into());
    u.user_type = "Licensed".into();
    for k in ["zoomOneBizPlus", "clinicalNotes", "pronouns", "personalLinkName", "myCustom"] {
        u.zoom.insert(k.into(), Value::from("v"));
    }
    u.clear_licences();
    let keys: Vec<_> = u.zoom.keys().cloned().collect();
    assert_eq!(keys, vec!["myCustom", "personalLinkName", "pronouns"]);
    assert_eq!(u.user_type, "Basic");
}
