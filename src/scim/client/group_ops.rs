//! The six group operations behind [`Target`](crate::scim::Target)'s group methods (the trait
//! impl in `ops.rs` delegates here). They are the same on both wire profiles: Zoom and
//! RFC 7644 servers accept the same bodies (`group_body`), and both may answer PATCH and
//! DELETE with 204. The one difference: a create on a generic server carries the directory
//! group's anchor as `externalId` (the mark of a group zoomsync created).
//!
//! Rate labels follow [`Label`]'s note: Zoom labels only the group list (Medium); get and
//! delete are Light like their user counterparts, create and member PATCH Medium because one
//! request can carry thousands of members — the emulator limits them the same way.

use reqwest::Method;

use super::ScimClient;
use super::send::{Call, Reply};
use crate::model::{Anchor, MemberPatch, RemoteGroup};
use crate::scim::ScimError;
use crate::scim::errors::Scope;
use crate::scim::group_body::{create_group_body, member_patch_value, rename_body};
use crate::scim::throttle::Label;
use crate::scim::wire::{parse_group, parse_group_list};

/// Unicode case-insensitive equality: SCIM's displayName is caseExact=false and Zoom
/// group names are not only ASCII.
fn same_name(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

impl ScimClient {
    fn group_from(reply: &Reply, what: &str) -> Result<RemoteGroup, ScimError> {
        parse_group(&reply.json(what)?).ok_or_else(|| ScimError::Fatal {
            detail: format!("the target answered {what} with a group without an id; check target.base_url"),
        })
    }

    /// GET /Groups?filter=displayName eq "…". Servers match case-insensitively; an exact
    /// match wins over one differing in case, and results that do not match at all (a
    /// server ignoring the filter) are dropped.
    pub(super) async fn group_find(&self, display_name: &str) -> Result<Option<RemoteGroup>, ScimError> {
        let call = Call {
            method: Method::GET,
            url: self.group_filter_url(display_name),
            template: "Groups?filter",
            label: Label::Medium,
            scope: Scope::Groups,
            body: None,
        };
        let reply = self.call(&call).await?;
        let (groups, _) = parse_group_list(&reply.json("a group filter")?).ok_or_else(|| ScimError::Fatal {
            detail: "the target's group list is not a SCIM ListResponse; check target.base_url".to_string(),
        })?;
        let mut matches: Vec<RemoteGroup> =
            groups.into_iter().filter(|g| same_name(&g.display_name, display_name)).collect();
        matches.sort_by_key(|g| g.display_name != display_name);
        Ok(matches.into_iter().next())
    }

    pub(super) async fn group_get(&self, id: &str) -> Result<RemoteGroup, ScimError> {
        let call = Call {
            method: Method::GET,
            url: self.group_url(id),
            template: "Groups/{id}",
            label: Label::Light,
            scope: Scope::Resource,
            body: None,
        };
        let reply = self.call(&call).await?;
        Self::group_from(&reply, "a group get")
    }

    /// POST /Groups. Zoom answers a taken name with 400 "Create group failed." (its only
    /// create failure text), and a create retried after a lost answer meets the group the
    /// first attempt made. So a refused create looks the name up: a group found there comes
    /// back as `Conflict` (the engine links or reports it), anything else stays as it was.
    pub(super) async fn group_create(
        &self,
        display_name: &str,
        marker: Option<&Anchor>,
    ) -> Result<RemoteGroup, ScimError> {
        let body = create_group_body(display_name, marker);
        let call = Call {
            method: Method::POST,
            url: self.groups_url(),
            template: "Groups",
            label: Label::Medium,
            scope: Scope::Groups,
            body: Some(&body),
        };
        let tracked = self.call_tracked(&call).await;
        let refused = match tracked.result {
            Ok(reply) => {
                let mut created = Self::group_from(&reply, "a group create")?;
                if created.display_name.is_empty() {
                    display_name.clone_into(&mut created.display_name);
                }
                return Ok(created);
            }
            Err(e @ (ScimError::Rejected { .. } | ScimError::Conflict { .. })) => e,
            Err(e) => return Err(e),
        };
        let Some(existing) = self.group_find(display_name).await? else {
            return Err(refused);
        };
        let lost = if tracked.maybe_applied {
            " (an earlier attempt of this create lost its answer and may have created it)"
        } else {
            ""
        };
        Err(ScimError::Conflict {
            detail: format!("a group named \"{}\" exists (id {}): {refused}{lost}", existing.display_name, existing.id),
        })
    }

    /// PATCH replace `displayName`. A name taken by another group is Zoom's 400 (Rejected).
    pub(super) async fn group_rename(&self, id: &str, display_name: &str) -> Result<(), ScimError> {
        self.group_patch(id, &rename_body(display_name)).await
    }

    /// One membership batch. Adding a member twice or removing an absent one changes
    /// nothing on Zoom, the emulator or scim2-server, so the client's retries of a PATCH
    /// whose answer was lost are safe. An empty batch sends nothing (Zoom refuses an empty
    /// `Operations`).
    pub(super) async fn group_patch_members(&self, id: &str, patch: &MemberPatch) -> Result<(), ScimError> {
        if patch.ids().is_empty() {
            return Ok(());
        }
        self.group_patch(id, &member_patch_value(patch)).await
    }

    async fn group_patch(&self, id: &str, body: &serde_json::Value) -> Result<(), ScimError> {
        let call = Call {
            method: Method::PATCH,
            url: self.group_url(id),
            template: "Groups/{id}",
            label: Label::Medium,
            scope: Scope::Resource,
            body: Some(body),
        };
        self.call(&call).await.map(|_| ())
    }

    /// DELETE /Groups/{id}. Zoom's default group answers 400 (Rejected).
    pub(super) async fn group_delete(&self, id: &str) -> Result<(), ScimError> {
        let call = Call {
            method: Method::DELETE,
            url: self.group_url(id),
            template: "Groups/{id}",
            label: Label::Light,
            scope: Scope::Resource,
            body: None,
        };
        self.call(&call).await.map(|_| ())
    }
}
