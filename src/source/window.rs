//! The weeks an API pull covers: whole ISO weeks (Monday to Sunday), so Meta's 7-day chunks,
//! GA4's `isoYearIsoWeek` and Google Ads' `segments.week` all line up with the log's weeks.

use crate::types::IsoWeek;

/// A run of whole ISO weeks, `first` to `last` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First week.
    pub first: IsoWeek,
    /// Last week.
    pub last: IsoWeek,
}

impl Window {
    /// The `weeks` weeks ending with `last` (at least one).
    pub fn ending(last: IsoWeek, weeks: u32) -> Self {
        let mut first = last;
        for _ in 1..weeks.max(1) {
            let prev = first
                .monday()
                .checked_sub(jiff::Span::new().days(7))
                .map(IsoWeek::of_date)
                .unwrap_or(first);
            first = prev;
        }
        Window { first, last }
    }

    /// The `weeks` complete weeks before the week of `today`.
    pub fn before(today: jiff::civil::Date, weeks: u32) -> Self {
        let last_sunday = today
            .checked_sub(jiff::Span::new().days(i64::from(today.weekday().to_monday_one_offset())))
            .unwrap_or(today);
        Window::ending(IsoWeek::of_date(last_sunday), weeks)
    }

    /// The Monday the window starts on (`YYYY-MM-DD`).
    pub fn since(&self) -> jiff::civil::Date {
        self.first.monday()
    }

    /// The Sunday the window ends on, inclusive.
    pub fn until(&self) -> jiff::civil::Date {
        self.last
            .monday()
            .checked_add(jiff::Span::new().days(6))
            .unwrap_or(self.last.monday())
    }

    /// Every week of the window, in order.
    pub fn weeks(&self) -> Vec<IsoWeek> {
        let mut out = vec![self.first];
        let mut w = self.first;
        while w < self.last && out.len() < 1000 {
            w = w.next();
            out.push(w);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_whole_iso_weeks() {
        let w = Window::ending("2026-W46".parse().unwrap(), 3);
        assert_eq!(w.since().to_string(), "2026-10-26");
        assert_eq!(w.until().to_string(), "2026-11-15");
        assert_eq!(w.weeks().len(), 3);
        let today = jiff::civil::date(2026, 11, 18); // a Wednesday in W47
        assert_eq!(Window::before(today, 2).last.to_string(), "2026-W46");
        let across = Window::ending("2027-W01".parse().unwrap(), 2);
        assert_eq!(across.first.to_string(), "2026-W53");
    }
}
