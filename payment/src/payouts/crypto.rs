//! AES-256-GCM for payouts: account numbers at rest (`v1:` + base64 of nonce ‖ ciphertext ‖
//! tag), and Toss's JWE bodies (compact serialization, `alg: dir`, `enc: A256GCM`).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// What binds a stored ciphertext to its use: a ciphertext copied into another column fails.
const AT_REST_AAD: &[u8] = b"payout.account_number";
/// Used outside production when `payment.payout_encryption_key` is empty.
const DEVELOPMENT_KEY: [u8; 32] = *b"development-only-payout-key-0001";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the key must be 64 hex characters (32 bytes)")]
    BadKey,
    #[error("encryption failed")]
    Seal,
    #[error("ciphertext is malformed or was not made with this key")]
    Open,
    #[error("no randomness: {0}")]
    Random(String),
}

/// A 32-byte key from 64 hex characters.
pub fn key_from_hex(hex_key: &str) -> Result<[u8; 32], CryptoError> {
    let bytes = hex::decode(hex_key.trim()).map_err(|_| CryptoError::BadKey)?;
    bytes.try_into().map_err(|_| CryptoError::BadKey)
}

/// The key that protects account numbers (no Debug: it never prints).
#[derive(Clone)]
pub struct AtRestKey([u8; 32]);

impl AtRestKey {
    /// From `payment.payout_encryption_key`; empty means the development key (the settings
    /// refuse that in production).
    pub fn from_setting(hex_key: &str) -> Result<Self, CryptoError> {
        if hex_key.trim().is_empty() {
            return Ok(AtRestKey(DEVELOPMENT_KEY));
        }
        key_from_hex(hex_key).map(AtRestKey)
    }

    pub fn encrypt(&self, plaintext: &str) -> Result<String, CryptoError> {
        let nonce = random_nonce()?;
        let sealed = seal(&self.0, nonce, AT_REST_AAD, plaintext.as_bytes())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("v1:{}", STANDARD.encode(out)))
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, CryptoError> {
        let raw = stored.strip_prefix("v1:").ok_or(CryptoError::Open)?;
        let bytes = STANDARD.decode(raw).map_err(|_| CryptoError::Open)?;
        if bytes.len() < NONCE_LEN {
            return Err(CryptoError::Open);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Open)?;
        let plain = open(&self.0, nonce, AT_REST_AAD, sealed)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Open)
    }

    /// A keyed digest (so a request fingerprint does not reveal a short account number).
    pub fn keyed_digest(&self, data: &[u8]) -> String {
        let mut input = self.0.to_vec();
        input.extend_from_slice(data);
        platform::crypto::sha256_hex(&input)
    }
}

fn random_nonce() -> Result<[u8; NONCE_LEN], CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|e| CryptoError::Random(e.to_string()))?;
    Ok(nonce)
}

fn cipher(key: &[u8; 32]) -> Result<LessSafeKey, CryptoError> {
    Ok(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| CryptoError::BadKey)?))
}

/// Ciphertext followed by the 16-byte tag.
fn seal(key: &[u8; 32], nonce: [u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut buffer = plaintext.to_vec();
    cipher(key)?
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buffer)
        .map_err(|_| CryptoError::Seal)?;
    Ok(buffer)
}

fn open(key: &[u8; 32], nonce: [u8; NONCE_LEN], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut buffer = sealed.to_vec();
    let plain = cipher(key)?
        .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buffer)
        .map_err(|_| CryptoError::Open)?;
    Ok(plain.to_vec())
}

/// `protected..iv.ciphertext.tag` with `{"alg":"dir","enc":"A256GCM","iat":…,"nonce":…}`.
/// `iat` is `yyyy-MM-dd'T'HH:mm:ss±hh:mm` and `nonce` a random UUID, as Toss requires.
pub fn jwe_encrypt(key: &[u8; 32], plaintext: &[u8], iat: &str) -> Result<String, CryptoError> {
    let header = serde_json::json!({
        "alg": "dir",
        "enc": "A256GCM",
        "iat": iat,
        "nonce": uuid::Uuid::new_v4().to_string(),
    });
    let protected = URL_SAFE_NO_PAD.encode(header.to_string());
    let iv = random_nonce()?;
    let sealed = seal(key, iv, protected.as_bytes(), plaintext)?;
    let (ciphertext, tag) = sealed.split_at(sealed.len() - AES_256_GCM.tag_len());
    Ok(format!(
        "{protected}..{}.{}.{}",
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(ciphertext),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// Decrypts a compact JWE made with `alg: dir`, `enc: A256GCM` under `key`.
pub fn jwe_decrypt(key: &[u8; 32], compact: &str) -> Result<Vec<u8>, CryptoError> {
    let parts: Vec<&str> = compact.trim().split('.').collect();
    let [protected, encrypted_key, iv, ciphertext, tag] = parts.as_slice() else {
        return Err(CryptoError::Open);
    };
    if !encrypted_key.is_empty() {
        return Err(CryptoError::Open);
    }
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(protected).map_err(|_| CryptoError::Open)?)
            .map_err(|_| CryptoError::Open)?;
    if header["alg"] != "dir" || header["enc"] != "A256GCM" {
        return Err(CryptoError::Open);
    }
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).map_err(|_| CryptoError::Open);
    let iv: [u8; NONCE_LEN] = decode(iv)?.try_into().map_err(|_| CryptoError::Open)?;
    let mut sealed = decode(ciphertext)?;
    sealed.extend_from_slice(&decode(tag)?);
    open(key, iv, protected.as_bytes(), &sealed)
}

/// The last four digits, the rest masked: `****-****-1234` style, never more.
pub fn mask_account_number(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(|c| c.is_ascii_digit()).collect();
    let keep = digits.len().saturating_sub(4);
    let tail: String = digits[keep..].iter().collect();
    format!("{}{tail}", "*".repeat(keep.min(12)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_numbers_round_trip_and_do_not_appear_in_the_ciphertext() {
        let key = AtRestKey::from_setting(&"11".repeat(32)).unwrap();
        let stored = key.encrypt("110123456789").unwrap();
        assert!(!stored.contains("110123456789"));
        assert_ne!(stored, key.encrypt("110123456789").unwrap(), "a fresh nonce every time");
        assert_eq!(key.decrypt(&stored).unwrap(), "110123456789");
        let other = AtRestKey::from_setting(&"22".repeat(32)).unwrap();
        assert!(other.decrypt(&stored).is_err(), "another key cannot read it");
    }

    #[test]
    fn jwe_round_trips_and_rejects_tampering() {
        let key = key_from_hex(&"ab".repeat(32)).unwrap();
        let jwe = jwe_encrypt(&key, br#"{"a":1}"#, "2026-12-02T10:00:00+09:00").unwrap();
        assert_eq!(jwe.split('.').count(), 5);
        assert_eq!(jwe_decrypt(&key, &jwe).unwrap(), br#"{"a":1}"#);
        let mut tampered = jwe.clone();
        tampered.pop();
        tampered.push(if jwe.ends_with('A') { 'B' } else { 'A' });
        assert!(jwe_decrypt(&key, &tampered).is_err());
    }

    #[test]
    fn masks_keep_only_the_last_four_digits() {
        assert_eq!(mask_account_number("110-1234-5678"), "*******5678");
        assert_eq!(mask_account_number("123"), "123");
        assert!(key_from_hex("zz").is_err());
    }
}
