//! `vigie::domain::classify`: never panics, and judges the whole message whatever the spacing
//! and the punctuation around it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigie::domain::{Inbound, classify};

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    let kind = classify(&body);
    // Surrounding whitespace and end punctuation never change what a message is.
    assert_eq!(classify(&format!(" \t{body}\n !")), kind, "{body:?}");
    // A keyword is the whole message: followed by a word, it is no longer a keyword.
    if matches!(kind, Inbound::Stop | Inbound::Start | Inbound::Help) {
        assert_eq!(classify(&format!("{body} cambriolage rue des Lilas")), Inbound::Message, "{body:?}");
    }
});
