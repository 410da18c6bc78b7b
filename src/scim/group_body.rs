//! PURE: group request bodies, and membership changes cut into PATCH batches whose bodies
//! stay under the target's size limit (Zoom: 100,000 characters).

use crate::scim::MemberPatch;

/// Zoom's documented limit on a group PATCH body, in characters.
pub const ZOOM_PATCH_MAX_CHARS: usize = 100_000;

/// The PatchOp body for one membership batch.
pub fn member_patch_body(_patch: &MemberPatch) -> String {
    String::new()
}

/// Cuts `add` and `remove` into batches, removes first, each body under `max_chars`.
pub fn member_batches(_add: &[String], _remove: &[String], _max_chars: usize) -> Vec<MemberPatch> {
    Vec::new()
}
