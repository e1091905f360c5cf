//! View models shared by the portal and the desk: ticket rows, timeline entries, pagers.
//! They hold display-ready text; the templates escape all of it.

use super::error::encode_query_value;
use super::format::{Moment, Segment, segments, span};
use crate::db::Db;
use crate::domain::Result;
use crate::domain::attachments::{self, Attachment};
use crate::domain::clock::Timestamp;
use crate::domain::conversation::cc::Copied;
use crate::domain::conversation::{Audience, TimelineEntry};
use crate::domain::paging::Paged;
use crate::domain::tickets::{Priority, Status};

/// A status as a pill: its words and a class for its colour.
pub struct StatusView {
    pub label: &'static str,
    pub class: &'static str,
}

impl From<Status> for StatusView {
    fn from(status: Status) -> Self {
        let class = match status {
            Status::New => "status-new",
            Status::Open => "status-open",
            Status::Pending => "status-pending",
            Status::OnHold => "status-on-hold",
            Status::Resolved => "status-resolved",
            Status::Closed => "status-closed",
        };
        Self { label: status.label(), class }
    }
}

impl StatusView {
    /// As the customer reads it, the same words in their list and on the request: what
    /// it means for them, not the desk's name for it.
    pub fn for_customer(status: Status) -> Self {
        let label = match status {
            Status::Open => "In progress",
            Status::Pending => "Waiting for your reply",
            other => other.label(),
        };
        Self { label, ..status.into() }
    }
}

pub struct PriorityView {
    pub label: &'static str,
    pub class: &'static str,
}

impl From<Priority> for PriorityView {
    fn from(priority: Priority) -> Self {
        let class = match priority {
            Priority::Low => "priority-low",
            Priority::Medium => "priority-medium",
            Priority::High => "priority-high",
            Priority::Urgent => "priority-urgent",
        };
        Self { label: priority.label(), class }
    }
}

pub struct EntryView {
    pub id: i64,
    /// `message`, `note` or `event`, for styling.
    pub kind: &'static str,
    pub author: String,
    pub author_is_staff: bool,
    pub moment: Moment,
    pub body: Vec<Segment>,
    pub event_text: String,
    /// Came by mail without proof of its sender.
    pub sender_unverified: bool,
    pub files: Vec<FileView>,
}

/// A file on a timeline entry.
pub struct FileView {
    pub href: String,
    pub thumbnail_href: String,
    pub filename: String,
    pub size: String,
    /// Shown as a thumbnail (only PNG, JPEG, GIF, WebP are pictures served inline).
    pub is_image: bool,
    pub removed: bool,
    /// Staff pages: where the "Remove" button posts.
    pub remove_action: Option<String>,
}

impl FileView {
    fn new(attachment: &Attachment, audience: Audience) -> Self {
        Self {
            href: attachment.href(),
            thumbnail_href: attachment.thumbnail_href(),
            filename: attachment.filename.clone(),
            size: attachments::size_in_words(attachment.size),
            is_image: attachment.is_inline_image(),
            removed: attachment.removed.0,
            remove_action: (audience == Audience::Staff && !attachment.removed.0)
                .then(|| format!("/desk/attachments/{}/delete", attachment.public_id)),
        }
    }
}

/// The views of a timeline's entries, each with its files (one statement for all files).
pub async fn entry_views(db: &Db, entries: &[TimelineEntry], audience: Audience, now: Timestamp) -> Result<Vec<EntryView>> {
    let ids: Vec<i64> = entries.iter().map(|entry| entry.id).collect();
    let files = attachments::of_messages(db, &ids).await?;
    Ok(entries
        .iter()
        .map(|entry| {
            let mut view = EntryView::new(entry, now);
            view.files =
                files.iter().filter(|file| file.message_id == entry.id).map(|file| FileView::new(file, audience)).collect();
            view
        })
        .collect())
}

fn status_label(stored: Option<&str>) -> String {
    stored.and_then(|value| value.parse::<Status>().ok()).map_or("unknown", Status::label).to_owned()
}

fn priority_label(stored: Option<&str>) -> String {
    stored.and_then(|value| value.parse::<Priority>().ok()).map_or("unknown", Priority::label).to_owned()
}

impl EntryView {
    pub fn new(entry: &TimelineEntry, now: Timestamp) -> Self {
        let author = entry.author_name.clone().unwrap_or_else(|| "Helpdesk".into());
        let event_text = match entry.event.as_deref() {
            Some("status") => format!(
                "{author} changed the status from {} to {}",
                status_label(entry.old_value.as_deref()),
                status_label(entry.new_value.as_deref())
            ),
            Some("reopen") => format!("{author} reopened the request"),
            Some("rating") => {
                format!("{author} rated the resolution {} of 5", entry.new_value.as_deref().unwrap_or("?"))
            }
            Some("auto_close") => "Closed automatically after a time resolved".to_owned(),
            // Before 2026-12 the merge's closing was recorded under this name too, with the
            // status as its value.
            Some("merged_into") if entry.new_value.as_deref() == Some("closed") => format!("{author} closed this as merged"),
            Some("merged_into") => {
                format!("{author} merged this into {}", entry.new_value.as_deref().unwrap_or("another ticket"))
            }
            Some("merge") => {
                format!("{author} merged {} into this", entry.new_value.as_deref().unwrap_or("another ticket"))
            }
            Some("priority") => format!(
                "{author} changed the priority from {} to {}",
                priority_label(entry.old_value.as_deref()),
                priority_label(entry.new_value.as_deref())
            ),
            Some("group") => {
                format!(
                    "{author} moved this from {} to {}",
                    entry.old_value.as_deref().unwrap_or("?"),
                    entry.new_value.as_deref().unwrap_or("?")
                )
            }
            Some("assignee") => match entry.new_value.as_deref() {
                Some(name) => format!("{author} assigned this to {name}"),
                None => format!("{author} unassigned this"),
            },
            Some("cc") => match entry.new_value.as_deref() {
                Some(copied) => format!("{author} copied {copied}"),
                None => format!("{author} removed everyone from the copy"),
            },
            // Field events read "Label: value"; an empty side is an unset field.
            Some("field") => match (entry.old_value.as_deref(), entry.new_value.as_deref()) {
                (_, Some(set)) => format!("{author} set {set}"),
                (Some(cleared), None) => format!("{author} cleared {cleared}"),
                (None, None) => format!("{author} changed a field"),
            },
            Some("tags") => match entry.new_value.as_deref() {
                Some(tags) => format!("{author} set the tags to {tags}"),
                None => format!("{author} removed every tag"),
            },
            Some("file_removed") => {
                format!("{author} removed the file {}", entry.old_value.as_deref().unwrap_or("?"))
            }
            Some(other) => format!("{author} changed {other}"),
            None => String::new(),
        };
        Self {
            id: entry.id,
            kind: entry.kind.as_str(),
            author,
            author_is_staff: entry.author_is_staff(),
            sender_unverified: !entry.sender_verified,
            moment: Moment::new(entry.created_at, now),
            body: segments(&entry.body),
            event_text,
            files: Vec::new(),
        }
    }
}

/// A due date in words, and whether it has passed: "due in 2 h", "overdue by 1 d".
pub struct DueView {
    pub text: String,
    pub overdue: bool,
    pub moment: Moment,
}

impl DueView {
    pub fn new(due_at: Timestamp, now: Timestamp) -> Self {
        let overdue = due_at < now;
        let text = if overdue { format!("overdue by {}", span(now - due_at)) } else { format!("due in {}", span(due_at - now)) };
        Self { text, overdue, moment: Moment::new(due_at, now) }
    }
}

/// Up to two capital letters for a person: "Ada Lovelace" → "AL".
pub fn initials(name: &str) -> String {
    name.split_whitespace().filter_map(|word| word.chars().next()).take(2).flat_map(char::to_uppercase).collect()
}

/// Links to the previous and next page of a list, keeping the rest of the query.
pub struct Pager {
    pub page: i64,
    pub total_pages: i64,
    pub total_items: i64,
    pub previous: Option<String>,
    pub next: Option<String>,
    /// Whether the total is known; otherwise there is only "a next page or not".
    pub counted: bool,
}

impl Pager {
    /// `query` is the list's other parameters as `(name, value)` pairs.
    pub fn new<T>(paged: &Paged<T>, path: &str, query: &[(&str, &str)]) -> Self {
        let href = |page: i64| {
            let page = page.to_string();
            format!("{path}?{}", query_string(&[query, &[("page", page.as_str())]].concat()))
        };
        let total_pages = paged.total_pages();
        Self {
            page: paged.page,
            total_pages,
            total_items: paged.total_items,
            // Past the end of a list (an old link), "previous" leads back to its last page.
            previous: (paged.page > 1)
                .then(|| href(if paged.items.is_empty() { (paged.page - 1).min(total_pages) } else { paged.page - 1 })),
            next: paged.has_next.then(|| href(paged.page + 1)),
            // A count that reached the queue's cap is a lower bound: no "of N" then.
            counted: paged.counted && paged.total_items <= crate::domain::tickets::queue::COUNT_CAP,
        }
    }
}

/// `name=value&…` for the pairs whose value is not empty, values percent-encoded.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", encode_query_value(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `?page=` as given, within reason: anything unreadable is page 1.
pub use crate::domain::paging::page_number;

/// What a CC box shows: what was just typed (when it was refused), else who is copied, one
/// address per line.
pub fn cc_box(typed: &Option<String>, copied: &[Copied]) -> String {
    match typed {
        Some(typed) => typed.clone(),
        None => copied.iter().map(|copied| copied.email.as_str()).collect::<Vec<_>>().join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_and_due_dates_read_naturally() {
        assert_eq!(initials("ada lovelace king"), "AL");
        assert_eq!(initials("Émile"), "É");
        let due = DueView::new(0, 7200);
        assert_eq!((due.text.as_str(), due.overdue), ("overdue by 2 h", true));
        assert_eq!(DueView::new(7200, 0).text, "due in 2 h");
    }
}
