//! Random tokens and digests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A URL-safe random token with 256 bits from the OS generator.
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Hex SHA-256. Tokens are stored hashed, so a database leak does not leak usable tokens.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A stable digest of a request body, to tell an idempotent replay from a different request
/// reusing the same key. Field order is the struct's, so formatting differences don't count.
pub fn fingerprint(value: &impl Serialize) -> String {
    sha256_hex(&serde_json::to_vec(value).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn fingerprints_ignore_formatting_but_not_content() {
        let a: serde_json::Value = serde_json::from_str(r#"{"amount": 5}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{ "amount":5 }"#).unwrap();
        let c: serde_json::Value = serde_json::from_str(r#"{"amount": 6}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
