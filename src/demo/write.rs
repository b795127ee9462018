//! Writing the built store as the canonical CSV log, with its per-week summary.

use super::*;

// ---------------------------------------------------------------------------------------------
// Writing

impl Log {
    pub(super) fn write_csv(&self, out: &mut impl Write) -> io::Result<DemoSummary> {
        let nweeks = self.weeks as usize;
        let mut rows_by = vec![[0u64; EVENTS.len()]; nweeks];
        let mut sessions_by = vec![[0u64; EVENTS.len()]; nweeks];
        let mut sessions_in = vec![0u64; nweeks];
        let mut seen = vec![0u16; self.sessions.len()];
        let week_of = |ts: i64| (((ts - self.start) / WEEK) as usize).min(nweeks - 1);

        writeln!(out, "{HEADER}")?;
        let mut line = String::with_capacity(128);
        let mut day_cache: (i64, String) = (i64::MIN, String::new());
        let (mut purchases, mut revenue_cents) = (0u64, 0u64);
        let mut user_seen = vec![false; self.users.len()];
        for r in &self.rows {
            let s = &self.sessions[r.session as usize];
            let e = r.event as usize;
            rows_by[week_of(r.ts)][e] += 1;
            let sw = week_of(s.start);
            if seen[r.session as usize] & (1 << e) == 0 {
                seen[r.session as usize] |= 1 << e;
                sessions_by[sw][e] += 1;
                if r.event == Event::SessionStart {
                    sessions_in[sw] += 1;
                }
            }
            user_seen[s.user as usize] = true;

            line.clear();
            let day = r.ts.div_euclid(DAY);
            if day != day_cache.0 {
                day_cache = (day, format_day(self.first_monday, day - self.start / DAY));
            }
            let sec = r.ts.rem_euclid(DAY);
            use std::fmt::Write as _;
            let _ = write!(
                line,
                "{}T{:02}:{:02}:{:02}Z,{:012x},{:012x},{},{},{},",
                day_cache.1,
                sec / 3_600,
                sec / 60 % 60,
                sec % 60,
                self.users[s.user as usize].id,
                s.id,
                r.event.as_str(),
                s.device.as_str(),
                s.channel.as_str(),
            );
            if r.event == Event::Purchase {
                purchases += 1;
                revenue_cents += u64::from(r.value_cents);
                let _ = write!(line, "{}.{:02}", r.value_cents / 100, r.value_cents % 100);
            }
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }

        let weeks = (0..nweeks)
            .map(|w| {
                let monday = self
                    .first_monday
                    .checked_add(jiff::Span::new().days(7 * w as i64))
                    .unwrap_or(self.first_monday);
                WeekSummary {
                    week: IsoWeek::of_date(monday),
                    sessions: sessions_in[w],
                    events: EVENTS
                        .iter()
                        .map(|ev| {
                            let i = *ev as usize;
                            let count = EventCount {
                                rows: rows_by[w][i],
                                sessions: sessions_by[w][i],
                            };
                            (ev.as_str().to_string(), count)
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(DemoSummary {
            rows: self.rows.len() as u64,
            sessions: self.sessions.len() as u64,
            users: user_seen.iter().filter(|&&b| b).count() as u64,
            purchases,
            revenue_cents,
            weeks,
        })
    }
}

/// `YYYY-MM-DD` of the day `offset` days after `first` (validated dates stay in jiff's range).
pub(super) fn format_day(first: Date, offset: i64) -> String {
    first
        .checked_add(jiff::Span::new().days(offset))
        .unwrap_or(first)
        .to_string()
}
