//! Who a mail is really from. `From:` alone proves nothing, so a mail counts as its
//! sender's only with proof:
//! - it answers one of our notifications: each carries a Message-ID of its own per
//!   recipient, signed with the installation's key over (recipient, ticket), so a reply
//!   that refers to it shows that its sender received our mail about that ticket; or
//! - the receiving mail server (named by `MAIL_AUTHSERV_ID`) recorded in
//!   `Authentication-Results` that DMARC passed, or that a DKIM signature of the From
//!   domain (or a parent of it) passed.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::accounts::tokens;

/// The signature's length in hex digits: 128 bits.
const SIGNATURE_DIGITS: usize = 32;

fn signature(key: &str, recipient: &str, ticket_id: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{}\n{ticket_id}", recipient.trim().to_lowercase()).as_bytes());
    mac.finalize().into_bytes().iter().take(SIGNATURE_DIGITS / 2).map(|byte| format!("{byte:02x}")).collect()
}

/// A new Message-ID for a mail to `recipient` about `ticket_id`: `<random.ticket.signature@domain>`.
/// Mail about no ticket gets a plain random one.
pub fn message_id(key: &str, recipient: &str, ticket_id: Option<i64>, domain: &str) -> String {
    let unique = tokens::random_text(16);
    match ticket_id {
        Some(ticket_id) => format!("<{unique}.{ticket_id}.{}@{domain}>", signature(key, recipient, ticket_id)),
        None => format!("<{unique}@{domain}>"),
    }
}

/// The tickets that these referenced Message-IDs prove `sender` was mailed about.
pub fn proven_tickets<'a>(key: &str, references: impl IntoIterator<Item = &'a str>, sender: &str) -> Vec<i64> {
    references
        .into_iter()
        .filter_map(|reference| {
            let local = reference.trim().trim_start_matches('<').split('@').next()?;
            let mut parts = local.split('.');
            let (_unique, ticket, signed) = (parts.next()?, parts.next()?, parts.next()?);
            let ticket_id: i64 = ticket.parse().ok()?;
            let expected = signature(key, sender, ticket_id);
            (parts.next().is_none() && tokens::constant_time_eq(&expected, signed)).then_some(ticket_id)
        })
        .collect()
}

/// Whether an `Authentication-Results` header (RFC 8601) written by our mail server,
/// `authserv_id`, vouches for `from_domain`: `dmarc=pass`, or `dkim=pass` with a signing
/// domain equal to the From domain or a parent of it (relaxed alignment). Headers from
/// any other server are ignored: anyone can write one (the server must remove those that
/// claim to be its own). Comments and quoted strings are read as RFC 8601 says, so text a
/// sender controls inside them (a HELO name, an address) cannot pose as a result.
pub fn authenticated(header: &str, authserv_id: &str, from_domain: &str) -> bool {
    let statements = statements(header);
    let Some(server) = statements.first().and_then(|first| first.first()) else { return false };
    if !server.eq_ignore_ascii_case(authserv_id) {
        return false;
    }
    let from_domain = from_domain.to_ascii_lowercase();
    let aligned = |domain: &str| {
        let domain = domain.trim_start_matches('@').to_ascii_lowercase();
        !domain.is_empty() && (from_domain == domain || from_domain.ends_with(&format!(".{domain}")))
    };
    statements.iter().skip(1).any(|words| {
        let property = |name: &str| {
            words
                .iter()
                .find_map(|word| word.split_once('=').filter(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value))
        };
        match words.first().map(|word| word.to_ascii_lowercase()) {
            Some(result) if result == "dmarc=pass" => property("header.from").is_some_and(aligned),
            Some(result) if result == "dkim=pass" => property("header.d")
                .or_else(|| property("header.i"))
                .is_some_and(|signer| aligned(signer.rsplit('@').next().unwrap_or(signer))),
            _ => false,
        }
    })
}

/// The header's `;`-separated statements, each as its words, with comments — `(…)`,
/// nested, with `\` escapes — left out and quoted strings kept whole (unquoted).
fn statements(header: &str) -> Vec<Vec<String>> {
    let mut statements = vec![Vec::new()];
    let mut word = String::new();
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    let end_word = |word: &mut String, statements: &mut Vec<Vec<String>>| {
        if !word.is_empty() {
            statements.last_mut().expect("one statement at least").push(std::mem::take(word));
        }
    };
    for character in header.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                word.push(character);
            }
            continue;
        }
        match character {
            '\\' if quoted || depth > 0 => escaped = true,
            '"' if depth == 0 => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            ';' if !quoted => {
                end_word(&mut word, &mut statements);
                statements.push(Vec::new());
            }
            c if c.is_whitespace() && !quoted => end_word(&mut word, &mut statements),
            c => word.push(c),
        }
    }
    end_word(&mut word, &mut statements);
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_id_proves_its_recipient_and_ticket_only() {
        let id = message_id("key", "Ann@Example.com", Some(42), "help.example");
        assert!(id.starts_with('<') && id.ends_with("@help.example>"), "{id}");
        assert_eq!(proven_tickets("key", [id.as_str()], "ann@example.com"), [42]);
        assert!(proven_tickets("key", [id.as_str()], "mallory@example.com").is_empty());
        assert!(proven_tickets("other key", [id.as_str()], "ann@example.com").is_empty());
        let forged = id.replace(".42.", ".43.");
        assert!(proven_tickets("key", [forged.as_str()], "ann@example.com").is_empty());
        assert!(proven_tickets("key", ["<abc@help.example>", "<ticket-1001@help.example>", ""], "ann@example.com").is_empty());
        assert!(!message_id("key", "ann@example.com", None, "help.example").contains(".42."));
    }

    #[test]
    fn only_our_servers_results_count() {
        let ours = "mx.help.example; spf=pass smtp.mailfrom=example.com; dmarc=pass (p=reject) header.from=example.com";
        assert!(authenticated(ours, "mx.help.example", "example.com"));
        assert!(!authenticated(ours, "mx.other.example", "example.com"));
        assert!(!authenticated(ours, "mx.help.example", "evil.example"));
        let failed = "mx.help.example; dmarc=fail header.from=example.com; dkim=fail header.d=example.com";
        assert!(!authenticated(failed, "mx.help.example", "example.com"));
        let dkim = "mx.help.example; dkim=pass header.d=example.com header.s=sel; dmarc=none";
        assert!(authenticated(dkim, "mx.help.example", "mail.example.com"));
        assert!(!authenticated(dkim, "mx.help.example", "example.com.evil.example"));
        assert!(!authenticated("mx.help.example; spf=pass smtp.mailfrom=example.com", "mx.help.example", "example.com"));
    }

    #[test]
    fn comments_and_quoted_strings_are_read_as_such() {
        // OpenDKIM puts a `;` inside a comment before the signing domain.
        let opendkim = "mx.help.example; dkim=pass (2048-bit key; unprotected) header.d=example.com header.i=@example.com";
        assert!(authenticated(opendkim, "mx.help.example", "example.com"));
        // A HELO name or an address the sender chose, inside a comment or a quoted string,
        // cannot pose as a result of ours.
        let helo = "mx.help.example; spf=none (helo=x; dmarc=pass header.from=example.com) smtp.helo=x";
        assert!(!authenticated(helo, "mx.help.example", "example.com"));
        let quoted = "mx.help.example; spf=pass smtp.mailfrom=\"x; dmarc=pass header.from=example.com\"@evil.example";
        assert!(!authenticated(quoted, "mx.help.example", "example.com"));
        let nested = "mx.help.example (our (nested) server); dmarc=pass (p=none \\) still a comment) header.from=example.com";
        assert!(authenticated(nested, "mx.help.example", "example.com"));
    }
}
