//! Every string of the pages, in French (the default) and English.
//!
//! Fixed strings are fields of [`Texts`] (one `static` per language, so a missing translation
//! does not compile); strings with numbers in them are methods of [`Lang`].

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use vigie::domain::{AlertSource, Category, DeliveryProblem, Encoding, Language, ProblemKind};
use vigie::model::{Channel, DeliveryCounts};

use crate::cookies;

/// The cookie that remembers the language chosen with the switch.
pub const LANG_COOKIE: &str = "lang";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language, the one the switch offers.
    pub fn other(self) -> Lang {
        match self {
            Lang::Fr => Lang::En,
            Lang::En => Lang::Fr,
        }
    }

    pub fn t(self) -> &'static Texts {
        match self {
            Lang::Fr => &FR,
            Lang::En => &EN,
        }
    }

    /// The `lang` cookie if set, else the browser's preference between French and English,
    /// else French.
    pub fn of_request(headers: &HeaderMap) -> Lang {
        if let Some(lang) = cookies::get(headers, LANG_COOKIE).and_then(Lang::parse) {
            return lang;
        }
        headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map_or(Lang::Fr, from_accept_language)
    }

    pub fn category(self, category: Category) -> &'static str {
        match self {
            Lang::Fr => category.label_fr(),
            Lang::En => category.label_en(),
        }
    }

    pub fn source(self, source: AlertSource) -> &'static str {
        match (self, source) {
            (Lang::Fr, AlertSource::Web) => "Site",
            (Lang::En, AlertSource::Web) => "Website",
            (_, AlertSource::Sms) => "SMS",
            (Lang::Fr, AlertSource::Police) => "Police municipale",
            (Lang::En, AlertSource::Police) => "Municipal police",
        }
    }

    /// The shared crate's name of this language (its plural rules live there).
    pub fn language(self) -> Language {
        match self {
            Lang::Fr => Language::French,
            Lang::En => Language::English,
        }
    }

    /// `one` or `other`, the form a count of `n` takes in this language.
    fn plural<'a>(self, n: usize, one: &'a str, other: &'a str) -> &'a str {
        self.language().plural(n, one, other)
    }

    /// `"142 caractères sur 1000 · 1 SMS"`: what the alert form shows under the text box, and
    /// the confirmation step again.
    pub fn sms_size(self, chars: usize, max: usize, segments: usize, encoding: Encoding) -> String {
        let special = encoding == Encoding::Ucs2;
        match self {
            Lang::Fr => format!(
                "{chars} {} sur {max} · {segments} SMS{}",
                self.plural(chars, "caractère", "caractères"),
                if special { " (caractères spéciaux : 70 par SMS)" } else { "" }
            ),
            Lang::En => format!(
                "{chars} {} of {max} · {segments} {}{}",
                self.plural(chars, "character", "characters"),
                self.plural(segments, "text", "texts"),
                if special { " (special characters: 70 per text)" } else { "" }
            ),
        }
    }

    pub fn too_long(self, max: usize, actual: usize) -> String {
        match self {
            Lang::Fr => format!("Votre message est trop long : {actual} caractères pour {max} au plus."),
            Lang::En => format!("Your message is too long: {actual} characters, at most {max}."),
        }
    }

    pub fn text_hint(self, max: usize) -> String {
        match self {
            Lang::Fr => format!("Où, quoi, quand : soyez précis. {max} caractères au plus."),
            Lang::En => format!("Where, what, when: be precise. At most {max} characters."),
        }
    }

    /// How many neighbours a new alert will reach.
    pub fn reach(self, people: usize, sms: usize, email: usize) -> String {
        match self {
            Lang::Fr if people == 0 => "Aucun voisin ne peut la recevoir pour le moment.".to_owned(),
            Lang::En if people == 0 => "No neighbour can receive it for now.".to_owned(),
            Lang::Fr => format!(
                "Elle sera transmise à {people} {} ({sms} par SMS, {email} par e-mail).",
                self.plural(people, "voisin", "voisins")
            ),
            Lang::En => format!(
                "It will reach {people} {} ({sms} by SMS, {email} by email).",
                self.plural(people, "neighbour", "neighbours")
            ),
        }
    }

    /// The one-line delivery summary of an alert in the feed.
    pub fn delivery_summary(self, counts: Option<&DeliveryCounts>, acks: u32) -> String {
        let Some(c) = counts else {
            return self.t().sending.to_owned();
        };
        let (by_sms, by_email) = (c.channel(Channel::Sms), c.channel(Channel::Email));
        let failed = (by_sms.failed + by_email.failed) as usize;
        let delivered = (by_sms.delivered + by_email.delivered) as usize;
        let (sms, email, acks) = (c.sms_sent as usize, c.email_sent as usize, acks as usize);
        let mut parts = Vec::with_capacity(5);
        match self {
            Lang::Fr => {
                parts.push(format!(
                    "{} {}",
                    c.recipients,
                    self.plural(c.recipients as usize, "voisin prévenu", "voisins prévenus")
                ));
                parts.push(format!("{sms} SMS, {email} {}", self.plural(email, "e-mail", "e-mails")));
                if delivered > 0 {
                    parts.push(format!("{delivered} {}", self.plural(delivered, "remis", "remis")));
                }
                if failed > 0 {
                    parts.push(format!("{failed} {}", self.plural(failed, "échec", "échecs")));
                }
                parts.push(format!(
                    "{acks} {}",
                    self.plural(acks, "accusé de réception", "accusés de réception")
                ));
            }
            Lang::En => {
                parts.push(format!(
                    "{} {} reached",
                    c.recipients,
                    self.plural(c.recipients as usize, "neighbour", "neighbours")
                ));
                parts.push(format!(
                    "{sms} {}, {email} {}",
                    self.plural(sms, "text", "texts"),
                    self.plural(email, "email", "emails")
                ));
                if delivered > 0 {
                    parts.push(format!("{delivered} delivered"));
                }
                if failed > 0 {
                    parts.push(format!("{failed} failed"));
                }
                parts.push(format!("{acks} {}", self.plural(acks, "acknowledgement", "acknowledgements")));
            }
        }
        if c.pending > 0 {
            parts.push(self.t().sending.to_owned());
        }
        parts.join(" · ")
    }

    /// A delivery problem on a member's channel, in a sentence, `when` being its date as the
    /// pages write dates. `own`: said to the member themselves (their settings), else to their
    /// referent.
    pub fn delivery_problem(
        self,
        channel: Channel,
        problem: &DeliveryProblem,
        when: &str,
        own: bool,
    ) -> String {
        let detail = &problem.detail;
        let n = problem.failures as usize;
        let what = match (self, problem.kind) {
            (Lang::Fr, ProblemKind::HardBounce) => format!(
                "{} le {when} : l'adresse n'existe pas ou refuse les messages (réponse du serveur : « {detail} »).",
                if problem.stopped { "Alertes par e-mail coupées" } else { "E-mail non remis" }
            ),
            (Lang::Fr, ProblemKind::Complaint) => format!(
                "{} le {when} : un e-mail d'alerte a été signalé comme indésirable depuis {}.",
                if problem.stopped { "Alertes par e-mail coupées" } else { "E-mail signalé" },
                if own { "votre messagerie" } else { "sa messagerie" }
            ),
            (Lang::Fr, ProblemKind::SmsUndeliverable) => format!(
                "{n} {} à ce numéro (dernier échec le {when} : « {detail} »){}.",
                self.plural(n, "SMS n'a pas pu être remis", "SMS n'ont pas pu être remis"),
                if problem.stopped { " : alertes par SMS coupées" } else { "" }
            ),
            (Lang::En, ProblemKind::HardBounce) => format!(
                "{} on {when}: the address does not exist or refuses mail (the server answered \"{detail}\").",
                if problem.stopped { "Email alerts turned off" } else { "Email not delivered" }
            ),
            (Lang::En, ProblemKind::Complaint) => format!(
                "{} on {when}: an alert email was reported as spam from {} mailbox.",
                if problem.stopped { "Email alerts turned off" } else { "Email reported" },
                if own { "your" } else { "their" }
            ),
            (Lang::En, ProblemKind::SmsUndeliverable) => format!(
                "{n} {} to this number (last failure on {when}: \"{detail}\"){}.",
                self.plural(n, "text could not be delivered", "texts could not be delivered"),
                if problem.stopped { ": text alerts turned off" } else { "" }
            ),
        };
        let what_to_do = match (self, channel, own && problem.stopped) {
            (Lang::Fr, Channel::Email, true) => {
                " Recochez « par e-mail » ci-dessous pour les recevoir à nouveau, ou demandez à votre référent de corriger votre adresse."
            }
            (Lang::Fr, Channel::Sms, true) => {
                " Corrigez votre numéro, ou recochez « par SMS » ci-dessous pour réessayer."
            }
            (Lang::En, Channel::Email, true) => {
                " Tick \"by email\" below to receive them again, or ask your referent to correct your address."
            }
            (Lang::En, Channel::Sms, true) => " Correct your number, or tick \"by SMS\" below to try again.",
            _ => "",
        };
        what + what_to_do
    }

    pub fn rate_limited(self, per_hour: u32) -> String {
        match self {
            Lang::Fr => format!(
                "Vous avez déjà lancé {per_hour} {} au cours de la dernière heure : c'est le maximum. \
                 Réessayez plus tard ; en cas d'urgence, appelez le 17.",
                self.plural(per_hour as usize, "alerte", "alertes")
            ),
            Lang::En => format!(
                "You have already raised {per_hour} {} in the last hour, the most allowed. \
                 Try again later; in an emergency, call 17.",
                self.plural(per_hour as usize, "alert", "alerts")
            ),
        }
    }

    /// "3 mars 2026 à 14:05" / "3 March 2026, 14:05".
    pub fn date_time(self, day: u32, month: u32, year: i64, hour: u32, minute: u32) -> String {
        let index = month.clamp(1, 12) as usize - 1;
        match self {
            Lang::Fr => format!("{day} {} {year} à {hour:02}:{minute:02}", MONTHS_FR[index]),
            Lang::En => format!("{day} {} {year}, {hour:02}:{minute:02}", MONTHS_EN[index]),
        }
    }
}

const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The preferred of French and English in an `Accept-Language` header (French on a tie or
/// when neither is listed).
fn from_accept_language(header: &str) -> Lang {
    let mut best: Option<(Lang, f32)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        let Some(lang) = Lang::parse(primary) else { continue };
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((lang, q));
        }
    }
    best.map_or(Lang::Fr, |(lang, _)| lang)
}

/// The language the frame chose for this request.
impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Lang>().copied().unwrap_or_default())
    }
}

/// The fixed strings of the pages.
#[derive(Debug)]
pub struct Texts {
    // Layout
    pub skip_to_content: &'static str,
    pub nav_label: &'static str,
    pub nav_feed: &'static str,
    pub nav_raise: &'static str,
    pub nav_settings: &'static str,
    pub nav_signout: &'static str,
    pub signed_in_as: &'static str,
    pub footer_tagline: &'static str,
    pub footer_emergency: &'static str,
    pub language_name: &'static str,
    pub switch_to: &'static str,
    // Sign-in
    pub signin_title: &'static str,
    pub signin_intro: &'static str,
    pub signin_how: &'static str,
    pub signin_by_sms: &'static str,
    pub email_label: &'static str,
    pub signin_submit: &'static str,
    pub invalid_email: &'static str,
    pub signin_sent_title: &'static str,
    pub signin_sent_body: &'static str,
    pub signin_sent_again: &'static str,
    pub signed_out: &'static str,
    pub signin_link_title: &'static str,
    pub signin_link_body: &'static str,
    pub signin_link_submit: &'static str,
    pub signin_link_invalid_title: &'static str,
    pub signin_link_invalid_body: &'static str,
    pub signin_new_link: &'static str,
    // Feed
    pub feed_title: &'static str,
    pub feed_empty: &'static str,
    pub feed_older: &'static str,
    pub feed_newest: &'static str,
    pub feed_all_communities: &'static str,
    pub feed_filter_label: &'static str,
    pub feed_report_link: &'static str,
    pub source_label: &'static str,
    pub community_label: &'static str,
    pub sending: &'static str,
    // Raise an alert
    pub raise_title: &'static str,
    pub raise_intro: &'static str,
    pub emergency_first: &'static str,
    pub category_legend: &'static str,
    pub text_label: &'static str,
    pub communities_legend: &'static str,
    pub counter_noscript: &'static str,
    pub review_submit: &'static str,
    pub choose_category: &'static str,
    pub write_message: &'static str,
    pub choose_community: &'static str,
    pub form_has_errors: &'static str,
    pub confirm_title: &'static str,
    pub confirm_sms_heading: &'static str,
    pub confirm_full_text: &'static str,
    pub confirm_send: &'static str,
    pub confirm_edit: &'static str,
    pub category_label: &'static str,
    pub rate_limited_title: &'static str,
    // Alert detail
    pub detail_title: &'static str,
    pub detail_recorded: &'static str,
    pub detail_already_recorded: &'static str,
    pub raised_by: &'static str,
    pub raised_at: &'static str,
    pub done_at: &'static str,
    pub in_progress: &'static str,
    pub reached: &'static str,
    pub sms_sent: &'static str,
    pub email_sent: &'static str,
    pub sms_failed: &'static str,
    pub email_failed: &'static str,
    pub sms_delivered: &'static str,
    pub email_delivered: &'static str,
    pub sms_pending: &'static str,
    pub email_pending: &'static str,
    pub receipts_hint: &'static str,
    pub acks: &'static str,
    pub back_to_feed: &'static str,
    // Settings
    pub settings_title: &'static str,
    pub first_name_label: &'static str,
    pub first_name_hint: &'static str,
    pub phone_label: &'static str,
    pub phone_hint: &'static str,
    pub email_readonly_label: &'static str,
    pub email_readonly_hint: &'static str,
    pub no_email: &'static str,
    pub privacy_legend: &'static str,
    pub hide_phone_label: &'static str,
    pub channels_legend: &'static str,
    pub sms_alerts_label: &'static str,
    pub email_alerts_label: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub invalid_first_name: &'static str,
    pub first_name_not_allowed: &'static str,
    pub invalid_phone: &'static str,
    pub phone_country_not_allowed: &'static str,
    pub phone_taken: &'static str,
    pub contact_needed: &'static str,
    // Unsubscribe
    pub unsubscribe_title: &'static str,
    pub unsubscribe_body: &'static str,
    pub unsubscribe_submit: &'static str,
    pub unsubscribed_title: &'static str,
    pub unsubscribed_body: &'static str,
    // Errors
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub signed_out_title: &'static str,
    pub signed_out_body: &'static str,
    pub forbidden_title: &'static str,
    pub forbidden_body: &'static str,
    pub bad_request_title: &'static str,
    pub bad_request_body: &'static str,
    pub unavailable_title: &'static str,
    pub unavailable_body: &'static str,
    pub internal_title: &'static str,
    pub internal_body: &'static str,
    pub back_home: &'static str,
    // Neighbours, referent, join
    pub nav_neighbours: &'static str,
    pub nav_admin: &'static str,
    pub denied_title: &'static str,
    pub denied_body: &'static str,
    pub neighbours_title: &'static str,
    pub neighbours_intro: &'static str,
    pub neighbours_empty: &'static str,
    pub neighbours_more: &'static str,
    pub neighbours_first: &'static str,
    pub role_referent: &'static str,
    pub role_police: &'static str,
    pub no_visible_phone: &'static str,
    pub you: &'static str,
    pub admin_title: &'static str,
    pub admin_members_heading: &'static str,
    pub admin_requests_heading: &'static str,
    pub admin_no_requests: &'static str,
    pub admin_requested_on: &'static str,
    pub admin_approve: &'static str,
    pub admin_refuse: &'static str,
    pub admin_remove: &'static str,
    pub admin_remove_confirm: &'static str,
    pub admin_channels: &'static str,
    pub receives_nothing: &'static str,
    pub admin_added: &'static str,
    pub admin_removed: &'static str,
    pub admin_approved: &'static str,
    pub admin_refused: &'static str,
    pub admin_request_taken: &'static str,
    pub member_add_title: &'static str,
    pub member_add_intro: &'static str,
    pub last_name_label: &'static str,
    pub member_phone_hint: &'static str,
    pub member_email_hint: &'static str,
    pub member_hide_phone_label: &'static str,
    pub add_submit: &'static str,
    pub cancel: &'static str,
    pub invalid_last_name: &'static str,
    pub contact_required: &'static str,
    pub email_taken: &'static str,
    pub join_title: &'static str,
    pub join_intro: &'static str,
    pub join_link: &'static str,
    pub join_already_member: &'static str,
    pub town_label: &'static str,
    pub join_continue: &'static str,
    pub join_change_town: &'static str,
    pub join_community_legend: &'static str,
    pub join_choose_community: &'static str,
    pub join_contact_hint: &'static str,
    pub join_submit: &'static str,
    pub join_sent_title: &'static str,
    pub join_sent_body: &'static str,
    pub join_no_towns: &'static str,
    pub join_limited_title: &'static str,
    pub join_limited_body: &'static str,
    /// One address sent the most join requests allowed in an hour.
    pub join_limited_ip_body: &'static str,
}

pub static FR: Texts = Texts {
    skip_to_content: "Aller au contenu",
    nav_label: "Navigation principale",
    nav_feed: "Alertes",
    nav_raise: "Lancer une alerte",
    nav_settings: "Mes réglages",
    nav_signout: "Se déconnecter",
    signed_in_as: "Connecté en tant que",
    footer_tagline: "vigie : les alertes entre voisins, par SMS et par e-mail.",
    footer_emergency: "En cas d'urgence, appelez le 17 (police) ou le 112.",
    language_name: "Français",
    switch_to: "Read in English",
    signin_title: "Se connecter",
    signin_intro: "vigie transmet vos alertes à tous les voisins de votre communauté, par SMS et par e-mail, avec votre prénom.",
    signin_how: "Pas de mot de passe : indiquez votre adresse e-mail, vous recevrez un lien de connexion.",
    signin_by_sms: "Sans internet, vous pouvez aussi lancer une alerte en envoyant un SMS au numéro partagé :",
    email_label: "Votre adresse e-mail",
    signin_submit: "Recevoir un lien de connexion",
    invalid_email: "Cette adresse e-mail n'est pas valide. Exemple : marie@exemple.fr",
    signin_sent_title: "Vérifiez vos e-mails",
    signin_sent_body: "Si cette adresse est inscrite sur vigie, un lien de connexion vient de lui être envoyé. Il est valable 15 minutes et ne sert qu'une fois.",
    signin_sent_again: "Rien reçu au bout de quelques minutes ? Regardez dans les indésirables, ou demandez un nouveau lien.",
    signed_out: "Vous êtes déconnecté.",
    signin_link_title: "Terminer la connexion",
    signin_link_body: "Pour vous connecter à vigie sur cet appareil, appuyez sur le bouton.",
    signin_link_submit: "Me connecter",
    signin_link_invalid_title: "Lien expiré ou déjà utilisé",
    signin_link_invalid_body: "Ce lien de connexion n'est plus valable : il expire au bout de 15 minutes et ne sert qu'une fois.",
    signin_new_link: "Demander un nouveau lien",
    feed_title: "Alertes",
    feed_empty: "Aucune alerte pour le moment.",
    feed_older: "Alertes plus anciennes",
    feed_newest: "Revenir aux plus récentes",
    feed_all_communities: "Toutes",
    feed_filter_label: "Communautés",
    feed_report_link: "Rapport d'envoi",
    source_label: "Source",
    community_label: "Communauté",
    sending: "Envoi en cours…",
    raise_title: "Lancer une alerte",
    raise_intro: "Votre alerte part par SMS et par e-mail à tous les voisins de votre communauté, avec votre prénom.",
    emergency_first: "Danger immédiat ? Appelez d'abord le 17.",
    category_legend: "De quoi s'agit-il ?",
    text_label: "Votre message",
    communities_legend: "Communautés à alerter",
    counter_noscript: "Le nombre de SMS s'affiche à l'étape suivante.",
    review_submit: "Vérifier avant l'envoi",
    choose_category: "Choisissez une catégorie.",
    write_message: "Écrivez votre message.",
    choose_community: "Choisissez au moins une communauté.",
    form_has_errors: "Le formulaire contient des erreurs :",
    confirm_title: "Vérifiez votre alerte",
    confirm_sms_heading: "Le SMS que recevront vos voisins",
    confirm_full_text: "L'e-mail et la page des alertes montrent le texte complet.",
    confirm_send: "Envoyer l'alerte",
    confirm_edit: "Modifier",
    category_label: "Catégorie",
    rate_limited_title: "Trop d'alertes en peu de temps",
    detail_title: "Rapport d'envoi",
    detail_recorded: "Votre alerte est enregistrée : elle part à vos voisins.",
    detail_already_recorded: "Cette alerte était déjà enregistrée : elle n'a pas été envoyée une seconde fois.",
    raised_by: "Par",
    raised_at: "Lancée le",
    done_at: "Envoi terminé le",
    in_progress: "Envoi en cours… Rechargez la page pour voir où il en est.",
    reached: "Voisins prévenus",
    sms_sent: "SMS envoyés",
    email_sent: "E-mails envoyés",
    sms_failed: "SMS en échec",
    email_failed: "E-mails en échec",
    sms_delivered: "SMS remis",
    email_delivered: "E-mails remis",
    sms_pending: "SMS en attente de remise",
    email_pending: "E-mails en attente de remise",
    receipts_hint: "« Remis » : l'opérateur ou le serveur de messagerie du voisin a confirmé la remise. « En échec » : refusé à l'envoi, ou non remis (numéro ou adresse invalide). « En attente » : envoyé, sans confirmation pour l'instant.",
    acks: "Accusés de réception",
    back_to_feed: "Retour aux alertes",
    settings_title: "Mes réglages",
    first_name_label: "Prénom",
    first_name_hint: "Vos voisins le voient au début de chacune de vos alertes.",
    phone_label: "Numéro de mobile",
    phone_hint: "Par exemple 06 12 34 56 78. Laissez vide si vous n'en avez pas.",
    email_readonly_label: "Adresse e-mail",
    email_readonly_hint: "Pour en changer, demandez à votre référent.",
    no_email: "Aucune",
    privacy_legend: "Confidentialité",
    hide_phone_label: "Cacher mon numéro aux autres membres",
    channels_legend: "Recevoir les alertes",
    sms_alerts_label: "Par SMS",
    email_alerts_label: "Par e-mail",
    save: "Enregistrer",
    saved: "Vos réglages sont enregistrés.",
    invalid_first_name: "Indiquez un prénom de 40 caractères au plus, sans < ni >.",
    first_name_not_allowed: "Ce prénom pourrait faire croire à une alerte de la police, de la mairie ou du service : \
        pas de chiffres, de parenthèses, de deux-points ni d'adresse web, pas de mots comme police, gendarmerie, \
        mairie, pompiers, SAMU, vigie ou admin.",
    invalid_phone: "Ce numéro n'est pas valide. Exemple : 06 12 34 56 78.",
    phone_country_not_allowed: "vigie n'envoie pas de SMS vers ce pays : indiquez un numéro de France métropolitaine ou d'outre-mer.",
    phone_taken: "Ce numéro est déjà celui d'un autre membre de vigie.",
    contact_needed: "Gardez un numéro ou une adresse e-mail : sans l'un ni l'autre, vous ne recevriez rien.",
    unsubscribe_title: "Ne plus recevoir les alertes par e-mail",
    unsubscribe_body: "Vous ne recevrez plus les alertes de votre communauté par e-mail. Les SMS ne changent pas.",
    unsubscribe_submit: "Me désabonner des e-mails",
    unsubscribed_title: "C'est fait",
    unsubscribed_body: "Vous ne recevrez plus les alertes par e-mail. Vous pouvez les réactiver dans vos réglages.",
    not_found_title: "Page introuvable",
    not_found_body: "Cette page n'existe pas, ou vous n'y avez pas accès.",
    signed_out_title: "Connexion nécessaire",
    signed_out_body: "Connectez-vous pour voir cette page.",
    forbidden_title: "Formulaire expiré",
    forbidden_body: "Ce formulaire a expiré ou ne vient pas de vigie. Revenez à la page précédente, rechargez-la et réessayez.",
    bad_request_title: "Demande incorrecte",
    bad_request_body: "Cette demande n'a pas pu être comprise.",
    unavailable_title: "Service momentanément indisponible",
    unavailable_body: "Réessayez dans un instant. En cas d'urgence, appelez le 17.",
    internal_title: "Une erreur est survenue",
    internal_body: "Réessayez dans un instant. En cas d'urgence, appelez le 17.",
    back_home: "Retour à l'accueil",
    nav_neighbours: "Voisins",
    nav_admin: "Membres",
    denied_title: "Accès réservé",
    denied_body: "Cette page est réservée au référent de la communauté.",
    neighbours_title: "Voisins",
    neighbours_intro: "Les membres de votre communauté. Un numéro n'apparaît que si son titulaire ne l'a pas caché ; les adresses e-mail ne sont jamais montrées.",
    neighbours_empty: "Aucun membre pour le moment.",
    neighbours_more: "Membres suivants",
    neighbours_first: "Revenir au début de la liste",
    role_referent: "Référent",
    role_police: "Police municipale",
    no_visible_phone: "Numéro non communiqué",
    you: "vous",
    admin_title: "Gérer les membres",
    admin_members_heading: "Membres de la communauté",
    admin_requests_heading: "Demandes d'adhésion",
    admin_no_requests: "Aucune demande en attente.",
    admin_requested_on: "Demande du",
    admin_approve: "Accepter",
    admin_refuse: "Refuser",
    admin_remove: "Retirer",
    admin_remove_confirm: "Retirer ce membre de la communauté ? Il ne recevra plus les alertes.",
    admin_channels: "Alertes :",
    receives_nothing: "aucune",
    admin_added: "Le membre est ajouté : il reçoit désormais les alertes.",
    admin_removed: "Le membre est retiré de la communauté.",
    admin_approved: "La demande est acceptée : la personne reçoit les alertes et peut se connecter avec son adresse e-mail.",
    admin_refused: "La demande est refusée.",
    admin_request_taken: "Ce numéro ou cette adresse e-mail est déjà celui d'un membre de vigie : la demande reste en attente.",
    member_add_title: "Ajouter un membre",
    member_add_intro: "Une personne sans internet peut ne donner qu'un numéro de mobile : elle recevra les alertes par SMS et pourra en lancer par SMS.",
    last_name_label: "Nom",
    member_phone_hint: "Facultatif. Par exemple 06 12 34 56 78.",
    member_email_hint: "Facultative. Elle sert à se connecter au site.",
    member_hide_phone_label: "Cacher son numéro aux autres membres",
    add_submit: "Ajouter",
    cancel: "Annuler",
    invalid_last_name: "Indiquez un nom de 40 caractères au plus, sans < ni >.",
    contact_required: "Indiquez un numéro de mobile ou une adresse e-mail.",
    email_taken: "Cette adresse e-mail est déjà celle d'un autre membre de vigie.",
    join_title: "Rejoindre une communauté",
    join_intro: "Demandez à rejoindre la communauté de votre quartier : son référent examinera votre demande.",
    join_link: "Pas encore membre ? Demander à rejoindre une communauté",
    join_already_member: "Déjà membre ? Se connecter",
    town_label: "Votre commune",
    join_continue: "Continuer",
    join_change_town: "changer de commune",
    join_community_legend: "Votre communauté",
    join_choose_community: "Choisissez votre communauté.",
    join_contact_hint: "Donnez une adresse e-mail, un numéro de mobile, ou les deux.",
    join_submit: "Envoyer ma demande",
    join_sent_title: "Demande envoyée",
    join_sent_body: "Le référent de la communauté va examiner votre demande. S'il l'accepte, vous recevrez les alertes, et pourrez vous connecter au site avec votre adresse e-mail.",
    join_no_towns: "Aucune commune n'est encore inscrite.",
    join_limited_title: "Trop de demandes",
    join_limited_body: "Trop de demandes ont été envoyées pour ces coordonnées ou cette communauté aujourd'hui. Réessayez demain.",
    join_limited_ip_body: "Trop de demandes ont été envoyées depuis votre connexion au cours de la dernière heure. Réessayez dans une heure.",
};

pub static EN: Texts = Texts {
    skip_to_content: "Skip to content",
    nav_label: "Main navigation",
    nav_feed: "Alerts",
    nav_raise: "Raise an alert",
    nav_settings: "My settings",
    nav_signout: "Sign out",
    signed_in_as: "Signed in as",
    footer_tagline: "vigie: alerts between neighbours, by text message and email.",
    footer_emergency: "In an emergency, call 17 (police) or 112.",
    language_name: "English",
    switch_to: "Lire en français",
    signin_title: "Sign in",
    signin_intro: "vigie passes your alerts on to every neighbour of your community, by text message and email, with your first name.",
    signin_how: "No password: enter your email address and you will receive a sign-in link.",
    signin_by_sms: "Without internet, you can also raise an alert by texting the shared number:",
    email_label: "Your email address",
    signin_submit: "Email me a sign-in link",
    invalid_email: "This email address is not valid. Example: marie@example.org",
    signin_sent_title: "Check your email",
    signin_sent_body: "If this address is registered with vigie, a sign-in link is on its way. It is valid for 15 minutes and works once.",
    signin_sent_again: "Nothing after a few minutes? Look in your spam folder, or ask for a new link.",
    signed_out: "You are signed out.",
    signin_link_title: "Finish signing in",
    signin_link_body: "To sign in to vigie on this device, press the button.",
    signin_link_submit: "Sign me in",
    signin_link_invalid_title: "Link expired or already used",
    signin_link_invalid_body: "This sign-in link is no longer valid: it expires after 15 minutes and works once.",
    signin_new_link: "Ask for a new link",
    feed_title: "Alerts",
    feed_empty: "No alerts yet.",
    feed_older: "Older alerts",
    feed_newest: "Back to the newest",
    feed_all_communities: "All",
    feed_filter_label: "Communities",
    feed_report_link: "Delivery report",
    source_label: "Source",
    community_label: "Community",
    sending: "Sending…",
    raise_title: "Raise an alert",
    raise_intro: "Your alert goes by text message and email to every neighbour of your community, with your first name.",
    emergency_first: "Immediate danger? Call 17 first.",
    category_legend: "What is it about?",
    text_label: "Your message",
    communities_legend: "Communities to alert",
    counter_noscript: "The number of text messages is shown at the next step.",
    review_submit: "Review before sending",
    choose_category: "Choose a category.",
    write_message: "Write your message.",
    choose_community: "Choose at least one community.",
    form_has_errors: "The form has errors:",
    confirm_title: "Check your alert",
    confirm_sms_heading: "The text message your neighbours will receive",
    confirm_full_text: "The email and the alerts page show the full text.",
    confirm_send: "Send the alert",
    confirm_edit: "Edit",
    category_label: "Category",
    rate_limited_title: "Too many alerts in a short time",
    detail_title: "Delivery report",
    detail_recorded: "Your alert is recorded: it is on its way to your neighbours.",
    detail_already_recorded: "This alert was already recorded: it was not sent a second time.",
    raised_by: "From",
    raised_at: "Raised on",
    done_at: "Delivery finished on",
    in_progress: "Sending… Reload the page to see how it is going.",
    reached: "Neighbours reached",
    sms_sent: "Text messages sent",
    email_sent: "Emails sent",
    sms_failed: "Text messages failed",
    email_failed: "Emails failed",
    sms_delivered: "Text messages delivered",
    email_delivered: "Emails delivered",
    sms_pending: "Text messages awaiting delivery",
    email_pending: "Emails awaiting delivery",
    receipts_hint: "\"Delivered\": the neighbour's carrier or mail server confirmed it. \"Failed\": refused when sent, or not delivered (invalid number or address). \"Awaiting delivery\": sent, not confirmed yet.",
    acks: "Acknowledgements",
    back_to_feed: "Back to alerts",
    settings_title: "My settings",
    first_name_label: "First name",
    first_name_hint: "Your neighbours see it at the start of each of your alerts.",
    phone_label: "Mobile number",
    phone_hint: "For example 06 12 34 56 78 or +44 7700 900123. Leave empty if you have none.",
    email_readonly_label: "Email address",
    email_readonly_hint: "To change it, ask your referent.",
    no_email: "None",
    privacy_legend: "Privacy",
    hide_phone_label: "Hide my number from other members",
    channels_legend: "Receive alerts",
    sms_alerts_label: "By text message",
    email_alerts_label: "By email",
    save: "Save",
    saved: "Your settings are saved.",
    invalid_first_name: "Enter a first name of at most 40 characters, without < or >.",
    first_name_not_allowed: "This first name could pass for an alert of the police, the town hall or the service: \
        no digits, brackets, colons or web addresses, no words such as police, gendarmerie, mairie, pompiers, \
        SAMU, vigie or admin.",
    invalid_phone: "This number is not valid. Example: 06 12 34 56 78.",
    phone_country_not_allowed: "vigie does not text numbers of this country: give a number of mainland or overseas France.",
    phone_taken: "This number already belongs to another vigie member.",
    contact_needed: "Keep a number or an email address: with neither, you would receive nothing.",
    unsubscribe_title: "Stop email alerts",
    unsubscribe_body: "You will no longer receive your community's alerts by email. Text messages do not change.",
    unsubscribe_submit: "Unsubscribe from emails",
    unsubscribed_title: "Done",
    unsubscribed_body: "You will no longer receive alerts by email. You can turn them back on in your settings.",
    not_found_title: "Page not found",
    not_found_body: "This page does not exist, or you may not see it.",
    signed_out_title: "Please sign in",
    signed_out_body: "Sign in to see this page.",
    forbidden_title: "Form expired",
    forbidden_body: "This form has expired or does not come from vigie. Go back, reload the page and try again.",
    bad_request_title: "Bad request",
    bad_request_body: "This request could not be understood.",
    unavailable_title: "Temporarily unavailable",
    unavailable_body: "Try again in a moment. In an emergency, call 17.",
    internal_title: "Something went wrong",
    internal_body: "Try again in a moment. In an emergency, call 17.",
    back_home: "Back to the home page",
    nav_neighbours: "Neighbours",
    nav_admin: "Members",
    denied_title: "Not allowed",
    denied_body: "This page is for the community's referent only.",
    neighbours_title: "Neighbours",
    neighbours_intro: "The members of your community. A number appears only if its owner did not hide it; email addresses are never shown.",
    neighbours_empty: "No members yet.",
    neighbours_more: "More members",
    neighbours_first: "Back to the start of the list",
    role_referent: "Referent",
    role_police: "Municipal police",
    no_visible_phone: "Number not shared",
    you: "you",
    admin_title: "Manage members",
    admin_members_heading: "Members of the community",
    admin_requests_heading: "Requests to join",
    admin_no_requests: "No pending requests.",
    admin_requested_on: "Requested on",
    admin_approve: "Approve",
    admin_refuse: "Refuse",
    admin_remove: "Remove",
    admin_remove_confirm: "Remove this member from the community? They will no longer receive alerts.",
    admin_channels: "Alerts:",
    receives_nothing: "none",
    admin_added: "The member is added: they now receive the alerts.",
    admin_removed: "The member is removed from the community.",
    admin_approved: "The request is approved: the person receives the alerts and can sign in with their email address.",
    admin_refused: "The request is refused.",
    admin_request_taken: "This number or email address already belongs to a vigie member: the request stays pending.",
    member_add_title: "Add a member",
    member_add_intro: "Someone without internet may give only a mobile number: they will receive alerts by text message and can raise them by text message.",
    last_name_label: "Last name",
    member_phone_hint: "Optional. For example 06 12 34 56 78.",
    member_email_hint: "Optional. It is used to sign in to the website.",
    member_hide_phone_label: "Hide their number from other members",
    add_submit: "Add",
    cancel: "Cancel",
    invalid_last_name: "Enter a last name of at most 40 characters, without < or >.",
    contact_required: "Give a mobile number or an email address.",
    email_taken: "This email address already belongs to another vigie member.",
    join_title: "Join a community",
    join_intro: "Ask to join your neighbourhood's community: its referent will review your request.",
    join_link: "Not a member yet? Ask to join a community",
    join_already_member: "Already a member? Sign in",
    town_label: "Your town",
    join_continue: "Continue",
    join_change_town: "change town",
    join_community_legend: "Your community",
    join_choose_community: "Choose your community.",
    join_contact_hint: "Give an email address, a mobile number, or both.",
    join_submit: "Send my request",
    join_sent_title: "Request sent",
    join_sent_body: "The community's referent will review your request. Once approved, you will receive the alerts and can sign in to the website with your email address.",
    join_no_towns: "No town is registered yet.",
    join_limited_title: "Too many requests",
    join_limited_body: "Too many requests were sent for these details or this community today. Try again tomorrow.",
    join_limited_ip_body: "Too many requests were sent from your connection in the last hour. Try again in an hour.",
};

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                axum::http::HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn language_of_a_request() {
        assert_eq!(Lang::of_request(&headers(&[])), Lang::Fr);
        assert_eq!(Lang::of_request(&headers(&[("accept-language", "en-GB,en;q=0.9")])), Lang::En);
        assert_eq!(Lang::of_request(&headers(&[("accept-language", "fr-FR,fr;q=0.9,en;q=0.8")])), Lang::Fr);
        assert_eq!(Lang::of_request(&headers(&[("accept-language", "de-DE,en;q=0.5,fr;q=0.4")])), Lang::En);
        assert_eq!(Lang::of_request(&headers(&[("accept-language", "de, es")])), Lang::Fr);
        assert_eq!(Lang::of_request(&headers(&[("accept-language", "en;q=0, fr;q=0.1")])), Lang::Fr);
        assert_eq!(
            Lang::of_request(&headers(&[("accept-language", "en"), ("cookie", "a=b; lang=fr")])),
            Lang::Fr
        );
        assert_eq!(Lang::of_request(&headers(&[("cookie", "lang=en")])), Lang::En);
        assert_eq!(Lang::of_request(&headers(&[("cookie", "lang=de")])), Lang::Fr);
    }

    #[test]
    fn delivery_problems_in_sentences() {
        let bounce = DeliveryProblem::email(ProblemKind::HardBounce, "smtp; 550 5.1.1 user unknown", 0);
        let to_referent = Lang::Fr.delivery_problem(Channel::Email, &bounce, "3 mars 2026 à 09:05", false);
        assert_eq!(
            to_referent,
            "Alertes par e-mail coupées le 3 mars 2026 à 09:05 : l'adresse n'existe pas ou refuse les messages (réponse du serveur : « smtp; 550 5.1.1 user unknown »)."
        );
        let to_member = Lang::Fr.delivery_problem(Channel::Email, &bounce, "3 mars 2026 à 09:05", true);
        assert!(to_member.starts_with(&to_referent) && to_member.contains("Recochez"), "{to_member}");
        let sms = DeliveryProblem::sms_failure(None, "m1", "Invalid phone number", 0).unwrap();
        assert_eq!(
            Lang::En.delivery_problem(Channel::Sms, &sms, "3 March 2026, 09:05", true),
            "1 text could not be delivered to this number (last failure on 3 March 2026, 09:05: \"Invalid phone number\")."
        );
        let complaint = DeliveryProblem::email(ProblemKind::Complaint, "marked as spam (abuse)", 0);
        assert!(
            Lang::Fr
                .delivery_problem(Channel::Email, &complaint, "hier", false)
                .contains("indésirable depuis sa messagerie")
        );
    }

    #[test]
    fn numbers_in_sentences() {
        assert_eq!(Lang::Fr.sms_size(1, 1000, 1, Encoding::Gsm7), "1 caractère sur 1000 · 1 SMS");
        assert_eq!(Lang::En.sms_size(300, 1000, 2, Encoding::Gsm7), "300 characters of 1000 · 2 texts");
        assert!(Lang::Fr.sms_size(10, 1000, 1, Encoding::Ucs2).contains("70"));
        assert_eq!(Lang::Fr.reach(5, 3, 4), "Elle sera transmise à 5 voisins (3 par SMS, 4 par e-mail).");
        assert_eq!(Lang::En.reach(1, 1, 0), "It will reach 1 neighbour (1 by SMS, 0 by email).");
        let counts =
            DeliveryCounts { sms_sent: 3, email_sent: 4, recipients: 5, sms_failed: 1, ..Default::default() };
        assert_eq!(
            Lang::Fr.delivery_summary(Some(&counts), 2),
            "5 voisins prévenus · 3 SMS, 4 e-mails · 1 échec · 2 accusés de réception"
        );
        assert_eq!(
            Lang::En.delivery_summary(Some(&counts), 1),
            "5 neighbours reached · 3 texts, 4 emails · 1 failed · 1 acknowledgement"
        );
        assert_eq!(Lang::Fr.delivery_summary(None, 0), "Envoi en cours…");
        // Receipts: what was delivered, and what failed after it was sent.
        let counts = DeliveryCounts { sms_delivered: 2, email_delivered: 3, email_undelivered: 1, ..counts };
        assert_eq!(
            Lang::Fr.delivery_summary(Some(&counts), 0),
            "5 voisins prévenus · 3 SMS, 4 e-mails · 5 remis · 2 échecs · 0 accusé de réception"
        );
        assert_eq!(
            Lang::En.delivery_summary(Some(&counts), 0),
            "5 neighbours reached · 3 texts, 4 emails · 5 delivered · 2 failed · 0 acknowledgements"
        );
        assert_eq!(Lang::Fr.date_time(3, 3, 2026, 9, 5), "3 mars 2026 à 09:05");
        assert_eq!(Lang::En.date_time(25, 12, 2026, 23, 59), "25 December 2026, 23:59");
    }

    /// French takes the singular at 0 and 1, English only at 1.
    #[test]
    fn counts_of_zero_one_and_two() {
        let summary = |lang: Lang, n: u32| {
            let counts = DeliveryCounts {
                sms_sent: n,
                email_sent: n,
                recipients: n,
                sms_failed: n,
                sms_delivered: n,
                ..Default::default()
            };
            lang.delivery_summary(Some(&counts), n)
        };
        assert_eq!(summary(Lang::Fr, 0), "0 voisin prévenu · 0 SMS, 0 e-mail · 0 accusé de réception");
        assert_eq!(
            summary(Lang::Fr, 1),
            "1 voisin prévenu · 1 SMS, 1 e-mail · 1 remis · 1 échec · 1 accusé de réception"
        );
        assert_eq!(
            summary(Lang::Fr, 2),
            "2 voisins prévenus · 2 SMS, 2 e-mails · 2 remis · 2 échecs · 2 accusés de réception"
        );
        assert_eq!(summary(Lang::En, 0), "0 neighbours reached · 0 texts, 0 emails · 0 acknowledgements");
        assert_eq!(
            summary(Lang::En, 1),
            "1 neighbour reached · 1 text, 1 email · 1 delivered · 1 failed · 1 acknowledgement"
        );
        assert_eq!(
            summary(Lang::En, 2),
            "2 neighbours reached · 2 texts, 2 emails · 2 delivered · 2 failed · 2 acknowledgements"
        );

        let size = |lang: Lang, n: usize| lang.sms_size(n, 1000, n, Encoding::Gsm7);
        assert_eq!(
            [size(Lang::Fr, 0), size(Lang::Fr, 1), size(Lang::Fr, 2)],
            ["0 caractère sur 1000 · 0 SMS", "1 caractère sur 1000 · 1 SMS", "2 caractères sur 1000 · 2 SMS"]
        );
        assert_eq!(
            [size(Lang::En, 0), size(Lang::En, 1), size(Lang::En, 2)],
            [
                "0 characters of 1000 · 0 texts",
                "1 character of 1000 · 1 text",
                "2 characters of 1000 · 2 texts"
            ]
        );

        assert_eq!(Lang::Fr.reach(1, 0, 1), "Elle sera transmise à 1 voisin (0 par SMS, 1 par e-mail).");
        assert_eq!(Lang::Fr.reach(2, 2, 0), "Elle sera transmise à 2 voisins (2 par SMS, 0 par e-mail).");
        assert_eq!(Lang::En.reach(2, 2, 0), "It will reach 2 neighbours (2 by SMS, 0 by email).");
        assert_eq!(Lang::En.reach(0, 0, 0), "No neighbour can receive it for now.");

        let failures = |lang: Lang, n: u32| {
            let mut sms = DeliveryProblem::sms_failure(None, "m1", "Invalid phone number", 0).unwrap();
            sms.failures = n;
            lang.delivery_problem(Channel::Sms, &sms, "hier", false)
        };
        assert!(failures(Lang::Fr, 1).starts_with("1 SMS n'a pas pu être remis"));
        assert!(failures(Lang::Fr, 2).starts_with("2 SMS n'ont pas pu être remis"));
        assert!(failures(Lang::En, 1).starts_with("1 text could not be delivered"));
        assert!(failures(Lang::En, 2).starts_with("2 texts could not be delivered"));

        assert!(Lang::Fr.rate_limited(1).starts_with("Vous avez déjà lancé 1 alerte au cours"));
        assert!(Lang::Fr.rate_limited(2).starts_with("Vous avez déjà lancé 2 alertes au cours"));
        assert!(Lang::En.rate_limited(1).starts_with("You have already raised 1 alert in"));
        assert!(Lang::En.rate_limited(2).starts_with("You have already raised 2 alerts in"));
    }
}
