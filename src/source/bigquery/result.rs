//! Reading the pushdown's result: its rows (one kind per row) back into [`Observations`] and
//! the read summary.

use super::*;

/// One result row, by column.
struct Row<'a> {
    index: usize,
    cells: &'a [Option<String>],
    at: &'a [usize; COLUMNS.len()],
}

impl Row<'_> {
    fn text(&self, c: usize) -> Option<&str> {
        self.cells.get(self.at[c]).and_then(|v| v.as_deref())
    }

    fn bad(&self, c: usize, message: String) -> PushdownError {
        PushdownError::BadCell {
            row: self.index,
            column: COLUMNS[c],
            message,
        }
    }

    /// An INT64 cell (BigQuery sends them as strings); NULL is 0 (an empty `COUNTIF`).
    fn int(&self, c: usize) -> Result<i64, PushdownError> {
        match self.text(c) {
            None => Ok(0),
            Some(s) => s
                .parse::<i64>()
                .or_else(|_| s.parse::<f64>().map(|f| f as i64))
                .map_err(|_| self.bad(c, format!("{s:?} is not an integer"))),
        }
    }

    fn count(&self, c: usize) -> Result<u64, PushdownError> {
        let v = self.int(c)?;
        u64::try_from(v).map_err(|_| self.bad(c, format!("{v} is not a count")))
    }

    fn float(&self, c: usize) -> Result<f64, PushdownError> {
        match self.text(c) {
            None => Ok(0.0),
            Some(s) => s
                .parse::<f64>()
                .map_err(|_| self.bad(c, format!("{s:?} is not a number"))),
        }
    }

    fn week(&self) -> Result<IsoWeek, PushdownError> {
        let s = self.text(WEEK).unwrap_or("");
        s.parse::<IsoWeek>().map_err(|e| self.bad(WEEK, e))
    }
}

const KIND: usize = 0;
const WEEK: usize = 1;
const DEVICE: usize = 2;
const CHANNEL: usize = 3;
const NAME: usize = 4;
const MASK: usize = 5;
const N1: usize = 6;
const N2: usize = 7;
const N3: usize = 8;
const X1: usize = 9;
const X2: usize = 10;

/// Interned levels, "(unknown)" first, then by first appearance (as the local reader interns).
fn levels(mut seen: Vec<(i64, String)>) -> Vec<String> {
    if seen.is_empty() {
        return Vec::new();
    }
    seen.sort();
    std::iter::once("(unknown)".to_string())
        .chain(seen.into_iter().map(|(_, n)| n))
        .collect()
}

/// Builds [`Observations`] and the read summary from the pushdown's result: `columns` are the
/// result's column names, `rows` its cells (NULL as `None`).
pub fn observations(
    columns: &[String],
    rows: &[Vec<Option<String>>],
    observe: &ObserveSpec,
    extras: &[EventName],
) -> Result<(Observations, ReadSummary), PushdownError> {
    let mut at = [0usize; COLUMNS.len()];
    for (i, name) in COLUMNS.iter().enumerate() {
        at[i] = columns
            .iter()
            .position(|c| c == name)
            .ok_or(PushdownError::MissingColumn(name))?;
    }
    let tracked = sql::tracked_events(observe, extras);
    let k = observe.candidates.len();
    let rows: Vec<Row<'_>> = rows
        .iter()
        .enumerate()
        .map(|(index, cells)| Row {
            index,
            cells,
            at: &at,
        })
        .collect();
    let (kinds, devices, channels, week_list) = first_pass(&rows)?;
    let ctx = Ctx {
        observe,
        tracked: &tracked,
        cand_index: observe
            .candidates
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect(),
        devices: &devices,
        channels: &channels,
        week_index: week_list
            .iter()
            .enumerate()
            .map(|(i, w)| (*w, i as u16))
            .collect(),
    };
    let mut acc = Acc::new(k, week_list.len());
    for (r, kind) in rows.iter().zip(kinds) {
        acc.row(&ctx, r, kind)?;
    }
    let Acc {
        weeks,
        mut patterns,
        mut fired,
        mut values,
        ordering,
        clusters,
        other_events,
        totals: (units, censored, inferred),
        span: (lo, hi, users),
        mut read,
    } = acc;
    read.rows_accepted = read.rows_read - read.skipped_total().min(read.rows_read);
    let weeks = week_volumes(&week_list, weeks, observe, (lo, hi));
    let weeks = crate::observe::judge_coverage(weeks, &observe.coverage);
    patterns.sort_by_key(|p: &Pattern| (p.week, p.device, p.channel, p.mask));
    fired.sort_by_key(|g: &FiredGroup| (g.week, g.device, g.channel, g.mask));
    values.sort_by_key(|g: &ValueGroup| (g.week, g.mask));
    let extra_events = tracked[k + 1..].to_vec();
    Ok((
        Observations {
            unit: observe.unit,
            candidates: observe.candidates.clone(),
            purchase: observe.purchase.clone(),
            weeks,
            devices,
            channels,
            patterns,
            ordering,
            units,
            users,
            censored_units: censored,
            label_window_days: observe.label_window_days,
            sessions_inferred: observe.unit == UnitKind::Session && inferred > 0,
            // The pushdown counts sessions, not the events behind them.
            session_id_events: 0,
            session_id_missing: 0,
            session_id_joined: 0,
            inferred_sessions: if observe.unit == UnitKind::Session {
                inferred
            } else {
                0
            },
            other_events,
            span_micros: (lo, hi),
            extra_events,
            fired,
            values,
            clusters: Some(clusters),
            discovery: None,
            derived: Vec::new(),
        },
        read,
    ))
}

/// The first pass over the result: each row's kind, the device and channel levels, and the
/// weeks (gaps filled), so that the second pass knows every index.
#[allow(clippy::type_complexity)]
fn first_pass(
    rows: &[Row<'_>],
) -> Result<(Vec<RowKind>, Vec<String>, Vec<String>, Vec<IsoWeek>), PushdownError> {
    let mut devices = Vec::new();
    let mut channels = Vec::new();
    let mut week_set = std::collections::BTreeSet::new();
    let mut kinds = Vec::with_capacity(rows.len());
    for r in rows {
        let kind = r
            .text(KIND)
            .and_then(RowKind::parse)
            .ok_or_else(|| r.bad(KIND, format!("unknown kind {:?}", r.text(KIND))))?;
        kinds.push(kind);
        match kind {
            RowKind::Level => {
                let name = r.text(NAME).unwrap_or("").to_string();
                let first = r.int(N1)?;
                if r.text(DEVICE).is_some() {
                    devices.push((first, name));
                } else {
                    channels.push((first, name));
                }
            }
            RowKind::WeekUsers => {
                week_set.insert(r.week()?);
            }
            _ => {}
        }
    }
    let weeks = crate::observe::fill_gaps(week_set.into_iter().collect());
    Ok((kinds, levels(devices), levels(channels), weeks))
}

/// What the second pass needs to place a row: the spec, the tracked events, and the indices
/// of candidates, levels and weeks.
struct Ctx<'a> {
    observe: &'a ObserveSpec,
    tracked: &'a [EventName],
    cand_index: HashMap<&'a str, usize>,
    devices: &'a [String],
    channels: &'a [String],
    week_index: FxHashMap<IsoWeek, u16>,
}

impl Ctx<'_> {
    /// The week index of a row.
    fn week(&self, r: &Row<'_>) -> Result<u16, PushdownError> {
        let w = r.week()?;
        self.week_index
            .get(&w)
            .copied()
            .ok_or_else(|| r.bad(WEEK, format!("week {w} has no events")))
    }

    /// The (device, channel) level indices of a row (0, "(unknown)", when not a level).
    fn segment(&self, r: &Row<'_>) -> (u16, u16) {
        let index = |names: &[String], v: Option<&str>| -> u16 {
            v.and_then(|v| names.iter().position(|n| n == v))
                .map_or(0, |i| i as u16)
        };
        (
            index(self.devices, r.text(DEVICE)),
            index(self.channels, r.text(CHANNEL)),
        )
    }

    /// The candidate index a row's name must be.
    fn candidate(&self, r: &Row<'_>) -> Result<usize, PushdownError> {
        let name = r.text(NAME).unwrap_or("");
        self.cand_index
            .get(name)
            .copied()
            .ok_or_else(|| r.bad(NAME, format!("{name:?} is not a candidate")))
    }
}

/// One week's totals as the result gives them.
#[derive(Default, Clone)]
struct WeekAcc {
    units: u64,
    users: u64,
    purchase_units: u64,
    revenue: f64,
    cand: Vec<Volume>,
    purchase: Volume,
}

/// Everything the second pass adds up.
struct Acc {
    weeks: Vec<WeekAcc>,
    patterns: Vec<Pattern>,
    fired: Vec<FiredGroup>,
    values: Vec<ValueGroup>,
    ordering: Vec<Ordering>,
    clusters: ClusterSums,
    other_events: BTreeMap<String, u64>,
    /// Units, censored units, inferred sessions.
    totals: (u64, u64, u64),
    /// Earliest and latest event (µs), distinct users.
    span: (i64, i64, u64),
    read: ReadSummary,
}

impl Acc {
    fn new(k: usize, weeks: usize) -> Acc {
        Acc {
            weeks: vec![
                WeekAcc {
                    cand: vec![Volume::default(); k],
                    ..WeekAcc::default()
                };
                weeks
            ],
            patterns: Vec::new(),
            fired: Vec::new(),
            values: Vec::new(),
            ordering: vec![Ordering::default(); k],
            clusters: ClusterSums {
                all: [0; 3],
                candidates: vec![[0; 7]; k],
            },
            other_events: BTreeMap::new(),
            totals: (0, 0, 0),
            span: (0, 0, 0),
            read: ReadSummary {
                timestamp_format: "unix_us".into(),
                ..ReadSummary::default()
            },
        }
    }

    /// Adds one row of the result.
    fn row(&mut self, ctx: &Ctx<'_>, r: &Row<'_>, kind: RowKind) -> Result<(), PushdownError> {
        match kind {
            RowKind::Pattern => {
                let mask = r.int(MASK)?;
                let (device, channel) = ctx.segment(r);
                self.patterns.push(Pattern {
                    week: ctx.week(r)?,
                    device,
                    channel,
                    mask: u32::try_from(mask)
                        .map_err(|_| r.bad(MASK, format!("{mask} is not a feature mask")))?,
                    units: r.count(N1)?,
                    purchasers: r.count(N2)?,
                });
            }
            RowKind::Fired => {
                let (device, channel) = ctx.segment(r);
                self.fired.push(FiredGroup {
                    week: ctx.week(r)?,
                    device,
                    channel,
                    mask: r.int(MASK)? as u64,
                    units: r.count(N1)?,
                });
            }
            RowKind::Value => self.values.push(ValueGroup {
                week: ctx.week(r)?,
                mask: r.int(MASK)? as u32,
                valued: r.count(N1)?,
                sum: r.float(X1)?,
                sum_sq: r.float(X2)?,
            }),
            RowKind::Units => {
                let w = &mut self.weeks[ctx.week(r)? as usize];
                w.units = r.count(N1)?;
                w.purchase_units = r.count(N2)?;
            }
            RowKind::Candidate => {
                let j = ctx.candidate(r)?;
                self.weeks[ctx.week(r)? as usize].cand[j].units = r.count(N1)?;
                self.ordering[j].before_purchase += r.count(N2)?;
                self.ordering[j].after_purchase_only += r.count(N3)?;
            }
            RowKind::Events => self.events_row(ctx, r)?,
            RowKind::WeekUsers => self.weeks[ctx.week(r)? as usize].users = r.count(N1)?,
            RowKind::Level => {}
            RowKind::Cluster => cluster_row(r, &ctx.cand_index, &mut self.clusters)?,
            RowKind::Totals => self.totals = (r.count(N1)?, r.count(N2)?, r.count(N3)?),
            RowKind::Span => self.span = (r.int(N1)?, r.int(N2)?, r.count(N3)?),
            RowKind::Read => read_row(r, &mut self.read)?,
        }
        Ok(())
    }

    /// An `events` row: a candidate's, the purchase's (with revenue) or another event's count.
    fn events_row(&mut self, ctx: &Ctx<'_>, r: &Row<'_>) -> Result<(), PushdownError> {
        let name = r.text(NAME).unwrap_or("");
        let w = &mut self.weeks[ctx.week(r)? as usize];
        let (events, distinct) = (r.count(N1)?, r.count(N2)?);
        if let Some(&j) = ctx.cand_index.get(name) {
            w.cand[j].events = events;
            w.cand[j].users = distinct;
        } else if name == ctx.observe.purchase.as_str() {
            w.purchase.events = events;
            w.purchase.users = distinct;
            w.revenue = r.float(X1)?;
        } else if !ctx.tracked.iter().any(|t| t.as_str() == name) {
            *self.other_events.entry(name.to_string()).or_default() += events;
        }
        Ok(())
    }
}

/// The `read` row: rows read and skipped by reason.
fn read_row(r: &Row<'_>, read: &mut ReadSummary) -> Result<(), PushdownError> {
    read.rows_read = r.count(N1)?;
    for (reason, c) in [
        (SkipReason::BadTimestamp, N2),
        (SkipReason::MissingUserId, N3),
        (SkipReason::MissingEventName, MASK),
        (SkipReason::DuplicateRow, X1),
        (SkipReason::DuplicateTransaction, X2),
    ] {
        let count = r.count(c)?;
        if count > 0 {
            read.rows_skipped.insert(
                reason,
                SkipTally {
                    count,
                    first_lines: Vec::new(),
                },
            );
        }
    }
    Ok(())
}

/// The weekly volumes from the weeks' totals. The pushdown returns no per-day counts: a week
/// with events is taken to have data on every day of it inside the data span `(lo, hi)` (a week
/// of stray rows in the middle is still set aside by its volume against its neighbours').
fn week_volumes(
    week_list: &[IsoWeek],
    weeks: Vec<WeekAcc>,
    observe: &ObserveSpec,
    (lo, hi): (i64, i64),
) -> Vec<WeekVolumes> {
    let day = 86_400_000_000i64;
    week_list
        .iter()
        .zip(weeks)
        .map(|(&week, a)| {
            let (start, _) = week_span(week, &observe.time_zone);
            let days = if a.users > 0 {
                (0..7).fold(0u8, |m, d| {
                    let (ds, de) = (start + d * day, start + (d + 1) * day);
                    if ds <= hi && de > lo {
                        m | (1 << d)
                    } else {
                        m
                    }
                })
            } else {
                0
            };
            WeekVolumes {
                week,
                complete: false,
                days,
                set_aside: None,
                units: a.units,
                users: a.users,
                candidates: a.cand,
                purchase: Volume {
                    units: a.purchase_units,
                    ..a.purchase
                },
                revenue: a.revenue,
            }
        })
        .collect()
}

/// Adds one `cluster` row of the result to the sums (see [`RowKind::Cluster`]).
fn cluster_row(
    r: &Row<'_>,
    cand_index: &HashMap<&str, usize>,
    sums: &mut ClusterSums,
) -> Result<(), PushdownError> {
    let Some(name) = r.text(NAME) else {
        sums.all = [r.count(N1)?, r.count(N2)?, r.count(N3)?];
        return Ok(());
    };
    let j = *cand_index
        .get(name)
        .ok_or_else(|| r.bad(NAME, format!("{name:?} is not a candidate")))?;
    let c = &mut sums.candidates[j];
    match r.int(MASK)? {
        0 => c[..3].copy_from_slice(&[r.count(N1)?, r.count(N2)?, r.count(N3)?]),
        1 => c[3..6].copy_from_slice(&[r.count(N1)?, r.count(N2)?, r.count(N3)?]),
        2 => c[6] = r.count(N1)?,
        m => return Err(r.bad(MASK, format!("{m} is not a cluster row part"))),
    }
    Ok(())
}
