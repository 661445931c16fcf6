//! What a subscription costs, in whole cents (never floating point), and a month's statement
//! prorated by day.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

/// A plan's prices (SPEC §2, Plan): the base covers `included_seats`; each seat beyond costs
/// `extra_seat_price_cents` a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatPricing {
    pub monthly_price_cents: i64,
    pub included_seats: i32,
    pub extra_seat_price_cents: i64,
}

impl SeatPricing {
    /// No plan: nothing is charged.
    pub const NONE: SeatPricing = SeatPricing {
        monthly_price_cents: 0,
        included_seats: 0,
        extra_seat_price_cents: 0,
    };

    pub fn extra_seats(&self, seats: i32) -> i32 {
        (seats - self.included_seats).max(0)
    }

    /// The monthly cost with `seats` seats held.
    pub fn monthly_cost(&self, seats: i32) -> i64 {
        self.monthly_price_cents.saturating_add(
            i64::from(self.extra_seats(seats)).saturating_mul(self.extra_seat_price_cents),
        )
    }
}

/// The subscription as it stands from `effective_at` until the next change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Billed {
    pub effective_at: DateTime<Utc>,
    pub plan_name: String,
    pub pricing: SeatPricing,
    pub seats: i32,
    /// False from the cancellation on: nothing is charged.
    pub active: bool,
}

/// Consecutive days charged at the same plan and seats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub plan_name: String,
    pub seats: i32,
    pub extra_seats: i32,
    pub monthly_cost_cents: i64,
    pub days: i64,
    pub amount_cents: i64,
}

/// One calendar month (UTC), or its first days when it is not over yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub month: NaiveDate,
    pub days_in_month: i64,
    /// The last day covered: the month's last, or today while it runs.
    pub through: NaiveDate,
    pub lines: Vec<StatementLine>,
    pub total_cents: i64,
}

impl Statement {
    /// "November 2026".
    pub fn title(&self) -> String {
        self.month.format("%B %Y").to_string()
    }

    /// "2026-11", as the CSV's address and file name hold it.
    pub fn key(&self) -> String {
        self.month.format("%Y-%m").to_string()
    }

    pub fn is_complete(&self) -> bool {
        self.through == last_day_of(self.month)
    }
}

/// The first day of the month `at` falls in (UTC).
pub fn month_of(at: DateTime<Utc>) -> NaiveDate {
    first_of(at.date_naive())
}

fn first_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The first day of the month before.
pub fn previous_month(month: NaiveDate) -> NaiveDate {
    first_of(month - Duration::days(1))
}

/// The first day of the month after.
pub fn next_month(month: NaiveDate) -> NaiveDate {
    first_of(month + Duration::days(32))
}

fn last_day_of(month: NaiveDate) -> NaiveDate {
    next_month(month) - Duration::days(1)
}

/// "2026-11" → the first of November 2026; years outside 2000–9999 are no statement's.
pub fn parse_month(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d")
        .ok()
        .filter(|month| (2000..=9999).contains(&month.year()))
}

/// The statement of `month` through `through` (at most its last day), from the changes in
/// effect during it: the last one before it began and those within it, oldest first.
///
/// Each day is charged at the plan and seats in effect at the end of that day (UTC), at
/// `monthly cost × 1 / days in the month`; the total is rounded to the cent (half up) once.
pub fn statement(month: NaiveDate, through: NaiveDate, changes: &[Billed]) -> Statement {
    let month = first_of(month);
    let last = last_day_of(month);
    let through = through.min(last);
    let days_in_month = (last - month).num_days() + 1;
    let mut lines: Vec<StatementLine> = Vec::new();
    let mut day = month;
    while day <= through {
        let end_of_day = (day + Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .map(|at| at.and_utc());
        let in_effect = changes
            .iter()
            .rev()
            .find(|change| Some(change.effective_at) < end_of_day)
            .filter(|change| change.active);
        if let Some(change) = in_effect {
            let cost = change.pricing.monthly_cost(change.seats);
            match lines.last_mut() {
                Some(line)
                    if line.last_day + Duration::days(1) == day
                        && line.plan_name == change.plan_name
                        && line.seats == change.seats
                        && line.monthly_cost_cents == cost =>
                {
                    line.last_day = day;
                    line.days += 1;
                }
                _ => lines.push(StatementLine {
                    first_day: day,
                    last_day: day,
                    plan_name: change.plan_name.clone(),
                    seats: change.seats,
                    extra_seats: change.pricing.extra_seats(change.seats),
                    monthly_cost_cents: cost,
                    days: 1,
                    amount_cents: 0,
                }),
            }
        }
        day += Duration::days(1);
    }
    // The running total is rounded, and each line takes the difference: the lines add up to
    // the exact total rounded once, never a cent more for having been split.
    let mut exact_so_far: i128 = 0;
    let mut charged_so_far: i64 = 0;
    for line in &mut lines {
        exact_so_far += i128::from(line.monthly_cost_cents) * i128::from(line.days);
        let charged = rounded(exact_so_far, days_in_month);
        line.amount_cents = charged - charged_so_far;
        charged_so_far = charged;
    }
    Statement {
        month,
        days_in_month,
        through,
        total_cents: charged_so_far,
        lines,
    }
}

/// `cent_days / days_in_month`, rounded half up, in integers.
fn rounded(cent_days: i128, days_in_month: i64) -> i64 {
    let days_in_month = i128::from(days_in_month);
    i64::try_from((cent_days * 2 + days_in_month) / (days_in_month * 2)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDARD: SeatPricing = SeatPricing {
        monthly_price_cents: 2000,
        included_seats: 10,
        extra_seat_price_cents: 500,
    };

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a time")
            .with_timezone(&Utc)
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a day")
    }

    fn billed(effective_at: &str, seats: i32, active: bool) -> Billed {
        Billed {
            effective_at: at(effective_at),
            plan_name: "Standard".to_owned(),
            pricing: STANDARD,
            seats,
            active,
        }
    }

    #[test]
    fn the_default_plan_costs_twenty_dollars_up_to_ten_seats_and_five_for_each_beyond() {
        assert_eq!(STANDARD.monthly_cost(0), 2000);
        assert_eq!(STANDARD.monthly_cost(10), 2000);
        assert_eq!(STANDARD.monthly_cost(11), 2500);
        assert_eq!(STANDARD.extra_seats(11), 1);
        assert_eq!(STANDARD.monthly_cost(30), 2000 + 20 * 500);
    }

    #[test]
    fn a_whole_month_at_one_plan_is_its_monthly_cost() {
        let changes = [billed("2026-10-15T09:00:00Z", 11, true)];
        let november = statement(day("2026-11-01"), day("2026-11-30"), &changes);
        assert_eq!(november.total_cents, 2500);
        assert_eq!(november.lines.len(), 1);
        assert_eq!(november.lines[0].days, 30);
        assert!(november.is_complete());
        assert_eq!(november.title(), "November 2026");
        assert_eq!(november.key(), "2026-11");
    }

    #[test]
    fn a_mid_month_change_splits_the_month_by_day() {
        // 10 seats until a seat is added on 11 November at 15:00: the 11th is charged at 11.
        let changes = [
            billed("2026-10-15T09:00:00Z", 10, true),
            billed("2026-11-11T15:00:00Z", 11, true),
        ];
        let november = statement(day("2026-11-01"), day("2026-11-30"), &changes);
        let lines: Vec<(NaiveDate, NaiveDate, i32, i64, i64)> = november
            .lines
            .iter()
            .map(|l| (l.first_day, l.last_day, l.seats, l.days, l.amount_cents))
            .collect();
        assert_eq!(
            lines,
            [
                // 2000 × 10/30 = 666.67 → 667
                (day("2026-11-01"), day("2026-11-10"), 10, 10, 667),
                // The exact total 2000 × 10/30 + 2500 × 20/30 = 2333.33 is rounded once:
                // 2333, so this line is 2333 − 667, not 2500 × 20/30 rounded (1667).
                (day("2026-11-11"), day("2026-11-30"), 11, 20, 1666),
            ]
        );
        assert_eq!(november.total_cents, 2333);
    }

    #[test]
    fn nothing_is_charged_before_the_start_or_after_a_cancellation() {
        let changes = [
            billed("2026-11-21T08:00:00Z", 1, true),
            billed("2026-12-05T12:00:00Z", 1, false),
        ];
        let november = statement(day("2026-11-01"), day("2026-11-30"), &changes);
        assert_eq!(november.lines[0].first_day, day("2026-11-21"));
        assert_eq!(november.total_cents, 667, "10 of 30 days of $20");
        let december = statement(day("2026-12-01"), day("2026-12-31"), &changes);
        assert_eq!(december.lines[0].days, 4, "cancelled during the 5th");
        assert_eq!(december.total_cents, 258, "2000 × 4/31 = 258.06");
        let january = statement(day("2027-01-01"), day("2027-01-31"), &changes);
        assert!(january.lines.is_empty());
        assert_eq!(january.total_cents, 0);
    }

    #[test]
    fn a_running_month_covers_the_days_so_far() {
        let changes = [billed("2026-01-01T00:00:00Z", 10, true)];
        let so_far = statement(day("2026-02-01"), day("2026-02-14"), &changes);
        assert_eq!(so_far.lines[0].days, 14);
        assert_eq!(so_far.days_in_month, 28);
        assert_eq!(so_far.total_cents, 1000);
        assert!(!so_far.is_complete());
    }

    #[test]
    fn months_are_named_and_stepped() {
        assert_eq!(parse_month("2026-11"), Some(day("2026-11-01")));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("November"), None);
        assert_eq!(parse_month("262143-01"), None);
        assert_eq!(parse_month("0001-01"), None);
        assert_eq!(previous_month(day("2026-01-01")), day("2025-12-01"));
        assert_eq!(next_month(day("2026-12-01")), day("2027-01-01"));
        assert_eq!(month_of(at("2026-12-31T23:59:59Z")), day("2026-12-01"));
    }
}
