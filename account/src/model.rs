//! Validated domain values: constructing one is the only way in, so the service never sees
//! an invalid email, name, password or phone number.

use chrono::{DateTime, Utc};
use contracts::Role;
use contracts::account::PublicProfile;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim().to_lowercase();
        let invalid = "must be a valid email";
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid);
        }
        let Some((local, domain)) = email.rsplit_once('@') else { return Err(invalid) };
        let domain_ok = domain.len() >= 3
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(invalid);
        }
        Ok(EmailAddress(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 8..=128 characters.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let n = raw.chars().count();
        if !(8..=128).contains(&n) {
            return Err("must be 8 to 128 characters");
        }
        Ok(Password(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Trimmed, 1..=50 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        let n = name.chars().count();
        if !(1..=50).contains(&n) {
            return Err("must be 1 to 50 characters");
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(DisplayName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn lowered(&self) -> String {
        self.0.to_lowercase()
    }
}

/// Digits with an optional leading `+`; spaces and hyphens are dropped. 7..=15 digits (E.164).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let compact: String = raw.trim().chars().filter(|c| *c != ' ' && *c != '-').collect();
        let digits = compact.strip_prefix('+').unwrap_or(&compact);
        if !(7..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err("must be a phone number of 7 to 15 digits");
        }
        Ok(Phone(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A role someone may sign up with (admins come from the CLI only).
pub fn signup_role(raw: &str) -> Result<Role, &'static str> {
    match raw.parse::<Role>() {
        Ok(role @ (Role::Customer | Role::Seller | Role::Streamer)) => Ok(role),
        _ => Err("must be one of customer, seller, streamer"),
    }
}

/// An account as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub phone: Option<String>,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
}

impl Account {
    pub fn profile(&self) -> PublicProfile {
        PublicProfile { id: self.id, name: self.name.clone(), role: self.role }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(EmailAddress::parse("  Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@exa mple.com",
            "ann@.com",
            "ann@example..com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn passwords_are_8_to_128_characters() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"가".repeat(128)).is_ok());
        assert!(Password::parse(&"a".repeat(129)).is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Kim  ").unwrap().as_str(), "Kim");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"김".repeat(50)).is_ok());
        assert!(DisplayName::parse(&"김".repeat(51)).is_err());
        assert!(DisplayName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn phones_are_compacted() {
        assert_eq!(Phone::parse("+82 10-1234-5678").unwrap().as_str(), "+821012345678");
        assert!(Phone::parse("12345").is_err());
        assert!(Phone::parse("010-abcd-5678").is_err());
    }

    #[test]
    fn admins_cannot_sign_up() {
        assert_eq!(signup_role("seller"), Ok(Role::Seller));
        assert!(signup_role("admin").is_err());
        assert!(signup_role("Seller").is_err());
    }
}
