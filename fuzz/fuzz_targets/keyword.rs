//! `vigie::domain::classify`: never panics, and judges the whole message whatever the spacing
//! and the punctuation around it; a keyword followed by an alert is never an opt-out nor an alert.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigie::domain::{Inbound, classify};

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    let kind = classify(&body);
    // Surrounding whitespace and end punctuation never change what a message is.
    assert_eq!(classify(&format!(" \t{body}\n !")), kind, "{body:?}");
    // Followed by an alert, STOP or START is neither applied nor broadcast (the sender is asked),
    // and HELP is an alert (a call for help reaches the neighbours).
    let followed = classify(&format!("{body} cambriolage rue des Lilas"));
    match kind {
        Inbound::Stop(_) | Inbound::Start(_) => assert!(matches!(followed, Inbound::KeywordFirst(..)), "{body:?}"),
        Inbound::Help(_) => assert_eq!(followed, Inbound::Message, "{body:?}"),
        _ => {}
    }
});
