//! Password policy and hashing: argon2id with OWASP's parameters (19 MiB, t=2, p=1),
//! always off the async runtime because one hash takes tens of milliseconds.

use std::sync::OnceLock;

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

const MIN_CHARS: usize = 8;
const MAX_CHARS: usize = 1024;

static COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// A password that satisfies the policy. Never logged or displayed.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

impl Password {
    pub fn parse(input: &str) -> Result<Self, String> {
        let length = input.chars().count();
        if length == 0 {
            return Err("Password is required.".into());
        }
        if length < MIN_CHARS {
            return Err(format!("Use at least {MIN_CHARS} characters."));
        }
        if length > MAX_CHARS {
            return Err(format!("Use at most {MAX_CHARS} characters."));
        }
        let lowered = input.to_lowercase();
        if COMMON_PASSWORDS.lines().any(|common| common == lowered) {
            return Err("This password is too common; choose one that is harder to guess.".into());
        }
        Ok(Self(input.to_owned()))
    }

    /// A random password that passes the policy, for accounts created by an admin or the CLI.
    pub fn generate() -> Self {
        Self(crate::domain::accounts::tokens::random_text(16))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Each hash takes 19 MiB and a core for a while: at most this many at once, whoever asks,
/// so a flood of sign-ins or registrations queues instead of exhausting memory.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |cores| cores.get() * 2)))
}

pub async fn hash(password: &Password) -> anyhow::Result<String> {
    let password = password.0.clone();
    let _slot = hashing_slots().acquire().await.context("password hashing slots closed")?;
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await.context("password hashing task failed")?
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| anyhow::anyhow!("hashing a password: {error}"))
}

/// Checks `password` against `stored_hash`, or — when there is no account — against a
/// hash of nothing in particular, so that an unknown email costs the same time as a
/// wrong password.
pub async fn verify(password: &str, stored_hash: Option<String>) -> anyhow::Result<bool> {
    let password = password.to_owned();
    let _slot = hashing_slots().acquire().await.context("password hashing slots closed")?;
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match stored_hash {
            Some(hash) => (hash, true),
            None => (stand_in_hash().to_owned(), false),
        };
        let parsed = PasswordHash::new(&hash).map_err(|error| anyhow::anyhow!("stored hash unreadable: {error}"))?;
        let matches = argon2().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(real && matches)
    })
    .await
    .context("password verification task failed")?
}

fn stand_in_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_blocking(&crate::domain::accounts::tokens::random_text(16)).expect("hashing a random password"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_bounded() {
        assert!(Password::parse("").is_err());
        assert!(Password::parse("short12").is_err());
        assert!(Password::parse("eight-ok").is_ok());
        assert!(Password::parse(&"x".repeat(1024)).is_ok());
        assert!(Password::parse(&"x".repeat(1025)).is_err());
        // characters, not bytes
        assert!(Password::parse("ééééééé").is_err());
        assert!(Password::parse("éééééééé").is_ok());
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        assert!(Password::parse("password123").is_err());
        assert!(Password::parse("PassWord123").is_err());
        assert!(Password::parse("Qwertyuiop").is_err());
        assert!(Password::parse("correct horse battery").is_ok());
    }

    #[test]
    fn generated_passwords_pass_the_policy() {
        let generated = Password::generate();
        assert!(Password::parse(generated.expose()).is_ok());
        assert_ne!(generated.expose(), Password::generate().expose());
    }

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let password = Password::parse("a fine passphrase").unwrap();
        let stored = hash(&password).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("a fine passphrase", Some(stored.clone())).await.unwrap());
        assert!(!verify("a wrong passphrase", Some(stored)).await.unwrap());
        assert!(!verify("a fine passphrase", None).await.unwrap());
    }
}
