//! How times and message bodies are shown: relative times with the exact one beside them,
//! and plain text whose URLs become links — as separate pieces, so that askama escapes
//! every piece and no user text is ever trusted as markup.

use time::OffsetDateTime;
use time::macros::format_description;

use crate::domain::clock::Timestamp;

/// A moment as a page shows it: `<time datetime="{iso}" title="{exact}">{relative}</time>`.
#[derive(Clone, Debug)]
pub struct Moment {
    pub iso: String,
    pub exact: String,
    pub relative: String,
}

impl Moment {
    pub fn new(at: Timestamp, now: Timestamp) -> Self {
        let moment = OffsetDateTime::from_unix_timestamp(at).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let iso = moment.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z")).unwrap_or_default();
        let exact = moment.format(format_description!("[year]-[month]-[day] [hour]:[minute] UTC")).unwrap_or_default();
        Self { iso, exact, relative: relative(at, now) }
    }
}

/// "just now", "5 min ago", "3 h ago", "2 d ago", or "in 2 h" for the future.
pub fn relative(at: Timestamp, now: Timestamp) -> String {
    let seconds = now - at;
    if seconds.abs() < 60 {
        return "just now".into();
    }
    let span = span(seconds.abs());
    if seconds > 0 { format!("{span} ago") } else { format!("in {span}") }
}

/// A duration in its largest whole unit: "5 min", "3 h", "2 d".
pub fn span(seconds: i64) -> String {
    match seconds {
        s if s < 3600 => format!("{} min", (s / 60).max(1)),
        s if s < 86_400 => format!("{} h", s / 3600),
        s if s < 60 * 86_400 => format!("{} d", s / 86_400),
        s if s < 730 * 86_400 => format!("{} mo", s / (30 * 86_400)),
        s => format!("{} y", s / (365 * 86_400)),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    Link(String),
}

/// Splits text into plain pieces and `http(s)://` links. Punctuation that ends a
/// sentence is not part of the link.
pub fn segments(text: &str) -> Vec<Segment> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = find_link_start(rest) {
        let tail = &rest[start..];
        let end = tail.find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"')).unwrap_or(tail.len());
        let link = tail[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '\'']);
        if link.len() <= "https://".len() {
            push_text(&mut pieces, &rest[..start + end.max(1)]);
            rest = &rest[start + end.max(1)..];
            continue;
        }
        push_text(&mut pieces, &rest[..start]);
        pieces.push(Segment::Link(link.to_owned()));
        rest = &rest[start + link.len()..];
    }
    push_text(&mut pieces, rest);
    pieces
}

fn push_text(pieces: &mut Vec<Segment>, text: &str) {
    if text.is_empty() {
        return;
    }
    match pieces.last_mut() {
        Some(Segment::Text(previous)) => previous.push_str(text),
        _ => pieces.push(Segment::Text(text.to_owned())),
    }
}

fn find_link_start(text: &str) -> Option<usize> {
    match (text.find("http://"), text.find("https://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(1000, 1030), "just now");
        assert_eq!(relative(0, 300), "5 min ago");
        assert_eq!(relative(0, 3 * 3600 + 5), "3 h ago");
        assert_eq!(relative(0, 2 * 86_400), "2 d ago");
        assert_eq!(relative(7200, 0), "in 2 h");
    }

    #[test]
    fn moments_carry_the_exact_time() {
        let moment = Moment::new(1_795_436_400, 1_795_436_400);
        assert_eq!(moment.iso, "2026-11-23T12:20:00Z");
        assert_eq!(moment.exact, "2026-11-23 12:20 UTC");
    }

    #[test]
    fn urls_become_links_without_their_trailing_punctuation() {
        assert_eq!(
            segments("See https://example.com/a?b=1. Or http://x.org)"),
            vec![
                Segment::Text("See ".into()),
                Segment::Link("https://example.com/a?b=1".into()),
                Segment::Text(". Or ".into()),
                Segment::Link("http://x.org".into()),
                Segment::Text(")".into()),
            ]
        );
        assert_eq!(segments("no links <b>"), vec![Segment::Text("no links <b>".into())]);
        assert_eq!(segments("bare https:// here"), vec![Segment::Text("bare https:// here".into())]);
        assert_eq!(
            segments("x<https://a.b/\"onmouseover=\"y>"),
            vec![Segment::Text("x<".into()), Segment::Link("https://a.b/".into()), Segment::Text("\"onmouseover=\"y>".into())]
        );
    }
}
