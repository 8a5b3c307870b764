//! SMS cost: the segments of the SMS neighbours receive for each alert of a corpus of French
//! alerts, with vigie's GSM-7 normalisation and without it.

use vigie::compose;
use vigie::domain::{AlertSource, AlertText, Encoding, FirstName, count_segments};

/// Alerts up to this many characters should fit in one SMS.
pub const SHORT_ALERT_CHARS: usize = 140;

#[derive(Clone, Debug)]
pub struct Alert {
    pub text: String,
    pub chars: usize,
    /// Segments of the SMS as sent (normalised to GSM-7, cut to the maximum).
    pub with: usize,
    /// Still UCS-2 after normalisation (an emoji...).
    pub with_ucs2: bool,
    /// Segments of the same `"Marie : text"` counted as typed.
    pub without: usize,
    pub without_ucs2: bool,
}

#[derive(Clone, Debug)]
pub struct SmsCost {
    pub alerts: Vec<Alert>,
    pub price_per_segment: f64,
    pub recipients: usize,
    pub max_segments: usize,
}

/// One alert per line; empty lines and lines starting with `#` are skipped.
pub fn corpus(text: &str) -> Vec<&str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

pub fn measure(
    lines: &[&str],
    sender: &str,
    max_segments: usize,
    price_per_segment: f64,
    recipients: usize,
) -> Result<SmsCost, vigie::domain::DomainError> {
    let name = FirstName::parse(sender)?;
    let mut alerts = Vec::with_capacity(lines.len());
    for line in lines {
        let text = AlertText::parse(line)?;
        let sent = compose::alert_sms(&name, AlertSource::Sms, None, &text, max_segments);
        let with = count_segments(&sent);
        let raw = count_segments(&format!("{name} : {text}"));
        alerts.push(Alert {
            text: text.as_str().to_owned(),
            chars: text.as_str().chars().count(),
            with: with.segments,
            with_ucs2: with.encoding == Encoding::Ucs2,
            without: raw.segments,
            without_ucs2: raw.encoding == Encoding::Ucs2,
        });
    }
    Ok(SmsCost { alerts, price_per_segment, recipients, max_segments })
}

impl SmsCost {
    pub fn short(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.iter().filter(|a| a.chars <= SHORT_ALERT_CHARS)
    }

    /// Share of the alerts of up to 140 characters sent in one segment.
    pub fn short_in_one(&self, normalised: bool) -> f64 {
        let short: Vec<&Alert> = self.short().collect();
        let one = short.iter().filter(|a| (if normalised { a.with } else { a.without }) == 1).count();
        one as f64 / short.len().max(1) as f64
    }

    pub fn mean_segments(&self, normalised: bool) -> f64 {
        let total: usize = self.alerts.iter().map(|a| if normalised { a.with } else { a.without }).sum();
        total as f64 / self.alerts.len().max(1) as f64
    }

    /// The cost of one alert (the corpus' mean segments) texted to `recipients` members.
    pub fn cost_per_alert(&self, normalised: bool) -> f64 {
        self.mean_segments(normalised) * self.recipients as f64 * self.price_per_segment
    }

    /// How many alerts take 1, 2, 3... segments.
    pub fn histogram(&self, normalised: bool) -> Vec<(usize, usize)> {
        let mut h = std::collections::BTreeMap::new();
        for a in &self.alerts {
            *h.entry(if normalised { a.with } else { a.without }).or_insert(0) += 1;
        }
        h.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guillemets_and_apostrophes_stay_in_one_segment_once_normalised() {
        let lines = ["Colis « oublié » devant le 3 rue de l’Église, ça m’inquiète"];
        let cost = measure(&lines, "Marie", 3, 0.0725, 500).unwrap();
        assert_eq!((cost.alerts[0].with, cost.alerts[0].with_ucs2), (1, false));
        assert!(cost.alerts[0].without_ucs2, "typed as is, the ’ forces UCS-2");
        assert_eq!(cost.short_in_one(true), 1.0);
        assert!((cost.cost_per_alert(true) - 36.25).abs() < 1e-9);
    }

    #[test]
    fn the_corpus_is_big_enough_and_every_line_is_a_valid_alert() {
        let text = include_str!("../corpus/alerts-fr.txt");
        let lines = corpus(text);
        assert!(lines.len() >= 200, "{} alerts", lines.len());
        let cost = measure(&lines, "Marie", 3, 0.0725, 500).unwrap();
        assert!(cost.alerts.iter().any(|a| a.chars > SHORT_ALERT_CHARS), "some long alerts");
        assert!(cost.alerts.iter().any(|a| a.with_ucs2), "some alerts with emoji");
    }
}
