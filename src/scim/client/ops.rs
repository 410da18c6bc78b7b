//! [`Target`] for the client: the eight user operations, per wire profile (see `wire_body`
//! for the bodies); the group operations delegate to `group_ops.rs`.

use std::collections::HashSet;

use reqwest::Method;

use super::send::{Call, Reply};
use super::{PAGE_SIZE, ScimClient};
use crate::config::TargetKind;
use crate::model::Anchor;
use crate::model::{Change, MemberPatch, RemoteGroup, RemoteUser, ScimUser};
use crate::scim::errors::Scope;
use crate::scim::throttle::Label;
use crate::scim::wire::{parse_list, parse_user};
use crate::scim::wire_body::{active_body, create_body, external_id_body, scim_patch_body, zoom_put_body};
use crate::scim::{ScimError, Target};

impl ScimClient {
    fn user_from(&self, reply: &Reply, what: &str) -> Result<RemoteUser, ScimError> {
        parse_user(&reply.json(what)?).ok_or_else(|| ScimError::Fatal {
            detail: format!("the target answered {what} with a resource without an id; check target.base_url"),
        })
    }

    async fn get_page(&self, url: String, template: &'static str) -> Result<(Vec<RemoteUser>, Option<u64>), ScimError> {
        let call =
            Call { method: Method::GET, url, template, label: Label::Medium, scope: Scope::Collection, body: None };
        let reply = self.call(&call).await?;
        parse_list(&reply.json("a user list")?).ok_or_else(|| ScimError::Fatal {
            detail: "the target's user list is not a SCIM ListResponse; check target.base_url".to_string(),
        })
    }
}

impl Target for ScimClient {
    fn begin_cycle(&self) {
        ScimClient::begin_cycle(self);
    }

    async fn create_user(&self, anchor: &Anchor, user: &ScimUser) -> Result<RemoteUser, ScimError> {
        let body = match self.kind {
            TargetKind::Zoom => create_body(user, None, true),
            TargetKind::Scim => create_body(user, Some(anchor), false),
        };
        let call = Call {
            method: Method::POST,
            url: self.users_url(),
            template: "Users",
            label: Label::Light,
            scope: Scope::Collection,
            body: Some(&body),
        };
        let tracked = self.call_tracked(&call).await;
        let reply = match tracked.result {
            Ok(r) => r,
            // The engine looks the user up and adopts it under its ownership rules; say
            // that the conflicting user may be the one our lost attempt created.
            Err(ScimError::Conflict { detail }) if tracked.maybe_applied => {
                return Err(ScimError::Conflict {
                    detail: format!(
                        "{detail} (an earlier attempt of this create lost its answer and may \
                         have created the user)"
                    ),
                });
            }
            Err(e) => return Err(e),
        };
        let mut created = self.user_from(&reply, "a create")?;
        // Zoom activates new users whatever the body says; honour an inactive create.
        if !user.active && created.user.active {
            self.set_active(&created.id, false).await?;
            created.user.active = false;
        }
        Ok(created)
    }

    async fn update_user(&self, id: &str, changes: &[Change]) -> Result<RemoteUser, ScimError> {
        if changes.is_empty() {
            return self.get_user(id).await;
        }
        let (method, body) = match self.kind {
            TargetKind::Zoom => (Method::PUT, zoom_put_body(changes)),
            TargetKind::Scim => (Method::PATCH, scim_patch_body(changes)),
        };
        let call = Call {
            method,
            url: self.user_url(id),
            template: "Users/{id}",
            label: Label::Light,
            scope: Scope::Resource,
            body: Some(&body),
        };
        let reply = self.call(&call).await?;
        // RFC 7644 lets PATCH answer 204 (scim2-server does): read the user back.
        if reply.status == 204 || reply.body.is_empty() {
            return self.get_user(id).await;
        }
        self.user_from(&reply, "an update")
    }

    async fn set_active(&self, id: &str, active: bool) -> Result<(), ScimError> {
        let body = active_body(active);
        let call = Call {
            method: Method::PATCH,
            url: self.user_url(id),
            template: "Users/{id}",
            label: Label::Light,
            scope: Scope::Resource,
            body: Some(&body),
        };
        self.call(&call).await.map(|_| ())
    }

    async fn delete_user(&self, id: &str) -> Result<(), ScimError> {
        let call = Call {
            method: Method::DELETE,
            url: self.user_url(id),
            template: "Users/{id}",
            label: Label::Light,
            scope: Scope::Resource,
            body: None,
        };
        self.call(&call).await.map(|_| ())
    }

    async fn mark_user(&self, id: &str, anchor: &Anchor) -> Result<(), ScimError> {
        if self.kind == TargetKind::Zoom {
            return Ok(());
        }
        let body = external_id_body(anchor);
        let call = Call {
            method: Method::PATCH,
            url: self.user_url(id),
            template: "Users/{id}",
            label: Label::Light,
            scope: Scope::Resource,
            body: Some(&body),
        };
        self.call(&call).await.map(|_| ())
    }

    async fn get_user(&self, id: &str) -> Result<RemoteUser, ScimError> {
        let call = Call {
            method: Method::GET,
            url: self.user_url(id),
            template: "Users/{id}",
            label: Label::Light,
            scope: Scope::Resource,
            body: None,
        };
        let reply = self.call(&call).await?;
        self.user_from(&reply, "a get")
    }

    /// A pending Zoom user answers the filter with 400/404 "… not exist or not belong to
    /// this account."; that comes back as `Conflict` saying "pending".
    async fn find_user(&self, user_name: &str) -> Result<Option<RemoteUser>, ScimError> {
        let (users, _) = self.get_page(self.filter_url(user_name), "Users?filter").await?;
        // Servers match case-insensitively (userName is caseExact=false); keep exact
        // matches first in case a server is looser than `eq`.
        let mut matches: Vec<RemoteUser> = users
            .into_iter()
            .filter(|u| u.user.get(crate::model::Field::UserName).is_none_or(|n| n.eq_ignore_ascii_case(user_name)))
            .collect();
        matches.sort_by_key(|u| u.user.get(crate::model::Field::UserName) != Some(user_name));
        Ok(matches.into_iter().next())
    }

    /// Pages with startIndex/count, advancing by the number of resources actually returned
    /// (servers cap `count` and `itemsPerPage` is not reliable).
    async fn list_users(&self) -> Result<Vec<RemoteUser>, ScimError> {
        let mut all = Vec::new();
        let mut seen = HashSet::new();
        let mut start = 1usize;
        loop {
            let (page, total) = self.get_page(self.page_url(start, PAGE_SIZE), "Users?startIndex").await?;
            let n = page.len();
            let before = seen.len();
            for u in page {
                if seen.insert(u.id.clone()) {
                    all.push(u);
                }
            }
            if n == 0 || total.is_some_and(|t| start - 1 + n >= usize::try_from(t).unwrap_or(usize::MAX)) {
                return Ok(all);
            }
            if seen.len() == before {
                return Err(ScimError::Fatal {
                    detail: format!(
                        "user list paging does not advance at startIndex {start}; the target \
                         ignores startIndex"
                    ),
                });
            }
            start += n;
        }
    }

    async fn find_group(&self, display_name: &str) -> Result<Option<RemoteGroup>, ScimError> {
        self.group_find(display_name).await
    }

    async fn get_group(&self, id: &str) -> Result<RemoteGroup, ScimError> {
        self.group_get(id).await
    }

    async fn create_group(&self, anchor: &Anchor, display_name: &str) -> Result<RemoteGroup, ScimError> {
        let marker = match self.kind {
            TargetKind::Zoom => None,
            TargetKind::Scim => Some(anchor),
        };
        self.group_create(display_name, marker).await
    }

    async fn rename_group(&self, id: &str, display_name: &str) -> Result<(), ScimError> {
        self.group_rename(id, display_name).await
    }

    async fn patch_members(&self, id: &str, patch: &MemberPatch) -> Result<(), ScimError> {
        self.group_patch_members(id, patch).await
    }

    async fn delete_group(&self, id: &str) -> Result<(), ScimError> {
        self.group_delete(id).await
    }
}
