//! Two-factor sign-in with TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps — what
//! every authenticator app speaks) and ten one-time recovery codes, stored as digests.

use hmac::{Hmac, Mac};
use qrcode::QrCode;
use qrcode::render::svg;
use rand::RngCore;
use rand::rngs::OsRng;
use serde_json::json;
use sha1::Sha1;

use crate::db::{Db, Flag, Tx};
use crate::domain::accounts::tokens;
use crate::domain::accounts::users::{self, User};
use crate::domain::admin::audit;
use crate::domain::clock::Timestamp;
use crate::domain::mail::account_mail::{self, AccountMail};
use crate::domain::{Error, FieldErrors, Result};

const STEP_SECONDS: i64 = 30;
const DIGITS: u32 = 6;
/// Codes one step early or late still count: phones' clocks drift.
const DRIFT_STEPS: i64 = 1;
const RECOVERY_CODES: usize = 10;
/// How long a key shown for setting up stays the one to confirm.
const PENDING_KEY_SECONDS: i64 = 10 * 60;

/// The code for time step `step` (RFC 4226's HOTP over the step count).
fn code_at(secret: &[u8], step: i64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let binary = u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    format!("{:0width$}", binary % 10u32.pow(DIGITS), width = DIGITS as usize)
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buffer = [0u8; 5];
        buffer[..chunk.len()].copy_from_slice(chunk);
        let bits = buffer.iter().fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
        let characters = (chunk.len() * 8).div_ceil(5);
        for index in 0..characters {
            out.push(BASE32[((bits >> (35 - index * 5)) & 31) as usize] as char);
        }
    }
    out
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits: u64 = 0;
    let mut held = 0;
    let mut out = Vec::new();
    for character in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = BASE32.iter().position(|b| *b as char == character.to_ascii_uppercase())? as u64;
        bits = (bits << 5) | value;
        held += 5;
        if held >= 8 {
            held -= 8;
            out.push((bits >> held) as u8);
        }
    }
    Some(out)
}

/// What the set-up page shows: the secret to type in, and the same as a QR code.
pub struct Setup {
    pub secret: String,
    pub uri: String,
    /// An inline SVG picture of `uri`.
    pub qr_svg: String,
}

/// The secret being set up for `user` (made on first call, kept until it is turned on, so a
/// reload shows the code already scanned).
pub async fn setup(db: &Db, user: &User, issuer: &str, now: Timestamp) -> Result<Setup> {
    // A key shown long ago may have been seen by someone else since: a fresh one then.
    let stored: Option<String> =
        sqlx::query_scalar("SELECT totp_secret FROM users WHERE id = $1 AND totp_enabled_at IS NULL AND totp_created_at > $2")
            .bind(user.id)
            .bind(now - PENDING_KEY_SECONDS)
            .fetch_optional(db.pool())
            .await?
            .flatten();
    let secret = match stored {
        Some(secret) => secret,
        None => {
            let mut bytes = [0u8; 20];
            OsRng.fill_bytes(&mut bytes);
            let secret = base32_encode(&bytes);
            sqlx::query("UPDATE users SET totp_secret = $1, totp_created_at = $3 WHERE id = $2 AND totp_enabled_at IS NULL")
                .bind(&secret)
                .bind(user.id)
                .bind(now)
                .execute(db.pool())
                .await?;
            secret
        }
    };
    let label = percent_encoding::utf8_percent_encode(&format!("{issuer}:{}", user.email), percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let issuer_param = percent_encoding::utf8_percent_encode(issuer, percent_encoding::NON_ALPHANUMERIC).to_string();
    let uri = format!("otpauth://totp/{label}?secret={secret}&issuer={issuer_param}&algorithm=SHA1&digits=6&period=30");
    let qr_svg = QrCode::new(uri.as_bytes())
        .map_err(|error| Error::Internal(anyhow::anyhow!("QR code: {error}")))?
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .build();
    // The picture alone, without the XML declaration, to sit inside the page.
    let qr_svg = qr_svg.find("<svg").map_or(qr_svg.clone(), |start| qr_svg[start..].to_owned());
    Ok(Setup { secret, uri, qr_svg })
}

/// The step of a code that matches `secret` around `now`, if any, and later than `after`
/// (each code works once).
fn matching_step(secret: &str, code: &str, now: Timestamp, after: Option<i64>) -> Option<i64> {
    let secret = base32_decode(secret)?;
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let current = now.div_euclid(STEP_SECONDS);
    (current - DRIFT_STEPS..=current + DRIFT_STEPS)
        .filter(|step| after.is_none_or(|after| *step > after))
        .find(|step| tokens::constant_time_eq(&code_at(&secret, *step), &code))
}

/// Turns two-factor on with a code from the app; answers the recovery codes, shown once.
pub async fn enable(db: &Db, user: &User, code: &str, now: Timestamp) -> Result<Vec<String>> {
    let secret: Option<String> = sqlx::query_scalar("SELECT totp_secret FROM users WHERE id = $1 AND totp_enabled_at IS NULL")
        .bind(user.id)
        .fetch_optional(db.pool())
        .await?
        .flatten();
    let Some((secret, step)) = secret.and_then(|secret| matching_step(&secret, code, now, None).map(|step| (secret, step)))
    else {
        return Err(Error::Invalid(FieldErrors::single(
            "code",
            "That code does not match. Enter the 6 digits the app shows now.",
        )));
    };
    let part = || tokens::random_text(5).to_lowercase();
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| format!("{}-{}", part(), part())).collect();
    let mut tx = db.begin_write().await?;
    // Only the key that matched, and only once: a second submit finds it on already.
    let turned_on = sqlx::query(
        "UPDATE users SET totp_enabled_at = $1, totp_last_step = $2 WHERE id = $3 AND totp_enabled_at IS NULL AND totp_secret = $4",
    )
    .bind(now)
    .bind(step)
    .bind(user.id)
    .bind(&secret)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if turned_on != 1 {
        return Err(Error::Conflict("Two-factor sign-in is on already.".into()));
    }
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user.id).execute(&mut *tx).await?;
    for code in &codes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user.id)
            .bind(tokens::digest(&normalize(code)))
            .execute(&mut *tx)
            .await?;
    }
    audit::record(&mut tx, entry(user.id, user.id, false, true), now).await?;
    tx.commit().await?;
    Ok(codes)
}

/// Turns two-factor off, with the account's password.
pub async fn disable(db: &Db, user: &User, password: &str, now: Timestamp) -> Result<()> {
    if users::authenticate(db, &user.email, password).await?.is_none() {
        return Err(Error::Invalid(FieldErrors::single("password", "That is not your password.")));
    }
    let mut tx = db.begin_write().await?;
    turn_off(&mut tx, user.id, user.id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Turns two-factor off for someone who lost both the phone and the recovery codes: an
/// admin's decision, audited under the admin's name. The account is signed out everywhere
/// (whoever has the lost phone may have a session too) and its owner is told by mail.
/// Admins turn their own off from the profile, where the password is asked.
pub async fn reset_by_admin(db: &Db, user_id: i64, admin: &User, now: Timestamp) -> Result<()> {
    if user_id == admin.id {
        return Err(Error::Conflict("Turn your own two-factor sign-in off from your profile, with your password.".into()));
    }
    let mut tx = db.begin_write().await?;
    let Some(email) = turn_off(&mut tx, user_id, admin.id, now).await? else {
        return Err(Error::Conflict("Two-factor sign-in is off for this account already.".into()));
    };
    users::sign_out_everywhere(&mut tx, user_id, None).await?;
    account_mail::enqueue(&mut tx, AccountMail::TwoFactorReset, user_id, &email, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Forgets the account's key and recovery codes, if two-factor was on; answers the
/// account's address then.
async fn turn_off(tx: &mut Tx, user_id: i64, actor_id: i64, now: Timestamp) -> Result<Option<String>> {
    let email: Option<String> = sqlx::query_scalar(
        "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL \
         WHERE id = $1 AND totp_enabled_at IS NOT NULL RETURNING email",
    )
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    if email.is_some() {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut **tx).await?;
        audit::record(tx, entry(user_id, actor_id, true, false), now).await?;
    }
    Ok(email)
}

fn entry(user_id: i64, actor_id: i64, before: bool, after: bool) -> audit::Entry<'static> {
    audit::Entry {
        actor_id: Some(actor_id),
        action: "user.two_factor",
        object_type: "user",
        object_id: user_id.to_string(),
        before: Some(json!({ "two_factor": before })),
        after: Some(json!({ "two_factor": after })),
    }
}

/// A recovery code as typed: case, spaces and dashes do not matter.
fn normalize(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase()
}

/// Whether `code` — the app's current code, not used before, or an unused recovery code —
/// lets `user_id` finish signing in. Either is spent by it.
pub async fn check_sign_in_code(db: &Db, user_id: i64, code: &str, now: Timestamp) -> Result<bool> {
    let stored: Option<(Option<String>, Option<i64>, Flag)> =
        sqlx::query_as("SELECT totp_secret, totp_last_step, (totp_enabled_at IS NOT NULL) FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?;
    let Some((Some(secret), last_step, Flag(true))) = stored else { return Ok(false) };
    if let Some(step) = matching_step(&secret, code, now, last_step) {
        // Spent only if no one spent this step (or a later one) meanwhile.
        let spent =
            sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)")
                .bind(step)
                .bind(user_id)
                .execute(db.pool())
                .await?
                .rows_affected();
        return Ok(spent == 1);
    }
    let normalized = normalize(code);
    if normalized.len() != 10 {
        return Ok(false);
    }
    let mut tx = db.begin_write().await?;
    let spent = sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
        .bind(now)
        .bind(user_id)
        .bind(tokens::digest(&normalized))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if spent == 1 {
        let entry = audit::Entry {
            actor_id: Some(user_id),
            action: "user.recovery_code",
            object_type: "user",
            object_id: user_id.to_string(),
            before: None,
            after: Some(json!({ "recovery_code": "used" })),
        };
        audit::record(&mut tx, entry, now).await?;
    }
    tx.commit().await?;
    Ok(spent == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_rfc_6238() {
        // RFC 6238, appendix B: the SHA-1 key "12345678901234567890"; its 8-digit codes end in these 6.
        let key = b"12345678901234567890";
        assert_eq!(code_at(key, 59 / 30), "287082");
        assert_eq!(code_at(key, 1_111_111_109 / 30), "081804");
        assert_eq!(code_at(key, 2_000_000_000 / 30), "279037");
    }

    #[test]
    fn base32_round_trips() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw 6ytb oi======").unwrap(), b"foobar");
        assert!(base32_decode("not base32!").is_none());
    }

    #[test]
    fn a_code_counts_near_its_moment_and_once() {
        let secret = base32_encode(b"12345678901234567890");
        let code = code_at(b"12345678901234567890", 1000);
        assert_eq!(matching_step(&secret, &code, 1000 * 30 + 5, None), Some(1000));
        assert_eq!(matching_step(&secret, &code, 1001 * 30 + 5, None), Some(1000), "one step of drift");
        assert_eq!(matching_step(&secret, &code, 1003 * 30, None), None, "too late");
        assert_eq!(matching_step(&secret, &code, 1000 * 30, Some(1000)), None, "used already");
    }
}
