//! Full-text search over tickets: SQLite's FTS5 and PostgreSQL's tsvector with a GIN
//! index, behind the same functions. A ticket's document is its subject, its requester's
//! name and email and its organisation's name (ranked first), then every message body, the names of its
//! files (not those removed), its tags and its field values. PostgreSQL's parser
//! keeps an address whole, so its documents also hold the address split at `@`: a search
//! then finds a customer by the part before it or by their domain, as FTS5 does. This is
//! the one place the two dialects differ for search.
//!
//! A search matches tickets holding every word typed. A plain word of three characters or
//! more also matches as the start of a word ("priya silv" finds Priya Silva); anything
//! else (an address, a domain, a short word) matches as it is.

use super::{Backend, Tx};

/// The part of a document ranked first, from `t` (the ticket), `r` (its requester) and `o`
/// (its organisation, if any): FTS5's `subject` column, and PostgreSQL's weight-A vector.
const FTS_HEADLINE: &str = "t.subject || ' ' || r.name || ' ' || r.email || ' ' || COALESCE(o.name, '')";
const PG_HEADLINE: &str = "setweight(to_tsvector('english', t.subject || ' ' || r.name || ' ' || r.email || ' ' || \
     replace(r.email, '@', ' ') || ' ' || COALESCE(o.name, '')), 'A')";
/// The tables the headline reads.
const HEADLINE_FROM: &str =
    "tickets t JOIN users r ON r.id = t.requester_id LEFT JOIN organisations o ON o.id = t.organisation_id";

/// The names of ticket `t`'s files, for its document. PostgreSQL's parser keeps
/// `server.log` whole, so its names also come split at the dots.
const FTS_FILE_NAMES: &str =
    "COALESCE((SELECT group_concat(a.filename, ' ') FROM attachments a WHERE a.ticket_id = t.id AND a.removed_at IS NULL), '')";
const PG_FILE_NAMES: &str = "COALESCE((SELECT string_agg(a.filename || ' ' || replace(a.filename, '.', ' '), ' ') \
     FROM attachments a WHERE a.ticket_id = t.id AND a.removed_at IS NULL), '')";

/// Ticket `t`'s tags and field values, for its document (the same SQL on both), but for
/// those of the field `leaving` names (about to be deleted, its id bound as `$1`).
fn shaping(leaving: Option<&str>) -> String {
    format!(
        "COALESCE((SELECT string_agg(g.tag, ' ') FROM ticket_tags g WHERE g.ticket_id = t.id), '') || ' ' || \
         COALESCE((SELECT string_agg(v.value, ' ') FROM ticket_field_values v WHERE v.ticket_id = t.id{}), '')",
        leaving.unwrap_or_default()
    )
}

/// Which documents to rebuild.
#[derive(Clone, Copy, Debug)]
pub enum Documents {
    /// One ticket's, after a change to it.
    Ticket(i64),
    /// Every ticket of one requester, whose name, email or organisation changed.
    OfRequester(i64),
    /// Every ticket of one organisation, whose name changed.
    OfOrganisation(i64),
    /// Every ticket of one organisation about to be deleted: its name leaves them.
    LeavingOrganisation(i64),
    /// Every ticket with a value of one field about to be deleted: its values leave them.
    LeavingField(i64),
}

/// Rebuilds documents from the tickets' subjects, requesters and all their messages.
pub async fn reindex(tx: &mut Tx, backend: Backend, documents: Documents) -> sqlx::Result<()> {
    let from = match documents {
        Documents::LeavingOrganisation(_) => format!("{HEADLINE_FROM} AND o.id <> $1"),
        _ => HEADLINE_FROM.to_owned(),
    };
    let (id, scope, rowids) = match documents {
        Documents::Ticket(id) => (id, "t.id = $1", "rowid = $1"),
        Documents::OfRequester(id) => (id, "t.requester_id = $1", "rowid IN (SELECT id FROM tickets WHERE requester_id = $1)"),
        Documents::OfOrganisation(id) | Documents::LeavingOrganisation(id) => {
            (id, "t.organisation_id = $1", "rowid IN (SELECT id FROM tickets WHERE organisation_id = $1)")
        }
        Documents::LeavingField(id) => (
            id,
            "t.id IN (SELECT ticket_id FROM ticket_field_values WHERE field_id = $1)",
            "rowid IN (SELECT ticket_id FROM ticket_field_values WHERE field_id = $1)",
        ),
    };
    let shaping = shaping(matches!(documents, Documents::LeavingField(_)).then_some(" AND v.field_id <> $1"));
    let statements: Vec<String> = match backend {
        Backend::Sqlite => vec![
            format!("DELETE FROM ticket_search WHERE {rowids}"),
            format!(
                "INSERT INTO ticket_search (rowid, subject, body) \
                 SELECT t.id, {FTS_HEADLINE}, COALESCE((SELECT group_concat(m.body, ' ') \
                 FROM messages m WHERE m.ticket_id = t.id AND m.kind <> 'event'), '') || ' ' || {FTS_FILE_NAMES} || ' ' || {shaping} \
                 FROM {from} WHERE {scope}"
            ),
        ],
        Backend::Postgres => vec![format!(
            "INSERT INTO ticket_search (ticket_id, document) \
             SELECT t.id, {PG_HEADLINE} || \
             setweight(to_tsvector('english', COALESCE((SELECT string_agg(m.body, ' ') FROM messages m \
             WHERE m.ticket_id = t.id AND m.kind <> 'event'), '') || ' ' || {PG_FILE_NAMES} || ' ' || {shaping}), 'B') \
             FROM {from} WHERE {scope} \
             ON CONFLICT (ticket_id) DO UPDATE SET document = excluded.document"
        )],
    };
    for statement in &statements {
        sqlx::query(statement).bind(id).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Rebuilds every document at once, for bulk loads.
pub async fn reindex_all(tx: &mut Tx, backend: Backend) -> sqlx::Result<()> {
    let shaping = shaping(None);
    let insert = match backend {
        Backend::Sqlite => format!(
            "INSERT INTO ticket_search (rowid, subject, body) \
             SELECT t.id, {FTS_HEADLINE}, COALESCE(b.body, '') || ' ' || {FTS_FILE_NAMES} || ' ' || {shaping} \
             FROM {HEADLINE_FROM} LEFT JOIN \
             (SELECT ticket_id, group_concat(body, ' ') AS body FROM messages WHERE kind <> 'event' GROUP BY ticket_id) b \
             ON b.ticket_id = t.id"
        ),
        Backend::Postgres => format!(
            "INSERT INTO ticket_search (ticket_id, document) \
             SELECT t.id, {PG_HEADLINE} || setweight(to_tsvector('english', COALESCE(b.body, '') || ' ' || {PG_FILE_NAMES} || ' ' || \
             {shaping}), 'B') \
             FROM {HEADLINE_FROM} LEFT JOIN \
             (SELECT ticket_id, string_agg(body, ' ') AS body FROM messages WHERE kind <> 'event' GROUP BY ticket_id) b \
             ON b.ticket_id = t.id"
        ),
    };
    for statement in ["DELETE FROM ticket_search", insert.as_str()] {
        sqlx::query(statement).execute(&mut **tx).await?;
    }
    Ok(())
}

/// PostgreSQL's reading of a search bound at `$parameter`, as [`prepare`] writes it.
fn pg_query(parameter: &str) -> String {
    format!("to_tsquery('english', {parameter})")
}

/// A subquery of `(ticket_id, rank)` for the tickets that match the query bound at
/// `$parameter`; a lower rank is a better match.
pub fn matches(backend: Backend, parameter: usize) -> String {
    match backend {
        Backend::Sqlite => format!(
            "SELECT rowid AS ticket_id, bm25(ticket_search, 4.0, 1.0) AS rank FROM ticket_search \
             WHERE ticket_search MATCH ${parameter}"
        ),
        Backend::Postgres => {
            let query = pg_query(&format!("${parameter}"));
            format!("SELECT ticket_id, -ts_rank(document, {query})::float8 AS rank FROM ticket_search WHERE document @@ {query}")
        }
    }
}

/// The ids of the tickets that match the query bound at `placeholder`, as `ticket_id`.
pub fn matching_ids(backend: Backend, placeholder: &str) -> String {
    match backend {
        Backend::Sqlite => format!("SELECT rowid AS ticket_id FROM ticket_search WHERE ticket_search MATCH {placeholder}"),
        Backend::Postgres => format!("SELECT ticket_id FROM ticket_search WHERE document @@ {}", pg_query(placeholder)),
    }
}

/// How many tickets match, counting no further than `cap`: cheap on both indexes.
pub fn count_capped(backend: Backend, cap: i64) -> String {
    format!("SELECT COUNT(*) FROM ({} LIMIT {cap}) capped", matching_ids(backend, "$1"))
}

/// A condition on `t` (tickets) that holds when the ticket matches the query bound at
/// `placeholder`, for walking a view in its own order and keeping the matches: the
/// matching ids are gathered once and each ticket is looked up among them. (On SQLite the
/// `+` keeps the planner from driving the walk from that set instead of from the view.)
pub fn is_match(backend: Backend, placeholder: &str) -> String {
    let ids = matching_ids(backend, placeholder);
    match backend {
        Backend::Sqlite => format!("+t.id IN ({ids})"),
        Backend::Postgres => format!("t.id IN ({ids})"),
    }
}

/// A condition like [`is_match`], checked ticket by ticket against the index: cheaper than
/// gathering the matches once they are a large share of all tickets, as the page then
/// fills after a few checks. FTS5 only: PostgreSQL's planner makes this choice itself.
/// None for `prepared` text with a word matched as a prefix: FTS5 reads every term that
/// starts with it on each check (a page of "refund processed" at a million tickets took
/// 2.8 s checked, 35 ms gathered).
pub fn probe(backend: Backend, placeholder: &str, prepared: &str) -> Option<String> {
    match backend {
        Backend::Sqlite if !prepared.contains("\"*") => {
            Some(format!("EXISTS (SELECT 1 FROM ticket_search WHERE ticket_search MATCH {placeholder} AND rowid = t.id)"))
        }
        Backend::Sqlite | Backend::Postgres => None,
    }
}

/// Reading the matches straight from the index, newest ticket first, joined to `t`: the
/// cheapest way through a common word in a large view, where the page fills after a few
/// dozen matches. Only FTS5 reads its matches in ticket order; a GIN index cannot.
pub struct IndexOrder {
    /// Replaces `tickets t` in the FROM clause.
    pub from: &'static str,
    /// The match condition, with `?` for the query's placeholder.
    pub condition: &'static str,
    pub order_by: &'static str,
}

pub fn index_order(backend: Backend) -> Option<IndexOrder> {
    match backend {
        // CROSS JOIN fixes the join order in SQLite: the index outside, tickets inside.
        Backend::Sqlite => Some(IndexOrder {
            from: "ticket_search s CROSS JOIN tickets t ON t.id = s.rowid",
            condition: "ticket_search MATCH ?",
            order_by: "s.rowid DESC",
        }),
        Backend::Postgres => None,
    }
}

/// What to bind for the functions above: every word typed, all of which must match. FTS5
/// reads operators and column names in raw input and PostgreSQL's `to_tsquery` its own
/// syntax, so each word is quoted as a term (`"silv"*` and `'silv':*` when it may start a
/// word). `None` when nothing searchable is left.
pub fn prepare(backend: Backend, input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split_whitespace()
        .take(SEARCH_MAX_WORDS)
        .map(|word| {
            let prefix = word.chars().count() >= PREFIX_MIN_CHARS && word.chars().all(char::is_alphanumeric);
            match backend {
                Backend::Sqlite => format!("\"{}\"{}", word.replace('"', "\"\""), if prefix { "*" } else { "" }),
                Backend::Postgres => {
                    format!("'{}'{}", word.replace('\\', "\\\\").replace('\'', "''"), if prefix { ":*" } else { "" })
                }
            }
        })
        .collect();
    if terms.is_empty() {
        return None;
    }
    Some(terms.join(match backend {
        Backend::Sqlite => " ",
        Backend::Postgres => " & ",
    }))
}

/// Words of a search read; those after are ignored (a deep query only costs the index).
const SEARCH_MAX_WORDS: usize = 32;

/// A plain word this long or longer also matches the start of a longer one: shorter
/// prefixes would each match a large share of all words.
const PREFIX_MIN_CHARS: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_quoted_word_by_word_and_plain_words_match_their_start() {
        assert_eq!(prepare(Backend::Sqlite, "search -engines").unwrap(), "\"search\"* \"-engines\"");
        assert_eq!(prepare(Backend::Sqlite, "unbalanced \"quote").unwrap(), "\"unbalanced\"* \"\"\"quote\"");
        assert_eq!(prepare(Backend::Sqlite, "priya silv ab").unwrap(), "\"priya\"* \"silv\"* \"ab\"");
        assert_eq!(prepare(Backend::Postgres, "  printer   jam ").unwrap(), "'printer':* & 'jam':*");
        assert_eq!(prepare(Backend::Postgres, "it's a:b C:\\dir").unwrap(), "'it''s' & 'a:b' & 'C:\\\\dir'");
        assert_eq!(prepare(Backend::Postgres, "ann@example.com").unwrap(), "'ann@example.com'");
        assert_eq!(prepare(Backend::Sqlite, "   "), None);
    }
}
