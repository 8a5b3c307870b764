//! Secrets: fresh random tokens, their hex form, and comparisons that take the same time
//! whatever the bytes compared (`hex` and `subtle`, not hand-written loops).
//!
//! Sign-in links, sessions, anti-CSRF fields and unsubscribe links are 32 random bytes from the
//! operating system's CSPRNG written as 64 lowercase hex digits; the store keeps the SHA-256 of
//! the first three ([`crate::model::TokenHash`]).

use subtle::ConstantTimeEq;

/// Length of a [`random_token`], in hex digits.
pub const TOKEN_LEN: usize = 64;

/// 32 random bytes from the thread-local CSPRNG (seeded by the operating system), as 64
/// lowercase hex digits.
#[must_use]
pub fn random_token() -> String {
    hex(rand::random::<[u8; 32]>())
}

/// Whether `s` looks like a [`random_token`] (so junk never reaches the store).
#[must_use]
pub fn is_token(s: &str) -> bool {
    s.len() == TOKEN_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Bytes as lowercase hex digits.
#[must_use]
pub fn hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(bytes)
}

/// Whether two secrets are equal, in a time that depends on their lengths only.
#[must_use]
pub fn same_secret(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let a = random_token();
        assert!(is_token(&a));
        assert_ne!(a, random_token());
        assert!(!is_token("abc"));
        assert!(!is_token(&"A".repeat(64)));
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &random_token()));
        assert!(!same_secret("a", "ab"));
        assert!(!same_secret("", "a"));
        assert!(same_secret("", ""));
    }

    #[test]
    fn hex_digits() {
        assert_eq!(hex([0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(b""), "");
    }
}
