//! Times as the residents read them: the local time of their community's zone
//! ([`vigie::domain::TimeZoneId`], `Europe/Paris` unless the community names another).

use vigie::domain::TimeZoneId;

use crate::i18n::Lang;

/// "3 mars 2026 à 14:05", in `zone`'s local time.
pub fn format(lang: Lang, zone: &TimeZoneId, epoch_ms: i64) -> String {
    let t = zone.local_time(epoch_ms);
    lang.date_time(t.day, t.month, t.year, t.hour, t.minute)
}

/// The instant as RFC 3339 UTC (for `<time datetime>` and the API).
pub fn iso_utc(epoch_ms: i64) -> String {
    vigie::domain::rfc3339_utc(epoch_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Epoch ms of 2026-03-03 13:05 UTC and of 2026-08-01 06:00 UTC.
    const MARCH_3_13_05_UTC: i64 = 1_772_543_100_000;
    const AUGUST_1_06_00_UTC: i64 = 1_785_564_000_000;

    #[test]
    fn local_times() {
        let paris = TimeZoneId::paris();
        assert_eq!(format(Lang::Fr, &paris, MARCH_3_13_05_UTC), "3 mars 2026 à 14:05");
        assert_eq!(format(Lang::En, &paris, AUGUST_1_06_00_UTC), "1 August 2026, 08:00");
        let guadeloupe = TimeZoneId::parse("America/Guadeloupe").unwrap();
        assert_eq!(format(Lang::Fr, &guadeloupe, MARCH_3_13_05_UTC), "3 mars 2026 à 09:05");
        let reunion = TimeZoneId::parse("Indian/Reunion").unwrap();
        assert_eq!(format(Lang::En, &reunion, AUGUST_1_06_00_UTC), "1 August 2026, 10:00");
        assert_eq!(iso_utc(1_767_225_600_000), "2026-01-01T00:00:00Z");
    }
}
