//! Paging for list queries: which rows to load, and how many match.

/// Rows-per-page choices offered (and the only ones accepted).
pub const PAGE_SIZES: [i64; 3] = [25, 50, 100];

/// The page requested, made safe: page ≥ 1, a page size from `PAGE_SIZES`.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
}

impl Paging {
    pub fn new(page: Option<i64>, per_page: Option<i64>) -> Paging {
        let per_page = per_page
            .filter(|p| PAGE_SIZES.contains(p))
            .unwrap_or(PAGE_SIZES[0]);
        // Past page 100,000 an offset is never a real request.
        let page = page.unwrap_or(1).clamp(1, 100_000);
        Paging { page, per_page }
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }
}

/// How many rows match: exactly, or (for a search) "more than" a bound, so a broad search never
/// has to count every match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    pub count: i64,
    pub exact: bool,
}

impl Total {
    pub fn exact(count: i64) -> Total {
        Total { count, exact: true }
    }

    /// From up to `cap + 1` matches found: above `cap` means "more than cap".
    pub fn capped(found: usize, cap: i64) -> Total {
        let found = i64::try_from(found).unwrap_or(i64::MAX);
        if found > cap {
            Total {
                count: cap,
                exact: false,
            }
        } else {
            Total::exact(found)
        }
    }
}

/// How far a search counts: ten pages beyond the one shown.
pub fn count_cap(paging: Paging) -> i64 {
    paging.offset() + 10 * paging.per_page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_paging_falls_back_to_defaults() {
        let paging = Paging::new(Some(-3), Some(7));
        assert_eq!((paging.page, paging.per_page, paging.offset()), (1, 25, 0));
    }

    #[test]
    fn a_count_above_the_cap_is_a_lower_bound() {
        assert_eq!(Total::capped(250, 250), Total::exact(250));
        let more = Total::capped(251, 250);
        assert_eq!((more.count, more.exact), (250, false));
    }
}
