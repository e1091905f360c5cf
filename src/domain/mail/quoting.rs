//! Reading what a person wrote in a mail: the ticket tag in its subject, the subject
//! without reply markers, and the new text above the quoted conversation.

use mail_parser::Message;

use crate::domain::tickets::TicketNumber;

/// `("TCK-", 1001)` for a subject carrying `[TCK-1001]`.
pub(super) fn tag_in_subject(subject: &str) -> Option<(String, TicketNumber)> {
    subject.match_indices('[').find_map(|(start, _)| {
        let inside = &subject[start + 1..];
        let tag = &inside[..inside.find(']')?];
        // The number is the run of digits at the end; the prefix may hold digits too.
        let digits_at = tag.rfind(|c: char| !c.is_ascii_digit()).map_or(0, |last| last + 1);
        let (prefix, digits) = tag.split_at(digits_at);
        let prefix_ok = prefix.len() <= 10 && prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        prefix_ok.then(|| TicketNumber::parse(digits)).flatten().map(|number| (prefix.to_owned(), number))
    })
}

/// The new text of a reply: the body (HTML turned into text when there is no text part)
/// without the quoted conversation below our marker or an "On … wrote:" line, quoted
/// lines, and the signature.
pub fn reply_text(mail: &Message<'_>, marker: &str) -> String {
    let body = mail.body_text(0).map(|text| text.into_owned()).unwrap_or_default();
    strip_quoted(&body, marker)
}

fn strip_quoted(body: &str, marker: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in body.lines() {
        let trimmed = line.trim();
        let quote_header = (trimmed.starts_with("On ") && trimmed.ends_with("wrote:"))
            // German clients put the writer after the verb: "Am …, schrieb Name <address>:".
            || (trimmed.starts_with("Am ") && trimmed.ends_with(':') && (trimmed.contains(" schrieb ") || trimmed.ends_with("schrieb:")))
            || (trimmed.starts_with("Le ") && trimmed.ends_with("a écrit :"));
        let signature = line == "-- " || trimmed == "--" || trimmed.starts_with("Sent from my ");
        let outlook =
            trimmed.starts_with("-----Original Message-----") || trimmed.starts_with("________________________________");
        if trimmed.contains(marker) || quote_header || signature || outlook {
            break;
        }
        if !trimmed.starts_with('>') {
            kept.push(line);
        }
    }
    kept.join("\n").trim().to_owned()
}

/// The subject without reply and forward markers.
pub(super) fn clean_subject(subject: &str) -> String {
    let mut rest = subject.trim();
    loop {
        let lower = rest.to_ascii_lowercase();
        let Some(marker) = ["re:", "fwd:", "fw:", "aw:", "wg:"].iter().find(|marker| lower.starts_with(**marker)) else {
            break;
        };
        rest = rest[marker.len()..].trim_start();
    }
    rest.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_tags_and_markers_are_read() {
        let tag = tag_in_subject("Re: [TCK-1001] Printer on fire").unwrap();
        assert_eq!((tag.0.as_str(), tag.1.get()), ("TCK-", 1001));
        assert_eq!(
            tag_in_subject("[urgent] [HD2-77] x").map(|(prefix, number)| (prefix, number.get())),
            Some(("HD2-".into(), 77))
        );
        assert_eq!(tag_in_subject("[no number] here"), None);
        assert_eq!(clean_subject("RE: Fwd:  Printer"), "Printer");
    }

    #[test]
    fn quoted_history_and_signatures_are_cut() {
        let marker = "## Reply above this line ##";
        let body = "Thanks, that worked.\n\nCarla\n-- \nCarla Customer\nACME\n";
        assert_eq!(strip_quoted(body, marker), "Thanks, that worked.\n\nCarla");
        let quoted = "Still broken.\n\nOn Mon, 23 Nov 2026 at 10:00, Helpdesk <help@x.example> wrote:\n> ## Reply above this line ##\n> Hello";
        assert_eq!(strip_quoted(quoted, marker), "Still broken.");
        assert_eq!(strip_quoted("Top\n> quoted\nmore\nSent from my phone", marker), "Top\nmore");
        let german = "Geht nicht.\n\nAm Mo., 30. Nov. 2026 um 10:00 schrieb Helpdesk <help@x.example>:\n> Alt";
        assert_eq!(strip_quoted(german, marker), "Geht nicht.");
        let french = "Toujours pas.\n\nLe lun. 30 nov. 2026 à 10:00, Helpdesk <help@x.example> a écrit :\n> Ancien";
        assert_eq!(strip_quoted(french, marker), "Toujours pas.");
    }
}
