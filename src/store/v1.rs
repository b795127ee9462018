use super::*;

#[derive(Deserialize)]
struct Report {
    account: String,
    recommendations: Vec<Rec>,
    proxies: Vec<Proxy>,
    input: Input,
    label_window_days: Option<u32>,
}
#[derive(Deserialize)]
struct Rec {
    platform: PlatformId,
    event: Option<EventName>,
    clearance: Option<f64>,
    per_unit_weekly: Option<f64>,
}
#[derive(Deserialize)]
struct Proxy {
    event: EventName,
    weekly: Vec<Weekly>,
    a: u64,
    b: u64,
    c: u64,
    d: u64,
    precision: Option<f64>,
    precision_ci: Option<Interval>,
    lift: Option<f64>,
    flags: Vec<Flag>,
}
#[derive(Deserialize)]
struct Weekly {
    events: u64,
    units: u64,
    precision: Option<f64>,
}
#[derive(Deserialize)]
struct Flag {
    kind: FlagKind,
}
#[derive(Deserialize)]
struct Input {
    unit: Option<UnitKind>,
    weeks: Vec<IsoWeek>,
    complete_weeks: Vec<IsoWeek>,
}

pub(super) fn read(v: Value) -> Result<StoredWeek, serde_json::Error> {
    let r: Report = serde_json::from_value(v)?;
    let week = *r
        .input
        .weeks
        .last()
        .ok_or_else(|| serde::de::Error::custom("input.weeks is empty"))?;
    Ok(StoredWeek {
        schema_version: 1,
        account: r.account,
        week,
        complete: r.input.complete_weeks.contains(&week),
        unit: r.input.unit,
        label_window_days: r.label_window_days,
        basis: None,
        data_weeks: r.input.weeks.first().map(|f| [*f, week]),
        site: None,
        candidates: r.proxies.iter().map(|p| p.event.clone()).collect(),
        devices: Vec::new(),
        channels: Vec::new(),
        patterns: Vec::new(),
        proxies: r
            .proxies
            .into_iter()
            .map(|p| {
                let last = p.weekly.last();
                StoredProxy {
                    event: p.event,
                    week: ProxyWeek {
                        events: last.map_or(0, |w| w.events),
                        units: last.map_or(0, |w| w.units),
                        with_proxy: None,
                        purchasers: None,
                        precision: last.and_then(|w| w.precision),
                        precision_ci: None,
                    },
                    table: [p.a, p.b, p.c, p.d],
                    precision: p.precision,
                    precision_ci: p.precision_ci,
                    lift: p.lift,
                    model: None,
                    flags: p.flags.into_iter().map(|f| f.kind).collect(),
                }
            })
            .collect(),
        recommendations: r
            .recommendations
            .into_iter()
            .map(|x| StoredRecommendation {
                platform: x.platform,
                best: x.event.clone(),
                event: x.event,
                best_weeks: 1,
                held: false,
                clearance: x.clearance,
                per_unit_weekly: x.per_unit_weekly,
                rule: None,
            })
            .collect(),
    })
}
