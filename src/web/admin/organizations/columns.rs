//! The Organizations table's columns, defined once: each gives the header, the sort, the cell
//! and the CSV value, so a new column is one entry here (and its query in the model).

use crate::services::admin::organizations::{Organization, SortColumn};
use crate::web::kit::format;

pub struct Column {
    /// The URL's sort key and the CSV header.
    pub key: &'static str,
    pub label: &'static str,
    /// `None` for a column only the CSV carries.
    pub sort: Option<SortColumn>,
    pub numeric: bool,
    value: fn(&Organization) -> Value,
}

enum Value {
    Text(String),
    Number(i64),
}

/// A cell as the table shows it, written straight into the page.
pub struct Cell(Value);

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Value::Text(text) => f.write_str(text),
            Value::Number(n) => format::number(*n).fmt(f),
        }
    }
}

impl Column {
    /// The cell as the table shows it.
    pub fn cell(&self, org: &Organization) -> Cell {
        Cell((self.value)(org))
    }

    /// The value as the CSV carries it: plain digits, and no text a spreadsheet would run as
    /// a formula (a leading apostrophe).
    pub fn csv(&self, org: &Organization) -> String {
        match (self.value)(org) {
            Value::Number(n) => n.to_string(),
            Value::Text(text) => crate::web::kit::format::csv_text(&text),
        }
    }

    pub fn in_table(&self) -> bool {
        self.sort.is_some()
    }
}

const fn column(
    key: &'static str,
    label: &'static str,
    sort: Option<SortColumn>,
    numeric: bool,
    value: fn(&Organization) -> Value,
) -> Column {
    Column {
        key,
        label,
        sort,
        numeric,
        value,
    }
}

pub const COLUMNS: [Column; 12] = [
    column("id", "ID", Some(SortColumn::Id), true, |o| {
        Value::Number(o.id.0)
    }),
    column("name", "Organization", Some(SortColumn::Name), false, |o| {
        Value::Text(o.name.clone())
    }),
    column("users", "Users", Some(SortColumn::Users), true, |o| {
        Value::Number(o.member_count.into())
    }),
    column(
        "contact",
        "Contact",
        Some(SortColumn::Contact),
        false,
        |o| Value::Text(o.contact_name.clone()),
    ),
    column("phone", "Phone", Some(SortColumn::Phone), false, |o| {
        Value::Text(o.phone.clone())
    }),
    column("email", "Email", Some(SortColumn::Email), false, |o| {
        Value::Text(o.email.clone())
    }),
    column("domain", "Domain", Some(SortColumn::Domain), false, |o| {
        Value::Text(o.domain.clone().unwrap_or_default())
    }),
    column("country", "Country", None, false, |o| {
        Value::Text(o.country.clone())
    }),
    column(
        "inference_purchased",
        "Inference purchased",
        Some(SortColumn::InferencePurchased),
        true,
        |o| Value::Number(o.inference_purchased),
    ),
    column(
        "inference_assigned",
        "Inference assigned",
        Some(SortColumn::InferenceAssigned),
        true,
        |o| Value::Number(o.inference_assigned),
    ),
    column(
        "embedding_purchased",
        "Embedding purchased",
        Some(SortColumn::EmbeddingPurchased),
        true,
        |o| Value::Number(o.embedding_purchased),
    ),
    column(
        "embedding_assigned",
        "Embedding assigned",
        Some(SortColumn::EmbeddingAssigned),
        true,
        |o| Value::Number(o.embedding_assigned),
    ),
];

/// The columns the table shows, in order.
pub fn table_columns() -> impl Iterator<Item = &'static Column> {
    COLUMNS.iter().filter(|c| c.in_table())
}
