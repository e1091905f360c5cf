//! Ticket numbers: what people type (`1001`, `TCK-1001`, `#1001`) and what is stored.

use std::fmt;

use sqlx::any::{AnyTypeInfo, AnyValueRef};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Any, Database, Decode, Encode, Type};

/// A ticket number as it appears in paths (`1001`) or with any prefix (`TCK-1001`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
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

    pub fn get(self) -> i64 {
        self.0
    }

    /// The number as people read it, after the ticket's prefix: `TCK-1001`.
    pub fn reference(self, prefix: &str) -> String {
        format!("{prefix}{}", self.0)
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Stored as the bare integer; rows decode straight into it.
impl Type<Any> for TicketNumber {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Any> for TicketNumber {
    fn encode_by_ref(&self, buffer: &mut <Any as Database>::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'q, Any>>::encode_by_ref(&self.0, buffer)
    }
}

impl<'r> Decode<'r, Any> for TicketNumber {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self(<i64 as Decode<'r, Any>>::decode(value)?))
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
}
