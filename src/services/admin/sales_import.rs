//! Upload Sales File: purchase records for many organizations in one CSV. The whole file is
//! checked first; one bad line imports nothing. References make it idempotent: a line whose
//! reference is already recorded with the same content is skipped.

use std::collections::{HashMap, HashSet};

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::access::SuperAdmin;
use crate::domain::{OrgId, PurchaseLine, RawPurchase, TokenKind};
use crate::error::AppError;
use crate::models::token_purchases::{self, NewPurchase};
use crate::models::{audit, organizations};
use crate::services::admin::LineProblem;

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

/// The purchases a file's lines describe, and the problems of the lines that do not.
#[derive(Default)]
struct ReadFile {
    lines: usize,
    purchases: Vec<NewPurchase>,
    line_of_reference: HashMap<String, usize>,
    problems: Vec<LineProblem>,
}

#[tracing::instrument(skip_all, fields(bytes = file.len()))]
pub async fn import(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    file: &[u8],
    max_lines: usize,
) -> Result<ImportOutcome, AppError> {
    let Ok(text) = std::str::from_utf8(file.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(file)) else {
        return Ok(rejected(
            0,
            "",
            "The file is not UTF-8 text. Save it as CSV UTF-8 and upload it again.",
        ));
    };
    let lines = text.lines().count();
    if lines > max_lines + 1 {
        return Ok(rejected(
            0,
            "",
            format!(
                "The file has {lines} lines; at most {max_lines} purchases (and the header) are read at once. Split it and upload each part."
            ),
        ));
    }
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
    let mut read = read_lines(reader, &organizations, admin);
    if read.lines == 0 && read.problems.is_empty() {
        return Ok(rejected(2, "", "The file has a header but no purchases."));
    }
    let already_imported = skip_already_imported(conn, &mut read).await?;
    if !read.problems.is_empty() {
        let mut problems = read.problems;
        problems.sort_by_key(|p| p.line);
        let more = problems.len().saturating_sub(MAX_PROBLEMS_SHOWN);
        problems.truncate(MAX_PROBLEMS_SHOWN);
        return Ok(ImportOutcome::Rejected { problems, more });
    }
    let summary = summarize(read.lines, &read.purchases, already_imported);
    if read.purchases.is_empty() {
        return Ok(ImportOutcome::Imported(summary));
    }
    record(conn, admin, &read.purchases, summary).await
}

/// Checks every line against the format and the organizations.
fn read_lines(
    mut reader: csv::Reader<&[u8]>,
    organizations: &[(OrgId, Option<String>)],
    admin: &SuperAdmin,
) -> ReadFile {
    let by_id: HashMap<i64, OrgId> = organizations.iter().map(|(id, _)| (id.0, *id)).collect();
    let by_domain: HashMap<&str, OrgId> = organizations
        .iter()
        .filter_map(|(id, d)| d.as_deref().map(|d| (d, *id)))
        .collect();
    let mut read = ReadFile::default();
    for record in reader.records() {
        read.lines += 1;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                read.problems.push(LineProblem {
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
            read.problems.push(LineProblem {
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
        let raw = RawPurchase {
            kind: &record[1],
            tokens: &record[2],
            amount: &record[3],
            currency: &record[4],
            date: &record[5],
            reference: &record[6],
        };
        let (org_id, line_parsed) = match (org_id, PurchaseLine::parse(&raw)) {
            (Some(org_id), Ok(parsed)) => (org_id, parsed),
            (org_id, parsed) => {
                let reasons: Vec<String> = org_id
                    .is_none()
                    .then(|| "organization: No organization has this id or domain.".to_owned())
                    .into_iter()
                    .chain(
                        parsed
                            .err()
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(column, reason)| format!("{column}: {reason}")),
                    )
                    .collect();
                problem(reasons.join(" "));
                continue;
            }
        };
        let purchase = NewPurchase::from_line(org_id, line_parsed, "import", Some(admin.user_id()));
        if let Some(first) = read.line_of_reference.get(&purchase.reference) {
            if !read.purchases.contains(&purchase) {
                problem(format!(
                    "reference: line {first} uses the same reference for a different purchase."
                ));
            }
            continue;
        }
        read.line_of_reference
            .insert(purchase.reference.clone(), line);
        read.purchases.push(purchase);
    }
    read
}

/// Drops the lines already imported (same reference, same content) and returns how many; a
/// reference recorded for a different purchase is a problem.
async fn skip_already_imported(
    conn: &mut AsyncPgConnection,
    read: &mut ReadFile,
) -> Result<usize, AppError> {
    let references: Vec<String> = read.purchases.iter().map(|p| p.reference.clone()).collect();
    let existing: HashMap<String, NewPurchase> =
        token_purchases::existing_by_reference(conn, &references)
            .await?
            .into_iter()
            .map(|p| (p.reference.clone(), p))
            .collect();
    let mut already_imported = 0;
    let ReadFile {
        purchases,
        line_of_reference,
        problems,
        ..
    } = read;
    purchases.retain(|purchase| {
        let Some(recorded) = existing.get(&purchase.reference) else {
            return true;
        };
        let same = NewPurchase {
            source: purchase.source,
            created_by: purchase.created_by,
            ..recorded.clone()
        } == *purchase;
        if same {
            already_imported += 1;
        } else {
            problems.push(LineProblem {
                line: line_of_reference
                    .get(&purchase.reference)
                    .copied()
                    .unwrap_or(0),
                text: purchase.reference.clone(),
                reason: "reference: already recorded for a different purchase.".to_owned(),
            });
        }
        false
    });
    Ok(already_imported)
}

fn summarize(lines: usize, purchases: &[NewPurchase], already_imported: usize) -> ImportSummary {
    let tokens_of = |kind: TokenKind| -> i64 {
        purchases
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.tokens)
            .sum()
    };
    ImportSummary {
        lines,
        imported: purchases.len(),
        already_imported,
        organizations: purchases
            .iter()
            .map(|p| p.org_id)
            .collect::<HashSet<_>>()
            .len(),
        inference_tokens: tokens_of(TokenKind::Inference),
        embedding_tokens: tokens_of(TokenKind::Embedding),
    }
}

/// Inserts the new purchases and the audit entry in one transaction.
async fn record(
    conn: &mut AsyncPgConnection,
    admin: &SuperAdmin,
    purchases: &[NewPurchase],
    summary: ImportSummary,
) -> Result<ImportOutcome, AppError> {
    let inserted = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let inserted = token_purchases::insert_purchases(conn, purchases).await?;
            let after = serde_json::json!({ "lines": summary.lines, "imported": inserted, "already_imported": summary.already_imported,
                "organizations": summary.organizations, "inference_tokens": summary.inference_tokens, "embedding_tokens": summary.embedding_tokens });
            let entry = audit::NewAuditEntry {
                after: Some(after),
                ..admin.actor().audit("sales_file.imported", "")
            };
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
