use std::borrow::Cow;
use std::collections::BTreeMap;

/// Messages for the fields of a form that failed validation, keyed by field name (fixed
/// names, or `field_{key}` for the fields an admin defines).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<Cow<'static, str>, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: impl Into<Cow<'static, str>>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    /// Adds another parse's messages (a field already noted keeps its first message).
    pub fn extend(&mut self, other: FieldErrors) {
        for (field, message) in other.0 {
            self.add(field, message);
        }
    }

    /// Keeps the parsed value, or records its error under `field`.
    pub fn check<T>(&mut self, field: impl Into<Cow<'static, str>>, parsed: std::result::Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every message in one sentence-separated line, for places with no field to show them by.
    pub fn summary(&self) -> String {
        self.0.values().map(String::as_str).collect::<Vec<_>>().join(" ")
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(field, message)| (field.as_ref(), message.as_str()))
    }

    /// `Ok(())` when nothing was recorded, so callers can `?` out of a parse.
    pub fn into_result(self) -> Result<()> {
        if self.is_empty() { Ok(()) } else { Err(Error::Invalid(self)) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("not found")]
    NotFound,
    /// The request is well formed but the current state forbids it.
    #[error("{0}")]
    Conflict(String),
    /// The change was made against an older version of the ticket than the current one.
    #[error("the ticket changed in the meantime (now at version {current_version})")]
    Stale { current_version: i64 },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
