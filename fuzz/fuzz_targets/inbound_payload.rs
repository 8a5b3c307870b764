//! The SNS `Message` of an inbound SMS, as `inbound-sms` reads it (`parse_inbound`), then what the
//! handler does with an accepted body before storing it: classify it, clean it into an alert text
//! and compose the neighbours' SMS.
//!
//! The input is tried twice: as the raw `Message` string, and split on 0xFF bytes into
//! (number, id, body) and serialised as a well-formed two-way SMS payload, so the fuzzer also
//! reaches the body paths without having to write valid JSON.

#![no_main]

use inbound_sms::handler::{DropReason, parse_inbound};
use libfuzzer_sys::fuzz_target;
use vigie::compose::alert_sms;
use vigie::domain::unicode::is_bidi_control;
use vigie::domain::{AlertSource, AlertText, FirstName, PhoneNumber, SharedNumber, classify, count_segments};

fn check(message: &str) {
    let shared = SharedNumber::parse("38123").expect("the demo's short code");
    let parsed = match parse_inbound(message, &shared, &shared.identity()) {
        Ok(parsed) => parsed,
        Err(reason) => {
            assert!(!reason.as_str().is_empty());
            if let DropReason::Malformed { bytes, .. } = reason {
                assert_eq!(bytes, message.len());
            }
            return;
        }
    };
    let id = parsed.inbound.as_str();
    assert!(!id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()), "{id:?}");
    assert_eq!(PhoneNumber::parse(parsed.from.as_str()).as_ref(), Ok(&parsed.from));

    let _ = classify(&parsed.body);
    if let Ok(text) = AlertText::parse(&parsed.body) {
        assert!(!text.as_str().chars().any(|c| (c.is_control() && c != '\n') || is_bidi_control(c)), "{text:?}");
        let name = FirstName::parse("Marie").expect("a valid name");
        for (source, max) in [(AlertSource::Sms, 3), (AlertSource::Police, 1)] {
            let sms = alert_sms(&name, source, None, &text, max);
            assert!(count_segments(&sms).segments <= max, "{sms:?}");
            assert!(!sms.chars().any(|c| (c.is_control() && c != '\n') || is_bidi_control(c)), "{sms:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(&String::from_utf8_lossy(data));

    let mut parts = data.splitn(3, |&b| b == 0xFF).map(String::from_utf8_lossy);
    let (number, id, body) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let payload = format!(
        r#"{{"originationNumber":{},"destinationNumber":"38123","messageKeyword":"KEYWORD_123456789012","messageBody":{},"inboundMessageId":{},"previousPublishedMessageId":""}}"#,
        json_string(&number),
        json_string(&body),
        json_string(&id),
    );
    check(&payload);
});

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
