//! Who holds which Zoom Phone number and extension, so the uniqueness checks and "assign the
//! lowest free extension" cost a look-up per request instead of a pass over every user (a
//! 100,000-user first sync with 10,000 phone users spent minutes scanning).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::User;

#[derive(Debug, Default)]
pub(super) struct PhoneIndex {
    /// zoomPhoneNumber as stored (its JSON text) → ids holding it.
    numbers: HashMap<String, Vec<String>>,
    /// zoomPhoneExtNumber → ids holding it (ordered: the lowest free one is found by a walk).
    extensions: BTreeMap<i64, Vec<String>>,
}

fn number_key(u: &User) -> Option<String> {
    u.hidden.get("zoomPhoneNumber").filter(|v| !v.is_null()).map(Value::to_string)
}

impl PhoneIndex {
    pub(super) fn add(&mut self, u: &User) {
        if let Some(n) = number_key(u) {
            self.numbers.entry(n).or_default().push(u.id.clone());
        }
        if let Some(e) = u.phone().ext_number {
            self.extensions.entry(e).or_default().push(u.id.clone());
        }
    }

    pub(super) fn remove(&mut self, u: &User) {
        if let Some(n) = number_key(u) {
            drop_id(self.numbers.get_mut(&n), &u.id);
            if self.numbers.get(&n).is_some_and(Vec::is_empty) {
                self.numbers.remove(&n);
            }
        }
        if let Some(e) = u.phone().ext_number {
            drop_id(self.extensions.get_mut(&e), &u.id);
            if self.extensions.get(&e).is_some_and(Vec::is_empty) {
                self.extensions.remove(&e);
            }
        }
    }

    /// Does a user other than `except` hold this number?
    pub(super) fn number_held(&self, number: &Value, except: Option<&str>) -> bool {
        held(self.numbers.get(&number.to_string()), except)
    }

    /// Does a user other than `except` hold this extension?
    pub(super) fn extension_held(&self, ext: i64, except: Option<&str>) -> bool {
        held(self.extensions.get(&ext), except)
    }

    /// The lowest extension from `first` up that no user other than `except` holds.
    pub(super) fn lowest_free(&self, first: i64, except: &str) -> i64 {
        let mut candidate = first;
        for (ext, ids) in self.extensions.range(first..) {
            if *ext > candidate || !held(Some(ids), Some(except)) {
                break;
            }
            candidate = ext + 1;
        }
        candidate
    }
}

fn drop_id(ids: Option<&mut Vec<String>>, id: &str) {
    if let Some(ids) = ids
        && let Some(at) = ids.iter().position(|i| i == id)
    {
        ids.swap_remove(at);
    }
}

fn held(ids: Option<&Vec<String>>, except: Option<&str>) -> bool {
    ids.is_some_and(|ids| ids.iter().any(|i| Some(i.as_str()) != except))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::Store;

    fn phone_user(store: &mut Store, name: &str, ext: i64, number: &str) -> String {
        let id = store.new_id();
        let mut u = store.blank_user(id.clone(), name.into());
        u.hidden.insert("zoomPhoneExtNumber".into(), json!(ext));
        u.hidden.insert("zoomPhoneNumber".into(), json!(number));
        store.insert_user(u);
        id
    }

    #[test]
    fn numbers_and_extensions_follow_inserts_replacements_and_removals() {
        let mut store = Store::new(None, false);
        let a = phone_user(&mut store, "a@x.org", 1000, "+441");
        let b = phone_user(&mut store, "b@x.org", 1001, "+442");
        assert!(store.phone_number_held(&json!("+441"), None));
        assert!(!store.phone_number_held(&json!("+441"), Some(&a)), "a user's own number is not another's");
        assert_eq!(store.lowest_free_extension(1000, "new"), 1002);
        assert_eq!(store.lowest_free_extension(1000, &a), 1000, "a user's own extension is free to it");

        let mut moved = store.user(&a).unwrap().clone();
        moved.hidden.insert("zoomPhoneExtNumber".into(), json!(1005));
        moved.hidden.remove("zoomPhoneNumber");
        store.replace_user(moved);
        assert!(!store.phone_number_held(&json!("+441"), None), "the old number is free after a change");
        assert!(store.extension_held(1005, None) && !store.extension_held(1000, None));
        assert_eq!(store.lowest_free_extension(1000, "new"), 1000);

        store.remove_user(&b, false);
        assert!(!store.phone_number_held(&json!("+442"), None) && !store.extension_held(1001, None));
    }
}
