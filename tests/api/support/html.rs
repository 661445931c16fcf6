//! Questions about a page or fragment, asked with CSS selectors the way a person reads it: the
//! names in a table's column, the error shown beside a field, whether a control is disabled.
//! Text is read as shown: whitespace collapsed, ends trimmed.

use scraper::{ElementRef, Selector};

pub struct Html {
    document: scraper::Html,
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("bad CSS selector {css:?}: {e}"))
}

impl Html {
    /// Parses a whole page or a fragment (htmx responses); both are read the same way.
    pub fn parse(body: &str) -> Html {
        Html {
            document: scraper::Html::parse_document(body),
        }
    }

    /// Every element matching `css`, in document order.
    pub fn all(&self, css: &str) -> Vec<ElementRef<'_>> {
        self.document.select(&selector(css)).collect()
    }

    /// The one element matching `css`; fails the test when there is none or more than one.
    pub fn one(&self, css: &str) -> ElementRef<'_> {
        match self.all(css).as_slice() {
            [element] => *element,
            found => panic!(
                "expected one element matching {css:?}, found {}",
                found.len()
            ),
        }
    }

    /// An attribute of the one element matching `css`.
    pub fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.one(css).value().attr(name).map(str::to_owned)
    }

    /// The `value` of the one control matching `css` (what a form sends back).
    pub fn value(&self, css: &str) -> String {
        self.attr(css, "value").unwrap_or_default()
    }
}
