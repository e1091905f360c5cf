//! Random secrets (session-bound CSRF tokens, setup links, API tokens) and their digests.

use blake2::{Blake2s256, Digest};
use rand::RngCore;
use rand::rngs::OsRng;

const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// `length` characters from an unambiguous alphabet (about 5.8 bits each).
pub fn random_text(length: usize) -> String {
    let mut bytes = vec![0u8; length];
    OsRng.fill_bytes(&mut bytes);
    // 256 is not a multiple of the alphabet's size; the slight bias costs a fraction of a bit.
    bytes.iter().map(|byte| ALPHABET[*byte as usize % ALPHABET.len()] as char).collect()
}

/// How long a secret is: 43 characters, about 250 bits.
pub const SECRET_LENGTH: usize = 43;

/// A secret to hand out.
pub fn secret() -> String {
    random_text(SECRET_LENGTH)
}

/// What is stored instead of a secret. The secrets are random and long, so a fast hash
/// is enough: nobody can guess their way back.
pub fn digest(secret: &str) -> String {
    Blake2s256::digest(secret.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_and_distinct() {
        let one = secret();
        assert_eq!(one.len(), 43);
        assert_ne!(one, secret());
        assert!(one.bytes().all(|b| ALPHABET.contains(&b)));
    }

    #[test]
    fn digests_are_stable_hex() {
        // BLAKE2s-256 of "abc" (RFC 7693, appendix B).
        assert_eq!(digest("abc"), "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
        assert_ne!(digest("abc"), digest("abd"));
        assert_eq!(digest("abc").len(), 64);
    }

    #[test]
    fn equality_is_exact() {
        assert!(constant_time_eq("token", "token"));
        assert!(!constant_time_eq("token", "tokem"));
        assert!(!constant_time_eq("token", "token2"));
    }
}
