//! The picture of a rolling upgrade: one row per host on a time axis. The plan preview draws
//! each wave's hosts side by side (a lane per wave); the progress page draws the same rows
//! with the bars that really happened, filling in as hosts finish.

use leptos::prelude::*;

/// One host's bar, in seconds from the start.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub host: String,
    /// The wave (1-based) the host belongs to.
    pub wave: usize,
    pub start: f64,
    pub end: f64,
    /// `planned`, `running`, `succeeded` or `failed`: the bar's colour.
    pub state: &'static str,
}

const LABEL_WIDTH: f64 = 150.0;
const PLOT_WIDTH: f64 = 830.0;
const ROW: f64 = 22.0;

/// Seconds as an admin reads a duration: "45 s", "12 min", "3 h 5 min".
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=89 => format!("{s} s"),
        90..=5399 => format!("{} min", (s + 30) / 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600 + 30) / 60),
    }
}

/// Seconds since the epoch of one of Uplift's fixed-width RFC 3339 UTC times
/// (`2026-11-22T14:12:50.123Z`); `None` for anything else.
pub fn epoch_seconds(text: &str) -> Option<f64> {
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute) = (number(11..13)?, number(14..16)?);
    let second: f64 = text.get(17..text.len().checked_sub(1)?)?.parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hour * 3_600 + minute * 60) as f64 + second)
}

#[component]
pub fn Timeline(bars: Vec<Bar>, #[prop(into)] label: String) -> impl IntoView {
    let total = bars.iter().map(|b| b.end).fold(1.0_f64, f64::max);
    let height = ROW * bars.len() as f64 + 28.0;
    let x = move |seconds: f64| LABEL_WIDTH + seconds / total * PLOT_WIDTH;
    let ticks: Vec<(f64, String)> = (0..=4)
        .map(|i| {
            let at = total * f64::from(i) / 4.0;
            (x(at), duration(at))
        })
        .collect();
    view! {
        <svg class="timeline" role="img" aria-label=label viewBox=format!("0 0 1000 {height}")
            preserveAspectRatio="xMinYMin meet">
            {bars.into_iter().enumerate().map(|(row, bar)| {
                let y = ROW * row as f64;
                let width = (x(bar.end) - x(bar.start)).max(3.0);
                let title = format!("{} (wave {}): {} to {}", bar.host, bar.wave, duration(bar.start), duration(bar.end));
                view! {
                    <g class=format!("bar {} wave-{}", bar.state, bar.wave % 2)>
                        <text x="0" y=y + 15.0>{format!("{} · wave {}", bar.host, bar.wave)}</text>
                        <rect x=x(bar.start) y=y + 3.0 width=width height=ROW - 6.0 rx="3">
                            <title>{title}</title>
                        </rect>
                    </g>
                }
            }).collect_view()}
            {ticks.into_iter().map(|(at, text)| view! {
                <text class="tick" x=at y=height - 6.0>{text}</text>
            }).collect_view()}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations_read_right() {
        let start = epoch_seconds("2026-11-22T14:12:50.123Z").unwrap();
        let later = epoch_seconds("2026-11-23T00:00:00.000Z").unwrap();
        assert!((later - start - (9.0 * 3600.0 + 47.0 * 60.0 + 9.877)).abs() < 1e-6);
        assert_eq!(epoch_seconds("1970-01-01T00:00:00.000Z"), Some(0.0));
        assert_eq!(epoch_seconds("yesterday"), None);
        assert_eq!(duration(45.0), "45 s");
        assert_eq!(duration(720.0), "12 min");
        assert_eq!(duration(11_100.0), "3 h 5 min");
    }
}
