//! The weekly chart (PNG): per platform, each relevant event's weekly volume per bidding unit
//! against the platform's floor, then every relevant candidate's precision per week.
//!
//! Per-unit weekly volume of an event in a week is `site events × attributed_share / ad_sets`,
//! the same thinning the recommendation uses; the floor line is the floor restated per week
//! (`floor.events × 7 / floor.days`). Only complete weeks are drawn (a partial week's count is not
//! a week's volume). A platform panel shows purchase, the recommended event, the runner-up and
//! today's event; the precision panel shows those candidates plus every flagged one.
//!
//! Drawn with plotters' bitmap backend and the bundled DejaVu Sans (`assets/fonts`, Bitstream
//! Vera licence), so the output does not depend on the fonts installed on the machine, then
//! encoded with the `png` crate. Rendered at twice its display size for sharp phone screens.

pub use crate::error::ChartError;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

use super::Report;
use crate::format::{amount, percent};

/// The bundled font (DejaVu Sans; licence in `assets/fonts/DejaVuSans-LICENSE.txt`).
pub const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Display width of the chart in CSS pixels; the PNG is [`SCALE`] times wider.
pub const DISPLAY_WIDTH: u32 = 540;
/// Pixel density of the PNG relative to its display size.
pub const SCALE: u32 = 2;
const PANEL_HEIGHT: u32 = 230;
const LEGEND_WIDTH: u32 = 165;

fn draw_err<E: std::fmt::Debug>(e: E) -> ChartError {
    ChartError::Draw(format!("{e:?}"))
}

fn register_font() -> Result<(), ChartError> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ChartError::Font)
    }
}

/// Okabe–Ito colours (distinguishable with colour-blindness), purchase in near-black.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(120, 120, 120),
];
const PURCHASE: RGBColor = RGBColor(17, 24, 39);
const FLOOR: RGBColor = RGBColor(220, 38, 38);

struct Line {
    label: String,
    note: Option<String>,
    color: RGBColor,
    bold: bool,
    points: Vec<(i32, f64)>,
}

struct Panel {
    title: String,
    lines: Vec<Line>,
    /// Floor per week, and its legend text.
    floor: Option<(f64, String)>,
    percent: bool,
}

fn color_of(r: &Report, event: &str) -> RGBColor {
    r.proxies
        .iter()
        .position(|p| p.event.as_str() == event)
        .map_or(PURCHASE, |j| PALETTE[j % PALETTE.len()])
}

/// Whether each week of the report is complete (only complete weeks are drawn).
fn complete_weeks(r: &Report) -> Vec<bool> {
    r.input
        .weeks
        .iter()
        .map(|w| r.input.complete_weeks.contains(w))
        .collect()
}

/// The panels to draw: one per platform with a floor check, then the precision panel.
fn panels(r: &Report) -> Vec<Panel> {
    let complete = complete_weeks(r);
    let mut shown: Vec<String> = Vec::new();
    let mut out: Vec<Panel> = r
        .recommendations
        .iter()
        .filter_map(|rec| platform_panel(r, rec, &complete, &mut shown))
        .collect();
    for p in &r.proxies {
        if !p.flags.is_empty() && !shown.contains(&p.event.to_string()) {
            shown.push(p.event.to_string());
        }
    }
    out.extend(precision_panel(r, &complete, &shown));
    out
}

/// The legend note of an event on a platform's panel: recommended or runner-up, today's
/// event, flagged.
fn line_note(r: &Report, rec: &crate::advise::Recommendation, name: &str) -> Option<String> {
    let is = |e: &Option<crate::types::EventName>| e.as_ref().is_some_and(|e| e.as_str() == name);
    let mut notes = Vec::new();
    if is(&rec.event) {
        notes.push("recommended".to_string());
    } else if is(&rec.runner_up) {
        notes.push("runner-up".to_string());
    }
    if is(&rec.optimizing_on) {
        notes.push("today".to_string());
    }
    if let Some(p) = r.proxies.iter().find(|p| p.event.as_str() == name) {
        if !p.flags.is_empty() {
            notes.push("flagged".to_string());
        }
    }
    (!notes.is_empty()).then(|| notes.join(", "))
}

/// A platform's panel: purchase, the recommended event, the runner-up and today's event, per
/// bidding unit per complete week, against the floor; `None` without a floor check or points.
/// Records in `shown` the candidates drawn (the precision panel shows them too).
fn platform_panel(
    r: &Report,
    rec: &crate::advise::Recommendation,
    complete: &[bool],
    shown: &mut Vec<String>,
) -> Option<Panel> {
    if rec.checks.is_empty() {
        return None;
    }
    let thin = rec.attributed_share / f64::from(rec.ad_sets.max(1));
    let mut events: Vec<String> = vec!["purchase".into()];
    let candidates = [&rec.event, &rec.runner_up, &rec.optimizing_on];
    for e in candidates.into_iter().flatten() {
        let name = e.to_string();
        if !events.contains(&name) {
            events.push(name);
        }
    }
    let mut lines = Vec::new();
    for name in &events {
        let counts: Vec<Option<u64>> =
            if let Some(p) = r.proxies.iter().find(|p| p.event.as_str() == name) {
                p.weekly.iter().map(|w| Some(w.events)).collect()
            } else if name == "purchase" {
                r.weekly.iter().map(|w| Some(w.purchase.events)).collect()
            } else {
                continue;
            };
        let points: Vec<(i32, f64)> = counts
            .iter()
            .enumerate()
            .filter(|(i, _)| complete.get(*i).copied().unwrap_or(false))
            .filter_map(|(i, c)| c.map(|c| (i as i32, c as f64 * thin)))
            .collect();
        if points.is_empty() {
            continue;
        }
        if name != "purchase" && !shown.contains(name) {
            shown.push(name.clone());
        }
        lines.push(Line {
            label: name.clone(),
            note: line_note(r, rec, name),
            color: if name == "purchase" {
                PURCHASE
            } else {
                color_of(r, name)
            },
            bold: rec.event.as_ref().is_some_and(|e| e.as_str() == name),
            points,
        });
    }
    if lines.is_empty() {
        return None;
    }
    let unit = rec.floor.unit.noun(1.0);
    let per_week = rec.floor.events * 7.0 / f64::from(rec.floor.days.max(1));
    let floor_text = if rec.floor.days == 7 {
        format!("{} per {unit} per 7 days", amount(rec.floor.events))
    } else {
        format!(
            "{} per {} days ≈ {}/week",
            amount(rec.floor.events),
            rec.floor.days,
            amount(per_week)
        )
    };
    Some(Panel {
        title: format!(
            "{}: events per {unit} per week ({} {}, {:.0}% seen)",
            rec.platform.display_name(),
            rec.ad_sets,
            rec.floor.unit.noun(f64::from(rec.ad_sets)),
            rec.attributed_share * 100.0
        ),
        lines,
        floor: Some((per_week, floor_text)),
        percent: false,
    })
}

/// The precision panel: each shown candidate's precision per complete week.
fn precision_panel(r: &Report, complete: &[bool], shown: &[String]) -> Option<Panel> {
    let mut lines = Vec::new();
    for p in r
        .proxies
        .iter()
        .filter(|p| shown.contains(&p.event.to_string()))
    {
        let points: Vec<(i32, f64)> = p
            .weekly
            .iter()
            .enumerate()
            .filter(|(i, _)| complete.get(*i).copied().unwrap_or(false))
            .filter_map(|(i, w)| w.precision.map(|x| (i as i32, x)))
            .collect();
        if points.is_empty() {
            continue;
        }
        let kinds: Vec<&str> = p.flags.iter().map(|f| f.kind.name()).collect();
        lines.push(Line {
            label: p.event.to_string(),
            note: (!kinds.is_empty()).then(|| kinds.join(", ")),
            color: color_of(r, p.event.as_str()),
            bold: !p.flags.is_empty(),
            points,
        });
    }
    (!lines.is_empty()).then(|| Panel {
        title: format!(
            "Precision: share of {} with the event that purchase",
            r.input.unit.plural()
        ),
        lines,
        floor: None,
        percent: true,
    })
}

/// A panel's drawing area on the bitmap.
type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// A display pixel in bitmap pixels.
fn px(x: u32) -> i32 {
    (x * SCALE) as i32
}

/// The floor line's dashes.
fn floor_style() -> ShapeStyle {
    ShapeStyle::from(FLOOR).stroke_width(px(1) as u32 + 1)
}

/// Renders the weekly chart as PNG bytes; `None` when there is nothing to draw (no complete
/// week, or no platform with a floor check).
pub fn render_png(r: &Report) -> Result<Option<Vec<u8>>, ChartError> {
    let panels = panels(r);
    if panels.is_empty() {
        return Ok(None);
    }
    register_font()?;
    let (w, h) = (
        DISPLAY_WIDTH * SCALE,
        PANEL_HEIGHT * SCALE * panels.len() as u32,
    );
    let mut buf = vec![255u8; (w * h * 3) as usize];
    let weeks: Vec<String> = r
        .input
        .weeks
        .iter()
        .map(|w| format!("W{:02}", w.week()))
        .collect();
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let areas = root.split_evenly((panels.len(), 1));
        for (area, panel) in areas.iter().zip(&panels) {
            let area = area
                .margin(px(8), 0, 0, 0)
                .titled(&panel.title, ("sans-serif", px(15)).into_font())
                .map_err(draw_err)?;
            let (plot, legend) = area.split_horizontally(px(DISPLAY_WIDTH - LEGEND_WIDTH));
            draw_plot(&plot, panel, &weeks)?;
            draw_legend(&legend, panel)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(Some(encode_png(&buf, w, h)?))
}

/// Draws a panel's plot: log-scaled axes, the floor, then the lines (the bold one on top).
fn draw_plot(plot: &Area<'_>, panel: &Panel, weeks: &[String]) -> Result<(), ChartError> {
    let n = weeks.len().max(1) as i32;
    let values = panel
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .chain(panel.floor.as_ref().map(|f| f.0));
    let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (if v > 0.0 { lo.min(v) } else { lo }, hi.max(v))
    });
    let lo = if lo.is_finite() { lo / 1.5 } else { 0.001 };
    let hi = (hi * 1.5).max(lo * 10.0);
    let hi = if panel.percent { hi.min(1.0) } else { hi };
    let mut chart = ChartBuilder::on(plot)
        .margin_left(px(4))
        .margin_right(px(10))
        .margin_top(px(6))
        .margin_bottom(px(2))
        .x_label_area_size(px(24))
        .y_label_area_size(px(48))
        .build_cartesian_2d(0..(n - 1).max(1), (lo..hi).log_scale())
        .map_err(draw_err)?;
    let x_fmt = |i: &i32| weeks.get(*i as usize).cloned().unwrap_or_default();
    let y_fmt = |v: &f64| {
        if panel.percent {
            percent(*v)
        } else {
            amount(*v)
        }
    };
    chart
        .configure_mesh()
        .x_labels(weeks.len().min(6))
        .x_label_formatter(&x_fmt)
        .y_labels(6)
        .y_label_formatter(&y_fmt)
        .label_style(("sans-serif", px(13)).into_font())
        .light_line_style(RGBColor(243, 244, 246))
        .bold_line_style(RGBColor(229, 231, 235))
        .axis_style(RGBColor(156, 163, 175))
        .draw()
        .map_err(draw_err)?;
    if let Some((f, _)) = &panel.floor {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(0, *f), (n - 1, *f)],
                px(6),
                px(4),
                floor_style(),
            ))
            .map_err(draw_err)?;
    }
    // Thin lines first, so the recommended (bold) one is on top.
    let mut order: Vec<&Line> = panel.lines.iter().collect();
    order.sort_by_key(|l| l.bold);
    for line in order {
        let style = ShapeStyle::from(line.color).stroke_width(if line.bold {
            px(3) as u32
        } else {
            px(1) as u32 + 1
        });
        let pts: Vec<(i32, f64)> = line.points.iter().map(|&(x, y)| (x, y.max(lo))).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), style))
            .map_err(draw_err)?;
        chart
            .draw_series(
                pts.iter()
                    .map(|&p| Circle::new(p, px(2), line.color.filled())),
            )
            .map_err(draw_err)?;
    }
    Ok(())
}

/// Draws a panel's legend beside the plot, so it never hides a line: each line's swatch,
/// label and note, then the floor's.
fn draw_legend(legend: &Area<'_>, panel: &Panel) -> Result<(), ChartError> {
    let grey = RGBColor(107, 114, 128);
    let name_font = ("sans-serif", px(13)).into_font();
    let note_font = ("sans-serif", px(11)).into_font().color(&grey);
    let mut y = px(10);
    let swatch = |y: i32, style: ShapeStyle| PathElement::new(vec![(px(2), y), (px(20), y)], style);
    for line in &panel.lines {
        let style = ShapeStyle::from(line.color).stroke_width(if line.bold {
            px(3) as u32
        } else {
            px(2) as u32
        });
        legend.draw(&swatch(y + px(6), style)).map_err(draw_err)?;
        legend
            .draw(&Text::new(
                line.label.clone(),
                (px(26), y),
                name_font.clone(),
            ))
            .map_err(draw_err)?;
        y += px(16);
        if let Some(note) = &line.note {
            legend
                .draw(&Text::new(note.clone(), (px(26), y), note_font.clone()))
                .map_err(draw_err)?;
            y += px(14);
        }
        y += px(4);
    }
    if let Some((_, text)) = &panel.floor {
        for k in 0..3 {
            let x0 = px(2) + k * px(7);
            legend
                .draw(&PathElement::new(
                    vec![(x0, y + px(6)), (x0 + px(4), y + px(6))],
                    floor_style(),
                ))
                .map_err(draw_err)?;
        }
        legend
            .draw(&Text::new(
                "floor".to_string(),
                (px(26), y),
                name_font.clone(),
            ))
            .map_err(draw_err)?;
        legend
            .draw(&Text::new(
                text.clone(),
                (px(26), y + px(16)),
                note_font.clone(),
            ))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// Encodes the RGB bitmap as PNG.
fn encode_png(buf: &[u8], w: u32, h: u32) -> Result<Vec<u8>, ChartError> {
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::High);
        let mut writer = enc.write_header()?;
        writer.write_image_data(buf)?;
        writer.finish()?;
    }
    Ok(png_bytes)
}
