//! `PhoneNumber::parse`: never panics; what it accepts is E.164, parses back to itself, and masks
//! to the same length.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigie::domain::PhoneNumber;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let Ok(number) = PhoneNumber::parse(&input) else { return };
    assert!(input.len() <= PhoneNumber::MAX_INPUT_LEN);
    let e164 = number.as_str();
    assert!(e164.starts_with('+'), "{e164}");
    assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()), "{e164}");
    assert!((9..=16).contains(&e164.len()), "{e164}");
    assert!(!e164.starts_with("+0"), "{e164}");
    assert_eq!(PhoneNumber::parse(e164).as_ref(), Ok(&number));
    assert_eq!(e164.parse::<PhoneNumber>().as_ref(), Ok(&number));
    let masked = number.masked();
    assert_eq!(masked.len(), e164.len());
    assert!(masked.contains('*'));
});
