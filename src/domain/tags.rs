//! Tags: short words staff put on tickets to find them again (`vip`, `outage-2026-11`).
//! Customers never see them. How many tickets carry each is kept by the database
//! (`tag_counts`), so the desk's list of tags costs one short read at any size.

use std::collections::{BTreeMap, BTreeSet};

use crate::db::{Db, Tx, id_list};
use crate::domain::{Error, FieldErrors, Result};

pub const TAG_LENGTH_MAX: usize = 40;
/// Tags one ticket may carry.
pub const TAGS_PER_TICKET_MAX: usize = 30;

/// One tag: lower-cased, `[a-z0-9][a-z0-9_.-]{0,39}`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    pub fn parse(input: &str) -> std::result::Result<Self, String> {
        let tag = input.trim().to_lowercase();
        let well_formed = (1..=TAG_LENGTH_MAX).contains(&tag.len())
            && tag.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && tag.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
        if well_formed {
            Ok(Self(tag))
        } else {
            Err(format!(
                "“{}” is not a tag: use up to {TAG_LENGTH_MAX} letters, digits, dots, dashes or underscores, \
                 starting with a letter or digit.",
                input.trim()
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A ticket's whole set of tags, as typed: comma- (or space-) separated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagSet(pub BTreeSet<Tag>);

impl TagSet {
    pub fn parse(input: &str) -> Result<Self> {
        Self::from_words(input.split(|c: char| c == ',' || c.is_whitespace()).filter(|word| !word.is_empty()), "tags")
    }

    /// From separate words (the API's list), errors under `field`.
    pub fn from_words<'a>(words: impl IntoIterator<Item = &'a str>, field: &'static str) -> Result<Self> {
        let mut tags = BTreeSet::new();
        for word in words {
            tags.insert(Tag::parse(word).map_err(|message| Error::Invalid(FieldErrors::single(field, message)))?);
        }
        if tags.len() > TAGS_PER_TICKET_MAX {
            return Err(Error::Invalid(FieldErrors::single(field, format!("At most {TAGS_PER_TICKET_MAX} tags per ticket."))));
        }
        Ok(Self(tags))
    }

    pub fn words(&self) -> Vec<String> {
        self.0.iter().map(|tag| tag.0.clone()).collect()
    }
}

/// A change to a ticket's tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagChange {
    /// The whole set, replacing what it has.
    Replace(TagSet),
    /// Tags added and removed, the others kept (the bulk bar).
    Adjust { add: Vec<Tag>, remove: Vec<Tag> },
}

pub async fn of_ticket<'c>(executor: impl sqlx::Executor<'c, Database = sqlx::Any>, ticket_id: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT tag FROM ticket_tags WHERE ticket_id = $1 ORDER BY tag")
        .bind(ticket_id)
        .fetch_all(executor)
        .await?)
}

/// The tags of many tickets in one statement, by ticket id.
pub async fn of_tickets(db: &Db, ticket_ids: &[i64]) -> Result<BTreeMap<i64, Vec<String>>> {
    let mut by_ticket: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    if ticket_ids.is_empty() {
        return Ok(by_ticket);
    }
    let sql = format!("SELECT ticket_id, tag FROM ticket_tags WHERE ticket_id IN ({}) ORDER BY tag", id_list(ticket_ids));
    for (ticket_id, tag) in sqlx::query_as::<_, (i64, String)>(&sql).fetch_all(db.pool()).await? {
        by_ticket.entry(ticket_id).or_default().push(tag);
    }
    Ok(by_ticket)
}

/// Applies `change` to the ticket's tags; answers the tags before and after when they
/// differ. Tags are removed and added in one pass in the tags' order, so concurrent
/// changes lock their counts (`tag_counts`, by trigger) in the same order and never wait
/// on each other in a circle.
pub async fn store(tx: &mut Tx, ticket_id: i64, change: &TagChange) -> Result<Option<(Vec<String>, Vec<String>)>> {
    let before = of_ticket(&mut **tx, ticket_id).await?;
    let mut after: BTreeSet<String> = match change {
        TagChange::Replace(set) => set.words().into_iter().collect(),
        TagChange::Adjust { .. } => before.iter().cloned().collect(),
    };
    if let TagChange::Adjust { add, remove } = change {
        after.extend(add.iter().map(|tag| tag.as_str().to_owned()));
        for tag in remove {
            after.remove(tag.as_str());
        }
    }
    if after.len() > TAGS_PER_TICKET_MAX {
        return Err(Error::Invalid(FieldErrors::single("tags", format!("At most {TAGS_PER_TICKET_MAX} tags per ticket."))));
    }
    let after: Vec<String> = after.into_iter().collect();
    if after == before {
        return Ok(None);
    }
    let touched: BTreeSet<&String> = before.iter().chain(&after).collect();
    for tag in touched {
        let statement = match (before.contains(tag), after.contains(tag)) {
            (true, false) => "DELETE FROM ticket_tags WHERE ticket_id = $1 AND tag = $2",
            (false, true) => "INSERT INTO ticket_tags (ticket_id, tag) VALUES ($1, $2)",
            _ => continue,
        };
        sqlx::query(statement).bind(ticket_id).bind(tag).execute(&mut **tx).await?;
    }
    Ok(Some((before, after)))
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TagCount {
    pub tag: String,
    pub tickets: i64,
}

/// The most used tags, most used first.
pub async fn most_used(db: &Db, limit: i64) -> Result<Vec<TagCount>> {
    Ok(sqlx::query_as(&format!("SELECT tag, tickets FROM tag_counts ORDER BY tickets DESC, tag LIMIT {limit}"))
        .fetch_all(db.pool())
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_lower_cased_words() {
        assert_eq!(Tag::parse(" VIP ").unwrap().as_str(), "vip");
        for good in ["outage-2026.11", "a_b", "9lives", &"t".repeat(40)] {
            assert!(Tag::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "-x", ".x", "a b", "ä", "a/b", &"t".repeat(41)] {
            assert!(Tag::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_set_is_read_from_commas_and_spaces() {
        let set = TagSet::parse("vip, Billing,,vip\nrefund").unwrap();
        assert_eq!(set.words(), ["billing", "refund", "vip"]);
        assert_eq!(TagSet::parse("  ").unwrap(), TagSet::default());
        assert!(TagSet::parse("ok, not/ok").is_err());
        let many: Vec<String> = (0..31).map(|n| format!("t{n}")).collect();
        assert!(TagSet::parse(&many.join(",")).is_err());
    }
}
