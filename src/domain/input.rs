//! Values as they arrive, before the domain reads them: a person types text into a form, a
//! program sends JSON numbers. Parsers take either, so that neither side turns one into the
//! other on the way in.

/// A whole number as given: not at all, typed into a form, or sent as a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WholeNumber<'a> {
    Absent,
    Typed(&'a str),
    Sent(i64),
}

impl WholeNumber<'_> {
    /// `None` when nothing was given (absent, or a blank field), `Some(Err(()))` for text that
    /// is not a whole number.
    pub fn read(self) -> Option<Result<i64, ()>> {
        match self {
            WholeNumber::Absent => None,
            WholeNumber::Typed(text) if text.trim().is_empty() => None,
            WholeNumber::Typed(text) => Some(text.trim().parse().map_err(drop)),
            WholeNumber::Sent(number) => Some(Ok(number)),
        }
    }

    /// The number, or `message` when it is missing or unreadable.
    pub fn required(self, message: &str) -> Result<i64, String> {
        self.read().and_then(Result::ok).ok_or_else(|| message.to_owned())
    }
}

impl From<Option<i64>> for WholeNumber<'_> {
    fn from(sent: Option<i64>) -> Self {
        sent.map_or(WholeNumber::Absent, WholeNumber::Sent)
    }
}

/// A parameter given once or repeated.
#[derive(serde::Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn values(&self) -> &[String] {
        match self {
            OneOrMany::One(value) => std::slice::from_ref(value),
            OneOrMany::Many(values) => values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_text_is_nothing_and_words_are_unreadable() {
        assert_eq!(WholeNumber::Typed(" 15 ").read(), Some(Ok(15)));
        assert_eq!(WholeNumber::Typed("  ").read(), None);
        assert_eq!(WholeNumber::Typed("ten").read(), Some(Err(())));
        assert_eq!(WholeNumber::Sent(-3).read(), Some(Ok(-3)));
        assert_eq!(WholeNumber::from(None).read(), None);
        assert_eq!(WholeNumber::Typed("x").required("Choose a group."), Err("Choose a group.".into()));
    }
}
