use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// What an account is allowed to do. Admins are only created from the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Seller,
    Streamer,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Customer, Role::Seller, Role::Streamer, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Seller => "seller",
            Role::Streamer => "streamer",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}

/// A validated page request: `page >= 0`, `1 <= size <= 100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub size: u32,
}

impl PageRequest {
    pub const MAX_SIZE: u32 = 100;
    pub const DEFAULT_SIZE: u32 = 20;

    pub fn offset(&self) -> i64 {
        i64::from(self.page) * i64::from(self.size)
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.size)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest { page: 0, size: Self::DEFAULT_SIZE }
    }
}

/// One page of a list: `{"items": [...], "page": 0, "size": 20, "total": N}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub size: u32,
    pub total: i64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, request: PageRequest, total: i64) -> Self {
        Page { items, page: request.page, size: request.size, total }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), page: self.page, size: self.size, total: self.total }
    }
}

/// An amount of points as people read it in emails and notifications: thousands separated,
/// with the "P" the web app shows (`12,345 P`).
pub fn points(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out} P") } else { format!("{out} P") }
}

/// Failures every contract call can have, whatever the service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// A backing store or the remote service cannot be reached; the caller may retry later.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected state; logged by the callee.
    #[error("internal error: {0}")]
    Internal(String),
}

#[cfg(test)]
mod tests {
    use super::points;

    #[test]
    fn points_are_grouped_by_thousands() {
        assert_eq!(points(0), "0 P");
        assert_eq!(points(999), "999 P");
        assert_eq!(points(1_000), "1,000 P");
        assert_eq!(points(-1_234_567), "-1,234,567 P");
        assert_eq!(points(i64::MIN), "-9,223,372,036,854,775,808 P");
    }
}
