//! PURE: group request bodies, and membership changes cut into PATCH batches whose bodies
//! stay under the target's size limit (Zoom: 100,000 characters).
//!
//! Member PATCH forms (the same on Zoom and generic servers):
//! - add: one operation, `{"op":"add","path":"members","value":[{"value":"<id>"},…]}`;
//! - remove: one operation per member, RFC 7644 §3.5.2.2's filter form
//!   `{"op":"remove","path":"members[value eq \"<id>\"]"}`. The shorter Entra-style form
//!   (`"path":"members","value":[…]`) is refused by scim2-server with 400 "a remove
//!   operation carries no value", while the filter form is what Okta sends to Zoom and what
//!   the emulator and scim2-server both apply.

use serde_json::{Value, json};

use super::wire::{CORE_GROUP, PATCH_OP};
use crate::model::{Anchor, MemberPatch};

/// Zoom's documented limit on a group PATCH body, in characters.
pub const ZOOM_PATCH_MAX_CHARS: usize = 100_000;

/// A value as a quoted SCIM filter literal: `"` and `\` escaped (RFC 7644 §3.4.2.2).
pub fn filter_literal(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// POST /Groups: no members (they follow in size-bounded PATCH batches) and no Zoom
/// `emailAlias` (zoomsync does not manage it). `marker` (the directory group's anchor) goes
/// out as `externalId` where the profile keeps one (generic SCIM), so the group stays
/// zoomsync's own after a state loss; Zoom documents no group externalId and its one
/// optional attribute, `emailAlias`, is a real address, so Zoom groups carry no mark.
pub fn create_group_body(display_name: &str, marker: Option<&Anchor>) -> Value {
    let mut body = json!({"schemas": [CORE_GROUP], "displayName": display_name});
    if let (Some(anchor), Some(obj)) = (marker, body.as_object_mut()) {
        obj.insert("externalId".into(), json!(anchor.as_str()));
    }
    body
}

/// PATCH /Groups/{id} replacing the name, with a `path` (Zoom documents a name change as
/// its own PatchOp shape; scim2-server and the emulator both accept it).
pub fn rename_body(display_name: &str) -> Value {
    patch_op(vec![json!({"op": "replace", "path": "displayName", "value": display_name})])
}

fn patch_op(operations: Vec<Value>) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

/// One element of the add operation's `value` array.
fn add_item(id: &str) -> Value {
    json!({"value": id})
}

/// One remove operation (an element of `Operations`).
fn remove_op(id: &str) -> Value {
    json!({"op": "remove", "path": format!("members[value eq {}]", filter_literal(id))})
}

/// The body with these array elements: the add operation's `value` array, or `Operations`.
fn body_with(add: bool, items: Vec<Value>) -> Value {
    if add { patch_op(vec![json!({"op": "add", "path": "members", "value": items})]) } else { patch_op(items) }
}

/// The PatchOp body for one membership batch, as JSON (what the client sends).
pub fn member_patch_value(patch: &MemberPatch) -> Value {
    match patch {
        MemberPatch::Add(ids) => body_with(true, ids.iter().map(|id| add_item(id)).collect()),
        MemberPatch::Remove(ids) => body_with(false, ids.iter().map(|id| remove_op(id)).collect()),
    }
}

/// The PatchOp body for one membership batch (compact serde_json, exactly as sent).
pub fn member_patch_body(patch: &MemberPatch) -> String {
    member_patch_value(patch).to_string()
}

fn chars(v: &Value) -> usize {
    v.to_string().chars().count()
}

/// Exact body sizes without serialising whole bodies: compact JSON of a body with `n ≥ 1`
/// elements is the empty body plus each element's own serialisation plus `n - 1` commas,
/// so one pass over the ids (each serialised alone) prices every candidate batch.
struct Sizer {
    add: bool,
    /// Characters of the body with an empty array.
    empty: usize,
}

impl Sizer {
    fn new(add: bool) -> Self {
        Self { add, empty: chars(&body_with(add, Vec::new())) }
    }

    fn item(&self, id: &str) -> usize {
        chars(&if self.add { add_item(id) } else { remove_op(id) })
    }

    /// Greedy in-order packing: a batch takes ids while its body stays under `max_chars`.
    /// Greedy is optimal for order-keeping batches (closing a batch earlier never lets a
    /// later one hold more). An id too long to fit even alone gets a batch of its own,
    /// which the target will refuse: that one PATCH fails (and is reported) instead of the
    /// packing looping or silently dropping the id.
    fn batches(&self, ids: &[String], max_chars: usize, wrap: fn(Vec<String>) -> MemberPatch) -> Vec<MemberPatch> {
        let mut out = Vec::new();
        let mut batch: Vec<String> = Vec::new();
        let mut size = self.empty;
        for id in ids {
            let item = self.item(id);
            let grown = if batch.is_empty() { self.empty + item } else { size + 1 + item };
            if grown >= max_chars && !batch.is_empty() {
                out.push(wrap(std::mem::take(&mut batch)));
                size = self.empty + item;
            } else {
                size = grown;
            }
            batch.push(id.clone());
        }
        if !batch.is_empty() {
            out.push(wrap(batch));
        }
        out
    }
}

/// Cuts `add` and `remove` into batches, removes first (people who left lose the group's
/// access before anything else is sent, even if a later add batch fails), input order
/// kept, no empty batch. Every body is strictly shorter than `max_chars` characters (JSON
/// escaping included), except a single id whose body alone does not fit: it goes alone.
pub fn member_batches(add: &[String], remove: &[String], max_chars: usize) -> Vec<MemberPatch> {
    let mut out = Sizer::new(false).batches(remove, max_chars, MemberPatch::Remove);
    out.extend(Sizer::new(true).batches(add, max_chars, MemberPatch::Add));
    out
}

#[cfg(test)]
mod tests;
