//! The route table: exactly Zoom's 11 SCIM operations plus the token endpoint. Every route has
//! a stable key (`"GET /scim2/Users/{id}"`) used by the request log, fault targeting and the
//! per-endpoint rate buckets; a list with `filter` is its own key so tests can count lookups.

use hyper::Method;
use serde::Serialize;

use super::ratelimit::Label;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Route {
    ListUsers,
    FilterUsers,
    CreateUser,
    GetUser,
    PutUser,
    PatchUser,
    DeleteUser,
    ListGroups,
    FilterGroups,
    CreateGroup,
    GetGroup,
    PatchGroup,
    DeleteGroup,
    Token,
}

impl Route {
    pub const ALL: [Route; 14] = [
        Route::ListUsers,
        Route::FilterUsers,
        Route::CreateUser,
        Route::GetUser,
        Route::PutUser,
        Route::PatchUser,
        Route::DeleteUser,
        Route::ListGroups,
        Route::FilterGroups,
        Route::CreateGroup,
        Route::GetGroup,
        Route::PatchGroup,
        Route::DeleteGroup,
        Route::Token,
    ];

    /// Log/fault key: method + path template (+ `?filter` for filtered lists).
    pub const fn key(self) -> &'static str {
        match self {
            Route::ListUsers => "GET /scim2/Users",
            Route::FilterUsers => "GET /scim2/Users?filter",
            Route::CreateUser => "POST /scim2/Users",
            Route::GetUser => "GET /scim2/Users/{id}",
            Route::PutUser => "PUT /scim2/Users/{id}",
            Route::PatchUser => "PATCH /scim2/Users/{id}",
            Route::DeleteUser => "DELETE /scim2/Users/{id}",
            Route::ListGroups => "GET /scim2/Groups",
            Route::FilterGroups => "GET /scim2/Groups?filter",
            Route::CreateGroup => "POST /scim2/Groups",
            Route::GetGroup => "GET /scim2/Groups/{id}",
            Route::PatchGroup => "PATCH /scim2/Groups/{id}",
            Route::DeleteGroup => "DELETE /scim2/Groups/{id}",
            Route::Token => "POST /oauth/token",
        }
    }

    /// The documented endpoint (a filtered list is the list endpoint): legacy bucket key.
    pub const fn endpoint(self) -> &'static str {
        match self {
            Route::FilterUsers => Route::ListUsers.key(),
            Route::FilterGroups => Route::ListGroups.key(),
            other => other.key(),
        }
    }

    pub const fn path_template(self) -> &'static str {
        match self {
            Route::ListUsers | Route::FilterUsers | Route::CreateUser => "/scim2/Users",
            Route::GetUser | Route::PutUser | Route::PatchUser | Route::DeleteUser => "/scim2/Users/{id}",
            Route::ListGroups | Route::FilterGroups | Route::CreateGroup => "/scim2/Groups",
            Route::GetGroup | Route::PatchGroup | Route::DeleteGroup => "/scim2/Groups/{id}",
            Route::Token => "/oauth/token",
        }
    }

    /// Zoom rate-limit label. Users: as documented (lists Medium, the rest Light). Groups are
    /// undocumented except the list; we choose Light for get/delete and Medium for
    /// create/patch, which can touch many members.
    pub const fn label(self) -> Option<Label> {
        match self {
            Route::ListUsers | Route::FilterUsers | Route::ListGroups | Route::FilterGroups => Some(Label::Medium),
            Route::CreateGroup | Route::PatchGroup => Some(Label::Medium),
            Route::Token => None,
            _ => Some(Label::Light),
        }
    }

    /// Writes to one user (the concurrent-update rule applies).
    pub const fn is_user_write(self) -> bool {
        matches!(self, Route::PutUser | Route::PatchUser | Route::DeleteUser)
    }
}

/// Result of matching a request line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched {
    Route(Route, Option<String>),
    NotFound,
    MethodNotAllowed(&'static str),
}

/// Matches `method` + `path`; `has_filter` says whether the query carries `filter`.
pub fn match_route(method: &Method, path: &str, has_filter: bool, mount_v2: bool) -> Matched {
    if path == "/oauth/token" {
        return if method == Method::POST {
            Matched::Route(Route::Token, None)
        } else {
            Matched::MethodNotAllowed("POST")
        };
    }
    let rest = match path.strip_prefix("/scim2") {
        Some(r) => r,
        None if mount_v2 => match path.strip_prefix("/v2/scim2") {
            Some(r) => r,
            None => return Matched::NotFound,
        },
        None => return Matched::NotFound,
    };
    let (is_users, tail) = if let Some(t) = rest.strip_prefix("/Users") {
        (true, t)
    } else if let Some(t) = rest.strip_prefix("/Groups") {
        (false, t)
    } else {
        return Matched::NotFound;
    };
    if tail.is_empty() {
        let route = match (method.as_str(), is_users, has_filter) {
            ("GET", true, false) => Route::ListUsers,
            ("GET", true, true) => Route::FilterUsers,
            ("POST", true, _) => Route::CreateUser,
            ("GET", false, false) => Route::ListGroups,
            ("GET", false, true) => Route::FilterGroups,
            ("POST", false, _) => Route::CreateGroup,
            _ => return Matched::MethodNotAllowed("GET, POST"),
        };
        return Matched::Route(route, None);
    }
    let Some(raw_id) = tail.strip_prefix('/') else {
        return Matched::NotFound;
    };
    if raw_id.is_empty() || raw_id.contains('/') {
        return Matched::NotFound;
    }
    let id = percent_encoding::percent_decode_str(raw_id).decode_utf8_lossy().into_owned();
    let route = match (method.as_str(), is_users) {
        ("GET", true) => Route::GetUser,
        ("PUT", true) => Route::PutUser,
        ("PATCH", true) => Route::PatchUser,
        ("DELETE", true) => Route::DeleteUser,
        ("GET", false) => Route::GetGroup,
        ("PATCH", false) => Route::PatchGroup,
        ("DELETE", false) => Route::DeleteGroup,
        (_, true) => return Matched::MethodNotAllowed("GET, PUT, PATCH, DELETE"),
        (_, false) => return Matched::MethodNotAllowed("GET, PATCH, DELETE"),
    };
    Matched::Route(route, Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eleven_operations_and_nothing_else() {
        let m = |meth: Method, p: &str| match_route(&meth, p, false, false);
        assert_eq!(m(Method::GET, "/scim2/Users/k%26Kd"), Matched::Route(Route::GetUser, Some("k&Kd".into())));
        assert_eq!(m(Method::GET, "/scim2/Users/k&Kd"), Matched::Route(Route::GetUser, Some("k&Kd".into())));
        assert_eq!(m(Method::PUT, "/scim2/Groups/x"), Matched::MethodNotAllowed("GET, PATCH, DELETE"));
        assert_eq!(m(Method::DELETE, "/scim2/Users"), Matched::MethodNotAllowed("GET, POST"));
        assert_eq!(m(Method::GET, "/scim2/ServiceProviderConfig"), Matched::NotFound);
        assert_eq!(m(Method::POST, "/scim2/Bulk"), Matched::NotFound);
        assert_eq!(m(Method::GET, "/scim2/Users/a/b"), Matched::NotFound);
        assert_eq!(m(Method::GET, "/v2/scim2/Users"), Matched::NotFound);
        assert_eq!(match_route(&Method::GET, "/v2/scim2/Users", true, true), Matched::Route(Route::FilterUsers, None));
        assert_eq!(m(Method::GET, "/oauth/token"), Matched::MethodNotAllowed("POST"));
        let documented = Route::ALL
            .iter()
            .filter(|r| **r != Route::Token)
            .map(|r| r.endpoint())
            .collect::<std::collections::BTreeSet<_>>();
        assert_eq!(documented.len(), 11);
    }
}
