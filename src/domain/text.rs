//! Rules shared by every free-text field.

/// Rejects NUL and other control characters. Tabs are kept (as spaces on a single
/// line); newlines are allowed where `multiline` is set (a carriage return from a
/// browser's textarea is dropped).
pub fn clean(input: &str, multiline: bool) -> Result<String, String> {
    let mut cleaned = String::with_capacity(input.len());
    for character in input.chars() {
        match character {
            '\r' if multiline => {}
            '\n' | '\t' if multiline => cleaned.push(character),
            '\t' => cleaned.push(' '),
            c if c.is_control() => return Err("Must not contain control characters.".into()),
            c => cleaned.push(c),
        }
    }
    Ok(cleaned)
}

/// A single line of text, trimmed, between `min` and `max` characters.
pub fn line(input: &str, label: &str, min: usize, max: usize) -> Result<String, String> {
    let cleaned = clean(input.trim(), false)?;
    let length = cleaned.chars().count();
    if length == 0 && min > 0 {
        Err(format!("{label} is required."))
    } else if length < min {
        Err(format!("{label} must be at least {min} characters."))
    } else if length > max {
        Err(format!("{label} must be at most {max} characters (it has {length})."))
    } else {
        Ok(cleaned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused() {
        assert!(clean("a\u{0}b", true).is_err());
        assert!(clean("a\u{7}b", true).is_err());
        assert!(clean("a\nb", false).is_err());
        assert_eq!(clean("a\tb", false).unwrap(), "a b");
        assert_eq!(clean("a\r\n\tb", true).unwrap(), "a\n\tb");
    }

    #[test]
    fn lines_are_trimmed_and_bounded() {
        assert_eq!(line("  Ada  ", "Name", 1, 5).unwrap(), "Ada");
        assert_eq!(line("   ", "Name", 1, 5).unwrap_err(), "Name is required.");
        assert!(line("abcdef", "Name", 1, 5).unwrap_err().contains("at most 5"));
        assert_eq!(line("ééééé", "Name", 1, 5).unwrap(), "ééééé");
    }
}
