//! Quiet hours: a member who asked gets no SMS at night, but for what cannot wait.
//!
//! Night is 22:00 to 07:00 on the clock of the community's time zone. An alert of the fire or
//! danger category, or the police's, is texted at any hour; any other is held back for a member
//! who turned quiet hours on: emailed at once (if they have email alerts), and texted at 07:00
//! if it is still open then.

use super::{AlertSource, Category, TimeZoneId};

/// The hour night starts, local time.
pub const NIGHT_STARTS: u32 = 22;
/// The hour night ends, local time.
pub const NIGHT_ENDS: u32 = 7;

/// Whether `epoch_ms` is at night in `zone`.
#[must_use]
pub fn is_night(zone: &TimeZoneId, epoch_ms: i64) -> bool {
    let hour = zone.local_time(epoch_ms).hour;
    !(NIGHT_ENDS..NIGHT_STARTS).contains(&hour)
}

/// When the night that `epoch_ms` is in ends in `zone`; `None` by day.
#[must_use]
pub fn night_ends(zone: &TimeZoneId, epoch_ms: i64) -> Option<i64> {
    is_night(zone, epoch_ms).then(|| zone.next_at_hour(epoch_ms, NIGHT_ENDS))
}

/// Whether an alert is texted at any hour, quiet hours or not: a fire or a danger, or the police.
#[must_use]
pub fn wakes_everyone(source: AlertSource, category: Option<Category>) -> bool {
    source == AlertSource::Police || category == Some(Category::Danger)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paris_utc(h: u32) -> i64 {
        // 2026-12-04 at `h`:00 UTC, winter: Paris is UTC+1.
        1_796_342_400_000 + i64::from(h) * 3_600_000
    }

    #[test]
    fn night_is_from_ten_to_seven_on_the_community_s_clock() {
        let paris = TimeZoneId::paris();
        assert_eq!(TimeZoneId::paris().local_time(paris_utc(0)).hour, 1, "the fixture is 1:00 in Paris");
        for (utc, night) in [(20, false), (21, true), (23, true), (5, true), (6, false), (12, false)] {
            assert_eq!(is_night(&paris, paris_utc(utc)), night, "{utc}:00 UTC");
        }
        assert_eq!(night_ends(&paris, paris_utc(23)), Some(paris_utc(24 + 6)));
        assert_eq!(night_ends(&paris, paris_utc(12)), None);
    }

    #[test]
    fn fire_danger_and_the_police_wake_everyone() {
        assert!(wakes_everyone(AlertSource::Police, None));
        assert!(wakes_everyone(AlertSource::Web, Some(Category::Danger)));
        assert!(!wakes_everyone(AlertSource::Web, Some(Category::Animal)));
        assert!(!wakes_everyone(AlertSource::Sms, None));
    }
}
