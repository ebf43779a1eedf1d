use crate::{Page, PageRequest, Role, ServiceError};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What any authenticated user may see of an account: never its email or phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PublicProfile {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

/// How to reach an account owner (for notifications); only for server-side use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountContact {
    pub id: i64,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileQuery {
    /// Case-insensitive substring of the name; empty matches everyone.
    pub name_contains: Option<String>,
    pub role: Option<Role>,
    /// Roles to leave out whatever `role` says (e.g. admins from user search).
    pub exclude_roles: Vec<Role>,
    pub page: PageRequest,
}

/// Identity as other modules see it.
#[async_trait]
pub trait AccountService: Send + Sync {
    /// `Ok(None)` when no account has this id.
    async fn profile(&self, id: i64) -> Result<Option<PublicProfile>, ServiceError>;
    /// Profiles of the ids that exist, in no particular order; unknown ids are left out.
    async fn profiles(&self, ids: &[i64]) -> Result<Vec<PublicProfile>, ServiceError>;
    async fn search_profiles(&self, query: ProfileQuery) -> Result<Page<PublicProfile>, ServiceError>;
    /// `Ok(None)` when no account has this id.
    async fn contact(&self, id: i64) -> Result<Option<AccountContact>, ServiceError>;
    /// Contacts of the ids that exist, in no particular order.
    async fn contacts(&self, ids: &[i64]) -> Result<Vec<AccountContact>, ServiceError>;
}
