//! The characters that show nothing or reorder what follows: one list of each, for every
//! parser and cleaner of the domain (names, emails, alert texts, SMS normalisation, keywords)
//! and the tests that check them.

/// A Unicode bidirectional control (`Bidi_Control` in Unicode's `PropList.txt`): the
/// embeddings and overrides U+202A..U+202E, the isolates U+2066..U+2069, and the marks U+200E,
/// U+200F and U+061C. Used in "Trojan source" style spoofing: never accepted in a name or an
/// address, removed from alert texts.
#[must_use]
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// What a text loses without showing anything different: the bidi controls, the soft hyphen,
/// the zero-width space, the word joiner and the byte-order mark. Unlike the other invisible
/// characters of [`is_invisible`], the joiners and variation selectors, these shape no emoji
/// (`👨‍👩‍👧`, `❤️`), so a message can drop them (the SMS normalisation does).
#[must_use]
pub fn is_droppable(c: char) -> bool {
    is_bidi_control(c) || matches!(c, '\u{AD}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

/// Characters that show nothing (Unicode's `Default_Ignorable_Code_Point`): zero-width space
/// and joiners, word joiner, BOM, soft hyphen, bidi marks and controls, variation selectors...
/// A phone keyboard, a copy-paste or a malicious sender may put them inside a keyword.
#[must_use]
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{34F}'
            | '\u{61C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// A text as compared, not shown: lower case, accents and every [`is_invisible`] character
/// dropped (`"ARRÊT"` and `"a\u{200B}rret"` both give `"arret"`). The SMS keywords and the
/// reserved words of first names read through it.
pub fn without_case_or_accents(text: &str) -> impl Iterator<Item = char> + '_ {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    text.nfd().filter(|&c| !is_combining_mark(c) && !is_invisible(c)).flat_map(char::to_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_chars() -> impl Iterator<Item = char> {
        (0..=u32::from(char::MAX)).filter_map(char::from_u32)
    }

    #[test]
    fn bidi_controls_are_the_twelve_of_prop_list() {
        let found: Vec<u32> = all_chars().filter(|&c| is_bidi_control(c)).map(u32::from).collect();
        assert_eq!(
            found,
            [0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069]
        );
    }

    #[test]
    fn the_lists_nest() {
        for c in all_chars() {
            if is_bidi_control(c) {
                assert!(is_droppable(c), "{:04X}", u32::from(c));
            }
            if is_droppable(c) {
                assert!(is_invisible(c), "{:04X}", u32::from(c));
            }
        }
        // Joiners and variation selectors are invisible but shape emoji: they stay in a text.
        for c in ['\u{200C}', '\u{200D}', '\u{FE0F}', '\u{E0067}'] {
            assert!(is_invisible(c) && !is_droppable(c), "{:04X}", u32::from(c));
        }
        assert!(!is_invisible(' ') && !is_invisible('a') && !is_invisible('\u{A0}'));
    }
}
