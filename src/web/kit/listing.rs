//! The pagination bar and the query strings of list pages.

use crate::db::paging::{Paging, Total};

/// What the pagination bar shows.
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    /// False when `total` is a lower bound ("more than").
    pub exact: bool,
    pub first_row: i64,
    pub last_row: i64,
    pub previous_href: Option<String>,
    pub next_href: Option<String>,
}

impl Pager {
    /// `href(page)` builds the link to another page with the rest of the state kept.
    pub fn new(
        paging: Paging,
        rows_on_page: usize,
        total: Total,
        href: impl Fn(i64) -> String,
    ) -> Pager {
        // With a lower bound, there is a next page whenever more rows exist beyond this one.
        let bound = if total.exact {
            total.count
        } else {
            total.count + 1
        };
        let pages = ((bound + paging.per_page - 1) / paging.per_page).max(1);
        let first_row = if rows_on_page == 0 {
            0
        } else {
            paging.offset() + 1
        };
        Pager {
            page: paging.page,
            pages,
            total: total.count,
            exact: total.exact,
            first_row,
            last_row: paging.offset() + rows_on_page as i64,
            previous_href: (paging.page > 1).then(|| href((paging.page - 1).min(pages))),
            next_href: (paging.page < pages).then(|| href(paging.page + 1)),
        }
    }
}

/// `key=value&…` with values percent-encoded, skipping empty ones.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_totals_give_page_counts_and_links() {
        let pager = Pager::new(Paging::new(Some(2), Some(25)), 5, Total::exact(30), |p| {
            format!("?page={p}")
        });
        assert_eq!((pager.pages, pager.first_row, pager.last_row), (2, 26, 30));
        assert_eq!(pager.previous_href.as_deref(), Some("?page=1"));
        assert_eq!(pager.next_href, None);
    }

    #[test]
    fn a_capped_count_still_offers_the_next_page() {
        assert_eq!(Total::capped(250, 250), Total::exact(250));
        let more = Total::capped(251, 250);
        assert_eq!((more.count, more.exact), (250, false));
        let pager = Pager::new(Paging::new(Some(10), Some(25)), 25, more, |p| {
            format!("?page={p}")
        });
        assert_eq!(pager.next_href.as_deref(), Some("?page=11"));
        assert!(!pager.exact);
    }
}
