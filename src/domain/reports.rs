//! Ticket figures per week or month, for staff: how many came in, were resolved and were
//! closed, how long the first answer took and how customers rated the outcome.

use time::{Date, Duration, Month, OffsetDateTime};

use crate::db::{Db, stored_enum};
use crate::domain::clock::Timestamp;
use crate::domain::{Error, FieldErrors, Result};

/// How many periods a report covers, the current one included.
pub const PERIODS: usize = 12;

stored_enum!(
    /// The periods a report counts in.
    pub enum Period {
        /// Weeks from Monday, UTC.
        Weekly => "weekly", "Weekly";
        /// Calendar months, UTC.
        Monthly => "monthly", "Monthly";
    } else "Choose weekly or monthly."
);

impl Period {
    /// Weekly unless another period is named.
    pub fn parse(input: &str) -> Result<Self> {
        match input.trim() {
            "" => Ok(Self::Weekly),
            other => other
                .parse()
                .map_err(|_| Error::Invalid(FieldErrors::single("period", format!("“{other}” is not weekly or monthly.")))),
        }
    }

    /// The first day of the period that contains `day`.
    fn start_of(self, day: Date) -> Date {
        match self {
            Self::Weekly => day - Duration::days(i64::from(day.weekday().number_days_from_monday())),
            Self::Monthly => day.replace_day(1).expect("every month has a first day"),
        }
    }

    fn next(self, start: Date) -> Date {
        match self {
            Self::Weekly => start + Duration::weeks(1),
            Self::Monthly => {
                let (year, month) = if start.month() == Month::December {
                    (start.year() + 1, Month::January)
                } else {
                    (start.year(), start.month().next())
                };
                Date::from_calendar_date(year, month, 1).expect("the first of a month exists")
            }
        }
    }

    fn previous(self, start: Date) -> Date {
        match self {
            Self::Weekly => start - Duration::weeks(1),
            Self::Monthly => self.start_of(start - Duration::days(1)),
        }
    }

    /// The starts of the last [`PERIODS`] periods up to the one containing `now`, and the end
    /// of that one: `PERIODS + 1` days in order.
    pub fn boundaries(self, now: Timestamp) -> Vec<Date> {
        let today = OffsetDateTime::from_unix_timestamp(now).map(OffsetDateTime::date).unwrap_or(Date::MIN);
        let mut first = self.start_of(today);
        for _ in 1..PERIODS {
            first = self.previous(first);
        }
        let mut days = vec![first];
        for _ in 0..PERIODS {
            days.push(self.next(*days.last().expect("not empty")));
        }
        days
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PeriodFigures {
    pub start: Date,
    /// Exclusive.
    pub end: Date,
    pub created: i64,
    pub resolved: i64,
    pub closed: i64,
    /// Over the tickets created in the period that have had an answer.
    pub first_response_average_minutes: Option<i64>,
    /// Over the tickets created in the period that were rated.
    pub rating_average: Option<f64>,
}

fn unix(day: Date) -> Timestamp {
    day.midnight().assume_utc().unix_timestamp()
}

/// Per period (by index) of the tickets whose moment falls in it: how many, and the sum
/// and count of their first-response times (seconds) and of their ratings.
#[derive(sqlx::FromRow)]
struct Sums {
    period: i64,
    tickets: i64,
    response_seconds: i64,
    answered: i64,
    ratings: i64,
    rated: i64,
}

/// When in a ticket's life it is counted in a period.
#[derive(Clone, Copy)]
enum Moment {
    Created,
    Resolved,
    Closed,
}

impl Moment {
    fn column(self) -> &'static str {
        match self {
            Moment::Created => "created_at",
            Moment::Resolved => "resolved_at",
            Moment::Closed => "closed_at",
        }
    }

    /// What is summed besides the count: only by creation are the averages asked for, so
    /// the other statements read nothing but their column's index.
    fn sums(self) -> &'static str {
        match self {
            Moment::Created => {
                "CAST(COALESCE(SUM(first_response_at - created_at), 0) AS BIGINT) AS response_seconds, \
                 COUNT(first_response_at) AS answered, CAST(COALESCE(SUM(rating), 0) AS BIGINT) AS ratings, COUNT(rating) AS rated"
            }
            Moment::Resolved | Moment::Closed => {
                "CAST(0 AS BIGINT) AS response_seconds, CAST(0 AS BIGINT) AS answered, CAST(0 AS BIGINT) AS ratings, \
                 CAST(0 AS BIGINT) AS rated"
            }
        }
    }
}

/// One statement per moment, one range of its column's index per period (no sorting or
/// grouping of a year's tickets).
async fn sums_per_period(db: &Db, moment: Moment, days: &[Date]) -> Result<Vec<Sums>> {
    let (column, sums) = (moment.column(), moment.sums());
    let parts: Vec<String> = (1..days.len())
        .map(|end| {
            format!(
                "SELECT CAST({period} AS BIGINT) AS period, COUNT(*) AS tickets, {sums} \
                 FROM tickets WHERE {column} >= ${end} AND {column} < ${next}",
                period = end - 1,
                next = end + 1,
            )
        })
        .collect();
    let sql = parts.join(" UNION ALL ");
    let mut query = sqlx::query_as::<_, Sums>(&sql);
    for day in days {
        query = query.bind(unix(*day));
    }
    Ok(query.fetch_all(db.pool()).await?)
}

/// The figures of the last [`PERIODS`] periods, oldest first.
pub async fn tickets(db: &Db, period: Period, now: Timestamp) -> Result<Vec<PeriodFigures>> {
    let days = period.boundaries(now);
    let mut figures: Vec<PeriodFigures> = days
        .windows(2)
        .map(|pair| PeriodFigures {
            start: pair[0],
            end: pair[1],
            created: 0,
            resolved: 0,
            closed: 0,
            first_response_average_minutes: None,
            rating_average: None,
        })
        .collect();
    let at = |sums: &Sums| usize::try_from(sums.period).ok().filter(|index| *index < PERIODS);
    for sums in sums_per_period(db, Moment::Created, &days).await? {
        let Some(index) = at(&sums) else { continue };
        let entry = &mut figures[index];
        entry.created = sums.tickets;
        entry.first_response_average_minutes = (sums.answered > 0).then(|| sums.response_seconds / sums.answered / 60);
        entry.rating_average = (sums.rated > 0).then(|| (sums.ratings as f64 / sums.rated as f64 * 100.0).round() / 100.0);
    }
    for sums in sums_per_period(db, Moment::Resolved, &days).await? {
        if let Some(index) = at(&sums) {
            figures[index].resolved = sums.tickets;
        }
    }
    for sums in sums_per_period(db, Moment::Closed, &days).await? {
        if let Some(index) = at(&sums) {
            figures[index].closed = sums.tickets;
        }
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let now = unix(date!(2026 - 11 - 28)) + 3600; // a Saturday
        let weeks = Period::Weekly.boundaries(now);
        assert_eq!(weeks.len(), PERIODS + 1);
        assert_eq!(weeks[PERIODS - 1], date!(2026 - 11 - 23));
        assert_eq!(weeks[PERIODS], date!(2026 - 11 - 30));
        let months = Period::Monthly.boundaries(now);
        assert_eq!(months[0], date!(2025 - 12 - 01));
        assert_eq!(months[PERIODS - 1], date!(2026 - 11 - 01));
        assert_eq!(months[PERIODS], date!(2026 - 12 - 01));
        assert!(Period::parse("daily").is_err());
    }
}
