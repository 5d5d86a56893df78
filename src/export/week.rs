//! ISO weeks in a time zone: `2026-W47` is Monday 00:00 to the next Monday 00:00 on the
//! clocks of Amsterdam, whatever that is in UTC.
//!
//! A week is 168 hours, except the two a year whose Sunday moves the clocks: the week
//! that ends on the last Sunday of March is 167 hours long, the one that ends on the last
//! Sunday of October 169. Week boundaries are therefore computed from local midnights,
//! never by adding seven days of seconds. ISO week-numbering years have 52 or 53 weeks
//! (2026 has 53); the first week of a year is the one with its first Thursday.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// The time zone of week boundaries unless configured otherwise.
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::Europe::Amsterdam;

/// One ISO week, held as its Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    monday: NaiveDate,
}

/// Why a text is not a week.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeekError {
    #[error("{0}: not an ISO week; write the year, W and the week number, e.g. 2026-W47")]
    Syntax(String),
    #[error("{0}: before 1990, long before any post webcare could have kept")]
    TooEarly(String),
    #[error("{text}: week {week} does not exist in {year} (it has {weeks})")]
    NoSuchWeek {
        text: String,
        year: i32,
        week: u32,
        weeks: u32,
    },
}

/// How many ISO weeks `year` has (52 or 53): 28 December is always in the last one.
pub fn weeks_in(year: i32) -> u32 {
    NaiveDate::from_ymd_opt(year, 12, 28)
        .map(|d| d.iso_week().week())
        .unwrap_or(52)
}

impl IsoWeek {
    /// Week `week` of ISO year `year`, if it exists.
    pub fn new(year: i32, week: u32) -> Option<IsoWeek> {
        if week == 0 || week > weeks_in(year) {
            return None;
        }
        NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).map(|monday| IsoWeek { monday })
    }

    /// The week that holds `date`.
    pub fn of_date(date: NaiveDate) -> IsoWeek {
        let back = u64::from(date.weekday().num_days_from_monday());
        IsoWeek {
            monday: date.checked_sub_days(Days::new(back)).unwrap_or(date),
        }
    }

    /// The week that holds `instant` on the clocks of `tz`.
    pub fn containing(instant: DateTime<Utc>, tz: Tz) -> IsoWeek {
        IsoWeek::of_date(instant.with_timezone(&tz).date_naive())
    }

    /// The last week that has ended by `now` on the clocks of `tz`.
    pub fn last_complete(now: DateTime<Utc>, tz: Tz) -> IsoWeek {
        IsoWeek::containing(now, tz).previous()
    }

    pub fn year(self) -> i32 {
        self.monday.iso_week().year()
    }

    pub fn number(self) -> u32 {
        self.monday.iso_week().week()
    }

    /// Its Monday (local date).
    pub fn monday(self) -> NaiveDate {
        self.monday
    }

    /// Its Sunday (local date).
    pub fn sunday(self) -> NaiveDate {
        self.monday
            .checked_add_days(Days::new(6))
            .unwrap_or(self.monday)
    }

    pub fn previous(self) -> IsoWeek {
        IsoWeek {
            monday: self
                .monday
                .checked_sub_days(Days::new(7))
                .unwrap_or(self.monday),
        }
    }

    pub fn next(self) -> IsoWeek {
        IsoWeek {
            monday: self
                .monday
                .checked_add_days(Days::new(7))
                .unwrap_or(self.monday),
        }
    }

    /// `n` weeks earlier.
    pub fn minus(self, n: u32) -> IsoWeek {
        (0..n).fold(self, |w, _| w.previous())
    }

    /// Monday 00:00 in `tz`, as an instant.
    pub fn start(self, tz: Tz) -> DateTime<Utc> {
        local_to_utc(tz, self.monday.and_time(chrono::NaiveTime::MIN))
    }

    /// The next Monday 00:00 in `tz`: the week is `[start, end)`.
    pub fn end(self, tz: Tz) -> DateTime<Utc> {
        self.next().start(tz)
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-W{:02}", self.year(), self.number())
    }
}

impl FromStr for IsoWeek {
    type Err = WeekError;

    /// `2026-W47`; also `2026-w47` and `2026W47`.
    fn from_str(text: &str) -> Result<IsoWeek, WeekError> {
        let syntax = || WeekError::Syntax(text.to_string());
        let trimmed = text.trim();
        let (year, week) = trimmed.split_once(['W', 'w']).ok_or_else(syntax)?;
        let year = year.strip_suffix('-').unwrap_or(year);
        let digits = |s: &str, max: usize| {
            !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
        };
        if year.len() != 4 || !digits(year, 4) || !digits(week, 2) {
            return Err(syntax());
        }
        let year: i32 = year.parse().map_err(|_| syntax())?;
        let week: u32 = week.parse().map_err(|_| syntax())?;
        // Before any public post webcare could read; "0000-W01" is a typo.
        if year < 1990 {
            return Err(WeekError::TooEarly(trimmed.to_string()));
        }
        IsoWeek::new(year, week).ok_or_else(|| WeekError::NoSuchWeek {
            text: trimmed.to_string(),
            year,
            week,
            weeks: weeks_in(year),
        })
    }
}

/// The instant a local wall-clock time stands for in `tz`. When clocks go back the time
/// happens twice and the first is taken; when they jump forward it does not happen at
/// all and the first minute after the gap is taken (a schedule at 02:30 on the last
/// Sunday of March runs at 03:00).
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut t = local;
    // No zone's gap is longer than a day.
    for _ in 0..=24 * 60 {
        if let Some(at) = tz.from_local_datetime(&t).earliest() {
            return at.with_timezone(&Utc);
        }
        t += chrono::Duration::minutes(1);
    }
    Utc.from_utc_datetime(&local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn week(text: &str) -> IsoWeek {
        text.parse().unwrap()
    }

    const AMS: Tz = DEFAULT_TIME_ZONE;

    #[test]
    fn parses_and_prints_iso_weeks() {
        assert_eq!(week("2026-W47").to_string(), "2026-W47");
        assert_eq!(week("2026w03").to_string(), "2026-W03");
        assert_eq!(week(" 2026-W3 ").to_string(), "2026-W03");
        assert_eq!(
            week("2026-W53").monday(),
            NaiveDate::from_ymd_opt(2026, 12, 28).unwrap()
        );
        assert_eq!(weeks_in(2026), 53);
        assert_eq!(weeks_in(2025), 52);
    }

    #[test]
    fn refuses_what_is_not_a_week_and_names_it() {
        let e = "2026-W60".parse::<IsoWeek>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "2026-W60: week 60 does not exist in 2026 (it has 53)"
        );
        let e = "2025-W53".parse::<IsoWeek>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "2025-W53: week 53 does not exist in 2025 (it has 52)"
        );
        let e = "2026-W00".parse::<IsoWeek>().unwrap_err();
        assert!(e.to_string().contains("week 0 does not exist"), "{e}");
        for bad in [
            "yesterday",
            "",
            "2026",
            "W47",
            "2026-W",
            "2026-W470",
            "26-W47",
            "2026-W4x",
        ] {
            let e = bad.parse::<IsoWeek>().unwrap_err();
            assert!(matches!(e, WeekError::Syntax(_)), "{bad}: {e}");
            assert!(e.to_string().contains("2026-W47"), "{e}");
        }
    }

    #[test]
    fn an_ordinary_week_is_168_hours_from_local_midnight() {
        let w = week("2026-W47");
        assert_eq!(w.start(AMS), utc("2026-11-15T23:00:00Z"));
        assert_eq!(w.end(AMS), utc("2026-11-22T23:00:00Z"));
        let w = week("2026-W27");
        assert_eq!(w.start(AMS), utc("2026-06-28T22:00:00Z"));
        assert_eq!((w.end(AMS) - w.start(AMS)).num_hours(), 168);
    }

    #[test]
    fn the_weeks_with_a_clock_change_are_167_and_169_hours() {
        // Summer time starts on Sunday 29 March 2026 (week 13) ...
        let spring = week("2026-W13");
        assert_eq!(spring.start(AMS), utc("2026-03-22T23:00:00Z"));
        assert_eq!(spring.end(AMS), utc("2026-03-29T22:00:00Z"));
        assert_eq!((spring.end(AMS) - spring.start(AMS)).num_hours(), 167);
        // ... and ends on Sunday 25 October 2026 (week 43).
        let autumn = week("2026-W43");
        assert_eq!(autumn.start(AMS), utc("2026-10-18T22:00:00Z"));
        assert_eq!(autumn.end(AMS), utc("2026-10-25T23:00:00Z"));
        assert_eq!((autumn.end(AMS) - autumn.start(AMS)).num_hours(), 169);
    }

    #[test]
    fn year_ends_and_week_53() {
        let w53 = week("2026-W53");
        assert_eq!(w53.start(AMS), utc("2026-12-27T23:00:00Z"));
        assert_eq!(w53.next().to_string(), "2027-W01");
        assert_eq!(w53.next().start(AMS), utc("2027-01-03T23:00:00Z"));
        // 1 January 2027 is a Friday in 2026-W53.
        assert_eq!(IsoWeek::containing(utc("2027-01-01T12:00:00Z"), AMS), w53);
        // 29 December 2025 (a Monday) is in 2026-W01.
        assert_eq!(
            IsoWeek::containing(utc("2025-12-29T10:00:00Z"), AMS).to_string(),
            "2026-W01"
        );
        assert_eq!(week("2026-W01").previous().to_string(), "2025-W52");
        assert_eq!(week("2027-W01").minus(2).to_string(), "2026-W52");
    }

    #[test]
    fn sunday_23_59_local_is_that_week_and_monday_00_00_the_next() {
        let w = week("2026-W47");
        // Sunday 22 November 23:59 CET = 22:59 UTC.
        assert_eq!(IsoWeek::containing(utc("2026-11-22T22:59:00Z"), AMS), w);
        assert_eq!(IsoWeek::containing(utc("2026-11-22T22:59:59Z"), AMS), w);
        // Monday 23 November 00:00 CET = 22 November 23:00 UTC.
        assert_eq!(
            IsoWeek::containing(utc("2026-11-22T23:00:00Z"), AMS),
            w.next()
        );
        // In summer time the boundary is 22:00 UTC.
        let june = week("2026-W26");
        assert_eq!(IsoWeek::containing(utc("2026-06-28T21:59:00Z"), AMS), june);
        assert_eq!(
            IsoWeek::containing(utc("2026-06-28T22:00:00Z"), AMS),
            june.next()
        );
        // The night the clocks go back: Sunday 25 October 23:30 CET is still week 43.
        assert_eq!(
            IsoWeek::containing(utc("2026-10-25T22:30:00Z"), AMS).to_string(),
            "2026-W43"
        );
    }

    #[test]
    fn the_last_complete_week() {
        // Monday 23 November 2026 07:00 in Amsterdam: week 47 has just ended.
        let now = utc("2026-11-23T06:00:00Z");
        assert_eq!(IsoWeek::last_complete(now, AMS).to_string(), "2026-W47");
        // Sunday evening, local: week 47 is not complete yet.
        let sunday = utc("2026-11-22T22:30:00Z");
        assert_eq!(IsoWeek::last_complete(sunday, AMS).to_string(), "2026-W46");
    }

    #[test]
    fn local_times_in_a_gap_move_forward_and_repeated_ones_take_the_first() {
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(local_to_utc(AMS, gap), utc("2026-03-29T01:00:00Z"));
        let twice = NaiveDate::from_ymd_opt(2026, 10, 25)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(local_to_utc(AMS, twice), utc("2026-10-25T00:30:00Z"));
    }
}
