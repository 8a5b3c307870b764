//! Classification of inbound SMS bodies (STOP, START, HELP, acknowledgements).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// What an inbound SMS is, judged on the whole message.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Inbound {
    /// Nothing but whitespace or punctuation.
    Empty,
    /// Opt out of SMS alerts (`STOP`, `ARRÊT`, `STOP SMS`).
    Stop,
    /// Opt back in (`START`, `UNSTOP`).
    Start,
    /// Ask for help (`HELP`, `AIDE`).
    Help,
    /// A short acknowledgement (`ok`, `merci`, `bien reçu`, 👍...) that must
    /// not be broadcast as an alert.
    Ack,
    /// Anything else: an alert to relay.
    Message,
}

/// Short replies that acknowledge an alert, in folded form.
const ACK_WORDS: &[&str] = &[
    "ok",
    "okay",
    "oki",
    "merci",
    "merci beaucoup",
    "merci bcp",
    "ok merci",
    "ok merci beaucoup",
    "merci ok",
    "vu",
    "bien vu",
    "recu",
    "bien recu",
    "d'accord",
    "daccord",
    "dac",
    "entendu",
    "compris",
    "note",
];

/// Characters stripped from both ends of a message.
fn is_edge_punctuation(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '.' | '!' | '?' | ',' | ';' | ':' | '"' | '\'' | '«' | '»' | '“' | '”' | '‘' | '’' | '…'
        )
}

/// Emoji accepted as an acknowledgement on their own.
fn is_ack_emoji(c: char) -> bool {
    matches!(c, '👍' | '👌' | '✅' | '🙏')
}

/// Fitzpatrick skin-tone modifiers (👍🏻..👍🏿).
fn is_skin_tone(c: char) -> bool {
    ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
}

/// Characters that show nothing (Unicode's `Default_Ignorable_Code_Point`): zero-width space
/// and joiners, word joiner, BOM, soft hyphen, bidi marks and controls, variation selectors...
/// A phone keyboard, a copy-paste or a malicious sender may put them inside a keyword.
fn is_invisible(c: char) -> bool {
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

/// Folded form used for comparisons: no accents, lowercase, single spaces (a non-breaking
/// space is a space), no surrounding punctuation, nothing invisible, `’` → `'`.
fn fold(body: &str) -> String {
    let lowered: String = body
        .nfd()
        .filter(|&c| !is_combining_mark(c) && !is_invisible(c))
        .flat_map(char::to_lowercase)
        .map(|c| if c == '’' { '\'' } else { c })
        .collect();
    let collapsed = lowered.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.trim_matches(is_edge_punctuation).to_owned()
}

/// Classifies a whole inbound SMS body.
///
/// Keywords only count when they are the whole message: `STOP` stops,
/// `Stop the car` is a message.
#[must_use]
pub fn classify(body: &str) -> Inbound {
    let folded = fold(body);
    match folded.as_str() {
        "" => return Inbound::Empty,
        "stop" | "arret" | "stop sms" => return Inbound::Stop,
        "start" | "unstop" => return Inbound::Start,
        "help" | "aide" => return Inbound::Help,
        _ => {}
    }
    // Ack emoji may accompany a short word: "Merci 👍", "👍👍", "ok 👌".
    let words = folded.trim_matches(|c: char| is_ack_emoji(c) || is_skin_tone(c) || is_edge_punctuation(c));
    let had_emoji = words.len() != folded.len();
    if (words.is_empty() && had_emoji) || ACK_WORDS.contains(&words) {
        Inbound::Ack
    } else {
        Inbound::Message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keywords() {
        for (body, expected) in [
            ("STOP", Inbound::Stop),
            ("stop", Inbound::Stop),
            (" Arrêt ", Inbound::Stop),
            ("ARRET", Inbound::Stop),
            ("stop  sms", Inbound::Stop),
            ("Stop.", Inbound::Stop),
            ("START", Inbound::Start),
            ("Unstop!", Inbound::Start),
            ("aide", Inbound::Help),
            ("HELP ?", Inbound::Help),
            ("", Inbound::Empty),
            ("   \n\t ", Inbound::Empty),
            ("?!", Inbound::Empty),
            ("Stop the car", Inbound::Message),
            ("stop stop", Inbound::Message),
            ("arrêt de bus vandalisé", Inbound::Message),
            ("Cambriolage au 12 rue des Lilas", Inbound::Message),
            // Invisible characters inside or around a keyword hide nothing.
            ("S\u{200B}TOP", Inbound::Stop),
            ("\u{200B}ARRET", Inbound::Stop),
            ("ST\u{200C}O\u{200D}P", Inbound::Stop),
            ("\u{FEFF}START\u{2060}", Inbound::Start),
            ("AI\u{AD}DE", Inbound::Help),
            ("\u{A0}\u{200E}stop\u{A0}sms\u{200F}\u{A0}", Inbound::Stop),
            ("\u{2066}unstop\u{2069}", Inbound::Start),
            ("Arr\u{200B}\u{EA}t", Inbound::Stop),
            ("o\u{200B}k", Inbound::Ack),
            ("\u{200B}\u{FEFF}\u{2060}", Inbound::Empty),
            ("S\u{200B}TOP la voiture", Inbound::Message),
        ] {
            assert_eq!(classify(body), expected, "{body:?}");
        }
    }

    #[test]
    fn acks() {
        for body in [
            "ok",
            "OK.",
            "Merci !",
            "merci beaucoup",
            "Ok merci",
            "Bien reçu",
            "Reçu",
            "D’accord",
            "d'accord",
            "Noté",
            "Vu",
            "👍",
            "👍🏽",
            "👍👍",
            "👍️",
            "🙏 🙏",
            "✅",
            "Merci 👍",
            "« Ok »",
        ] {
            assert_eq!(classify(body), Inbound::Ack, "{body:?}");
        }
        for body in ["ok je regarde", "merci de faire attention", "👍 voiture suspecte", "🚨"] {
            assert_eq!(classify(body), Inbound::Message, "{body:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = classify(&s);
        }

        #[test]
        fn invisible_characters_do_not_matter(
            k in "(stop|arret|stop sms|start|unstop|aide|help)",
            invisible in "[\u{200B}-\u{200F}\u{2060}\u{FEFF}\u{AD}\u{2066}-\u{2069}]{1,3}",
            at in 0usize..9,
        ) {
            let at = k.char_indices().nth(at).map_or(k.len(), |(i, _)| i);
            let body = format!("{}{invisible}{}", &k[..at], &k[at..]);
            prop_assert_eq!(classify(&body), classify(&k));
        }

        #[test]
        fn case_and_spacing_do_not_matter(k in "(stop|arret|start|aide|help)", pad in "[ \\t\\n]{0,3}") {
            let upper = format!("{pad}{}{pad}", k.to_uppercase());
            prop_assert_eq!(classify(&upper), classify(&k));
            prop_assert_ne!(classify(&k), Inbound::Message);
        }
    }
}
