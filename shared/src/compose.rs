//! Message composition: the SMS and e-mails neighbours and senders receive.
//!
//! Everything user-supplied (names, alert text, community name) is treated
//! as untrusted: forced onto one line in headers, and escaped in HTML bodies, which are askama
//! templates (`shared/templates/email/`, escaped by askama). MIME is produced by the
//! `mail-builder` crate.

use askama::Template;
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::headers::url::URL;
use sha2::{Digest, Sha256};

use crate::domain::{
    AlertSource, AlertText, Category, Email, FirstName, PoliceCalled, Role, fit_segments, normalise_gsm7,
};
use crate::model::{Alert, Closure};

/// Display name used in the `From` header.
const FROM_NAME: &str = "vigie";

/// Maximum length (in characters) of the alert excerpt in a subject.
const SUBJECT_EXCERPT_CHARS: usize = 60;

/// The SMS a neighbour receives: `"{first_name} : {text}"` (or
/// `"{first_name} (police municipale) : {text}"`), with the category's tag after the name when
/// there is one (`"Marie [Cambriolage] : {text}"`), normalised to GSM-7 where possible and cut
/// to fit in `max_segments` parts.
#[must_use]
pub fn alert_sms(
    first_name: &FirstName,
    source: AlertSource,
    category: Option<Category>,
    text: &AlertText,
    max_segments: usize,
) -> String {
    let who = match source {
        AlertSource::Police => format!("{first_name} (police municipale)"),
        AlertSource::Sms | AlertSource::Web => first_name.to_string(),
    };
    let raw = match category.and_then(Category::sms_tag) {
        Some(tag) => format!("{who} [{tag}] : {text}"),
        None => format!("{who} : {text}"),
    };
    fit_segments(&normalise_gsm7(&raw), max_segments)
}

/// Everything needed to e-mail one alert to one neighbour.
#[derive(Clone, Copy, Debug)]
pub struct AlertEmail<'a> {
    /// Sending address (shown as `vigie <from>`).
    pub from: &'a Email,
    /// Recipient.
    pub to: &'a Email,
    /// Recipient's first name, for the greeting.
    pub recipient_first_name: &'a FirstName,
    /// First name of the member who raised the alert.
    pub sender_first_name: &'a FirstName,
    /// How the alert was raised.
    pub source: AlertSource,
    /// What it is about, when chosen.
    pub category: Option<Category>,
    /// Display name of the community.
    pub community_name: &'a str,
    /// The alert.
    pub text: &'a AlertText,
    /// Creation time of the alert, in Unix milliseconds (the `Date` header).
    pub created_at_ms: i64,
    /// One-click unsubscribe URL for this recipient.
    pub unsubscribe_url: &'a str,
    /// Domain used on the right of the `Message-ID`.
    pub message_id_domain: &'a str,
}

/// Builds the raw RFC 5322 message (`multipart/alternative`, text + HTML)
/// for one alert and one recipient.
///
/// The `Message-ID` is derived from the alert and the recipient, so a retry
/// of the same delivery produces the same id.
#[must_use]
pub fn alert_email(e: &AlertEmail<'_>) -> Vec<u8> {
    let recipient = single_line(e.recipient_first_name.as_str());
    let community = single_line(e.community_name);
    let unsubscribe_url = single_line(e.unsubscribe_url);
    let who = author(e.sender_first_name, e.source);
    let subject = alert_subject(e);
    let about = e.category.map(|c| format!("{}\n", c.label_fr())).unwrap_or_default();

    let text_body = format!(
        "Bonjour {recipient},\n\n\
         {who} a lancé une alerte pour la communauté {community} :\n\n\
         {about}{text}\n\n\
         --\n\
         Vous recevez ce message en tant que membre de la communauté {community} sur vigie.\n\
         Pour ne plus recevoir les alertes par e-mail : {unsubscribe_url}\n",
        text = e.text.as_str(),
    );

    let html_body = AlertHtml {
        recipient: &recipient,
        who: &who,
        community: &community,
        category: e.category.map(Category::label_fr),
        text: e.text.as_str(),
        unsubscribe_url: &unsubscribe_url,
    }
    .to_string();

    let builder = to_neighbour(e, &recipient, subject, &unsubscribe_url)
        .message_id(MessageId::new(alert_message_id(e)))
        .date(Date::new(e.created_at_ms.div_euclid(1000)))
        .text_body(text_body)
        .html_body(html_body);
    let mut out = Vec::new();
    builder.serialize(&mut out);
    out
}

/// The headers of every email of an alert to a neighbour: from, to, subject, one-click
/// unsubscribe, marked automatic.
fn to_neighbour<'x>(
    e: &AlertEmail<'x>,
    recipient: &str,
    subject: String,
    unsubscribe_url: &str,
) -> MessageBuilder<'x> {
    MessageBuilder::new()
        .from(Address::new_address(Some(FROM_NAME), e.from.as_str()))
        .to(Address::new_address(Some(recipient.to_owned()), e.to.as_str()))
        .subject(Text::new(subject))
        .header("List-Unsubscribe", URL::new(unsubscribe_url.to_owned()))
        .header("List-Unsubscribe-Post", Raw::new("List-Unsubscribe=One-Click"))
        .header("Auto-Submitted", Raw::new("auto-generated"))
}

/// Who raised an alert, as messages name them (`Marie`, `Luc (police municipale)`), on one line.
fn author(first_name: &FirstName, source: AlertSource) -> String {
    let name = single_line(first_name.as_str());
    match source {
        AlertSource::Police => format!("{name} (police municipale)"),
        AlertSource::Sms | AlertSource::Web => name,
    }
}

/// The subject of an alert's email: who, what about, the start of the text.
fn alert_subject(e: &AlertEmail<'_>) -> String {
    let who = author(e.sender_first_name, e.source);
    let start = excerpt(e.text.as_str(), SUBJECT_EXCERPT_CHARS);
    match e.category {
        Some(category) => format!("Alerte de {who} ({}) : {start}", category.label_fr()),
        None => format!("Alerte de {who} : {start}"),
    }
}

/// The `Message-ID` of an alert's email to one neighbour, the same at every retry: the all
/// clear's email names it in `In-Reply-To` and `References`, so a mail client threads the two.
fn alert_message_id(e: &AlertEmail<'_>) -> String {
    format!("{}@{}", stable_id(e), sanitise_domain(e.message_id_domain))
}

/// The closer of an alert as the all clear names them: `Marie (référente)`, `Luc (police
/// municipale)`, the author by their first name.
fn closer(closure: &Closure) -> String {
    let name = single_line(closure.by_first_name.as_str());
    match closure.by_role {
        Role::Police => format!("{name} (police municipale)"),
        Role::Referent => format!("{name} (référent)"),
        Role::Mairie => format!("{name} (mairie)"),
        Role::Resident => name,
    }
}

/// Characters of the alert's text the all clear's SMS recalls.
const FOLLOW_UP_EXCERPT_CHARS: usize = 40;

/// The all clear's SMS to a neighbour the alert reached by SMS: which alert (its author and the
/// start of its text), how it ended, whether the police were told, the closer's note; GSM-7
/// where possible, cut to `max_segments` parts (the note last, so it is what a cut shortens).
#[must_use]
pub fn follow_up_sms(alert: &Alert, closure: &Closure, max_segments: usize) -> String {
    let who = author(&alert.sender_first_name, alert.source);
    let mut raw = format!("Fin d'alerte ({who} : {})", excerpt(alert.text.as_str(), FOLLOW_UP_EXCERPT_CHARS));
    match closure.ending.phrase_fr() {
        Some(phrase) => raw.push_str(&format!(" : {phrase}.")),
        None => raw.push('.'),
    }
    if alert.police_called == Some(PoliceCalled::Yes) {
        raw.push_str(" Police prévenue.");
    }
    if let Some(note) = &closure.note {
        raw.push_str(&format!(" {} : {}", closer(closure), single_line(note.as_str())));
    }
    fit_segments(&normalise_gsm7(&raw), max_segments)
}

/// The all clear's email to a neighbour the alert reached by email (`e`, the alert's email to
/// them): threaded under it (`In-Reply-To`, `References`, the same subject after `Re: `), with
/// the same one-click unsubscribe.
#[must_use]
pub fn follow_up_email(e: &AlertEmail<'_>, alert: &Alert, closure: &Closure) -> Vec<u8> {
    let recipient = single_line(e.recipient_first_name.as_str());
    let community = single_line(e.community_name);
    let unsubscribe_url = single_line(e.unsubscribe_url);
    let who = author(e.sender_first_name, e.source);
    let how = match closure.ending.phrase_fr() {
        Some(phrase) => format!(" : {phrase}"),
        None => String::new(),
    };
    let police = if alert.police_called == Some(PoliceCalled::Yes) {
        "La police avait été prévenue.\n"
    } else {
        ""
    };
    let note = match &closure.note {
        Some(note) => format!("{} : « {} »\n", closer(closure), note.as_str()),
        None => format!("Close par {}.\n", closer(closure)),
    };
    let text_body = format!(
        "Bonjour {recipient},\n\n\
         L'alerte de {who} pour la communauté {community} est terminée{how}.\n\
         {police}{note}\n\
         Pour mémoire, l'alerte disait :\n\
         {text}\n\n\
         --\n\
         Vous recevez ce message en tant que membre de la communauté {community} sur vigie.\n\
         Pour ne plus recevoir les alertes par e-mail : {unsubscribe_url}\n",
        text = e.text.as_str(),
    );
    let alert_id = alert_message_id(e);
    let own_id = format!("fin-{alert_id}");
    let builder = to_neighbour(e, &recipient, format!("Re: {}", alert_subject(e)), &unsubscribe_url)
        .message_id(MessageId::new(own_id))
        .in_reply_to(MessageId::new(alert_id.clone()))
        .references(MessageId::new(alert_id))
        .date(Date::new(closure.at.div_euclid(1000)))
        .text_body(text_body);
    let mut out = Vec::new();
    builder.serialize(&mut out);
    out
}

/// A plain-text e-mail confirming to a sender (without a phone) that their
/// alert went out; `text_of_confirmation` is typically
/// [`crate::domain::sender_confirmation`].
#[must_use]
pub fn sender_confirmation_email(
    from: &Email,
    to: &Email,
    first_name: &FirstName,
    text_of_confirmation: &str,
) -> Vec<u8> {
    let name = single_line(first_name.as_str());
    let body = format!("Bonjour {name},\n\n{text_of_confirmation}\n\n--\nvigie\n");
    plain_email(from, to, &name, "Votre alerte vigie", body)
}

/// A plain-text email of the service to one member (`name`), marked automatic.
fn plain_email(from: &Email, to: &Email, name: &str, subject: &str, body: String) -> Vec<u8> {
    let message_id =
        format!("{}@{}", ulid::Ulid::new().to_string().to_lowercase(), sanitise_domain(from.domain()));
    let builder = MessageBuilder::new()
        .from(Address::new_address(Some(FROM_NAME), from.as_str()))
        .to(Address::new_address(Some(name), to.as_str()))
        .subject(Text::new(subject.to_owned()))
        .message_id(MessageId::new(message_id))
        .header("Auto-Submitted", Raw::new("auto-generated"))
        .text_body(body);
    let mut out = Vec::new();
    builder.serialize(&mut out);
    out
}

/// The email telling an alert's author it was withdrawn (`notice`,
/// [`crate::domain::texts::withdrawn_notice`]).
#[must_use]
pub fn withdrawn_email(from: &Email, to: &Email, first_name: &FirstName, notice: &str) -> Vec<u8> {
    let name = single_line(first_name.as_str());
    let body = format!("Bonjour {name},\n\n{notice}\n\n--\nvigie, les alertes entre voisins\n");
    plain_email(from, to, &name, "Votre alerte vigie a été retirée", body)
}

/// The email with the code that confirms a member's erasure of their account
/// ([`crate::app::erasure`]): what goes, what stays, and that nothing goes without it.
#[must_use]
pub fn erasure_code_email(
    from: &Email,
    to: &Email,
    first_name: &FirstName,
    code: &str,
    minutes: u64,
) -> Vec<u8> {
    let name = single_line(first_name.as_str());
    let code = single_line(code);
    let body = format!(
        "Bonjour {name},\n\n\
         Vous avez demandé la suppression de votre compte vigie. Pour la confirmer, tapez ce code sur \
         la page vigie dans les {minutes} minutes :\n\n\
         {code}\n\n\
         Votre numéro, votre adresse, vos réglages, vos connexions et la trace des alertes reçues \
         seront effacés. Les alertes que vous avez lancées restent dans le fil de vos voisins, \
         signées « un voisin ».\n\n\
         Si vous n'avez rien demandé, ignorez ce message : sans ce code, rien n'est supprimé.\n\n\
         --\n\
         vigie, les alertes entre voisins\n"
    );
    plain_email(from, to, &name, "Code de suppression de votre compte vigie", body)
}

/// The email to a member whose address a referent of another community typed
/// (`docs/consent.md`): who asked, for which community, and where to answer (`settings_url`,
/// their settings page once signed in).
#[must_use]
pub fn second_community_email(
    from: &Email,
    to: &Email,
    first_name: &FirstName,
    referent: &str,
    community: &str,
    settings_url: &str,
) -> Vec<u8> {
    let (name, referent, community) =
        (single_line(first_name.as_str()), single_line(referent), single_line(community));
    let body = format!(
        "Bonjour {name},\n\n\
         {referent}, référent de {community}, propose de vous inscrire aussi à ce quartier sur vigie.\n\n\
         Pour en recevoir aussi les alertes, connectez-vous et acceptez l'invitation sur la page \
         Mes réglages :\n\n\
         {settings_url}\n\n\
         Si vous ne faites rien, rien ne change : vous restez dans vos quartiers d'aujourd'hui, et \
         {referent} ne sait pas si vous êtes déjà inscrit.\n\n\
         --\n\
         vigie, les alertes entre voisins\n"
    );
    plain_email(from, to, &name, &format!("Invitation à rejoindre {community} sur vigie"), body)
}

/// The email with a one-time sign-in link (`link`, valid `valid_minutes`), text and HTML, in
/// French.
#[must_use]
pub fn signin_email(
    from: &Email,
    to: &Email,
    first_name: &FirstName,
    link: &str,
    valid_minutes: u32,
) -> Vec<u8> {
    let name = single_line(first_name.as_str());
    let link = single_line(link);
    let text_body = format!(
        "Bonjour {name},\n\n\
         Pour vous connecter à vigie, ouvrez ce lien :\n\n\
         {link}\n\n\
         Il est valable {valid_minutes} minutes et ne sert qu'une fois.\n\n\
         Si vous n'avez pas demandé à vous connecter, ignorez ce message : sans ce lien, personne ne \
         peut se connecter à votre place.\n\n\
         --\n\
         vigie, les alertes entre voisins\n"
    );
    let html_body = SigninHtml { name: &name, link: &link, valid_minutes }.to_string();
    let message_id =
        format!("{}@{}", ulid::Ulid::new().to_string().to_lowercase(), sanitise_domain(from.domain()));
    let builder = MessageBuilder::new()
        .from(Address::new_address(Some(FROM_NAME), from.as_str()))
        .to(Address::new_address(Some(name), to.as_str()))
        .subject(Text::new("Votre lien de connexion vigie"))
        .message_id(MessageId::new(message_id))
        .header("Auto-Submitted", Raw::new("auto-generated"))
        .text_body(text_body)
        .html_body(html_body);
    let mut out = Vec::new();
    builder.serialize(&mut out);
    out
}

/// The HTML part of an alert email. Every field is escaped by askama; the text keeps its line
/// breaks (`linebreaksbr`, which escapes first). The email templates show only strings and
/// numbers, whose display cannot fail, so they are rendered with `to_string`.
#[derive(Template)]
#[template(path = "email/alert.html")]
struct AlertHtml<'a> {
    recipient: &'a str,
    /// The sender as the email names them (`Marie`, `Luc (police municipale)`).
    who: &'a str,
    community: &'a str,
    /// The category's label, when one was chosen.
    category: Option<&'a str>,
    text: &'a str,
    unsubscribe_url: &'a str,
}

/// The HTML part of the sign-in email.
#[derive(Template)]
#[template(path = "email/signin.html")]
struct SigninHtml<'a> {
    name: &'a str,
    link: &'a str,
    valid_minutes: u32,
}

/// Collapses every whitespace run (including CR/LF) to one space and drops
/// control characters, so the value cannot break out of a header line.
fn single_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").chars().filter(|c| !c.is_control()).collect()
}

/// The start of `text` on one line, at most `max` characters, cut on a word
/// boundary with `…` when shortened.
fn excerpt(text: &str, max: usize) -> String {
    let line = single_line(text);
    if line.chars().count() <= max {
        return line;
    }
    let budget = max.saturating_sub(1);
    let end = line.char_indices().nth(budget).map_or(line.len(), |(i, _)| i);
    let head = &line[..end];
    // Cut at the last space unless that would leave too little text.
    let cut = match head.rfind(' ') {
        Some(i) if head[..i].chars().count() >= budget / 2 => &head[..i],
        _ => head,
    };
    format!("{}…", cut.trim_end())
}

/// Keeps a Message-ID domain to `[A-Za-z0-9.-]`; falls back to `vigie.invalid`.
fn sanitise_domain(domain: &str) -> String {
    let d: String = domain.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')).collect();
    if d.is_empty() { "vigie.invalid".to_owned() } else { d }
}

/// A deterministic id for (alert, recipient): hex of a SHA-256 prefix.
fn stable_id(e: &AlertEmail<'_>) -> String {
    let mut h = Sha256::new();
    for part in [
        e.created_at_ms.to_string().as_str(),
        e.source.as_str(),
        e.sender_first_name.as_str(),
        e.text.as_str(),
        e.to.as_str(),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    crate::secret::hex(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Encoding, count_segments};

    fn name(s: &str) -> FirstName {
        FirstName::parse(s).unwrap()
    }

    #[test]
    fn sms_starts_with_first_name() {
        let text = AlertText::parse("Voiture suspecte devant le 12").unwrap();
        assert_eq!(
            alert_sms(&name("Marie"), AlertSource::Sms, None, &text, 1),
            "Marie : Voiture suspecte devant le 12"
        );
        assert_eq!(
            alert_sms(&name("Luc"), AlertSource::Police, None, &text, 1),
            "Luc (police municipale) : Voiture suspecte devant le 12"
        );
        assert_eq!(
            alert_sms(&name("Marie"), AlertSource::Web, Some(Category::Burglary), &text, 1),
            "Marie [Cambriolage] : Voiture suspecte devant le 12"
        );
        assert_eq!(
            alert_sms(&name("Marie"), AlertSource::Web, Some(Category::Other), &text, 1),
            "Marie : Voiture suspecte devant le 12"
        );
    }

    #[test]
    fn realistic_french_alert_is_one_segment() {
        let raw = "Cambriolage au 14 rue des Écoles ! Deux individus, l’un en sweat noir, \
                   « très agités », fuient vers la gare. Appelez vite le 17, ça presse…";
        assert!(raw.chars().count() <= 140, "{}", raw.chars().count());
        assert!(raw.chars().count() >= 135, "{}", raw.chars().count());
        let text = AlertText::parse(raw).unwrap();
        let sms = alert_sms(&name("Françoise"), AlertSource::Web, None, &text, 1);
        let c = count_segments(&sms);
        assert_eq!(c.encoding, Encoding::Gsm7, "{sms}");
        assert_eq!(c.segments, 1, "{sms}");
        assert!(sms.starts_with("Francoise : Cambriolage"), "{sms}");
        assert!(sms.ends_with("ca presse..."), "{sms}");
        assert!(sms.contains("l'un") && sms.contains("\"très agités\""), "{sms}");
    }

    #[test]
    fn long_sms_is_cut() {
        let text = AlertText::parse(&"attention ".repeat(90)).unwrap();
        let sms = alert_sms(&name("Marie"), AlertSource::Sms, None, &text, 2);
        assert_eq!(count_segments(&sms).segments, 2);
        assert!(sms.starts_with("Marie : attention"));
        assert!(sms.ends_with("attention..."), "{sms}");
    }

    fn closed_alert(
        police: Option<PoliceCalled>,
        ending: crate::domain::Ending,
        note: Option<&str>,
    ) -> (Alert, Closure) {
        let alert = Alert {
            alert_id: crate::domain::AlertId::new(),
            community_id: "les-tilleuls".parse().unwrap(),
            community_name: "Les Tilleuls".into(),
            sender_id: crate::domain::MemberId::new(),
            sender_first_name: name("Karim"),
            source: AlertSource::Sms,
            text: AlertText::parse("Un homme regarde dans les boîtes aux lettres de la rue des Lilas")
                .unwrap(),
            created_at: 1_767_225_600_000,
            inbound_message_id: None,
            category: None,
            sms_parts: 0,
            sms_withheld: None,
            police_called: police,
            closed: None,
            withdrawn: None,
        };
        let closure = Closure {
            ending,
            note: note.map(|n| AlertText::parse(n).unwrap()),
            by: crate::domain::MemberId::new(),
            by_first_name: name("Marie"),
            by_role: Role::Referent,
            at: 1_767_229_200_000,
            via: None,
        };
        (alert, closure)
    }

    #[test]
    fn the_all_clear_sms_recalls_the_alert_says_how_it_ended_and_keeps_the_police_mark() {
        use crate::domain::Ending;
        let (alert, closure) = closed_alert(Some(PoliceCalled::Yes), Ending::FalseAlarm, None);
        assert_eq!(
            follow_up_sms(&alert, &closure, 1),
            "Fin d'alerte (Karim : Un homme regarde dans les boites aux...) : fausse alerte. Police prévenue."
        );
        let (alert, closure) = closed_alert(None, Ending::Other, Some("le chat est rentré tout seul"));
        assert_eq!(
            follow_up_sms(&alert, &closure, 1),
            "Fin d'alerte (Karim : Un homme regarde dans les boites aux...). Marie (référent) : le chat est rentré tout seul"
        );
        // A long note is what a cut shortens: the alert and how it ended stay.
        let (alert, closure) =
            closed_alert(Some(PoliceCalled::Yes), Ending::Resolved, Some(&"merci à tous ".repeat(15)));
        let sms = follow_up_sms(&alert, &closure, 1);
        assert_eq!(count_segments(&sms).segments, 1, "{sms}");
        assert!(
            sms.starts_with("Fin d'alerte (Karim") && sms.contains("c'est réglé. Police prévenue. Marie"),
            "{sms}"
        );
    }

    #[test]
    fn the_all_clear_email_threads_under_the_alerts() {
        use crate::domain::Ending;
        let (alert, closure) = closed_alert(None, Ending::Resolved, Some("C'était le facteur"));
        let (from, to) =
            (Email::parse("alertes@vigie.example.fr").unwrap(), Email::parse("paul@example.org").unwrap());
        let recipient = name("Paul");
        let e = AlertEmail {
            from: &from,
            to: &to,
            recipient_first_name: &recipient,
            sender_first_name: &alert.sender_first_name,
            source: alert.source,
            category: None,
            community_name: &alert.community_name,
            text: &alert.text,
            created_at_ms: alert.created_at,
            unsubscribe_url: "https://vigie.example.fr/unsubscribe/x/y",
            message_id_domain: "vigie.example.fr",
        };
        let first = String::from_utf8(alert_email(&e)).unwrap();
        let end = String::from_utf8(follow_up_email(&e, &alert, &closure)).unwrap();
        let (first, end) = (parsed(&first), parsed(&end));
        let id = first.message_id().expect("the alert's id");
        assert_eq!(end.in_reply_to().as_text(), Some(id));
        assert_eq!(end.references().as_text(), Some(id));
        assert_ne!(end.message_id(), Some(id));
        assert_eq!(end.subject().map(str::to_owned), first.subject().map(|s| format!("Re: {s}")));
        let text = end.body_text(0).unwrap();
        assert!(text.contains("Les Tilleuls est terminée : c'est réglé."), "{text}");
        assert!(text.contains("Marie (référent) : « C'était le facteur »"), "{text}");
        assert!(text.contains("https://vigie.example.fr/unsubscribe/x/y"), "{text}");
    }

    /// The message as a mail reader sees it (mail-parser).
    fn parsed(raw: &str) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default().parse(raw.as_bytes()).expect("a MIME message")
    }

    /// The decoded text part.
    fn text_part(raw: &str) -> String {
        parsed(raw).body_text(0).expect("a text part").into_owned()
    }

    /// The decoded HTML part.
    fn html_part(raw: &str) -> String {
        let html = parsed(raw).body_html(0).expect("an HTML part").into_owned();
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        html
    }

    /// The decoded text and HTML parts.
    fn decode_parts(raw: &str) -> String {
        format!("{}\n{}", text_part(raw), html_part(raw))
    }

    fn sample_email(text: &str, sender: &str, community: &str) -> String {
        let from = Email::parse("alertes@vigie.example.fr").unwrap();
        let to = Email::parse("paul@example.org").unwrap();
        let recipient = name("Paul");
        let sender = name(sender);
        let text = AlertText::parse(text).unwrap();
        let raw = alert_email(&AlertEmail {
            from: &from,
            category: None,
            to: &to,
            recipient_first_name: &recipient,
            sender_first_name: &sender,
            source: AlertSource::Sms,
            community_name: community,
            text: &text,
            created_at_ms: 1_767_225_600_000,
            unsubscribe_url: "https://vigie.example.fr/desabonnement?t=abcd",
            message_id_domain: "vigie.example.fr",
        });
        String::from_utf8(raw).unwrap()
    }

    #[test]
    fn alert_email_headers() {
        let msg = sample_email(
            "Voiture suspecte garée depuis ce matin devant l'école, plaque étrangère, deux occupants",
            "Éloïse",
            "Les Tilleuls",
        );
        let (headers, _) = msg.split_once("\r\n\r\n").unwrap();
        assert!(headers.contains("From: \"vigie\" <alertes@vigie.example.fr>"), "{headers}");
        assert!(headers.contains("paul@example.org"), "{headers}");
        assert!(headers.contains("Subject: =?utf-8?"), "{headers}");
        assert!(
            headers.contains("List-Unsubscribe: <https://vigie.example.fr/desabonnement?t=abcd>"),
            "{headers}"
        );
        assert!(headers.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(headers.contains("Date: Thu, 1 Jan 2026 00:00:00 +0000"), "{headers}");
        assert!(headers.contains("@vigie.example.fr>"), "{headers}");
        assert!(headers.contains("multipart/alternative"), "{headers}");
        assert!(msg.contains("text/plain"));
        assert!(msg.contains("text/html"));
        let body = decode_parts(&msg);
        assert!(body.contains("Éloïse a lancé une alerte pour la communauté Les Tilleuls"), "{body}");
        assert!(body.contains("https://vigie.example.fr/desabonnement?t=abcd"));
        assert!(body.contains("membre de la communauté"));
        // Same input, same Message-ID.
        let again = sample_email(
            "Voiture suspecte garée depuis ce matin devant l'école, plaque étrangère, deux occupants",
            "Éloïse",
            "Les Tilleuls",
        );
        let id = |m: &str| m.lines().find(|l| l.starts_with("Message-ID:")).map(str::to_owned);
        assert_eq!(id(&msg), id(&again));
        assert!(id(&msg).is_some());
    }

    #[test]
    fn alert_email_escapes_html() {
        let msg = sample_email("<script>alert('x')</script> & <b>gras</b>", "Marie", "Les <i>Tilleuls</i>");
        let body = html_part(&msg);
        assert!(!body.contains("<script>"), "{body}");
        assert!(!body.contains("<i>Tilleuls"), "{body}");
        // askama writes `<`, `>` and `&` as `&#60;`, `&#62;` and `&#38;`.
        assert!(
            body.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; &#60;b&#62;"),
            "{body}"
        );
        assert!(body.contains("Les &#60;i&#62;Tilleuls&#60;/i&#62;"), "{body}");
    }

    #[test]
    fn no_header_injection() {
        let msg = sample_email("ligne 1\nBcc: victim@example.org\nligne 3", "Marie", "X\r\nBcc: a@b.c");
        let (headers, _) = msg.split_once("\r\n\r\n").unwrap();
        assert!(!headers.lines().any(|l| l.starts_with("Bcc")), "{headers}");
        assert!(
            headers.contains("Subject: Alerte de Marie : ligne 1 Bcc: victim@example.org ligne 3"),
            "{headers}"
        );
    }

    #[test]
    fn subject_excerpt() {
        assert_eq!(excerpt("court", 60), "court");
        let long = "Un individu essaie d'ouvrir les portières des voitures stationnées rue Victor Hugo";
        let e = excerpt(long, 60);
        assert!(e.chars().count() <= 60, "{e}");
        assert_eq!(e, "Un individu essaie d'ouvrir les portières des voitures…");
        let nospace = "x".repeat(100);
        assert_eq!(excerpt(&nospace, 60), format!("{}…", "x".repeat(59)));
    }

    #[test]
    fn confirmation_email() {
        let from = Email::parse("alertes@vigie.example.fr").unwrap();
        let to = Email::parse("marie@example.org").unwrap();
        let raw = sender_confirmation_email(
            &from,
            &to,
            &name("Marie"),
            "Votre alerte a été transmise à 7 voisins (5 par SMS, 7 par e-mail).",
        );
        let msg = String::from_utf8(raw).unwrap();
        assert!(msg.contains("Subject: Votre alerte vigie"));
        assert!(msg.contains("text/plain"));
        assert!(!msg.contains("multipart"));
        assert!(text_part(&msg).contains("7 voisins"));
    }

    #[test]
    fn signin_link_email() {
        let from = Email::parse("alertes@vigie.example.fr").unwrap();
        let to = Email::parse("marie@example.org").unwrap();
        let link = format!("https://vigie.example.fr/signin/{}", "ab".repeat(32));
        let msg = String::from_utf8(signin_email(&from, &to, &name("Marie"), &link, 15)).unwrap();
        let (headers, _) = msg.split_once("\r\n\r\n").unwrap();
        assert!(headers.contains("Subject: Votre lien de connexion vigie"), "{headers}");
        assert!(headers.contains("marie@example.org"), "{headers}");
        assert!(headers.contains("multipart/alternative"), "{headers}");
        let text = text_part(&msg);
        assert!(text.starts_with("Bonjour"), "{text}");
        assert!(text.contains(&link), "{text}");
        assert!(text.contains("15 minutes"), "{text}");
        let html = html_part(&msg);
        assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
        assert!(html.contains("15 minutes"));
    }

    #[test]
    fn html_escaping() {
        let html = |community: &str| html_part(&sample_email("Rue", "Marie", community));
        assert!(html("a<b>&\"'").contains("communauté <strong>a&#60;b&#62;&#38;&#34;&#39;</strong>"));
        assert!(html("été").contains("communauté <strong>été</strong>"));
    }

    #[test]
    fn html_keeps_line_breaks_and_category() {
        let from = Email::parse("alertes@vigie.example.fr").unwrap();
        let to = Email::parse("paul@example.org").unwrap();
        let text = AlertText::parse("ligne 1\nligne <2>").unwrap();
        let raw = alert_email(&AlertEmail {
            from: &from,
            category: Some(Category::Burglary),
            to: &to,
            recipient_first_name: &name("Paul"),
            sender_first_name: &name("Luc"),
            source: AlertSource::Police,
            community_name: "Les Tilleuls",
            text: &text,
            created_at_ms: 1_767_225_600_000,
            unsubscribe_url: "https://vigie.example.fr/desabonnement?t=ab&u=cd",
            message_id_domain: "vigie.example.fr",
        });
        let msg = String::from_utf8(raw).unwrap();
        let html = html_part(&msg).replace("\r\n", "\n");
        assert!(html.contains("<p>Bonjour Paul,</p>"), "{html}");
        assert!(html.contains("<strong>Luc (police municipale)</strong> a lancé une alerte"), "{html}");
        assert!(
            html.contains("<strong>Cambriolage</strong><br>\nligne 1<br/>ligne &#60;2&#62;</blockquote>"),
            "{html}"
        );
        assert!(html.contains("<a href=\"https://vigie.example.fr/desabonnement?t=ab&#38;u=cd\">"), "{html}");
        let text = text_part(&msg).replace("\r\n", "\n");
        assert!(text.contains("Cambriolage\nligne 1\nligne <2>\n"), "{text}");
    }
}
