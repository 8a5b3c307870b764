//! The texts the service sends by SMS: French, and English for the replies to English keywords.
//!
//! Each fits in one GSM-7 segment (160 characters, no `ç`/`ê`/`’`...).

use std::sync::LazyLock;

use super::SmsWithheld;
use super::keyword::{Keyword, Language};
use super::unicode::without_case_or_accents;

/// Reply to `AIDE` / `HELP`.
#[must_use]
pub fn help_reply(language: Language) -> String {
    match language {
        Language::French => "vigie : envoyez votre alerte par SMS à ce numéro, elle sera transmise aux voisins de votre communauté. STOP pour ne plus recevoir les alertes.",
        Language::English => "vigie: text your alert to this number and it goes to the neighbours of your community. Text STOP to stop SMS alerts, START to get them back.",
    }
    .to_owned()
}

/// Reply to `STOP` and the other opt-out keywords.
#[must_use]
pub fn stop_reply(language: Language) -> String {
    match language {
        Language::French => "vigie : vous ne recevrez plus les alertes par SMS. Pour les réactiver, envoyez START à ce numéro.",
        Language::English => "vigie: you will no longer get alerts by SMS. To get them back, text START to this number.",
    }
    .to_owned()
}

/// Reply to `START` / `UNSTOP`.
#[must_use]
pub fn start_reply(language: Language) -> String {
    match language {
        Language::French => {
            "vigie : les alertes par SMS sont réactivées. Envoyez STOP pour ne plus les recevoir."
        }
        Language::English => "vigie: SMS alerts are back on. Text STOP to stop them.",
    }
    .to_owned()
}

/// Reply to a message that begins with an opt-out or opt-in keyword (`written`, in capitals)
/// and goes on: it was neither applied nor passed on.
#[must_use]
pub fn keyword_first_reply(written: &str, keyword: Keyword, language: Language) -> String {
    match (language, keyword) {
        (Language::French, Keyword::Stop) => format!(
            "vigie : votre message commence par {written}, il n'a pas été transmis. Pour ne plus recevoir les alertes, envoyez STOP seul. Pour alerter, reformulez."
        ),
        (Language::French, Keyword::Start) => format!(
            "vigie : votre message commence par {written}, il n'a pas été transmis. Pour recevoir les alertes, envoyez START seul. Pour alerter, reformulez."
        ),
        (Language::English, Keyword::Stop) => format!(
            "vigie: your message starts with {written} and was not passed on. To stop SMS alerts, text STOP alone. To raise an alert, rephrase it."
        ),
        (Language::English, Keyword::Start) => format!(
            "vigie: your message starts with {written} and was not passed on. To get SMS alerts, text START alone. To raise an alert, rephrase it."
        ),
    }
}

/// Reply to a number that is not registered.
#[must_use]
pub fn unknown_sender_reply(signup_url: &str) -> String {
    format!("vigie : ce numéro n'est pas inscrit. Inscrivez-vous sur {signup_url}")
}

/// Reply to an empty message.
#[must_use]
pub fn empty_reply() -> String {
    "vigie : message vide. Pour lancer une alerte, envoyez son texte par SMS à ce numéro.".to_owned()
}

/// Reply to an alert longer than `max` characters.
#[must_use]
pub fn too_long_reply(max: usize) -> String {
    format!("vigie : alerte trop longue ({max} caractères maximum). Raccourcissez-la et renvoyez-la.")
}

/// Reply to a member attached to no community.
#[must_use]
pub fn no_community_reply() -> String {
    "vigie : votre numéro n'est rattaché à aucune communauté, l'alerte n'a pas été transmise. Contactez votre référent."
        .to_owned()
}

/// Reply to an alert over the hourly limit of alerts per member.
#[must_use]
pub fn rate_limited_reply() -> String {
    "vigie : trop d'alertes en une heure, celle-ci n'a pas été transmise. En cas d'urgence, appelez le 17."
        .to_owned()
}

/// The code texted to a number a member typed on the page, valid `minutes`.
#[must_use]
pub fn phone_code_sms(code: &str, minutes: u64) -> String {
    format!(
        "vigie : votre code de confirmation est {code}. Tapez-le sur la page vigie dans les {minutes} minutes. Ne le donnez à personne."
    )
}

/// The code that confirms a member's erasure of their account, texted when they have no
/// address ([`crate::app::erasure`]).
#[must_use]
pub fn erasure_code_sms(code: &str, minutes: u64) -> String {
    format!(
        "vigie : pour supprimer votre compte, tapez le code {code} sur la page vigie dans les {minutes} minutes. Sans ce code, rien n'est effacé."
    )
}

/// Texted to the owner of a number someone else typed on the page as theirs: the person who
/// typed it is told only that a code was sent.
#[must_use]
pub fn phone_claimed_sms() -> String {
    "vigie : quelqu'un a tapé votre numéro sur la page vigie. Il reste à vous et vous n'avez rien à faire : aucun code ne lui a été donné."
        .to_owned()
}

/// The one text a number a referent added gets before its owner says yes: who added it, to
/// which community, and how to answer.
#[must_use]
pub fn invitation_sms(referent: &str, community: &str) -> String {
    format!(
        "vigie : {referent}, référent de {community}, vous a inscrit aux alertes SMS entre voisins. Répondez OUI pour les recevoir, STOP pour refuser."
    )
}

/// The invitation a number imported without a paper consent gets, from the shared number.
#[must_use]
pub fn import_invitation_sms(town: &str, community: &str) -> String {
    format!(
        "vigie : la mairie de {town} vous a inscrit aux alertes SMS entre voisins de {community}. Répondez OUI pour les recevoir, STOP pour refuser."
    )
}

/// Texted to a member whose number a referent of another community typed
/// (`docs/consent.md`): the referent is shown an invitation like any other; the holder decides.
#[must_use]
pub fn second_community_sms(referent: &str, community: &str) -> String {
    format!(
        "vigie : {referent}, référent de {community}, propose de vous inscrire aussi à ce quartier. Répondez OUI pour en recevoir aussi les alertes, sinon rien à faire."
    )
}

/// The reply to OUI from a member who joined the community of a [`second_community_sms`].
#[must_use]
pub fn second_community_joined_reply(community: &str) -> String {
    format!(
        "vigie : c'est noté, vous recevez aussi les alertes de {community}. Vos alertes iront à tous vos quartiers."
    )
}

/// The reply to `FIN` that closed the author's alert.
#[must_use]
pub fn closed_reply() -> String {
    "vigie : c'est noté, votre alerte est close. Les voisins qu'elle a prévenus en sont avertis.".to_owned()
}

/// What the author of a withdrawn alert is told (by SMS, else by email).
#[must_use]
pub fn withdrawn_notice(referent: &str, community: &str, alert_text: &str, reason: &str) -> String {
    let start: String = alert_text.chars().take(40).collect();
    let cut = if alert_text.chars().count() > 40 { "..." } else { "" };
    format!(
        "vigie : {referent}, référent de {community}, a retiré du fil votre alerte \"{start}{cut}\". Raison : {reason}"
    )
}

/// The reply to `NUIT`: quiet hours on.
#[must_use]
pub fn quiet_on_reply() -> String {
    "vigie : c'est noté, pas de SMS la nuit (22 h - 7 h) sauf incendie, danger et police. Les autres alertes de la nuit vous arrivent à 7 h. JOUR pour annuler."
        .to_owned()
}

/// The reply to `JOUR`: quiet hours off.
#[must_use]
pub fn quiet_off_reply() -> String {
    "vigie : c'est noté, vous recevez de nouveau les alertes par SMS à toute heure. NUIT pour ne plus en recevoir la nuit."
        .to_owned()
}

/// The reply to `FIN` when the author's alert was closed already (by a referent, the police).
#[must_use]
pub fn already_closed_reply() -> String {
    "vigie : votre alerte était déjà close.".to_owned()
}

/// The reply to `FIN` with no alert of the author's of the last 24 hours: nothing is raised.
#[must_use]
pub fn nothing_to_close_reply() -> String {
    "vigie : aucune alerte de votre part ces dernières 24 heures à clore. Pour alerter vos voisins, écrivez votre message sans FIN."
        .to_owned()
}

/// The reply to `FIN` followed by a note longer than it may be.
#[must_use]
pub fn close_note_too_long_reply(max: usize) -> String {
    format!(
        "vigie : après FIN, {max} caractères au plus. Votre alerte n'est pas close : renvoyez FIN plus court."
    )
}

/// Added to the SMS confirmation of an alert whose author has not said the police were told:
/// "reply", when it comes from the shared number; else the number to text (`shared`: the
/// confirmation comes from a sender ID, which cannot be answered).
#[must_use]
pub fn police_prompt(shared: Option<&str>) -> String {
    match shared {
        None => "Répondez 17 si vous avez prévenu la police.".to_owned(),
        Some(number) => format!("Si vous avez prévenu la police, envoyez 17 au {number}."),
    }
}

/// The reply to `17` that marked the author's alert.
#[must_use]
pub fn police_called_reply() -> String {
    "vigie : c'est noté, votre alerte indique que la police (17) a été prévenue. Merci.".to_owned()
}

/// The reply to `17` when the author has no alert of the last 30 minutes: nothing is raised.
#[must_use]
pub fn police_called_no_alert_reply() -> String {
    "vigie : aucune alerte de votre part ces 30 dernières minutes. En cas d'urgence, appelez le 17. Pour alerter vos voisins, écrivez votre message."
        .to_owned()
}

/// The reply to OUI (or START) from an invited number.
#[must_use]
pub fn invitation_accepted_reply() -> String {
    "vigie : c'est noté, vous recevrez les alertes de vos voisins par SMS. Pour alerter, écrivez à ce numéro. STOP pour ne plus les recevoir."
        .to_owned()
}

/// The reply to anything else from an invited number: nothing is raised before the yes.
#[must_use]
pub fn invitation_pending_reply() -> String {
    "vigie : pour recevoir les alertes de vos voisins et pouvoir alerter, répondez d'abord OUI. STOP pour refuser."
        .to_owned()
}

/// `n` followed by `singular` or `plural`, as French puts it.
fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", Language::French.plural(n, singular, plural))
}

/// Confirmation sent to the author of an alert.
///
/// `reached` counts distinct neighbours; one neighbour may get both an SMS
/// and an e-mail, so `by_sms + by_email` can exceed `reached`.
#[must_use]
pub fn sender_confirmation(reached: usize, by_sms: usize, by_email: usize) -> String {
    if reached == 0 {
        return "Votre alerte a été enregistrée, mais aucun voisin n'a pu la recevoir pour le moment."
            .to_owned();
    }
    let mut channels = Vec::with_capacity(2);
    if by_sms > 0 {
        channels.push(format!("{by_sms} par SMS"));
    }
    if by_email > 0 {
        channels.push(format!("{by_email} par e-mail"));
    }
    let detail = if channels.is_empty() { String::new() } else { format!(" ({})", channels.join(", ")) };
    format!("Votre alerte a été transmise à {}{detail}.", count(reached, "voisin", "voisins"))
}

/// What the sender's confirmation adds when their alert went without SMS ([`SmsWithheld`]).
#[must_use]
pub fn sms_withheld_note(why: SmsWithheld) -> &'static str {
    match why {
        SmsWithheld::MonthlyBudget => {
            "Pas de SMS aux voisins : le budget SMS du mois de votre quartier est atteint (e-mail et site seulement)."
        }
        SmsWithheld::DailyCeiling => {
            "Pas de SMS aux voisins : le plafond SMS du jour du service est atteint (e-mail et site seulement)."
        }
    }
}

/// Stands for what a text takes from outside (a keyword as written, a link) when it is read as a
/// pattern by [`repeats_our_text`].
const ANY: &str = "\u{0}";

/// Every text vigie sends by SMS that holds no member's words, with [`ANY`] where a keyword or
/// a link goes (the counts are numbers, which [`comparable`] reads alike).
fn our_texts() -> Vec<String> {
    let mut texts = Vec::new();
    for language in [Language::French, Language::English] {
        texts.extend([help_reply(language), stop_reply(language), start_reply(language)]);
        for keyword in [Keyword::Stop, Keyword::Start] {
            texts.push(keyword_first_reply(ANY, keyword, language));
        }
    }
    texts.extend([
        unknown_sender_reply(ANY),
        empty_reply(),
        too_long_reply(1),
        no_community_reply(),
        rate_limited_reply(),
        phone_code_sms(ANY, 10),
        erasure_code_sms(ANY, 10),
        phone_claimed_sms(),
        invitation_sms(ANY, ANY),
        import_invitation_sms(ANY, ANY),
        invitation_accepted_reply(),
        invitation_pending_reply(),
        second_community_sms(ANY, ANY),
        second_community_joined_reply(ANY),
        police_called_reply(),
        police_called_no_alert_reply(),
        closed_reply(),
        already_closed_reply(),
        nothing_to_close_reply(),
        close_note_too_long_reply(200),
        quiet_on_reply(),
        quiet_off_reply(),
    ]);
    for reached in 0..3 {
        for by_sms in 0..3 {
            for by_email in 0..3 {
                texts.push(sender_confirmation(reached, by_sms, by_email));
            }
            for why in [SmsWithheld::MonthlyBudget, SmsWithheld::DailyCeiling] {
                texts.push(format!("{} {}", sender_confirmation(reached, 0, by_sms), sms_withheld_note(why)));
            }
            for shared in [None, Some(ANY)] {
                texts.push(format!(
                    "{} {}",
                    sender_confirmation(reached, by_sms, by_sms),
                    police_prompt(shared)
                ));
            }
        }
    }
    texts
}

/// A text as compared by [`repeats_our_text`]: [`without_case_or_accents`], each run of digits
/// one `#`, each run of anything else but letters one space (punctuation, emoji, the GSM-7
/// substitutions of a phone that echoes are no difference).
fn comparable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in without_case_or_accents(text) {
        if c.is_ascii_digit() {
            if !out.ends_with('#') {
                if gap && !out.is_empty() {
                    out.push(' ');
                }
                out.push('#');
            }
            gap = false;
        } else if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            out.push(c);
            gap = false;
        } else {
            gap = true;
        }
    }
    out
}

/// The pieces of each of [`our_texts`] between its [`ANY`]s, [`comparable`], deduplicated.
static OUR_PATTERNS: LazyLock<Vec<Vec<String>>> = LazyLock::new(|| {
    let mut patterns: Vec<Vec<String>> = our_texts()
        .iter()
        .map(|text| text.split(ANY).map(comparable).filter(|piece| !piece.is_empty()).collect())
        .collect();
    patterns.sort();
    patterns.dedup();
    patterns
});

/// Whether `body` repeats, whole, one of the texts vigie sends by SMS (a reply, the sender's
/// confirmation), with anything around it: what an auto-responder or an echoing phone sends
/// back. Such a message is ignored without a reply, so a loop with a machine stops at once.
#[must_use]
pub fn repeats_our_text(body: &str) -> bool {
    let body = comparable(body);
    OUR_PATTERNS.iter().any(|pieces| holds(&body, pieces))
}

/// Whether `body` repeats `sent` whole (an SMS vigie composed, an alert), read as
/// [`repeats_our_text`] reads them.
#[must_use]
pub fn repeats(body: &str, sent: &str) -> bool {
    let sent = comparable(sent);
    !sent.is_empty() && holds(&comparable(body), std::slice::from_ref(&sent))
}

/// Whether `body` holds each of `pieces`, in this order, with anything around them.
fn holds(body: &str, pieces: &[String]) -> bool {
    let mut rest = body;
    pieces.iter().all(|piece| match rest.find(piece.as_str()) {
        Some(at) => {
            rest = &rest[at + piece.len()..];
            true
        }
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::super::count_segments;
    use super::super::sms::Encoding;
    use super::*;

    fn all() -> Vec<String> {
        let mut all = Vec::new();
        for language in [Language::French, Language::English] {
            all.extend([help_reply(language), stop_reply(language), start_reply(language)]);
            for keyword in [Keyword::Stop, Keyword::Start] {
                // The longest keyword AWS lists.
                all.push(keyword_first_reply("UNSUBSCRIBE", keyword, language));
            }
        }
        all.extend([
            unknown_sender_reply("https://vigie.example.fr/inscription"),
            empty_reply(),
            too_long_reply(1000),
            no_community_reply(),
            rate_limited_reply(),
            phone_code_sms("123456", 10),
            erasure_code_sms("123456", 10),
            phone_claimed_sms(),
            invitation_sms("Marie", "Les Tilleuls"),
            invitation_accepted_reply(),
            invitation_pending_reply(),
            second_community_sms("Marie", "Les Tilleuls"),
            second_community_joined_reply("Les Tilleuls"),
            police_called_reply(),
            police_called_no_alert_reply(),
            closed_reply(),
            already_closed_reply(),
            nothing_to_close_reply(),
            close_note_too_long_reply(200),
            quiet_on_reply(),
            quiet_off_reply(),
            format!("{} {}", sender_confirmation(123, 120, 123), police_prompt(None)),
            format!("{} {}", sender_confirmation(123, 120, 123), police_prompt(Some("38123"))),
            sender_confirmation(0, 0, 0),
            sender_confirmation(1, 1, 0),
            sender_confirmation(123, 120, 123),
        ]);
        all
    }

    #[test]
    fn every_text_is_one_gsm7_segment() {
        for t in all() {
            let c = count_segments(&t);
            assert_eq!(c.encoding, Encoding::Gsm7, "{t}");
            assert_eq!(c.segments, 1, "{t}");
            assert!(t.chars().count() <= 160, "{t}");
        }
    }

    #[test]
    fn replies_mention_keywords() {
        for language in [Language::French, Language::English] {
            assert!(help_reply(language).contains("STOP"));
            assert!(stop_reply(language).contains("START"));
            assert!(start_reply(language).contains("STOP"));
            assert!(keyword_first_reply("ARRET", Keyword::Stop, language).contains("ARRET"));
            assert!(keyword_first_reply("ARRET", Keyword::Stop, language).contains("STOP"));
            assert!(keyword_first_reply("UNSTOP", Keyword::Start, language).contains("START"));
        }
        assert!(stop_reply(Language::English).starts_with("vigie: you will no longer"));
        assert!(unknown_sender_reply("https://x.fr/i").ends_with("https://x.fr/i"));
        assert!(too_long_reply(1000).contains("1000"));
    }

    #[test]
    fn our_own_texts_are_recognised_when_they_come_back() {
        for text in all() {
            assert!(repeats_our_text(&text), "{text}");
            // As a phone may echo it: case, accents and punctuation changed, quoted.
            let echoed = format!("Re: « {} »", text.to_uppercase().replace(['é', 'É'], "E").replace(':', ""));
            assert!(repeats_our_text(&echoed), "{echoed}");
            assert!(repeats_our_text(&format!("Je suis absent. Votre message : {text}")), "{text}");
        }
        assert!(repeats_our_text(
            "vigie : ce numéro n'est pas inscrit. Inscrivez-vous sur https://autre.example/x"
        ));
        assert!(repeats_our_text(
            "Votre alerte a été transmise à 1234 voisins (1200 par SMS, 1234 par e-mail)."
        ));
    }

    #[test]
    fn an_echoed_alert_repeats_it() {
        let sent = "Marie [Cambriolage] : Porte forcee au 12 rue des Lilas";
        assert!(repeats("Marie [Cambriolage] : Porte forcée au 12 rue des Lilas", sent));
        assert!(repeats("Fwd: MARIE cambriolage porte forcee au 12, rue des lilas !", sent));
        assert!(!repeats("Porte forcée au 12 rue des Lilas", sent), "a new alert on the same thing");
        assert!(!repeats("Marie [Cambriolage] : Porte forcée", sent));
        assert!(!repeats("anything", ""));
    }

    #[test]
    fn a_resident_s_own_words_are_not_ours() {
        for body in [
            "",
            "Je suis absent",
            "Homme suspect rue des Lilas",
            "STOP",
            "vigie",
            "Votre alerte a été transmise",
            "vigie : trop d'alertes",
            "Merci !",
            "Arrêt de bus vandalisé",
        ] {
            assert!(!repeats_our_text(body), "{body}");
        }
    }

    #[test]
    fn confirmation_grammar() {
        assert_eq!(
            sender_confirmation(7, 5, 7),
            "Votre alerte a été transmise à 7 voisins (5 par SMS, 7 par e-mail)."
        );
        assert_eq!(sender_confirmation(1, 1, 0), "Votre alerte a été transmise à 1 voisin (1 par SMS).");
        assert_eq!(sender_confirmation(2, 0, 2), "Votre alerte a été transmise à 2 voisins (2 par e-mail).");
        assert!(sender_confirmation(0, 0, 0).contains("aucun voisin"));
    }
}
