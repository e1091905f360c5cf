//! The parsed fields of a ticket: number, priority and status (with who may move it where).

use std::fmt;
use std::str::FromStr;

/// A ticket number as it appears in paths (`1001`) or with any prefix (`TCK-1001`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TicketNumber(i64);

impl TicketNumber {
    /// Numbers beyond this are not tickets; refusing them keeps every bind in range.
    const MAX: i64 = 999_999_999_999;

    /// Accepts `1001`, `TCK-1001` or `#1001`; anything else (zero, negative, huge, words) is `None`.
    pub fn parse(input: &str) -> Option<Self> {
        let input = input.trim();
        let prefix = input.trim_end_matches(|c: char| c.is_ascii_digit());
        let digits = &input[prefix.len()..];
        let prefix_ok = prefix.is_empty()
            || prefix == "#"
            || (prefix.starts_with(|c: char| c.is_ascii_alphabetic())
                && prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !prefix_ok || digits.is_empty() || digits.len() > 12 {
            return None;
        }
        let number: i64 = digits.parse().ok()?;
        (1..=Self::MAX).contains(&number).then_some(Self(number))
    }

    /// Only digits, as in a path segment.
    pub fn from_path(segment: &str) -> Option<Self> {
        segment.bytes().all(|b| b.is_ascii_digit()).then(|| Self::parse(segment)).flatten()
    }

    pub fn from_stored(number: i64) -> Self {
        Self(number)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal, $label:literal;)* } error $error:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),* }
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                match input { $($text => Ok($name::$variant),)* _ => Err($error.to_string()) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// How urgent a ticket is.
    Priority {
        Low => "low", "Low";
        Medium => "medium", "Medium";
        High => "high", "High";
        Urgent => "urgent", "Urgent";
    } error "Choose low, medium, high or urgent."
);

impl Default for Priority {
    /// Medium, as the contract says; `#[derive(Default)]` cannot reach inside the macro.
    fn default() -> Self {
        Priority::Medium
    }
}

text_enum!(
    /// Where a ticket stands.
    Status {
        New => "new", "New";
        Open => "open", "Open";
        Pending => "pending", "Pending";
        OnHold => "on_hold", "On hold";
        Resolved => "resolved", "Resolved";
        Closed => "closed", "Closed";
    } error "Choose a valid status."
);

impl Status {
    /// Neither resolved nor closed: someone still has work to do.
    pub fn is_active(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }

    /// A customer's reply is welcome here (resolved tickets are reopened through the
    /// reopen form, closed ones get a follow-up instead).
    pub fn accepts_customer_reply(self) -> bool {
        self.is_active()
    }

    /// The status after the customer writes: waiting on them is over.
    pub fn after_customer_reply(self) -> Status {
        match self {
            Status::Pending | Status::OnHold => Status::Open,
            other => other,
        }
    }

    pub fn customer_may_reopen(self) -> bool {
        self == Status::Resolved
    }

    pub fn customer_may_close(self) -> bool {
        self != Status::Closed
    }

    pub fn may_be_rated(self) -> bool {
        matches!(self, Status::Resolved | Status::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_numbers_accept_bare_and_prefixed_forms() {
        assert_eq!(TicketNumber::parse("1001").unwrap().get(), 1001);
        assert_eq!(TicketNumber::parse("TCK-1001").unwrap().get(), 1001);
        assert_eq!(TicketNumber::parse(" #42 ").unwrap().get(), 42);
        assert_eq!(TicketNumber::parse("hd2-77").unwrap().get(), 77);
        for bad in ["", "0", "-5", "abc", "TCK-", "99999999999999999999", "1e3", "a b 5", "#-5", "\u{202e}é5", "é"] {
            assert_eq!(TicketNumber::parse(bad), None, "{bad:?}");
        }
        assert_eq!(TicketNumber::from_path("TCK-1001"), None);
        assert_eq!(TicketNumber::from_path("+1001"), None);
        assert_eq!(TicketNumber::from_path("1001").unwrap().get(), 1001);
    }

    #[test]
    fn priorities_and_statuses_round_trip() {
        for priority in Priority::ALL {
            assert_eq!(priority.as_str().parse::<Priority>().unwrap(), *priority);
        }
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>().unwrap(), *status);
        }
        assert!("URGENT".parse::<Priority>().is_err());
        assert!("deleted".parse::<Status>().is_err());
        assert_eq!(Priority::default(), Priority::Medium);
    }

    #[test]
    fn customer_transitions() {
        assert_eq!(Status::Pending.after_customer_reply(), Status::Open);
        assert_eq!(Status::OnHold.after_customer_reply(), Status::Open);
        assert_eq!(Status::New.after_customer_reply(), Status::New);
        assert!(!Status::Resolved.accepts_customer_reply());
        assert!(!Status::Closed.accepts_customer_reply());
        assert!(Status::Resolved.customer_may_reopen());
        assert!(!Status::Closed.customer_may_reopen());
        assert!(!Status::Open.customer_may_reopen());
        assert!(Status::Resolved.customer_may_close());
        assert!(!Status::Closed.customer_may_close());
        assert!(Status::Closed.may_be_rated() && Status::Resolved.may_be_rated() && !Status::Open.may_be_rated());
    }
}
