//! Numbers, money and dates as the pages show them.

use chrono::{DateTime, Utc};

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

/// 1234567 → "1,234,567".
pub fn number(value: impl Whole) -> String {
    let value = value.whole();
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// 123450 cents → "1,234.50".
pub fn money(cents: impl Whole) -> String {
    let cents = cents.whole();
    format!("{}.{:02}", number(cents / 100), (cents % 100).abs())
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
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(1_000usize), "1,000");
        assert_eq!(number(-1_234_567), "-1,234,567");
        assert_eq!(money(123_450), "1,234.50");
        assert_eq!(money(5), "0.05");
    }
}
