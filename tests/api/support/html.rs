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

/// The text of an element as shown: whitespace runs become one space.
pub fn text_of(element: ElementRef<'_>) -> String {
    element
        .text()
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
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

    pub fn count(&self, css: &str) -> usize {
        self.all(css).len()
    }

    pub fn has(&self, css: &str) -> bool {
        self.document.select(&selector(css)).next().is_some()
    }

    /// The text of the one element matching `css`.
    pub fn text(&self, css: &str) -> String {
        text_of(self.one(css))
    }

    /// The texts of every element matching `css`, in order.
    pub fn texts(&self, css: &str) -> Vec<String> {
        self.all(css).into_iter().map(text_of).collect()
    }

    /// An attribute of the one element matching `css`.
    pub fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.one(css).value().attr(name).map(str::to_owned)
    }

    /// The `value` of the one control matching `css` (what a form sends back).
    pub fn value(&self, css: &str) -> String {
        self.attr(css, "value").unwrap_or_default()
    }

    /// The cells of each body row of a table, as text.
    pub fn rows(&self, table: &str) -> Vec<Vec<String>> {
        let cell = selector("td");
        self.all(&format!("{table} tbody tr"))
            .into_iter()
            .map(|row| row.select(&cell).map(text_of).collect())
            .collect()
    }

    /// The error shown for the field with this id, but only when the field itself says it is
    /// invalid and names the message in `aria-describedby` (so a screen reader reads it too).
    pub fn field_error(&self, field_id: &str) -> Option<String> {
        let field = self.one(&format!("#{field_id}"));
        let error_id = format!("{field_id}-error");
        let described_by = field.value().attr("aria-describedby").unwrap_or_default();
        let tied = field.value().attr("aria-invalid") == Some("true")
            && described_by.split_whitespace().any(|id| id == error_id);
        let message = self
            .all(&format!("#{error_id}"))
            .first()
            .map(|e| text_of(*e));
        assert_eq!(
            tied,
            message.is_some(),
            "#{field_id}: a message must be shown exactly when the field is flagged invalid"
        );
        message
    }

    /// `(field id, message)` of every field flagged invalid inside `form`, in order.
    pub fn field_errors(&self, form: &str) -> Vec<(String, String)> {
        self.all(&format!("{form} [aria-invalid=true]"))
            .into_iter()
            .filter_map(|field| field.value().id())
            .map(|id| {
                let message = self
                    .field_error(id)
                    .unwrap_or_else(|| panic!("#{id} is invalid without a message"));
                (id.to_owned(), message)
            })
            .collect()
    }

    /// Whether the control matching `css` is checked (checkbox) or selected (option).
    pub fn is_checked(&self, css: &str) -> bool {
        let element = self.one(css);
        element.value().attr("checked").is_some() || element.value().attr("selected").is_some()
    }
}

/// Snapshot filters (insta) for what changes from run to run in rendered HTML: CSRF tokens,
/// dates, and the ids in addresses. Stories add their own for ids elsewhere in their fragment.
pub fn volatile_parts() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            r#"(name="csrf_token" value=")[^"]+""#,
            r#"${1}[csrf token]""#,
        ),
        (
            r#"(name="csrf-token" content=")[^"]+""#,
            r#"${1}[csrf token]""#,
        ),
        (r#"("X-CSRF-Token": ")[^"]+""#, r#"${1}[csrf token]""#),
        (r"\b\d{4}-\d{2}-\d{2}\b", "[date]"),
        (r"(/admin/(?:users|organizations)/)\d+", "${1}[id]"),
        (r"([?&](?:amp;)?org=)\d+", "${1}[id]"),
    ]
}
