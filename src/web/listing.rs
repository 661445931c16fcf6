//! Paging for list pages: which rows to load and the links to other pages.

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

/// What the pagination bar shows.
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
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
        total: i64,
        href: impl Fn(i64) -> String,
    ) -> Pager {
        let pages = ((total + paging.per_page - 1) / paging.per_page).max(1);
        let first_row = if rows_on_page == 0 {
            0
        } else {
            paging.offset() + 1
        };
        Pager {
            page: paging.page,
            pages,
            total,
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
