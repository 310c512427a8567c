//! Wall-clock time for journals, reports and the executor: RFC 3339 UTC with milliseconds, and the parser
//! for `--since` (RFC 3339 with `Z` or an offset). Milliseconds since the Unix epoch inside.

use super::Date;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `2026-11-23T22:15:30.123Z`.
pub fn format(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rest = ms.rem_euclid(86_400_000);
    let d = Date::from_days(days);
    let (h, m, s, milli) = (rest / 3_600_000, rest / 60_000 % 60, rest / 1000 % 60, rest % 1000);
    format!("{d}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

pub fn now() -> String {
    format(now_ms())
}

/// Parses RFC 3339 (`2026-11-23T22:15:30Z`, `...30.5+01:00`); `None` when malformed.
pub fn parse(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = s.split_once(['T', 't', ' '])?;
    let mut dp = date.split('-');
    let (y, mo, d) = (dp.next()?.parse().ok()?, dp.next()?.parse().ok()?, dp.next()?.parse().ok()?);
    let date = Date { year: y, month: mo, day: d };
    if dp.next().is_some() || Date::from_days(date.days()) != date {
        return None;
    }
    let (time, offset_ms) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0)
    } else {
        let i = rest.rfind(['+', '-'])?;
        let (t, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..].split_once(':')?;
        let (oh, om): (i64, i64) = (oh.parse().ok()?, om.parse().ok()?);
        (t, sign * (oh * 3_600_000 + om * 60_000))
    };
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut tp = hms.split(':');
    let (h, m, sec): (i64, i64, i64) =
        (tp.next()?.parse().ok()?, tp.next()?.parse().ok()?, tp.next()?.parse().ok()?);
    if tp.next().is_some()
        || h > 23
        || m > 59
        || sec > 60
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let milli: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
    Some(date.days() * 86_400_000 + h * 3_600_000 + m * 60_000 + sec * 1000 + milli - offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_rfc3339() {
        let ms = parse("2026-11-23T22:15:30.123Z").expect("valid");
        assert_eq!(format(ms), "2026-11-23T22:15:30.123Z");
        assert_eq!(parse("2026-11-23T23:15:30.123+01:00"), Some(ms));
        assert_eq!(
            parse("2026-11-23T22:15:30Z").map(format).as_deref(),
            Some("2026-11-23T22:15:30.000Z")
        );
        assert_eq!(parse("2026-02-30T00:00:00Z"), None);
        assert_eq!(parse("yesterday"), None);
    }
}
