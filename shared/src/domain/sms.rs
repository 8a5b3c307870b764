//! SMS encoding maths (GSM 03.38 / UCS-2) and GSM-7 friendly normalisation.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::unicode::is_droppable;

/// Septets taken by `c` in GSM-7: 1 for the default alphabet, 2 for the
/// extension table (escape + char), `None` if not representable.
#[must_use]
pub fn gsm7_units(c: char) -> Option<usize> {
    match c {
        'A'..='Z' | 'a'..='z' | '0'..='9' => Some(1),
        ' ' | '!' | '"' | '#' | '$' | '%' | '&' | '\'' | '(' | ')' | '*' | '+' | ',' | '-' | '.' | '/'
        | ':' | ';' | '<' | '=' | '>' | '?' | '@' | '_' | '\n' | '\r' => Some(1),
        '£' | '¥' | 'è' | 'é' | 'ù' | 'ì' | 'ò' | 'Ç' | 'Ø' | 'ø' | 'Å' | 'å' | 'Δ' | 'Φ' | 'Γ' | 'Λ'
        | 'Ω' | 'Π' | 'Ψ' | 'Σ' | 'Θ' | 'Ξ' | 'Æ' | 'æ' | 'ß' | 'É' | '¤' | '¡' | 'Ä' | 'Ö' | 'Ñ' | 'Ü'
        | '§' | '¿' | 'ä' | 'ö' | 'ñ' | 'ü' | 'à' => Some(1),
        '\u{0C}' | '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€' => Some(2),
        _ => None,
    }
}

/// Whether `c` can be sent in GSM-7 (default alphabet or extension table).
#[must_use]
pub fn is_gsm7(c: char) -> bool {
    gsm7_units(c).is_some()
}

/// Meaning-preserving GSM-7 replacements for common non-GSM characters.
fn replacement(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{2019}' | '\u{2018}' | '\u{201A}' | '\u{201B}' | '\u{02BC}' | '\u{2032}' | '`' | '´' | '‹'
        | '›' => "'",
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '«' | '»' | '\u{2033}' => "\"",
        'œ' => "oe",
        'Œ' => "OE",
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}' | '\u{2212}' | '•' => {
            "-"
        }
        '…' => "...",
        '·' => ".",
        '°' => "o",
        '×' => "x",
        'ł' => "l",
        'Ł' => "L",
        'đ' => "d",
        'Đ' => "D",
        'ı' => "i",
        '\t' | '\u{A0}' | '\u{202F}' | '\u{2000}'..='\u{200A}' | '\u{205F}' | '\u{3000}' => " ",
        // Invisible characters: soft hyphen, zero-width space, word joiner,
        // BOM and bidi marks.
        c if is_droppable(c) => "",
        _ => return None,
    })
}

/// Replaces characters outside GSM-7 by GSM-7 equivalents when that keeps
/// the meaning (typographic quotes and dashes, `œ`, non-breaking spaces,
/// accents absent from GSM-7...). Characters without such an equivalent
/// (emoji, CJK...) are kept, so the message then goes out as UCS-2.
///
/// French guillemets lose their inner spacing: `« Attention »` becomes
/// `"Attention"`.
#[must_use]
pub fn normalise_gsm7(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut after_open_guillemet = false;
    for c in text.nfc() {
        let was_after_open = std::mem::take(&mut after_open_guillemet);
        if is_gsm7(c) {
            if !(was_after_open && c == ' ') {
                out.push(c);
            } else {
                after_open_guillemet = true;
            }
            continue;
        }
        if let Some(rep) = replacement(c) {
            match c {
                '«' => after_open_guillemet = true,
                '»' => {
                    let kept = out.trim_end_matches(' ').len();
                    out.truncate(kept);
                }
                _ if rep == " " && was_after_open => {
                    after_open_guillemet = true;
                    continue;
                }
                _ => {}
            }
            out.push_str(rep);
            continue;
        }
        if is_combining_mark(c) {
            // A stray accent on a GSM-7 letter (no precomposed form): drop it.
            if out.chars().next_back().is_some_and(is_gsm7) {
                continue;
            }
            out.push(c);
            continue;
        }
        let stripped: String = std::iter::once(c).nfkd().filter(|&d| !is_combining_mark(d)).collect();
        if !stripped.is_empty() && stripped.chars().all(is_gsm7) {
            out.push_str(&stripped);
        } else {
            out.push(c);
        }
    }
    out
}

/// How an SMS is encoded.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Encoding {
    /// GSM 03.38 7-bit default alphabet (+ extension table).
    Gsm7,
    /// UCS-2 / UTF-16.
    Ucs2,
}

impl Encoding {
    /// The encoding `text` will be sent in.
    #[must_use]
    pub fn of(text: &str) -> Self {
        if text.chars().all(is_gsm7) { Self::Gsm7 } else { Self::Ucs2 }
    }

    /// Units available in a single-part message.
    #[must_use]
    pub const fn single_capacity(self) -> usize {
        match self {
            Self::Gsm7 => 160,
            Self::Ucs2 => 70,
        }
    }

    /// Units available in each part of a multipart message (the rest is
    /// taken by the concatenation header).
    #[must_use]
    pub const fn multipart_capacity(self) -> usize {
        match self {
            Self::Gsm7 => 153,
            Self::Ucs2 => 67,
        }
    }

    /// The ellipsis appended to a truncated text.
    #[must_use]
    pub const fn ellipsis(self) -> &'static str {
        match self {
            Self::Gsm7 => "...",
            Self::Ucs2 => "…",
        }
    }

    /// Units taken by `c` in this encoding (`c` must be encodable).
    fn units(self, c: char) -> usize {
        match self {
            Self::Gsm7 => gsm7_units(c).unwrap_or(2),
            Self::Ucs2 => c.len_utf16(),
        }
    }
}

/// Size of an SMS.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct SegmentCount {
    /// Encoding used.
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    /// Number of parts the message is sent as (at least 1).
    pub segments: usize,
}

/// Counts the units and parts of `text`.
///
/// A multipart message never splits a GSM-7 escape pair or a UTF-16
/// surrogate pair across two parts: such a character moves to the next
/// part, which can add a part compared to a plain `ceil(units / 153)`.
#[must_use]
pub fn count_segments(text: &str) -> SegmentCount {
    let encoding = Encoding::of(text);
    let units: usize = text.chars().map(|c| encoding.units(c)).sum();
    let segments = if units <= encoding.single_capacity() {
        1
    } else {
        let capacity = encoding.multipart_capacity();
        let mut parts = 1;
        let mut fill = 0;
        for c in text.chars() {
            let u = encoding.units(c);
            if fill + u > capacity {
                parts += 1;
                fill = 0;
            }
            fill += u;
        }
        parts
    };
    SegmentCount { encoding, units, segments }
}

/// How far back (in characters) [`fit_segments`] looks for a space to cut at.
const WORD_CUT_WINDOW: usize = 20;

/// `prefix` without trailing whitespace, followed by the ellipsis of its encoding.
fn with_ellipsis(prefix: &str) -> String {
    let prefix = prefix.trim_end();
    let mut out = String::with_capacity(prefix.len() + 3);
    out.push_str(prefix);
    out.push_str(Encoding::of(prefix).ellipsis());
    out
}

/// Returns `text` unchanged if it fits in `max_segments` parts; otherwise
/// cuts it (at the last space within the last 20 characters that fit, else
/// at a character boundary) and appends `...` (GSM-7) or `…` (UCS-2) so that
/// the result fits. `max_segments` of 0 is treated as 1.
#[must_use]
pub fn fit_segments(text: &str, max_segments: usize) -> String {
    let max = max_segments.max(1);
    if count_segments(text).segments <= max {
        return text.to_owned();
    }
    // bounds[k] = byte offset of the end of the first k characters.
    let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
    let fits = |k: usize| count_segments(&with_ellipsis(&text[..bounds[k]])).segments <= max;

    // Longest prefix that fits (fitting is monotone in the prefix length).
    let (mut lo, mut hi) = (0, bounds.len() - 1);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut k = lo;
    while k > 0 && !fits(k) {
        k -= 1;
    }

    // Prefer cutting just before a whitespace character.
    let chars: Vec<char> = text.chars().collect();
    let word_cut = (k.saturating_sub(WORD_CUT_WINDOW).max(1)..=k).rev().find(|&j| {
        chars.get(j).is_some_and(|c| c.is_whitespace()) && !text[..bounds[j]].trim_end().is_empty()
    });
    if let Some(j) = word_cut
        && fits(j)
    {
        return with_ellipsis(&text[..bounds[j]]);
    }
    with_ellipsis(&text[..bounds[k]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
        ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const GSM_EXT: &str = "\u{0C}^{}\\[~]|€";

    #[test]
    fn alphabet_tables() {
        assert_eq!(GSM_BASIC.chars().count(), 127); // 128 minus ESC
        assert!(GSM_BASIC.chars().all(|c| gsm7_units(c) == Some(1)));
        assert!(GSM_EXT.chars().all(|c| gsm7_units(c) == Some(2)));
        let all: String = (0u32..0x3000).filter_map(char::from_u32).filter(|&c| is_gsm7(c)).collect();
        assert_eq!(all.chars().count(), 127 + 10);
        for c in ['`', 'ç', 'ê', 'â', 'œ', '’', '«', '…', '\u{a0}', '😀', 'È', 'Ô'] {
            assert!(!is_gsm7(c), "{c}");
        }
    }

    #[test]
    fn normalises_french() {
        assert_eq!(
            normalise_gsm7("L’homme a dit « Attention » – c’est sûr… Noël, œuf, ça"),
            "L'homme a dit \"Attention\" - c'est sur... Noel, oeuf, ca"
        );
        assert_eq!(normalise_gsm7("«\u{a0}Oui\u{a0}»"), "\"Oui\"");
        assert_eq!(normalise_gsm7("rue n°\u{202f}12"), "rue no 12");
        assert_eq!(normalise_gsm7("ÀÂÈÊËÎÏÔÙÛŸ âêîôûëïÿçáíóú"), "AAEEEIIOUUY aeioueiycaiou");
        assert_eq!(normalise_gsm7("àèéùìòÉÇÄÖÜäöüñÑÅåØøÆæß"), "àèéùìòÉÇÄÖÜäöüñÑÅåØøÆæß");
        assert_eq!(normalise_gsm7("e\u{301}te\u{301}"), "été");
        assert_eq!(normalise_gsm7("q\u{301}"), "q");
        assert_eq!(normalise_gsm7("ΔΣ €"), "ΔΣ €");
        assert_eq!(normalise_gsm7("Ｏｋ ﬁn"), "Ok fin");
    }

    #[test]
    fn keeps_what_cannot_be_mapped() {
        assert_eq!(normalise_gsm7("Chat perdu 🐱 猫"), "Chat perdu 🐱 猫");
        assert_eq!(count_segments(&normalise_gsm7("Merci 👍")).encoding, Encoding::Ucs2);
    }

    #[test]
    fn counting() {
        let c = count_segments("");
        assert_eq!((c.encoding, c.units, c.segments), (Encoding::Gsm7, 0, 1));
        assert_eq!(count_segments(&"a".repeat(160)).segments, 1);
        assert_eq!(count_segments(&"a".repeat(161)).segments, 2);
        assert_eq!(count_segments(&"a".repeat(306)).segments, 2);
        assert_eq!(count_segments(&"a".repeat(307)).segments, 3);
        assert_eq!(count_segments(&"€".repeat(80)).units, 160);
        assert_eq!(count_segments(&"€".repeat(80)).segments, 1);
        // 76 escape pairs fill 152 septets; the 77th cannot be split.
        let s = "€".repeat(81);
        assert_eq!(count_segments(&s).units, 162);
        assert_eq!(count_segments(&s).segments, 2);
        let s = format!("{}{}", "a".repeat(152), "€".repeat(77));
        assert_eq!(count_segments(&s).units, 306);
        assert_eq!(count_segments(&s).segments, 3);
        let u = count_segments(&"ç".repeat(70));
        assert_eq!((u.encoding, u.units, u.segments), (Encoding::Ucs2, 70, 1));
        assert_eq!(count_segments(&"ç".repeat(71)).segments, 2);
        assert_eq!(count_segments(&"ç".repeat(134)).segments, 2);
        assert_eq!(count_segments(&"ç".repeat(135)).segments, 3);
        assert_eq!(count_segments("😀").units, 2);
        // A surrogate pair is not split across parts.
        let s = format!("{}😀{}", "ç".repeat(66), "ç".repeat(66));
        assert_eq!(count_segments(&s).units, 134);
        assert_eq!(count_segments(&s).segments, 3);
    }

    #[test]
    fn fitting() {
        let short = "Voiture suspecte rue des Lilas";
        assert_eq!(fit_segments(short, 1), short);
        let long = "mot ".repeat(60);
        let fitted = fit_segments(&long, 1);
        assert!(fitted.ends_with("mot..."), "{fitted}");
        assert!(fitted.len() <= 160);
        let nospace = "x".repeat(400);
        let fitted = fit_segments(&nospace, 1);
        assert_eq!(fitted, format!("{}...", "x".repeat(157)));
        let fitted = fit_segments(&nospace, 2);
        assert_eq!(fitted, format!("{}...", "x".repeat(303)));
        let emoji = "🚨".repeat(100);
        let fitted = fit_segments(&emoji, 1);
        assert_eq!(fitted, format!("{}…", "🚨".repeat(34)));
        assert_eq!(fit_segments(&long, 0), fit_segments(&long, 1));
    }

    /// Reference definition: lay out units one by one, never splitting a
    /// character, and count the parts.
    fn brute_force(text: &str) -> usize {
        let gsm = text.chars().all(is_gsm7);
        let cost = |c: char| {
            if gsm { gsm7_units(c).unwrap_or(0) } else { c.len_utf16() }
        };
        let total: usize = text.chars().map(cost).sum();
        let (single, multi) = if gsm { (160, 153) } else { (70, 67) };
        if total <= single {
            return 1;
        }
        let mut parts: Vec<Vec<char>> = vec![vec![]];
        for c in text.chars() {
            let used: usize = parts.last().map_or(0, |p| p.iter().copied().map(cost).sum());
            if used + cost(c) > multi {
                parts.push(vec![]);
            }
            if let Some(p) = parts.last_mut() {
                p.push(c);
            }
        }
        parts.len()
    }

    fn sms_text() -> impl Strategy<Value = String> {
        "[a-z €\\[\\]ç😀é…\n]{0,400}"
    }

    proptest! {
        #[test]
        fn count_matches_brute_force(s in sms_text()) {
            prop_assert_eq!(count_segments(&s).segments, brute_force(&s));
        }

        #[test]
        fn fit_always_fits(s in sms_text(), n in 1usize..4) {
            let fitted = fit_segments(&s, n);
            prop_assert!(count_segments(&fitted).segments <= n);
            if fitted != s {
                let stem = fitted
                    .strip_suffix("...")
                    .or_else(|| fitted.strip_suffix('…'))
                    .unwrap();
                prop_assert!(s.starts_with(stem));
            }
        }

        #[test]
        fn fit_never_panics(s in "\\PC{0,500}", n in 0usize..5) {
            let fitted = fit_segments(&s, n);
            prop_assert!(count_segments(&fitted).segments <= n.max(1));
        }

        #[test]
        fn french_text_becomes_gsm7(
            s in "[a-zA-Z0-9àâäçéèêëîïôöùûüÿœæÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ .,;:!?'’‘«»“”()\\-–—…\u{a0}\u{202f}°€\n]{0,200}"
        ) {
            let n = normalise_gsm7(&s);
            prop_assert!(n.chars().all(is_gsm7), "{:?}", n);
            prop_assert_eq!(count_segments(&n).encoding, Encoding::Gsm7);
        }

        #[test]
        fn normalise_is_idempotent(s in "\\PC{0,100}") {
            let once = normalise_gsm7(&s);
            prop_assert_eq!(normalise_gsm7(&once), once.clone());
        }
    }
}
