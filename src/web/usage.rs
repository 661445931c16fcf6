//! Usage reports as pages show them (the organization's Usage page and the Account page): the
//! day-by-day chart drawn on the server as SVG, with its text alternative, and the CSV of
//! what a page shows.

use crate::services::usage::{Line, Report};
use crate::web::kit::format;

/// The chart's drawing box (the SVG scales to the page with its viewBox).
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
/// Room for the axis labels.
const LEFT: f64 = 60.0;
const BOTTOM: f64 = 24.0;

pub struct Bar {
    pub x: String,
    pub y: String,
    pub width: String,
    pub height: String,
    /// What a screen reader and a hover read: the day and its figures.
    pub title: String,
}

/// Tokens per day as bars.
pub struct Chart {
    pub bars: Vec<Bar>,
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub baseline: String,
    /// The highest day's tokens, written at the top of the axis.
    pub top_label: String,
    pub first_day: String,
    pub last_day: String,
    /// The chart in one sentence, for those who cannot see it.
    pub summary: String,
}

impl Chart {
    pub fn of(report: &Report) -> Chart {
        let max = report
            .days
            .iter()
            .map(Line::tokens)
            .max()
            .unwrap_or(0)
            .max(1);
        let plot_width = WIDTH - LEFT;
        let plot_height = HEIGHT - BOTTOM;
        let slot = plot_width / report.days.len().max(1) as f64;
        let bars = report
            .days
            .iter()
            .enumerate()
            .map(|(i, day)| {
                let height = plot_height * day.tokens() as f64 / max as f64;
                Bar {
                    x: format!("{:.1}", LEFT + slot * i as f64 + slot * 0.1),
                    y: format!("{:.1}", plot_height - height),
                    width: format!("{:.1}", slot * 0.8),
                    height: format!("{height:.1}"),
                    title: format!(
                        "{}: {} tokens in {} requests",
                        day.label,
                        format::number(day.tokens()),
                        format::number(day.requests)
                    ),
                }
            })
            .collect();
        let busiest = report.days.iter().max_by_key(|d| d.tokens());
        let summary = match busiest {
            Some(day) if day.tokens() > 0 => format!(
                "Tokens per day from {} to {}: {} in all, the most on {} ({}).",
                report.range.from,
                report.range.until,
                format::number(report.total.tokens()),
                day.label,
                format::number(day.tokens())
            ),
            _ => format!(
                "No tokens were used from {} to {}.",
                report.range.from, report.range.until
            ),
        };
        Chart {
            bars,
            width: WIDTH,
            height: HEIGHT,
            left: LEFT,
            baseline: format!("{plot_height:.1}"),
            top_label: format::number(max).to_string(),
            first_day: report.range.from.to_string(),
            last_day: report.range.until.to_string(),
            summary,
        }
    }
}

/// The tables under the chart: (id, heading, lines).
pub fn breakdowns<'a>(
    report: &'a Report,
    holder_heading: &'a str,
) -> [(&'static str, &'a str, String, &'a [Line]); 3] {
    // "By member" heads a column "Member".
    let column = |heading: &str| {
        let word = heading.trim_start_matches("By ");
        let mut chars = word.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_uppercase().chain(chars).collect()
        })
    };
    [
        (
            "usage-endpoints",
            "By endpoint",
            column("By endpoint"),
            &report.endpoints,
        ),
        (
            "usage-models",
            "By model",
            column("By model"),
            &report.models,
        ),
        (
            "usage-holders",
            holder_heading,
            column(holder_heading),
            &report.holders,
        ),
    ]
}

/// What the page shows, as CSV: one row per line of each breakdown.
pub fn as_csv(report: &Report, holder: &str) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "breakdown",
        "value",
        "requests",
        "input_tokens",
        "output_tokens",
    ])?;
    let sections: [(&str, &[Line]); 4] = [
        ("day", &report.days),
        ("endpoint", &report.endpoints),
        ("model", &report.models),
        (holder, &report.holders),
    ];
    for (name, lines) in sections {
        for line in lines {
            writer.write_record([
                name.to_owned(),
                format::csv_text(&line.label),
                line.requests.to_string(),
                line.input_tokens.to_string(),
                line.output_tokens.to_string(),
            ])?;
        }
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}
