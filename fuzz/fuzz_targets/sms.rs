//! The SMS maths: `normalise_gsm7`, `count_segments` (against a reference count laid out unit by
//! unit) and `fit_segments`, which must fit `n` parts for every `n` and cut only at the end.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigie::domain::{Encoding, count_segments, fit_segments, gsm7_units, is_gsm7, normalise_gsm7};

/// Parts of `text`, laying characters one by one and never splitting one across two parts.
fn reference_segments(text: &str) -> (Encoding, usize, usize) {
    let gsm = text.chars().all(is_gsm7);
    let cost = |c: char| if gsm { gsm7_units(c).unwrap_or(0) } else { c.len_utf16() };
    let total: usize = text.chars().map(cost).sum();
    let (single, multi, encoding) = if gsm { (160, 153, Encoding::Gsm7) } else { (70, 67, Encoding::Ucs2) };
    if total <= single {
        return (encoding, total, 1);
    }
    let (mut parts, mut used) = (1, 0);
    for c in text.chars() {
        if used + cost(c) > multi {
            parts += 1;
            used = 0;
        }
        used += cost(c);
    }
    (encoding, total, parts)
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    let normalised = normalise_gsm7(&text);
    assert_eq!(normalise_gsm7(&normalised), normalised, "not idempotent on {text:?}");

    for t in [text.as_ref(), normalised.as_str()] {
        let count = count_segments(t);
        assert_eq!((count.encoding, count.units, count.segments), reference_segments(t), "{t:?}");

        assert_eq!(fit_segments(t, 0), fit_segments(t, 1));
        for n in 1..=10 {
            let fitted = fit_segments(t, n);
            assert!(count_segments(&fitted).segments <= n, "{n} parts: {fitted:?}");
            if count.segments <= n {
                assert_eq!(fitted, t);
            } else {
                let stem = fitted
                    .strip_suffix("...")
                    .or_else(|| fitted.strip_suffix('…'))
                    .unwrap_or_else(|| panic!("cut without an ellipsis: {fitted:?}"));
                assert!(t.starts_with(stem), "{n} parts: {fitted:?} is not a cut of {t:?}");
            }
        }
    }
});
