//! Times as the residents read them: Europe/Paris local time, without a time-zone database.
//!
//! France is UTC+1 in winter and UTC+2 in summer; summer time runs from the last Sunday of
//! March to the last Sunday of October, changing at 01:00 UTC (the EU rule since 1996).

use crate::i18n::Lang;

/// A local date and time, to the minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
}

impl LocalTime {
    /// The Paris time of an instant (Unix epoch milliseconds).
    pub fn paris(epoch_ms: i64) -> Self {
        let offset_s = utc_offset_seconds(epoch_ms);
        let local_s = epoch_ms.div_euclid(1000) + offset_s;
        let days = local_s.div_euclid(86_400);
        let secs = local_s.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Self { year, month, day, hour: (secs / 3600) as u32, minute: ((secs % 3600) / 60) as u32 }
    }
}

/// "3 mars 2026 à 14:05", Paris time.
pub fn format(lang: Lang, epoch_ms: i64) -> String {
    let t = LocalTime::paris(epoch_ms);
    lang.date_time(t.day, t.month, t.year, t.hour, t.minute)
}

/// The instant as RFC 3339 UTC (for `<time datetime>`).
pub fn iso_utc(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, (s % 3600) / 60, s % 60)
}

/// Paris's offset from UTC at that instant, in seconds.
pub fn utc_offset_seconds(epoch_ms: i64) -> i64 {
    let secs = epoch_ms.div_euclid(1000);
    let (year, _, _) = civil_from_days(secs.div_euclid(86_400));
    let start = last_sunday(year, 3) * 86_400 + 3600;
    let end = last_sunday(year, 10) * 86_400 + 3600;
    if (start..end).contains(&secs) { 7200 } else { 3600 }
}

/// Days since 1970-01-01 of the last Sunday of a 31-day month.
fn last_sunday(year: i64, month: u32) -> i64 {
    let last = days_from_civil(year, month, 31);
    // 1970-01-01 was a Thursday: day 0 has weekday 4 (0 = Sunday).
    let weekday = (last + 4).rem_euclid(7);
    last - weekday
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Epoch ms of a UTC date and time.
    fn utc(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
        (days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60) * 1000
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 19_000, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(iso_utc(1_767_225_600_000), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn summer_time_changes_on_the_last_sundays_at_one_utc() {
        // 2026: 29 March and 25 October. 2027: 28 March and 31 October.
        assert_eq!(utc_offset_seconds(utc(2026, 3, 29, 0, 59)), 3600);
        assert_eq!(utc_offset_seconds(utc(2026, 3, 29, 1, 0)), 7200);
        assert_eq!(utc_offset_seconds(utc(2026, 10, 25, 0, 59)), 7200);
        assert_eq!(utc_offset_seconds(utc(2026, 10, 25, 1, 0)), 3600);
        assert_eq!(utc_offset_seconds(utc(2027, 3, 28, 1, 0)), 7200);
        assert_eq!(utc_offset_seconds(utc(2027, 3, 27, 12, 0)), 3600);
        assert_eq!(utc_offset_seconds(utc(2027, 10, 31, 0, 30)), 7200);
        assert_eq!(utc_offset_seconds(utc(2027, 11, 1, 0, 0)), 3600);
        assert_eq!(utc_offset_seconds(utc(2026, 7, 14, 12, 0)), 7200);
        assert_eq!(utc_offset_seconds(utc(2026, 1, 15, 12, 0)), 3600);
    }

    #[test]
    fn local_times() {
        // New Year in Paris is 23:00 UTC the day before.
        let t = LocalTime::paris(utc(2025, 12, 31, 23, 0));
        assert_eq!(t, LocalTime { year: 2026, month: 1, day: 1, hour: 0, minute: 0 });
        let t = LocalTime::paris(utc(2026, 7, 14, 20, 30));
        assert_eq!((t.day, t.hour, t.minute), (14, 22, 30));
        assert_eq!(format(Lang::Fr, utc(2026, 3, 3, 13, 5)), "3 mars 2026 à 14:05");
        assert_eq!(format(Lang::En, utc(2026, 8, 1, 6, 0)), "1 August 2026, 08:00");
        // The hour that happens twice in October: 00:30 and 01:30 UTC are both 02:30 in Paris.
        assert_eq!(LocalTime::paris(utc(2026, 10, 25, 0, 30)).hour, 2);
        assert_eq!(LocalTime::paris(utc(2026, 10, 25, 1, 30)).hour, 2);
    }
}
