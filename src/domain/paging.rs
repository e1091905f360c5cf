//! Lists a page at a time, and the text patterns their searches match with.

/// One page of a list, and where it sits among the others.
#[derive(Debug)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub page: i64,
    /// All items, or — when `counted` is false — those up to this page and one more if
    /// there is a next page.
    pub total_items: i64,
    pub per_page: i64,
    pub counted: bool,
    /// Whether a page follows: known from the rows read, also where a count stops at its cap.
    pub has_next: bool,
}

impl<T> Paged<T> {
    /// A page of a list whose every item was counted: whether a page follows is known.
    pub fn counted(items: Vec<T>, page: i64, total_items: i64, per_page: i64) -> Self {
        Self { items, page, total_items, per_page, counted: true, has_next: page * per_page < total_items }
    }

    pub fn total_pages(&self) -> i64 {
        ((self.total_items + self.per_page - 1) / self.per_page).max(1)
    }
}

/// The `?page=` of a list: a number from 1 (the default, also for anything unreadable) up to a
/// bound no list reaches.
pub fn page_number(raw: Option<&str>) -> i64 {
    raw.and_then(|page| page.trim().parse::<i64>().ok()).filter(|page| *page >= 1).map_or(1, |page| page.min(100_000))
}

/// The `?page=` of a list where an unreadable one is refused (the API): absent is 1, and
/// the message says why anything else is not a page.
pub fn strict_page_number(raw: Option<&str>) -> Result<i64, String> {
    match raw.map(str::trim).filter(|page| !page.is_empty()) {
        None => Ok(1),
        Some(page) => match page.parse::<i64>() {
            Ok(number) if number >= 1 => Ok(number.min(100_000)),
            _ => Err(format!("“{page}” is not a page number (1, 2, …).")),
        },
    }
}

/// `%text%` for LIKE, with LIKE's own wildcards escaped. Control characters are dropped:
/// no stored text holds one, and PostgreSQL refuses a NUL outright.
pub fn like_pattern(text: &str) -> String {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    let escaped = text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_Off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(like_pattern("a\u{0}b"), "%ab%");
    }
}
