//! Upload Sales File: purchase records for many organizations in one CSV. The whole file is
//! checked first; one bad line imports nothing. References make it idempotent: a line whose
//! reference is already recorded with the same content is skipped.

use std::collections::HashMap;

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::domain::OrgId;
use crate::models::tokens::{self, NewPurchase};
use crate::models::{audit, organizations};
use crate::services::SuperAdmin;
use crate::services::organizations::LineProblem;
use crate::services::purchases::{
    parse_amount, parse_currency, parse_date, parse_kind, parse_reference, parse_tokens,
};
use crate::web::errors::AppError;

/// The header line the file must start with.
pub const COLUMNS: [&str; 7] = [
    "organization",
    "kind",
    "tokens",
    "amount",
    "currency",
    "date",
    "reference",
];
/// Problems listed in full; more are counted.
const MAX_PROBLEMS_SHOWN: usize = 200;

#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    pub lines: usize,
    pub imported: usize,
    pub already_imported: usize,
    pub organizations: usize,
    pub inference_tokens: i64,
    pub embedding_tokens: i64,
}

pub enum ImportOutcome {
    Imported(ImportSummary),
    Rejected {
        problems: Vec<LineProblem>,
        more: usize,
    },
}

fn rejected(line: usize, text: &str, reason: impl Into<String>) -> ImportOutcome {
    ImportOutcome::Rejected {
        problems: vec![LineProblem {
            line,
            text: text.to_owned(),
            reason: reason.into(),
        }],
        more: 0,
    }
}

pub async fn import(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    file: &[u8],
) -> Result<ImportOutcome, AppError> {
    let Ok(text) = std::str::from_utf8(file.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(file)) else {
        return Ok(rejected(
            0,
            "",
            "The file is not UTF-8 text. Save it as CSV UTF-8 and upload it again.",
        ));
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_lowercase()).collect(),
        Err(e) => return Ok(rejected(1, "", format!("The header cannot be read: {e}"))),
    };
    if header != COLUMNS {
        return Ok(rejected(
            1,
            &header.join(","),
            format!("The first line must be exactly: {}", COLUMNS.join(",")),
        ));
    }

    let organizations = organizations::all_ids_and_domains(conn).await?;
    let by_id: HashMap<i64, OrgId> = organizations.iter().map(|(id, _)| (id.0, *id)).collect();
    let by_domain: HashMap<&str, OrgId> = organizations
        .iter()
        .filter_map(|(id, d)| d.as_deref().map(|d| (d, *id)))
        .collect();

    let mut problems: Vec<LineProblem> = Vec::new();
    let mut purchases: Vec<NewPurchase> = Vec::new();
    let mut line_of_reference: HashMap<String, usize> = HashMap::new();
    let mut lines = 0;
    for record in reader.records() {
        lines += 1;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                problems.push(LineProblem {
                    line,
                    text: String::new(),
                    reason: format!("This line cannot be read as CSV: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        let text = record.iter().collect::<Vec<_>>().join(",");
        let mut problem = |reason: String| {
            problems.push(LineProblem {
                line,
                text: text.clone(),
                reason,
            })
        };
        if record.len() != COLUMNS.len() {
            problem(format!(
                "Expected {} values, found {}.",
                COLUMNS.len(),
                record.len()
            ));
            continue;
        }
        let org_ref = record[0].trim();
        let org_id = match org_ref.parse::<i64>() {
            Ok(id) => by_id.get(&id).copied(),
            Err(_) => by_domain.get(org_ref.to_lowercase().as_str()).copied(),
        };
        let parsed = (
            org_id.ok_or("No organization has this id or domain."),
            parse_kind(&record[1]),
            parse_tokens(&record[2]),
            parse_amount(&record[3]),
            parse_currency(&record[4]),
            parse_date(&record[5]),
            parse_reference(&record[6]),
        );
        let (
            Ok(org_id),
            Ok(kind),
            Ok(tokens),
            Ok(amount_cents),
            Ok(currency),
            Ok(purchased_on),
            Ok(reference),
        ) = parsed
        else {
            let (a, b, c, d, e, f, g) = parsed;
            let reasons: Vec<String> = [
                a.err().map(|r| format!("organization: {r}")),
                b.err().map(|r| format!("kind: {r}")),
                c.err().map(|r| format!("tokens: {r}")),
                d.err().map(|r| format!("amount: {r}")),
                e.err().map(|r| format!("currency: {r}")),
                f.err().map(|r| format!("date: {r}")),
                g.err().map(|r| format!("reference: {r}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            problem(reasons.join(" "));
            continue;
        };
        let purchase = NewPurchase {
            org_id,
            kind,
            tokens,
            amount_cents,
            currency,
            purchased_on,
            reference,
            source: "import",
            created_by: None,
        };
        if let Some(first) = line_of_reference.get(&purchase.reference) {
            let same = purchases.contains(&purchase);
            if !same {
                problem(format!(
                    "reference: line {first} uses the same reference for a different purchase."
                ));
            }
            continue;
        }
        line_of_reference.insert(purchase.reference.clone(), line);
        purchases.push(purchase);
    }
    if lines == 0 && problems.is_empty() {
        return Ok(rejected(2, "", "The file has a header but no purchases."));
    }

    // Lines already imported (same reference, same content) are skipped; a reference recorded
    // for a different purchase is an error.
    let references: Vec<String> = purchases.iter().map(|p| p.reference.clone()).collect();
    let existing: HashMap<String, NewPurchase> = tokens::existing_by_reference(conn, &references)
        .await?
        .into_iter()
        .map(|p| (p.reference.clone(), p))
        .collect();
    let mut already_imported = 0;
    purchases.retain(|purchase| match existing.get(&purchase.reference) {
        None => true,
        Some(recorded) => {
            let same = NewPurchase {
                source: "import",
                created_by: None,
                ..recorded.clone()
            } == *purchase;
            if same {
                already_imported += 1;
            } else {
                let line = line_of_reference
                    .get(&purchase.reference)
                    .copied()
                    .unwrap_or(0);
                problems.push(LineProblem {
                    line,
                    text: purchase.reference.clone(),
                    reason: "reference: already recorded for a different purchase.".to_owned(),
                });
            }
            false
        }
    });
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.line);
        let more = problems.len().saturating_sub(MAX_PROBLEMS_SHOWN);
        problems.truncate(MAX_PROBLEMS_SHOWN);
        return Ok(ImportOutcome::Rejected { problems, more });
    }

    for purchase in &mut purchases {
        purchase.created_by = Some(admin.user_id());
    }
    let summary = ImportSummary {
        lines,
        imported: purchases.len(),
        already_imported,
        organizations: purchases
            .iter()
            .map(|p| p.org_id)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        inference_tokens: purchases
            .iter()
            .filter(|p| p.kind == crate::domain::TokenKind::Inference)
            .map(|p| p.tokens)
            .sum(),
        embedding_tokens: purchases
            .iter()
            .filter(|p| p.kind == crate::domain::TokenKind::Embedding)
            .map(|p| p.tokens)
            .sum(),
    };
    if purchases.is_empty() {
        return Ok(ImportOutcome::Imported(summary));
    }
    let inserted = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let inserted = tokens::insert_purchases(conn, &purchases).await?;
            let after = serde_json::json!({ "lines": summary.lines, "imported": inserted, "already_imported": summary.already_imported,
                "organizations": summary.organizations, "inference_tokens": summary.inference_tokens, "embedding_tokens": summary.embedding_tokens });
            let entry = audit::NewAuditEntry { after: Some(after), ..admin.actor().audit("sales_file.imported", "") };
            audit::record(conn, &entry).await?;
            Ok(inserted)
        })
        .await?;
    // A concurrent import of the same lines may have won the race for some references.
    Ok(ImportOutcome::Imported(ImportSummary {
        imported: inserted,
        already_imported: summary.already_imported + purchases.len() - inserted,
        ..summary
    }))
}
