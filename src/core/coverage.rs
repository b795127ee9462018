//! Stage "coverage": which weeks the data cover well enough to count as **complete**, judged
//! from each week's own coverage rather than from the overall data span (one stray row months
//! before the bulk would otherwise make every empty week between them "complete" and drag the
//! floor volume down).
//!
//! In order, for each ISO week between the first and the last week with data:
//! 1. **Days with data**: the week needs events on at least `min_days` of its 7 days
//!    ([`SetAside::FewDays`] otherwise). An empty week, a week holding only a stray row and a
//!    partial first or last week all fail here.
//! 2. **Volume against its neighbours**: among the weeks that pass 1, a week's volume (units that
//!    started in it) is compared with the median volume of its `neighbours` nearest passing weeks
//!    on each side; below `min_share` of that median it is set aside ([`SetAside::LowVolume`]): a
//!    week with a tracking gap of several days, or a trickle of stray rows on every day. A week
//!    without passing neighbours, or whose neighbours' median is 0, is not tested.
//!
//! Complete weeks feed floor checks, drift tests and the recent windows; set-aside weeks are
//! still shown, marked, with their reason.

/// Thresholds of the coverage rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoverageParams {
    /// Fewest days (of 7) with data for a complete week.
    pub min_days: u8,
    /// A week below this share of its neighbours' median volume is set aside.
    pub min_share: f64,
    /// Passing weeks taken on each side as the week's neighbours.
    pub neighbours: usize,
}

impl Default for CoverageParams {
    /// 6 of 7 days (one quiet day or a log starting on a Tuesday is tolerated, like the one-day
    /// slack of the span rule it replaces), 20% of the median of 2 + 2 neighbours.
    fn default() -> Self {
        CoverageParams {
            min_days: 6,
            min_share: 0.2,
            neighbours: 2,
        }
    }
}

/// What the rule needs to know of one week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekCoverage {
    /// Days of the week (0–7) on which the data have at least one event.
    pub days: u8,
    /// The week's volume (units that started in it).
    pub volume: u64,
}

/// Why a week is not complete.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SetAside {
    /// Data on fewer than the required days of the week.
    FewDays {
        /// Days with data.
        days: u8,
        /// Days required (`min_days`).
        needed: u8,
    },
    /// Volume far below its neighbouring weeks'.
    LowVolume {
        /// The week's volume.
        volume: u64,
        /// Median volume of its neighbouring complete-by-days weeks.
        neighbour_median: f64,
        /// volume / neighbour_median.
        share: f64,
        /// The share required (`min_share`).
        needed: f64,
    },
}

/// Judges every week (in time order): `None` for a complete week, else why it is set aside.
pub fn judge(weeks: &[WeekCoverage], p: &CoverageParams) -> Vec<Option<SetAside>> {
    let passing: Vec<usize> = (0..weeks.len())
        .filter(|&i| weeks[i].days >= p.min_days)
        .collect();
    let mut out: Vec<Option<SetAside>> = weeks
        .iter()
        .map(|w| {
            (w.days < p.min_days).then_some(SetAside::FewDays {
                days: w.days,
                needed: p.min_days,
            })
        })
        .collect();
    for (k, &i) in passing.iter().enumerate() {
        let before = &passing[k.saturating_sub(p.neighbours)..k];
        let after = &passing[k + 1..(k + 1 + p.neighbours).min(passing.len())];
        let mut vols: Vec<u64> = before
            .iter()
            .chain(after)
            .map(|&n| weeks[n].volume)
            .collect();
        let Some(median) = median(&mut vols) else {
            continue;
        };
        if median <= 0.0 {
            continue;
        }
        let volume = weeks[i].volume;
        let share = volume as f64 / median;
        if share < p.min_share {
            out[i] = Some(SetAside::LowVolume {
                volume,
                neighbour_median: median,
                share,
                needed: p.min_share,
            });
        }
    }
    out
}

/// Median of the values (mean of the middle two for an even count); `None` when empty.
fn median(v: &mut [u64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(days: u8, volume: u64) -> WeekCoverage {
        WeekCoverage { days, volume }
    }

    #[test]
    fn a_stray_row_and_the_empty_weeks_after_it_are_set_aside() {
        // A stray row, nine empty weeks, a partial first week of the bulk (Thursday on), then
        // full weeks of ~3,500 units.
        let mut weeks = vec![w(1, 1)];
        weeks.extend(std::iter::repeat_n(w(0, 0), 9));
        weeks.push(w(4, 2_000));
        weeks.extend([w(7, 3_500), w(7, 3_400), w(7, 3_600), w(7, 3_550)]);
        let v = judge(&weeks, &CoverageParams::default());
        assert_eq!(v[0], Some(SetAside::FewDays { days: 1, needed: 6 }));
        for x in &v[1..10] {
            assert_eq!(*x, Some(SetAside::FewDays { days: 0, needed: 6 }));
        }
        assert_eq!(v[10], Some(SetAside::FewDays { days: 4, needed: 6 }));
        assert!(v[11..].iter().all(Option::is_none), "{v:?}");
    }

    #[test]
    fn a_week_with_data_every_day_but_little_of_it_is_set_aside_against_its_neighbours() {
        // Week 2 has a row every day (7 days) but a fraction of the traffic; week 4 dipped by
        // half (a real dip, kept); the median of week 2's neighbours (1000, 1100, 500, 1050) is
        // 1025, so 150 is 14.6% of it.
        let weeks = [
            w(7, 1_000),
            w(7, 1_100),
            w(7, 150),
            w(7, 500),
            w(7, 1_050),
            w(6, 990),
        ];
        let v = judge(&weeks, &CoverageParams::default());
        match v[2] {
            Some(SetAside::LowVolume {
                volume,
                neighbour_median,
                share,
                needed,
            }) => {
                assert_eq!(volume, 150);
                assert_eq!(neighbour_median, 1_025.0);
                assert!((share - 150.0 / 1_025.0).abs() < 1e-12);
                assert_eq!(needed, 0.2);
            }
            ref other => panic!("week 2 should be low volume, got {other:?}"),
        }
        assert!(v.iter().enumerate().all(|(i, x)| i == 2 || x.is_none()));
    }

    #[test]
    fn neighbours_skip_weeks_without_enough_days_and_lone_weeks_are_not_volume_tested() {
        // The empty weeks are not neighbours: the 200-unit week is compared with 1000 and 900
        // (median 950; 21% passes at 0.2, fails at 0.25).
        let weeks = [w(7, 1_000), w(0, 0), w(0, 0), w(7, 200), w(2, 5), w(7, 900)];
        let v = judge(&weeks, &CoverageParams::default());
        assert_eq!(v[3], None);
        let stricter = CoverageParams {
            min_share: 0.25,
            ..CoverageParams::default()
        };
        assert!(matches!(
            judge(&weeks, &stricter)[3],
            Some(SetAside::LowVolume { .. })
        ));
        // One passing week alone has no neighbours: not volume-tested.
        assert_eq!(judge(&[w(7, 3)], &CoverageParams::default()), vec![None]);
        // With min_days = 7 a 6-day week is set aside.
        let all_days = CoverageParams {
            min_days: 7,
            ..CoverageParams::default()
        };
        assert_eq!(
            judge(&[w(6, 100), w(7, 100)], &all_days)[0],
            Some(SetAside::FewDays { days: 6, needed: 7 })
        );
    }
}
