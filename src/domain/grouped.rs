//! Whole numbers as people read them, in pages and emails alike.

/// A whole number with thousands separators.
#[derive(Debug, Clone, Copy)]
pub struct Grouped(pub i64);

impl std::fmt::Display for Grouped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        if self.0 < 0 {
            f.write_char('-')?;
        }
        let mut digits = itoa_buffer(self.0.unsigned_abs());
        let digits = digits.as_str();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                f.write_char(',')?;
            }
            f.write_char(digit)?;
        }
        Ok(())
    }
}

/// The decimal digits of `n` without a heap allocation.
fn itoa_buffer(mut n: u64) -> Digits {
    let mut buffer = [0u8; 20];
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    Digits { buffer, start }
}

struct Digits {
    buffer: [u8; 20],
    start: usize,
}

impl Digits {
    fn as_str(&mut self) -> &str {
        std::str::from_utf8(&self.buffer[self.start..]).unwrap_or_default()
    }
}
