//! Numbers, money and dates as the pages show them.

use chrono::{DateTime, Utc};

pub use crate::domain::Grouped;

/// A whole number as templates hold it: by value or by reference.
pub trait Whole {
    fn whole(&self) -> i64;
}

macro_rules! whole {
    ($($t:ty),*) => {$(
        impl Whole for $t {
            fn whole(&self) -> i64 {
                i64::try_from(*self).unwrap_or(i64::MAX)
            }
        }
    )*};
}
whole!(i32, i64, usize);

impl<T: Whole + ?Sized> Whole for &T {
    fn whole(&self) -> i64 {
        (**self).whole()
    }
}

/// 1234567 → "1,234,567", written straight into the page.
pub fn number(value: impl Whole) -> Grouped {
    Grouped(value.whole())
}

/// 123450 cents → "1,234.50".
pub fn money(cents: impl Whole) -> String {
    let cents = cents.whole();
    let sign = if cents < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        number((cents / 100).abs()),
        (cents % 100).abs()
    )
}

/// Text for a CSV cell that no spreadsheet runs as a formula: a leading `=`, `+`, `-`, `@`,
/// tab or carriage return gets an apostrophe before it.
pub fn csv_text(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// Whether two strings are equal, whatever references the template holds.
pub fn same(a: impl AsRef<str>, b: impl AsRef<str>) -> bool {
    a.as_ref() == b.as_ref()
}

pub fn date(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

pub fn optional_date(at: &Option<DateTime<Utc>>) -> String {
    at.as_ref().map(date).unwrap_or_else(|| "never".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_digits() {
        assert_eq!(number(0).to_string(), "0");
        assert_eq!(number(999).to_string(), "999");
        assert_eq!(number(1_000usize).to_string(), "1,000");
        assert_eq!(number(-1_234_567).to_string(), "-1,234,567");
        assert_eq!(number(i64::MIN).to_string(), "-9,223,372,036,854,775,808");
        assert_eq!(money(123_450), "1,234.50");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(-150), "-1.50");
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_text("Standard"), "Standard");
    }
}
