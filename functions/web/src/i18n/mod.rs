//! Every string of the pages, in French (the default) and English.
//!
//! Fixed strings are fields of [`Texts`], grouped per page or area (`t.feed.title`,
//! `t.admin.approve`), with one `static` table per language in [`fr`] and [`en`], so a missing
//! translation does not compile; strings with numbers in them are methods of [`Lang`].

mod en;
mod fr;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use vigie::domain::{
    AlertSource, Category, DeliveryProblem, Encoding, Ending, Language, PoliceCalled, ProblemKind, Role,
    SmsWithheld,
};
use vigie::domain::{FirstName, FlagReason, MemberId};
use vigie::model::{Channel, Closure, DeliveryCounts, FollowUpReport, Withdrawal};

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
            Lang::Fr => &fr::FR,
            Lang::En => &en::EN,
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
            Lang::Fr => format!(
                "Dites quoi, où, quand, et dans quelle direction partent la personne ou le véhicule. Décrivez ce que font les gens et leurs vêtements, pas leur origine ni leur religion. {max} caractères au plus."
            ),
            Lang::En => format!(
                "Say what, where, when, and which way the person or vehicle went. Describe what people do and wear, not their origin or religion. At most {max} characters."
            ),
        }
    }

    /// The confirmation's warning when the text names an origin, a nationality or a religion
    /// (`terms`): it asks, it does not refuse.
    pub fn origin_warning(self, terms: &[String]) -> String {
        let named = terms.iter().map(|t| format!("« {t} »")).collect::<Vec<_>>().join(", ");
        match self {
            Lang::Fr => format!(
                "Votre message parle d'origine, de nationalité ou de religion ({named}). Cela n'aide pas vos voisins à reconnaître quelqu'un et peut blesser : décrivez plutôt ce que la personne fait, où, quand et dans quelle direction elle part. Vous pouvez modifier votre message, ou l'envoyer tel quel."
            ),
            Lang::En => format!(
                "Your message speaks of origin, nationality or religion ({named}). That does not help your neighbours recognise anyone and can hurt: describe what the person does, where, when and which way they went instead. You may edit your message, or send it as it is."
            ),
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

    /// What an alert's SMS will cost in a community, and what its month has left: `"Coût : 6
    /// parts SMS (2 parts × 3 voisins). Ce mois-ci : 994 parts restantes sur 1000."`.
    pub fn sms_cost(self, parts_per_sms: u32, texted: usize, left: u32, budget: u32) -> String {
        let total = u64::from(parts_per_sms) * texted as u64;
        match self {
            Lang::Fr => format!(
                "Coût : {total} {} SMS ({parts_per_sms} {} × {texted} {}). Ce mois-ci : {left} {} sur {budget}.",
                self.plural(total as usize, "part", "parts"),
                self.plural(parts_per_sms as usize, "part", "parts"),
                self.plural(texted, "voisin", "voisins"),
                self.plural(left as usize, "part restante", "parts restantes"),
            ),
            Lang::En => format!(
                "Cost: {total} SMS {} ({parts_per_sms} {} × {texted} {}). This month: {left} {} left of {budget}.",
                self.plural(total as usize, "part", "parts"),
                self.plural(parts_per_sms as usize, "part", "parts"),
                self.plural(texted, "neighbour", "neighbours"),
                self.plural(left as usize, "part", "parts"),
            ),
        }
    }

    /// What happens to an alert past a budget ([`SmsWithheld`]), before it is sent.
    pub fn sms_will_be_withheld(self, why: SmsWithheld) -> String {
        let danger = self.category(Category::Danger);
        match (self, why) {
            (Lang::Fr, SmsWithheld::MonthlyBudget) => format!(
                "Le budget SMS du mois du quartier est atteint : cette alerte partira par e-mail et sur le site seulement. Les alertes de la police et les alertes « {danger} » partent toujours par SMS."
            ),
            (Lang::En, SmsWithheld::MonthlyBudget) => format!(
                "The neighbourhood's SMS budget for the month is spent: this alert will go by email and on the site only. Police alerts and \"{danger}\" alerts always go by SMS."
            ),
            (Lang::Fr, SmsWithheld::DailyCeiling) => {
                "Le plafond SMS du jour du service est atteint : cette alerte partira par e-mail et sur le site seulement.".to_owned()
            }
            (Lang::En, SmsWithheld::DailyCeiling) => {
                "The service's SMS ceiling for the day is reached: this alert will go by email and on the site only.".to_owned()
            }
        }
    }

    /// How an alert ended, as the all clear's form offers it.
    pub fn ending(self, ending: Ending) -> &'static str {
        match (self, ending) {
            (Lang::Fr, Ending::Resolved) => "C'est réglé",
            (Lang::Fr, Ending::FalseAlarm) => "Fausse alerte",
            (Lang::Fr, Ending::PoliceOnSite) => "Police sur place",
            (Lang::Fr, Ending::Other) => "Autre (dites quoi ci-dessous)",
            (Lang::En, Ending::Resolved) => "Settled",
            (Lang::En, Ending::FalseAlarm) => "False alarm",
            (Lang::En, Ending::PoliceOnSite) => "Police on site",
            (Lang::En, Ending::Other) => "Other (say what below)",
        }
    }

    /// A member's first name as an alert shows it: "un voisin" for one who erased their account
    /// ([`MemberId::ERASED`]).
    pub fn first_name_of(self, id: MemberId, first_name: &FirstName) -> String {
        match (self, id.is_erased()) {
            (_, false) => first_name.to_string(),
            (Lang::Fr, true) => "Un voisin".to_owned(),
            (Lang::En, true) => "A neighbour".to_owned(),
        }
    }

    /// The all clear of an alert, in the feed and on its page (`when`, already formatted).
    pub fn closed_line(self, closure: &Closure, when: &str) -> String {
        let ending = match (self, closure.ending) {
            (_, Ending::Other) => None,
            (lang, ending) => Some(lang.ending(ending)),
        };
        let name = self.first_name_of(closure.by, &closure.by_first_name);
        let who = match (self, closure.by_role) {
            (Lang::Fr, Role::Police) => format!("{name} (police municipale)"),
            (Lang::En, Role::Police) => format!("{name} (municipal police)"),
            _ => name,
        };
        let what = match (ending, &closure.note) {
            (Some(ending), Some(note)) => format!("{ending} — {note}"),
            (Some(ending), None) => ending.to_owned(),
            (None, Some(note)) => note.to_string(),
            (None, None) => String::new(),
        };
        match self {
            Lang::Fr => format!("Terminée : {what} ({who}, {when})"),
            Lang::En => format!("Over: {what} ({who}, {when})"),
        }
    }

    /// An answer to "has the police (17) been told?" on the alert form.
    pub fn police_answer(self, answer: PoliceCalled) -> &'static str {
        match (self, answer) {
            (Lang::Fr, PoliceCalled::Yes) => "Oui, j'ai appelé le 17",
            (Lang::Fr, PoliceCalled::No) => "Non, pas encore",
            (Lang::Fr, PoliceCalled::NotNeeded) => "Pas nécessaire",
            (Lang::En, PoliceCalled::Yes) => "Yes, I called 17",
            (Lang::En, PoliceCalled::No) => "No, not yet",
            (Lang::En, PoliceCalled::NotNeeded) => "Not needed",
        }
    }

    /// What the feed and the alert's page say of the police (17).
    pub fn police_mark(self, answer: PoliceCalled) -> &'static str {
        match (self, answer) {
            (Lang::Fr, PoliceCalled::Yes) => "Police prévenue (17)",
            (Lang::Fr, PoliceCalled::No) => "Police pas encore prévenue",
            (Lang::Fr, PoliceCalled::NotNeeded) => "Sans besoin de la police",
            (Lang::En, PoliceCalled::Yes) => "Police told (17)",
            (Lang::En, PoliceCalled::No) => "Police not told yet",
            (Lang::En, PoliceCalled::NotNeeded) => "No need for the police",
        }
    }

    /// What the feed says of an alert that went without SMS.
    pub fn sms_withheld(self, why: SmsWithheld) -> &'static str {
        match (self, why) {
            (Lang::Fr, SmsWithheld::MonthlyBudget) => {
                "Envoyée sans SMS : le budget SMS du mois du quartier était atteint."
            }
            (Lang::En, SmsWithheld::MonthlyBudget) => {
                "Sent without SMS: the neighbourhood's SMS budget for the month was spent."
            }
            (Lang::Fr, SmsWithheld::DailyCeiling) => {
                "Envoyée sans SMS : le plafond SMS du jour du service était atteint."
            }
            (Lang::En, SmsWithheld::DailyCeiling) => {
                "Sent without SMS: the service's SMS ceiling for the day was reached."
            }
        }
    }

    /// A month as the referent's page shows it (`"2026-12"` is "décembre 2026").
    pub fn month_label(self, month: &str) -> String {
        let parsed = month.split_once('-').and_then(|(y, m)| Some((y, m.parse::<usize>().ok()?)));
        match parsed {
            Some((year, m)) if (1..=12).contains(&m) => {
                let names = if self == Lang::Fr { fr::MONTHS } else { en::MONTHS };
                format!("{} {year}", names[m - 1])
            }
            _ => month.to_owned(),
        }
    }

    /// Under the referent's budget field: what an empty field means.
    pub fn sms_budget_hint(self, default: u32) -> String {
        match self {
            Lang::Fr => format!(
                "Le nombre de parts SMS que les alertes du quartier peuvent prendre par mois (une alerte coûte ses parts × les voisins qui la reçoivent par SMS). Vide : le budget de la commune, {default} parts."
            ),
            Lang::En => format!(
                "How many SMS parts the neighbourhood's alerts may take a month (an alert costs its parts × the neighbours who get it by SMS). Empty: the town's budget, {default} parts."
            ),
        }
    }

    /// The one-line delivery summary of an alert in the feed.
    pub fn delivery_summary(self, counts: Option<&DeliveryCounts>, acks: u32) -> String {
        let Some(c) = counts else {
            return self.t().feed.sending.to_owned();
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
        if c.sms_held > 0 {
            parts.push(match self {
                Lang::Fr => format!(
                    "{} SMS {} pour 7 h (nuit)",
                    c.sms_held,
                    self.plural(c.sms_held as usize, "gardé", "gardés")
                ),
                Lang::En => format!(
                    "{} {} held till 7 am (night)",
                    c.sms_held,
                    self.plural(c.sms_held as usize, "text", "texts")
                ),
            });
        }
        if c.pending > 0 {
            parts.push(self.t().feed.sending.to_owned());
        }
        parts.join(" · ")
    }

    /// Who answers for the data, on the privacy page.
    pub fn privacy_controller(self, controller: &str) -> String {
        match self {
            Lang::Fr => format!("Responsable du traitement : {controller}."),
            Lang::En => format!("Data controller: {controller}."),
        }
    }

    /// How long alerts and their records are kept, on the privacy page.
    pub fn privacy_retention(self, days: u64) -> String {
        match self {
            Lang::Fr => format!(
                "Les alertes, leurs fins, les accusés de réception, les signalements et les traces d'envoi sont effacés {days} jours après l'alerte. Il ne reste que des nombres par communauté et par mois (alertes lancées, SMS dépensés), gardés un an environ. Votre profil reste tant que vous êtes membre."
            ),
            Lang::En => format!(
                "Alerts, their all clears, acknowledgements, reports and delivery records are erased {days} days after the alert. Only numbers per community and month remain (alerts raised, SMS spent), kept about a year. Your profile stays as long as you are a member."
            ),
        }
    }

    /// How to exercise one's rights, on the privacy page.
    pub fn privacy_rights(self, controller: &str) -> String {
        match self {
            Lang::Fr => format!(
                "Vous voyez et corrigez vos réglages sur la page Mes réglages ; vous arrêtez les SMS quand vous voulez (STOP par SMS, ou la case de vos réglages) et les e-mails (le lien de désinscription de chaque e-mail). Sur la page Mes données, vous téléchargez tout ce que vigie garde de vous et vous supprimez votre compte (avec un code envoyé par e-mail) : votre profil, votre numéro, votre adresse, vos connexions et la trace des envois sont effacés, et vos alertes passées restent signées « un voisin » (les copies de sauvegarde s'effacent d'elles-mêmes en 35 jours). Sans adresse e-mail, demandez-le à votre référent, qui le fait pour vous, ou à {controller}. Vous pouvez aussi vous adresser à la CNIL (www.cnil.fr)."
            ),
            Lang::En => format!(
                "You see and correct your settings on the My settings page; you stop texts whenever you want (STOP by text, or the box in your settings) and emails (the unsubscribe link of every email). On the My data page you download everything vigie keeps about you and delete your account (with a code sent by email): your profile, number, address, sign-ins and the record of what was sent are erased, and your past alerts stay, signed \"a neighbour\" (the backup copies erase themselves within 35 days). Without an email address, ask your referent, who does it for you, or {controller}. You may also turn to the CNIL (www.cnil.fr), France's data protection authority."
            ),
        }
    }

    /// A reason to flag an alert, as the form offers it.
    pub fn flag_reason(self, reason: FlagReason) -> &'static str {
        match (self, reason) {
            (Lang::Fr, FlagReason::Unfounded) => "Infondée : il ne s'est rien passé de tel",
            (Lang::Fr, FlagReason::Offensive) => "Blessante, ou elle vise des gens pour ce qu'ils sont",
            (Lang::Fr, FlagReason::PersonalData) => "Données personnelles : un nom, une plaque, une adresse",
            (Lang::En, FlagReason::Unfounded) => "Unfounded: nothing of the kind happened",
            (Lang::En, FlagReason::Offensive) => "Hurtful, or it targets people for who they are",
            (Lang::En, FlagReason::PersonalData) => "Personal data: a name, a plate, an address",
        }
    }

    /// The flags of an alert, as its referent sees them; `None` when nobody flagged it.
    pub fn flags_line(self, flags: &[u32; 3]) -> Option<String> {
        let total: u32 = flags.iter().sum();
        if total == 0 {
            return None;
        }
        let names = match self {
            Lang::Fr => ["infondée", "blessante", "données personnelles"],
            Lang::En => ["unfounded", "hurtful", "personal data"],
        };
        let each: Vec<String> =
            flags.iter().zip(names).filter(|(n, _)| **n > 0).map(|(n, name)| format!("{n} {name}")).collect();
        Some(match self {
            Lang::Fr => format!("Signalée {total} fois : {}", each.join(", ")),
            Lang::En => format!(
                "Reported {total} {}: {}",
                self.plural(total as usize, "time", "times"),
                each.join(", ")
            ),
        })
    }

    /// A withdrawn alert's mark, `when` its date as the pages write dates.
    pub fn withdrawn_line(self, withdrawal: &Withdrawal, when: &str) -> String {
        let name = self.first_name_of(withdrawal.by, &withdrawal.by_first_name);
        match self {
            Lang::Fr => format!("Retirée du fil par {name} : {} ({when})", withdrawal.reason),
            Lang::En => format!("Withdrawn from the feed by {name}: {} ({when})", withdrawal.reason),
        }
    }

    /// The all clear's delivery, in a line under the alert: to how many neighbours, by which
    /// channel, and whether it is still going out.
    pub fn follow_up_summary(self, report: &FollowUpReport) -> String {
        let c = &report.counts;
        let (n, sms, email) = (c.recipients as usize, c.sms_sent as usize, c.email_sent as usize);
        let mut line = match self {
            Lang::Fr => format!(
                "Fin d'alerte transmise à {n} {} · {sms} SMS, {email} {}",
                self.plural(n, "voisin", "voisins"),
                self.plural(email, "e-mail", "e-mails")
            ),
            Lang::En => format!(
                "All clear sent to {n} {} · {sms} {}, {email} {}",
                self.plural(n, "neighbour", "neighbours"),
                self.plural(sms, "text", "texts"),
                self.plural(email, "email", "emails")
            ),
        };
        if report.done_at.is_none() {
            line = format!("{line} · {}", self.t().feed.sending);
        }
        line
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

    /// Said once a code went to the number `phone` typed (the same whoever holds it).
    pub fn code_sent(self, phone: &str) -> String {
        match self {
            Lang::Fr => {
                format!("Un code de confirmation a été envoyé par SMS au {phone}. Tapez-le ci-dessous.")
            }
            Lang::En => format!("A confirmation code was texted to {phone}. Type it below."),
        }
    }

    /// An invitation to a second community, on the member's settings page.
    pub fn offer(self, referent: &str, community: &str) -> String {
        match self {
            Lang::Fr => format!(
                "{referent}, référent de {community}, propose de vous inscrire aussi à ce quartier. Vous en recevriez aussi les alertes, et les vôtres iraient à vos deux quartiers."
            ),
            Lang::En => format!(
                "{referent}, referent of {community}, offers to add you to this neighbourhood too. You would receive its alerts as well, and yours would go to both neighbourhoods."
            ),
        }
    }

    pub fn wrong_code(self, tries_left: u32) -> String {
        let n = tries_left as usize;
        match self {
            Lang::Fr => format!(
                "Ce n'est pas le code envoyé. Encore {tries_left} {}.",
                self.plural(n, "essai", "essais")
            ),
            Lang::En => {
                format!("That is not the code sent. {tries_left} more {}.", self.plural(n, "try", "tries"))
            }
        }
    }

    /// "3 mars 2026 à 14:05" / "3 March 2026, 14:05".
    pub fn date_time(self, day: u32, month: u32, year: i64, hour: u32, minute: u32) -> String {
        let index = month.clamp(1, 12) as usize - 1;
        match self {
            Lang::Fr => format!("{day} {} {year} à {hour:02}:{minute:02}", fr::MONTHS[index]),
            Lang::En => format!("{day} {} {year}, {hour:02}:{minute:02}", en::MONTHS[index]),
        }
    }
}

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

/// The fixed strings of the pages, one group per page or area; one `static` per language
/// (`fr::FR`, `en::EN`), so a missing translation does not compile.
#[derive(Debug)]
pub struct Texts {
    pub frame: Frame,
    pub common: Common,
    pub member: MemberForm,
    pub signin: Signin,
    pub feed: Feed,
    pub alerts: Alerts,
    pub police: PolicePage,
    pub privacy: Privacy,
    pub my_data: MyData,
    pub settings: Settings,
    pub unsubscribe: Unsubscribe,
    pub errors: Errors,
    pub neighbours: Neighbours,
    pub admin: Admin,
    pub town: Town,
    pub join: Join,
}

/// The town hall's pages (role `mairie`): its communities, their members and referents.
#[derive(Debug)]
pub struct Town {
    pub title: &'static str,
    pub intro: &'static str,
    pub communities_heading: &'static str,
    pub col_community: &'static str,
    pub col_members: &'static str,
    pub col_confirmed: &'static str,
    pub col_invited: &'static str,
    pub col_without: &'static str,
    pub col_referents: &'static str,
    pub no_communities: &'static str,
    pub no_referent: &'static str,
    pub create_heading: &'static str,
    pub name_label: &'static str,
    pub name_hint: &'static str,
    pub create_submit: &'static str,
    pub rename_heading: &'static str,
    pub rename_submit: &'static str,
    pub open_link: &'static str,
    pub created: &'static str,
    pub renamed: &'static str,
    pub appointed: &'static str,
    pub dismissed: &'static str,
    pub invalid_name: &'static str,
    pub name_taken: &'static str,
    pub wrong_role_resident: &'static str,
    pub wrong_role_referent: &'static str,
    pub members_heading: &'static str,
    pub appoint: &'static str,
    pub dismiss: &'static str,
    pub has_email: &'static str,
    pub number_confirmed: &'static str,
    pub number_invited: &'static str,
    pub no_number: &'static str,
    pub hidden_number: &'static str,
    pub back: &'static str,
    pub no_members: &'static str,
}

/// "Mes données": download what vigie holds about me, delete my account.
#[derive(Debug)]
pub struct MyData {
    pub title: &'static str,
    pub intro: &'static str,
    pub download_heading: &'static str,
    pub download_text: &'static str,
    pub download_link: &'static str,
    pub erase_heading: &'static str,
    pub erase_text: &'static str,
    pub erase_submit: &'static str,
    pub code_sent_email: &'static str,
    pub code_sent_sms: &'static str,
    pub code_label: &'static str,
    pub confirm_submit: &'static str,
    pub too_many: &'static str,
    pub unreachable: &'static str,
    pub not_sent: &'static str,
    pub code_gone: &'static str,
    pub erased_title: &'static str,
    pub erased_text: &'static str,
    pub home_link: &'static str,
    /// The link to this page from the settings and privacy pages.
    pub link: &'static str,
}

/// The privacy page (its sentences with the controller and the retention are [`Lang`]'s).
#[derive(Debug)]
pub struct Privacy {
    pub title: &'static str,
    pub intro: &'static str,
    pub stored_heading: &'static str,
    pub stored: &'static [&'static str],
    pub retention_heading: &'static str,
    pub rights_heading: &'static str,
    /// The footer's link to it, and the join form's.
    pub footer_link: &'static str,
    pub join_link: &'static str,
}

/// The layout around every page: skip link, navigation, footer, language switch.
#[derive(Debug)]
pub struct Frame {
    pub skip_to_content: &'static str,
    pub nav_label: &'static str,
    pub nav_feed: &'static str,
    pub nav_raise: &'static str,
    pub nav_settings: &'static str,
    pub nav_signout: &'static str,
    pub nav_neighbours: &'static str,
    pub nav_admin: &'static str,
    pub nav_police: &'static str,
    pub nav_town: &'static str,
    pub signed_in_as: &'static str,
    pub footer_tagline: &'static str,
    pub footer_emergency: &'static str,
    pub switch_to: &'static str,
}

/// Said on several pages.
#[derive(Debug)]
pub struct Common {
    pub form_has_errors: &'static str,
    pub invalid_email: &'static str,
    pub back_home: &'static str,
    /// An anonymous form (join, sign-in) sent too often from one network.
    pub limited_title: &'static str,
    pub limited_network_body: &'static str,
}

/// A member's details, as the settings, the referent's form and the join form ask for them, and what can be wrong with them.
#[derive(Debug)]
pub struct MemberForm {
    pub first_name_label: &'static str,
    pub phone_label: &'static str,
    pub email_readonly_label: &'static str,
    pub last_name_label: &'static str,
    pub phone_hint: &'static str,
    pub privacy_legend: &'static str,
    pub channels_legend: &'static str,
    pub sms_alerts_label: &'static str,
    pub email_alerts_label: &'static str,
    pub invalid_first_name: &'static str,
    pub first_name_not_allowed: &'static str,
    pub invalid_last_name: &'static str,
    pub invalid_phone: &'static str,
    pub phone_country_not_allowed: &'static str,
    pub contact_required: &'static str,
}

/// Signing in by emailed link, and out.
#[derive(Debug)]
pub struct Signin {
    pub title: &'static str,
    pub intro: &'static str,
    pub how: &'static str,
    pub by_sms: &'static str,
    pub email_label: &'static str,
    pub submit: &'static str,
    pub sent_title: &'static str,
    pub sent_body: &'static str,
    pub sent_again: &'static str,
    pub signed_out: &'static str,
    pub link_title: &'static str,
    pub link_body: &'static str,
    pub link_submit: &'static str,
    pub link_invalid_title: &'static str,
    pub link_invalid_body: &'static str,
    pub new_link: &'static str,
}

/// The alerts of a member's communities.
#[derive(Debug)]
pub struct Feed {
    pub title: &'static str,
    pub empty: &'static str,
    pub older: &'static str,
    pub newest: &'static str,
    pub all_communities: &'static str,
    pub filter_label: &'static str,
    pub report_link: &'static str,
    pub sending: &'static str,
}

/// The police's page: the alerts nobody said they reported.
#[derive(Debug)]
pub struct PolicePage {
    pub title: &'static str,
    pub intro: &'static str,
    pub empty: &'static str,
}

/// Raising an alert (the form, the confirmation step) and an alert's delivery report.
#[derive(Debug)]
pub struct Alerts {
    /// The all clear: its form on the alert's page, what it says once sent, and its problems.
    pub close_heading: &'static str,
    pub ending_legend: &'static str,
    pub note_label: &'static str,
    pub close_submit: &'static str,
    pub closed_notice: &'static str,
    /// An alert past the retention, in place of its words.
    pub archived: &'static str,
    /// Moderation: the flag form, the referent's withdrawal form, and what they say once sent.
    pub flag_heading: &'static str,
    pub flag_legend: &'static str,
    pub flag_submit: &'static str,
    pub flagged_notice: &'static str,
    pub already_flagged: &'static str,
    pub own_alert_flag: &'static str,
    pub withdraw_heading: &'static str,
    pub withdraw_reason_label: &'static str,
    pub correction_label: &'static str,
    pub withdraw_submit: &'static str,
    pub withdrawn_notice: &'static str,
    pub correction_sent: &'static str,
    pub correction_not_sent: &'static str,
    pub reason_required: &'static str,
    pub already_withdrawn: &'static str,
    pub flagged_heading: &'static str,
    pub flagged_empty: &'static str,
    pub choose_ending: &'static str,
    pub note_required: &'static str,
    pub already_closed: &'static str,
    pub past: &'static str,
    /// "Has the police (17) been told?" on the form, and its line on the confirmation step.
    pub police_legend: &'static str,
    pub police_hint: &'static str,
    pub police_label: &'static str,
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
    pub confirm_title: &'static str,
    pub confirm_sms_heading: &'static str,
    pub confirm_full_text: &'static str,
    pub confirm_send: &'static str,
    pub confirm_edit: &'static str,
    pub category_label: &'static str,
    pub community_label: &'static str,
    pub rate_limited_title: &'static str,
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
}

/// A member's own settings.
#[derive(Debug)]
pub struct Settings {
    pub title: &'static str,
    pub first_name_hint: &'static str,
    pub phone_hint: &'static str,
    pub email_readonly_hint: &'static str,
    pub no_email: &'static str,
    pub hide_phone_label: &'static str,
    pub quiet_legend: &'static str,
    pub quiet_label: &'static str,
    pub quiet_hint: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub contact_needed: &'static str,
    /// The number typed, waiting for its code.
    pub pending_title: &'static str,
    pub code_label: &'static str,
    pub code_hint: &'static str,
    pub confirm: &'static str,
    pub resend: &'static str,
    pub cancel: &'static str,
    pub confirmed: &'static str,
    pub cancelled: &'static str,
    /// The code's time or tries are over.
    pub code_gone: &'static str,
    pub too_many_codes: &'static str,
    pub code_not_sent: &'static str,
    /// Referents of other communities who typed the member's number or address.
    pub offers_title: &'static str,
    pub offer_join: &'static str,
    pub offer_decline: &'static str,
    pub offer_joined: &'static str,
    pub offer_declined: &'static str,
    pub offer_gone: &'static str,
}

/// The one-click unsubscribe page of the alert emails.
#[derive(Debug)]
pub struct Unsubscribe {
    pub title: &'static str,
    pub body: &'static str,
    pub submit: &'static str,
    pub done_title: &'static str,
    pub done_body: &'static str,
}

/// The error pages.
#[derive(Debug)]
pub struct Errors {
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
    pub denied_title: &'static str,
    pub denied_body: &'static str,
}

/// The members of a community as its members see them (the referent's page pages through them the same way).
#[derive(Debug)]
pub struct Neighbours {
    pub title: &'static str,
    pub intro: &'static str,
    pub empty: &'static str,
    pub more: &'static str,
    pub first: &'static str,
    pub role_referent: &'static str,
    pub role_police: &'static str,
    pub no_visible_phone: &'static str,
    pub you: &'static str,
}

/// The referent's pages: members, requests to join, adding a member.
#[derive(Debug)]
pub struct Admin {
    pub title: &'static str,
    pub members_heading: &'static str,
    pub requests_heading: &'static str,
    pub no_requests: &'static str,
    pub requested_on: &'static str,
    pub approve: &'static str,
    pub refuse: &'static str,
    pub remove: &'static str,
    pub remove_confirm: &'static str,
    pub channels: &'static str,
    pub receives_nothing: &'static str,
    pub added: &'static str,
    /// Added with a number: the invitation went out.
    pub invited: &'static str,
    /// Added with a number, but the invitation did not go out.
    pub invitation_not_sent: &'static str,
    /// The channels column: a number waiting for its owner's OUI, or whose owner said STOP.
    pub sms_invited: &'static str,
    pub sms_refused: &'static str,
    pub too_many_invitations: &'static str,
    pub removed: &'static str,
    /// The alerts counted per month (they outlive the retention).
    pub alert_months_heading: &'static str,
    pub alert_months_intro: &'static str,
    pub alert_months_total: &'static str,
    pub alert_months_sms: &'static str,
    pub alert_months_web: &'static str,
    pub alert_months_police: &'static str,
    /// Erasing an SMS-only member who asked in person.
    pub erase: &'static str,
    pub erase_asked: &'static str,
    pub erased: &'static str,
    pub erase_unconfirmed: &'static str,
    pub approved: &'static str,
    pub refused: &'static str,
    pub add_title: &'static str,
    pub add_intro: &'static str,
    pub email_hint: &'static str,
    pub hide_phone_label: &'static str,
    pub add_submit: &'static str,
    pub cancel: &'static str,
    /// The community's SMS budget: its months, and the referent's own figure.
    pub sms_heading: &'static str,
    pub sms_intro: &'static str,
    pub sms_month: &'static str,
    pub sms_spent: &'static str,
    pub sms_left: &'static str,
    pub sms_budget_label: &'static str,
    pub sms_budget_save: &'static str,
    pub sms_budget_saved: &'static str,
    pub sms_budget_invalid: &'static str,
    /// Sending an invitation again.
    pub reinvite: &'static str,
    pub reinvite_limited: &'static str,
}

/// Asking to join a community.
#[derive(Debug)]
pub struct Join {
    pub title: &'static str,
    pub intro: &'static str,
    pub link: &'static str,
    pub already_member: &'static str,
    pub town_label: &'static str,
    pub continue_label: &'static str,
    pub change_town: &'static str,
    pub community_legend: &'static str,
    pub choose_community: &'static str,
    pub contact_hint: &'static str,
    pub submit: &'static str,
    pub sent_title: &'static str,
    pub sent_body: &'static str,
    pub no_towns: &'static str,
    pub limited_body: &'static str,
}

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
        assert_eq!(Lang::Fr.month_label("2026-12"), "décembre 2026");
        assert_eq!(Lang::En.month_label("2027-01"), "January 2027");
        assert_eq!(Lang::En.month_label("2027-13"), "2027-13");
        assert_eq!(
            Lang::Fr.sms_cost(2, 3, 994, 1000),
            "Coût : 6 parts SMS (2 parts × 3 voisins). Ce mois-ci : 994 parts restantes sur 1000."
        );
        assert_eq!(
            Lang::En.sms_cost(1, 1, 1, 1000),
            "Cost: 1 SMS part (1 part × 1 neighbour). This month: 1 part left of 1000."
        );
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
