//! What a queue page is asked for: the view, filters, sort and page, read from a query
//! string once for the desk and the API.

use std::collections::BTreeMap;

use time::macros::format_description;

use crate::db::stored_enum;
use crate::domain::FieldErrors;
use crate::domain::clock::Timestamp;
use crate::domain::input::OneOrMany;
use crate::domain::paging::{page_number, strict_page_number};
use crate::domain::tags::Tag;
use crate::domain::tickets::number::TicketNumber;
use crate::domain::tickets::status::{Place, Priority, Status};

pub const DESK_PAGE_SIZE: i64 = 50;
/// Counts stop here: beyond it, "1000+" says all an agent needs, and a count never has
/// to walk a million rows.
pub const COUNT_CAP: i64 = 1_000;
/// Tag and field filters one queue page applies at most.
pub const SHAPING_FILTERS_MAX: usize = 10;

stored_enum!(
    /// The queues in the desk's sidebar.
    pub enum View {
        Unassigned => "unassigned", "Unassigned";
        Mine => "mine", "Mine";
        NeedsMyReply => "needs_my_reply", "Needs my reply";
        MyGroups => "my_groups", "My groups";
        All => "all", "All open";
        Overdue => "overdue", "Overdue";
        DueToday => "due_today", "Due today";
        Pending => "pending", "Pending";
        Resolved => "resolved", "Resolved";
        Closed => "closed", "Closed";
        Everything => "everything", "All tickets";
    } else "Choose one of the desk's views."
);

impl View {
    /// The view holding every ticket of a place.
    pub fn of_place(place: Place) -> View {
        match place {
            Place::Open => View::All,
            Place::Resolved => View::Resolved,
            Place::Closed => View::Closed,
        }
    }

    /// The place this view holds whole, if it is one's view.
    pub fn place(self) -> Option<Place> {
        Place::ALL.into_iter().find(|place| View::of_place(*place) == self)
    }
}

stored_enum!(
    /// How a queue is ordered.
    pub enum Sort {
        Updated => "updated", "Last update";
        Created => "created", "Created";
        Priority => "priority", "Priority";
        Due => "due", "Due";
    } else "Choose updated, created, priority or due."
);

/// Whom a queue is filtered on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssigneeFilter {
    Nobody,
    Agent(i64),
}

/// A filter on a field's value: tickets with that value (one of them, for a
/// multiselect), or with none (`None`: an unticked box, an unset field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldFilter {
    pub key: String,
    pub value: Option<String>,
}

/// Everything a queue page is asked for; every field comes from the query string.
#[derive(Clone, Debug)]
pub struct QueueQuery {
    pub view: View,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub group_id: Option<i64>,
    pub organisation_id: Option<i64>,
    pub assignee: Option<AssigneeFilter>,
    pub text: String,
    /// One ticket by its number: what a number typed into the search box means.
    pub number: Option<TicketNumber>,
    pub created_from: Option<Timestamp>,
    /// Exclusive: the start of the day after the `to` date.
    pub created_before: Option<Timestamp>,
    /// Tags a ticket must all carry.
    pub tags: Vec<Tag>,
    /// Field values a ticket must all have (see [`super::check_field_filters`]).
    pub fields: Vec<FieldFilter>,
    pub sort: Option<Sort>,
    pub page: i64,
    pub limits: QueueLimits,
}

impl Default for QueueQuery {
    fn default() -> Self {
        Self {
            view: View::All,
            status: None,
            priority: None,
            group_id: None,
            organisation_id: None,
            assignee: None,
            text: String::new(),
            number: None,
            created_from: None,
            created_before: None,
            tags: Vec::new(),
            fields: Vec::new(),
            sort: None,
            page: 1,
            limits: QueueLimits::default(),
        }
    }
}

/// Searches matching more tickets than this are not ranked: they list newest first.
pub const RANK_LIMIT: i64 = 1_000;
/// A view (with its filters) holding at least this many tickets reads a common word's
/// matches straight from the index, newest first; a smaller one is walked ticket by ticket.
pub const INDEX_ORDER_MIN_VIEW: i64 = 10_000;
/// Walking a view, matches in more than one ticket in this many are checked ticket by
/// ticket rather than gathered first.
pub const DENSE_SHARE: i64 = 8;

/// Below this many tickets, a tag or value filter's set is read first and the view's
/// order made from it, and a page walked by it is counted; above, the view is walked in
/// its order and each ticket checked against it (see `shaping`).
pub const GATHER_BELOW: i64 = 5_000;

/// Where a search or a filter switches strategy. Fixed in production; tests lower them to
/// exercise every strategy on a handful of tickets.
#[derive(Clone, Copy, Debug)]
pub struct QueueLimits {
    pub rank_limit: i64,
    pub index_order_min_view: i64,
    pub dense_share: i64,
    pub gather_below: i64,
}

impl Default for QueueLimits {
    fn default() -> Self {
        Self {
            rank_limit: RANK_LIMIT,
            index_order_min_view: INDEX_ORDER_MIN_VIEW,
            dense_share: DENSE_SHARE,
            gather_below: GATHER_BELOW,
        }
    }
}

/// A queue's parameters as given (a query string), before they are read.
#[derive(serde::Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct QueueParams {
    pub view: String,
    pub status: String,
    pub priority: String,
    pub group: String,
    pub organisation: String,
    pub assignee: String,
    pub q: String,
    pub from: String,
    pub to: String,
    pub sort: String,
    pub page: Option<String>,
    /// Not the queue's: a customer's choice of whose tickets (see `CustomerScope`), which
    /// the API reads from the same query string.
    pub scope: String,
    /// Repeatable: every tag must match.
    pub tag: Vec<String>,
    /// Every other parameter; those named `field_{key}` filter on fields.
    #[serde(flatten)]
    pub others: BTreeMap<String, OneOrMany>,
}

impl QueueParams {
    /// The `field_{key}` parameters, as `(name, value)`, blanks left out.
    pub fn field_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.others
            .iter()
            .filter(|(name, _)| name.starts_with("field_"))
            .flat_map(|(name, given)| given.values().iter().map(move |value| (name.as_str(), value.trim())))
            .filter(|(_, value)| !value.is_empty())
    }
}

impl QueueParams {
    /// The query these parameters ask for, and a message for each that could not be read
    /// (it is left out of the query).
    pub fn parse(&self) -> (QueueQuery, FieldErrors) {
        let mut errors = FieldErrors::new();
        let mut query = QueueQuery { page: page_number(self.page.as_deref()), ..QueueQuery::default() };
        fn choice<T>(errors: &mut FieldErrors, field: &'static str, what: &str, given: &str, parsed: Option<T>) -> Option<T> {
            if parsed.is_none() && !given.trim().is_empty() {
                errors.add(field, format!("“{}” is not a {what}.", given.trim()));
            }
            parsed
        }
        query.view = choice(&mut errors, "view", "view", &self.view, self.view.trim().parse().ok()).unwrap_or(View::All);
        query.status = choice(&mut errors, "status", "status", &self.status, self.status.trim().parse().ok());
        query.priority = choice(&mut errors, "priority", "priority", &self.priority, self.priority.trim().parse().ok());
        query.group_id = choice(&mut errors, "group", "group id", &self.group, self.group.trim().parse().ok());
        query.organisation_id =
            choice(&mut errors, "organisation", "organisation id", &self.organisation, self.organisation.trim().parse().ok());
        let assignee = match self.assignee.trim() {
            "none" => Some(AssigneeFilter::Nobody),
            other => other.parse().ok().map(AssigneeFilter::Agent),
        };
        query.assignee = choice(&mut errors, "assignee", "user id or “none”", &self.assignee, assignee);
        query.sort = choice(&mut errors, "sort", "sort order", &self.sort, self.sort.trim().parse().ok());
        query.created_from = choice(&mut errors, "from", "date like 2026-01-31", &self.from, parse_date(&self.from));
        query.created_before =
            choice(&mut errors, "to", "date like 2026-01-31", &self.to, parse_date(&self.to)).map(|day| day + 86_400);
        for given in self.tag.iter().map(|tag| tag.trim()).filter(|tag| !tag.is_empty()) {
            if let Some(tag) = errors.check("tag", Tag::parse(given))
                && !query.tags.contains(&tag)
            {
                query.tags.push(tag);
            }
        }
        query.fields = self
            .field_pairs()
            .map(|(name, value)| FieldFilter { key: name["field_".len()..].to_owned(), value: Some(value.to_owned()) })
            .collect();
        // Each filter costs a statement or two: a page takes a bounded number.
        if query.tags.len() + query.fields.len() > SHAPING_FILTERS_MAX {
            errors.add("tag", format!("At most {SHAPING_FILTERS_MAX} tag and field filters together; the first are applied."));
            query.tags.truncate(SHAPING_FILTERS_MAX);
            query.fields.truncate(SHAPING_FILTERS_MAX - query.tags.len());
        }
        errors.check("page", strict_page_number(self.page.as_deref()));
        query.text = self.q.trim().chars().filter(|c| !c.is_control()).collect();
        (query, errors)
    }
}

/// `YYYY-MM-DD` as the unix time of that day's start (UTC).
pub fn parse_date(input: &str) -> Option<Timestamp> {
    let date = time::Date::parse(input.trim(), format_description!("[year]-[month]-[day]")).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// The end of the UTC day that contains `now` (the start of the next).
pub fn end_of_day(now: Timestamp) -> Timestamp {
    now - now.rem_euclid(86_400) + 86_400
}

/// The order of a view when the agent has not chosen one: the due views and Unassigned
/// put the most overdue first (their indexes give that order), the others the latest change.
pub fn default_sort(view: View) -> Sort {
    match view {
        View::Overdue | View::DueToday | View::Unassigned => Sort::Due,
        _ => Sort::Updated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc() {
        assert_eq!(parse_date("2026-11-23"), Some(1_795_392_000));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(end_of_day(1_795_392_000), 1_795_392_000 + 86_400);
        assert_eq!(end_of_day(1_795_392_000 + 86_399), 1_795_392_000 + 86_400);
    }

    #[test]
    fn views_and_sorts_round_trip() {
        for view in View::ALL {
            assert_eq!(view.as_str().parse::<View>(), Ok(*view));
        }
        for sort in Sort::ALL {
            assert_eq!(sort.as_str().parse::<Sort>(), Ok(*sort));
        }
        assert!("nowhere".parse::<View>().is_err());
    }
}
