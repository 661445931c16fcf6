//! Short human-entered text: names and other required fields.

/// A first or last name: trimmed, at most 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<PersonName, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Enter a name.");
        }
        if name.chars().count() > 100 {
            return Err("Use at most 100 characters.");
        }
        if name.chars().any(char::is_control) {
            return Err("Remove the control characters.");
        }
        Ok(PersonName(name.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Any required single-line field with a length limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredText(String);

impl RequiredText {
    pub fn parse(raw: &str, max_chars: usize) -> Result<RequiredText, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Err("This field is required.".to_owned());
        }
        if text.chars().count() > max_chars {
            return Err(format!("Use at most {max_chars} characters."));
        }
        if text.chars().any(char::is_control) {
            return Err("Remove the control characters.".to_owned());
        }
        Ok(RequiredText(text.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An optional multi-line field with a length limit: trimmed; line breaks and tabs are kept,
/// other control characters refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionalText(String);

impl OptionalText {
    pub fn parse(raw: &str, max_chars: usize) -> Result<OptionalText, String> {
        let text = raw.trim();
        if text.chars().count() > max_chars {
            return Err(format!("Use at most {max_chars} characters."));
        }
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err("Remove the control characters.".to_owned());
        }
        Ok(OptionalText(text.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// What a search box sends: trimmed, at most 100 characters, no control characters (a NUL
/// byte would otherwise reach the database).
pub fn search_text(raw: &str) -> Result<String, &'static str> {
    if raw.chars().any(char::is_control) {
        return Err("Remove the control characters from the search.");
    }
    Ok(raw.trim().chars().take(100).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PersonName::parse("  Ada ").map(PersonName::into_inner),
            Ok("Ada".to_owned())
        );
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"x".repeat(101)).is_err());
        assert!(PersonName::parse("a\u{0}b").is_err());
        // Markup is just text; escaping happens when it is rendered.
        assert!(PersonName::parse("<script>alert(1)</script>").is_ok());
    }

    #[test]
    fn optional_text_keeps_line_breaks_and_refuses_other_controls() {
        assert_eq!(
            OptionalText::parse("  ", 10).map(OptionalText::into_inner),
            Ok(String::new())
        );
        assert!(OptionalText::parse("one\ntwo", 10).is_ok());
        assert!(OptionalText::parse("a\u{0}b", 10).is_err());
        assert!(OptionalText::parse(&"x".repeat(11), 10).is_err());
    }
}
