//! Classification of inbound SMS bodies (STOP, START, HELP, acknowledgements).
//!
//! The keywords are those AWS End User Messaging SMS answers by default (`docs/sms-identity.md`
//! has the sources): to opt out STOP, ARRET, CANCEL, END, OPT-OUT, OPTOUT, QUIT, REMOVE, TD,
//! UNSUBSCRIBE; to opt back in START, UNSTOP; HELP (and AIDE, vigie's French one). vigie's
//! identity has self-managed opt-outs, so vigie answers them itself. AWS acts on a message that
//! *begins* with a keyword, ignoring case; vigie reads them the same way, with two differences
//! chosen for a service whose messages are alerts:
//! - a keyword followed only by polite words (`STOP merci`, `stop SMS svp`, `unsubscribe me
//!   please`) is that keyword; followed by anything else (`Arrêt de bus vandalisé`, `End of the
//!   road blocked`), it is neither applied nor broadcast: [`Inbound::KeywordFirst`], the sender is
//!   asked to send the keyword alone, or to rephrase the alert. Nobody is opted out by an alert,
//!   and no opt-out request reaches 500 neighbours;
//! - HELP and AIDE count only alone: `Aide ! un homme est tombé rue des Lilas` is an alert.
//!
//! Case, accents, spacing, edge punctuation and invisible characters never matter.

use super::unicode::without_case_or_accents;

/// The language a keyword is written in; the reply follows it. French by default: STOP and
/// START are the French conventions too.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub enum Language {
    #[default]
    French,
    English,
}

/// What a keyword asks for.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Keyword {
    /// Opt out of SMS alerts.
    Stop,
    /// Opt back in.
    Start,
}

/// What an inbound SMS is, judged on the whole message.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Inbound {
    /// Nothing but whitespace or punctuation.
    Empty,
    /// Opt out of SMS alerts (`STOP`, `ARRÊT`, `STOP SMS`, `UNSUBSCRIBE`...).
    Stop(Language),
    /// Opt back in (`START`, `UNSTOP`).
    Start(Language),
    /// Ask for help (`HELP`, `AIDE`).
    Help(Language),
    /// Begins with an opt-out or opt-in keyword and goes on with other words: neither applied
    /// nor broadcast; the sender is asked what they meant.
    KeywordFirst(Keyword, Language),
    /// A short acknowledgement (`ok`, `merci`, `bien reçu`, 👍...) that must
    /// not be broadcast as an alert.
    Ack,
    /// Anything else: an alert to relay.
    Message,
}

/// The opt-out keywords AWS End User Messaging SMS lists, folded, with their language.
pub const OPT_OUT_KEYWORDS: &[(&str, Language)] = &[
    ("stop", Language::French),
    ("arret", Language::French),
    ("td", Language::French),
    ("cancel", Language::English),
    ("end", Language::English),
    ("opt-out", Language::English),
    ("optout", Language::English),
    ("quit", Language::English),
    ("remove", Language::English),
    ("unsubscribe", Language::English),
];

/// The opt-in keywords, folded.
pub const OPT_IN_KEYWORDS: &[(&str, Language)] =
    &[("start", Language::French), ("unstop", Language::English)];

/// The help keywords, folded; they count only as the whole message.
pub const HELP_KEYWORDS: &[(&str, Language)] = &[("aide", Language::French), ("help", Language::English)];

/// Words that may follow an opt-out or opt-in keyword without changing what it asks
/// (`STOP SMS`, `stop merci`, `unsubscribe me please`).
const POLITE_WORDS: &[&str] = &[
    "sms", "svp", "stp", "merci", "please", "pls", "thanks", "thank", "you", "me", "moi", "now", "all",
    "tout", "les", "des", "alertes", "alerte", "messages", "vigie",
];

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

/// Folded form used for comparisons: no accents, lowercase, single spaces (a non-breaking
/// space is a space), no surrounding punctuation, nothing invisible, `’` → `'`.
pub(super) fn fold(body: &str) -> String {
    let lowered: String = without_case_or_accents(body).map(|c| if c == '’' { '\'' } else { c }).collect();
    let collapsed = lowered.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.trim_matches(is_edge_punctuation).to_owned()
}

/// The words of a folded message: split at spaces and at `, ; . ! ? :` (`stop,merci`), with their
/// edge punctuation trimmed (a hyphen inside, as in `opt-out`, stays).
pub(super) fn words(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split([' ', ',', ';', '.', '!', '?', ':'])
        .map(|w| w.trim_matches(is_edge_punctuation))
        .filter(|w| !w.is_empty())
}

fn keyword_in(table: &[(&str, Language)], word: &str) -> Option<Language> {
    table.iter().find(|(k, _)| *k == word).map(|&(_, language)| language)
}

/// Classifies a whole inbound SMS body.
#[must_use]
pub fn classify(body: &str) -> Inbound {
    let folded = fold(body);
    if folded.is_empty() {
        return Inbound::Empty;
    }
    if let Some(language) = keyword_in(HELP_KEYWORDS, &folded) {
        return Inbound::Help(language);
    }
    let mut words = words(&folded);
    let first = words.next().unwrap_or_default();
    let keyword = match (keyword_in(OPT_OUT_KEYWORDS, first), keyword_in(OPT_IN_KEYWORDS, first)) {
        (Some(language), _) => Some((Keyword::Stop, language, OPT_OUT_KEYWORDS)),
        (None, Some(language)) => Some((Keyword::Start, language, OPT_IN_KEYWORDS)),
        (None, None) => None,
    };
    if let Some((keyword, language, same)) = keyword {
        let polite = words.all(|w| POLITE_WORDS.contains(&w) || keyword_in(same, w).is_some());
        return match (polite, keyword) {
            (true, Keyword::Stop) => Inbound::Stop(language),
            (true, Keyword::Start) => Inbound::Start(language),
            (false, _) => Inbound::KeywordFirst(keyword, language),
        };
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

/// The note of an all clear texted by an alert's author: `FIN`, alone (`Some("")`) or followed
/// by a few words (`FIN c'était le facteur` gives `c'était le facteur`, as written); `None` for
/// any other message.
#[must_use]
pub fn fin_note(body: &str) -> Option<&str> {
    let body = body.trim_start_matches(|c: char| {
        c.is_whitespace() || is_edge_punctuation(c) || super::unicode::is_invisible(c)
    });
    let mut word_end = body.len();
    for (i, c) in body.char_indices() {
        if c.is_whitespace() || matches!(c, ',' | ';' | '.' | '!' | '?' | ':') {
            word_end = i;
            break;
        }
    }
    if fold(&body[..word_end]) != "fin" {
        return None;
    }
    let rest = &body[word_end..];
    Some(
        rest.trim_matches(|c: char| {
            c.is_whitespace() || matches!(c, ',' | ';' | '.' | '!' | '?' | ':' | '-')
        }),
    )
}

/// Whether a message says the police were called (`17`, `17 merci`), and nothing else: the
/// author's answer to the confirmation of their alert, never an alert itself.
#[must_use]
pub fn says_police_called(body: &str) -> bool {
    let folded = fold(body);
    let mut words = words(&folded);
    matches!(words.next(), Some("17")) && words.all(|w| POLITE_WORDS.contains(&w))
}

/// What a message asks of quiet hours (`domain::quiet`): `NUIT` (or `night`) turns them on,
/// `JOUR` (or `day`) off, alone or with polite words; `None` for any other message.
#[must_use]
pub fn quiet_hours_asked(body: &str) -> Option<bool> {
    let folded = fold(body);
    let mut words = words(&folded);
    let on = match words.next() {
        Some("nuit" | "night") => true,
        Some("jour" | "day") => false,
        _ => return None,
    };
    words.all(|w| POLITE_WORDS.contains(&w)).then_some(on)
}

/// Whether a message says yes to an invitation (`OUI`, `Oui !`, `yes`), and nothing else.
#[must_use]
pub fn says_yes(body: &str) -> bool {
    let folded = fold(body);
    let mut words = words(&folded);
    matches!(words.next(), Some("oui" | "yes")) && words.all(|w| POLITE_WORDS.contains(&w) || w == "oui")
}

/// The keyword a message begins with, in capitals as AWS lists it (`ARRET`, `OPT-OUT`), for the
/// reply to a [`Inbound::KeywordFirst`].
#[must_use]
pub fn first_keyword(body: &str) -> Option<&'static str> {
    let folded = fold(body);
    let first = words(&folded).next()?;
    const CAPITALS: &[(&str, &str)] = &[
        ("stop", "STOP"),
        ("arret", "ARRET"),
        ("td", "TD"),
        ("cancel", "CANCEL"),
        ("end", "END"),
        ("opt-out", "OPT-OUT"),
        ("optout", "OPTOUT"),
        ("quit", "QUIT"),
        ("remove", "REMOVE"),
        ("unsubscribe", "UNSUBSCRIBE"),
        ("start", "START"),
        ("unstop", "UNSTOP"),
    ];
    CAPITALS.iter().find(|(k, _)| *k == first).map(|&(_, capitals)| capitals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_is_oui_or_yes_alone() {
        for yes in ["OUI", "oui", "Oui !", " oui merci", "Yes", "OUI OUI"] {
            assert!(says_yes(yes), "{yes}");
        }
        for other in ["non", "oui mais qui êtes-vous ?", "", "ouistiti", "STOP"] {
            assert!(!says_yes(other), "{other}");
        }
    }

    #[test]
    fn fin_is_the_first_word() {
        assert_eq!(fin_note("FIN"), Some(""));
        assert_eq!(fin_note(" fin. "), Some(""));
        assert_eq!(fin_note("Fin : c'était le facteur"), Some("c'était le facteur"));
        assert_eq!(fin_note("FIN c'était le facteur."), Some("c'était le facteur"));
        for other in ["", "Finalement rien", "la fin", "FINI", "Fin-de-semaine"] {
            assert_eq!(fin_note(other), None, "{other}");
        }
    }

    #[test]
    fn police_called_is_17_alone() {
        for yes in ["17", " 17 ", "17 !", "17 merci", "17."] {
            assert!(says_police_called(yes), "{yes}");
        }
        for other in ["", "170", "1 7", "17 rue des Lilas : cambriolage", "appelez le 17", "18"] {
            assert!(!says_police_called(other), "{other}");
        }
    }
    use proptest::prelude::*;

    use Language::{English, French};

    #[test]
    fn keywords() {
        for (body, expected) in [
            ("STOP", Inbound::Stop(French)),
            ("stop", Inbound::Stop(French)),
            (" Arrêt ", Inbound::Stop(French)),
            ("ARRET", Inbound::Stop(French)),
            ("stop  sms", Inbound::Stop(French)),
            ("Stop.", Inbound::Stop(French)),
            ("td", Inbound::Stop(French)),
            ("CANCEL", Inbound::Stop(English)),
            ("End", Inbound::Stop(English)),
            ("opt-out", Inbound::Stop(English)),
            ("OPTOUT", Inbound::Stop(English)),
            ("quit", Inbound::Stop(English)),
            ("Remove", Inbound::Stop(English)),
            ("UNSUBSCRIBE", Inbound::Stop(English)),
            ("START", Inbound::Start(French)),
            ("Unstop!", Inbound::Start(English)),
            ("aide", Inbound::Help(French)),
            ("HELP ?", Inbound::Help(English)),
            ("", Inbound::Empty),
            ("   \n\t ", Inbound::Empty),
            ("?!", Inbound::Empty),
            ("Cambriolage au 12 rue des Lilas", Inbound::Message),
            // A keyword with polite words is still the keyword, as AWS reads "begins with".
            ("STOP merci", Inbound::Stop(French)),
            ("Stop SMS svp", Inbound::Stop(French)),
            ("stop,merci", Inbound::Stop(French)),
            ("stop stop", Inbound::Stop(French)),
            ("Unsubscribe me please", Inbound::Stop(English)),
            ("Start svp", Inbound::Start(French)),
            ("arrêt des alertes merci", Inbound::Stop(French)),
            // A keyword followed by anything else is neither applied nor broadcast.
            ("Stop the car", Inbound::KeywordFirst(Keyword::Stop, French)),
            ("arrêt de bus vandalisé", Inbound::KeywordFirst(Keyword::Stop, French)),
            ("End of the road blocked by a truck", Inbound::KeywordFirst(Keyword::Stop, English)),
            ("STOP envoyez plus rien", Inbound::KeywordFirst(Keyword::Stop, French)),
            ("start the engine", Inbound::KeywordFirst(Keyword::Start, French)),
            // Help counts only alone: a call for help is an alert.
            ("Aide ! un homme est tombé rue des Lilas", Inbound::Message),
            ("help svp", Inbound::Message),
            // Words that merely contain a keyword are messages.
            ("Stopper le voleur", Inbound::Message),
            ("Tdm", Inbound::Message),
            ("endroit suspect", Inbound::Message),
            // Invisible characters inside or around a keyword hide nothing.
            ("S\u{200B}TOP", Inbound::Stop(French)),
            ("\u{200B}ARRET", Inbound::Stop(French)),
            ("ST\u{200C}O\u{200D}P", Inbound::Stop(French)),
            ("\u{FEFF}START\u{2060}", Inbound::Start(French)),
            ("AI\u{AD}DE", Inbound::Help(French)),
            ("\u{A0}\u{200E}stop\u{A0}sms\u{200F}\u{A0}", Inbound::Stop(French)),
            ("\u{2066}unstop\u{2069}", Inbound::Start(English)),
            ("Arr\u{200B}\u{EA}t", Inbound::Stop(French)),
            ("o\u{200B}k", Inbound::Ack),
            ("\u{200B}\u{FEFF}\u{2060}", Inbound::Empty),
            ("S\u{200B}TOP la voiture", Inbound::KeywordFirst(Keyword::Stop, French)),
            ("UN\u{200B}SUBSCRIBE", Inbound::Stop(English)),
        ] {
            assert_eq!(classify(body), expected, "{body:?}");
        }
    }

    #[test]
    fn every_keyword_aws_lists_is_read() {
        for (keyword, language) in OPT_OUT_KEYWORDS {
            assert_eq!(classify(&keyword.to_uppercase()), Inbound::Stop(*language), "{keyword}");
            let first = first_keyword(&format!("{keyword} de bus")).map(str::to_lowercase);
            assert_eq!(first.as_deref(), Some(*keyword));
        }
        for (keyword, language) in OPT_IN_KEYWORDS {
            assert_eq!(classify(keyword), Inbound::Start(*language), "{keyword}");
        }
        for (keyword, language) in HELP_KEYWORDS {
            assert_eq!(classify(keyword), Inbound::Help(*language), "{keyword}");
        }
        assert_eq!(first_keyword("Arrêt de bus"), Some("ARRET"));
        assert_eq!(first_keyword("opt-out now"), Some("OPT-OUT"));
        assert_eq!(first_keyword("Cambriolage"), None);
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
            k in "(stop|arret|stop sms|start|unstop|aide|help|unsubscribe|opt-out|td)",
            invisible in "[\u{200B}-\u{200F}\u{2060}\u{FEFF}\u{AD}\u{2066}-\u{2069}]{1,3}",
            at in 0usize..9,
        ) {
            let at = k.char_indices().nth(at).map_or(k.len(), |(i, _)| i);
            let body = format!("{}{invisible}{}", &k[..at], &k[at..]);
            prop_assert_eq!(classify(&body), classify(&k));
        }

        #[test]
        fn case_and_spacing_do_not_matter(k in "(stop|arret|start|aide|help|cancel|end|quit)", pad in "[ \\t\\n]{0,3}") {
            let upper = format!("{pad}{}{pad}", k.to_uppercase());
            prop_assert_eq!(classify(&upper), classify(&k));
            prop_assert_ne!(classify(&k), Inbound::Message);
        }

        #[test]
        fn a_message_beginning_with_an_opt_out_keyword_is_never_broadcast(
            k in "(stop|arret|td|cancel|end|opt-out|optout|quit|remove|unsubscribe|start|unstop)",
            rest in "\\PC{0,60}",
        ) {
            // AWS would opt the number out; vigie either opts out (polite words only) or asks.
            let kind = classify(&format!("{k} {rest}"));
            prop_assert!(
                matches!(kind, Inbound::Stop(_) | Inbound::Start(_) | Inbound::KeywordFirst(..)),
                "{:?}", kind
            );
        }
    }
}
