use std::fmt;

use validator::ValidateEmail;

/// An email address, trimmed and lower-cased so that addresses compare case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, String> {
        let candidate = input.trim().to_lowercase();
        if candidate.is_empty() {
            return Err("Email is required.".into());
        }
        if candidate.len() > 254 || !candidate.validate_email() || candidate.chars().any(char::is_control) {
            return Err("Enter an email address like name@example.com.".into());
        }
        Ok(Self(candidate))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised() {
        assert_eq!(Email::parse("  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in ["", "ada", "ada@", "@example.com", "a b@example.com", "ada@exa\u{0}mple.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }
}
