//! Durations and cadences as the DR plan document writes them: `"15 minutes"`, `"1 hour"`,
//! `"1 hour 30 minutes"`, and review or drill frequencies `"quarterly"`, `"monthly"`.
//!
//! `duration` and `cadence` write them; `parse_duration` and `parse_cadence` read them back,
//! also accepting drbook's own spelling (`15m`, `1h30m`) and common abbreviations. Prose that is
//! not a plain length ("24 hours before", "varies based on data volume") reads as `None`: the
//! importer keeps it as a comment instead of guessing.

use crate::model::Millis;

const SEC: Millis = 1000;
const MIN: Millis = 60 * SEC;
const HOUR: Millis = 60 * MIN;
const DAY: Millis = 24 * HOUR;

/// `"5 minutes"`, `"1 hour"`, `"1 hour 30 minutes"`, `"2 days"`, `"0 minutes"`, `"1.5 seconds"`
/// (milliseconds only when the length is not whole seconds).
pub fn duration(ms: Millis) -> String {
    if ms == 0 {
        return "0 minutes".into();
    }
    if !ms.is_multiple_of(SEC) {
        return plural(ms as f64 / 1000.0, "second");
    }
    let mut parts = Vec::new();
    let mut rest = ms;
    for (unit, name) in [(DAY, "day"), (HOUR, "hour"), (MIN, "minute"), (SEC, "second")] {
        if rest >= unit {
            parts.push(plural((rest / unit) as f64, name));
            rest %= unit;
        }
    }
    parts.join(" ")
}

fn plural(n: f64, unit: &str) -> String {
    if n == 1.0 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Reads a length: `"15 minutes"`, `"1 hour 30 minutes"`, `"1.5 hours"`, `"90s"`, `"1h30m"`,
/// `"2 hrs"`. `None` for anything else.
pub fn parse_duration(text: &str) -> Option<Millis> {
    let t = text.trim().to_ascii_lowercase();
    let mut total: f64 = 0.0;
    let mut rest = t.as_str();
    let mut any = false;
    while !rest.is_empty() {
        let n_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if n_len == 0 {
            return None;
        }
        let n: f64 = rest[..n_len].parse().ok()?;
        rest = rest[n_len..].trim_start();
        let u_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let unit = unit_ms(&rest[..u_len])?;
        rest = rest[u_len..].trim_start();
        rest = rest.strip_prefix("and ").map(str::trim_start).unwrap_or(rest);
        rest = rest.strip_prefix(',').map(str::trim_start).unwrap_or(rest);
        total += n * unit as f64;
        any = true;
    }
    if !any || !total.is_finite() || total > 1e15 {
        return None;
    }
    Some(total.round() as Millis)
}

fn unit_ms(u: &str) -> Option<Millis> {
    Some(match u {
        "ms" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => SEC,
        "m" | "min" | "mins" | "minute" | "minutes" => MIN,
        "h" | "hr" | "hrs" | "hour" | "hours" => HOUR,
        "d" | "day" | "days" => DAY,
        "w" | "week" | "weeks" => 7 * DAY,
        _ => return None,
    })
}

/// The words of the template's frequencies, with the lengths drbook reads them as.
const CADENCES: &[(&str, Millis)] = &[
    ("daily", DAY),
    ("weekly", 7 * DAY),
    ("biweekly", 14 * DAY),
    ("monthly", 30 * DAY),
    ("quarterly", 90 * DAY),
    ("semiannually", 182 * DAY),
    ("annually", 365 * DAY),
];

/// `"quarterly"` for 90 days, `"monthly"` for 30, ...; `"every 45 days"` where no word fits.
pub fn cadence(ms: Millis) -> String {
    match CADENCES.iter().find(|(_, len)| *len == ms) {
        Some((word, _)) => (*word).to_string(),
        None => format!("every {}", duration(ms)),
    }
}

/// Reads a frequency: a word (`quarterly`, also `yearly`, `semi-annually`, `biannually`),
/// `"every 45 days"`, or a plain length.
pub fn parse_cadence(text: &str) -> Option<Millis> {
    let t = text.trim().to_ascii_lowercase().replace('-', "");
    let word = match t.as_str() {
        "yearly" => "annually",
        "biannually" | "halfyearly" => "semiannually",
        "fortnightly" => "biweekly",
        w => w,
    };
    if let Some((_, len)) = CADENCES.iter().find(|(w, _)| *w == word) {
        return Some(*len);
    }
    parse_duration(t.strip_prefix("every ").unwrap_or(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_written_as_the_template_writes_them() {
        assert_eq!(duration(5 * MIN), "5 minutes");
        assert_eq!(duration(HOUR), "1 hour");
        assert_eq!(duration(HOUR + 30 * MIN), "1 hour 30 minutes");
        assert_eq!(duration(0), "0 minutes");
        assert_eq!(duration(1500), "1.5 seconds");
        assert_eq!(duration(2 * DAY + 1000), "2 days 1 second");
    }

    #[test]
    fn durations_read_back() {
        for ms in [0, 1500, SEC, 5 * MIN, HOUR, HOUR + 30 * MIN, 2 * DAY + SEC, 4 * HOUR] {
            assert_eq!(parse_duration(&duration(ms)), Some(ms), "{ms}");
        }
        assert_eq!(parse_duration("15 minutes"), Some(15 * MIN));
        assert_eq!(parse_duration("0 minutes"), Some(0));
        assert_eq!(parse_duration("1h30m"), Some(HOUR + 30 * MIN));
        assert_eq!(parse_duration("1.5 hours"), Some(HOUR + 30 * MIN));
        assert_eq!(parse_duration("2 hrs and 5 mins"), Some(2 * HOUR + 5 * MIN));
        assert_eq!(parse_duration(" 90s "), Some(90 * SEC));
    }

    #[test]
    fn prose_that_is_not_a_length_is_none() {
        for t in [
            "24 hours before",
            "varies based on data volume",
            "",
            "5",
            "minutes",
            "1e400 hours",
            "5 parsecs",
        ] {
            assert_eq!(parse_duration(t), None, "{t}");
        }
    }

    #[test]
    fn cadences() {
        assert_eq!(cadence(90 * DAY), "quarterly");
        assert_eq!(cadence(45 * DAY), "every 45 days");
        for w in ["daily", "weekly", "monthly", "quarterly", "annually", "every 45 days"] {
            assert_eq!(cadence(parse_cadence(w).expect("reads")), w);
        }
        assert_eq!(parse_cadence("Yearly"), Some(365 * DAY));
        assert_eq!(parse_cadence("semi-annually"), Some(182 * DAY));
        assert_eq!(parse_cadence("now and then"), None);
    }
}
