//! The residents' pages in a real headless Chromium, as a neighbour uses them on a phone:
//! the demo town on a private emulator, the web function's router served locally, the alerts
//! stream relayed to the fan-out, and every field found by its label.
//!
//! `VIGIE_SCREENSHOTS=1 cargo test -p vigie-tests --test it browser::browser_web::` refreshes the pictures of
//! the main pages in `docs/screenshots/`.

use std::time::Duration;

use infra::outbox::Outbox;
use vigie_tests::Stack;
use vigie_tests::browser::{Browser, Options, ServerHandle, bind, serve_on};
use vigie_tests::web_client::code_texted_to;

/// The demo town, its pages on a local port, and a phone-sized Chromium pointed at them.
struct Site {
    stack: Stack,
    browser: Browser,
    url: String,
    _server: ServerHandle,
}

impl Site {
    async fn start() -> Site {
        Self::start_with(Options::default()).await
    }

    async fn start_with(options: Options) -> Site {
        // The site must know its own address: it is in the links it emails, and plain http on
        // 127.0.0.1 is what lets its cookies go without `Secure`.
        let (url, listener) = bind().await;
        let mut stack = Stack::start_with(|config| config.public_base_url = url.clone()).await;
        stack.seed(vigie_tests::DEMO_SEED).await;
        // No minimum duration of a sign-in request: the tests have no timing to hide.
        let state = stack.web_state(Duration::ZERO);
        let server = serve_on(listener, web::router(state));
        let browser = Browser::start_with(options).await.with_base_url(&url);
        Site { stack, browser, url, _server: server }
    }

    /// Signs `first_name` in as a person does: their address in the form, the link from the
    /// email they receive, the button on the link's page.
    async fn sign_in(&self, first_name: &str) {
        let b = &self.browser;
        let email = self.stack.email(first_name);
        b.goto("/").await;
        b.wait_for_text("Se connecter").await;
        b.fill("Votre adresse e-mail", &email).await;
        b.click_button("Recevoir un lien de connexion").await;
        b.wait_for_text("Vérifiez vos e-mails").await;
        let link = self.signin_link(&email).await;
        b.goto(&link).await;
        b.click_button("Me connecter").await;
        b.wait_for_text(&format!("Connecté en tant que {first_name}")).await;
    }

    /// The sign-in link in the last email sent to `email`.
    async fn signin_link(&self, email: &str) -> String {
        let outbox = self.outbox_when(|o| o.emails_to(email).count() > 0).await;
        let sent = outbox.emails_to(email).last().unwrap();
        let text = sent.text.as_deref().expect("the sign-in email has a text part");
        let start = text
            .find(&format!("{}/signin/", self.url))
            .unwrap_or_else(|| panic!("no link to {}/signin/ in the sign-in email:\n{text}", self.url));
        text[start..].split_whitespace().next().unwrap().to_owned()
    }

    /// The outbox once `ready` holds (the emulator records sends as they happen).
    async fn outbox_when(&self, ready: impl Fn(&Outbox) -> bool) -> Outbox {
        for _ in 0..50 {
            let outbox = self.stack.outbox().await;
            if ready(&outbox) {
                return outbox;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the outbox never got what was expected: {:#?}", self.stack.outbox().await)
    }

    async fn close(self) {
        self.browser.close().await;
    }
}

/// Every way a French number may be written on a page.
fn spellings(e164: &str) -> Vec<String> {
    let national = format!("0{}", e164.strip_prefix("+33").expect("a French number"));
    let pairs: Vec<&str> = (0..5).map(|i| &national[2 * i..2 * i + 2]).collect();
    vec![
        e164.to_owned(),
        national.clone(),
        pairs.join(" "),
        pairs.join("."),
        pairs.join("\u{a0}"),
        pairs.join("\u{202f}"),
        format!("+33 {}", pairs.join(" ").trim_start_matches('0')),
    ]
}

#[tokio::test]
async fn a_resident_signs_in_through_the_emailed_link_from_the_keyboard() {
    let site = Site::start().await;
    let b = &site.browser;
    b.goto("/").await;
    assert_eq!(b.path().await, "/signin", "a visitor is asked to sign in");
    b.screenshot("signin").await;

    // The keyboard path: the first Tab reaches the skip link; type the address, press Enter.
    assert_eq!(b.press_tab().await, r#"a "Aller au contenu""#);
    b.fill("Votre adresse e-mail", "karim.benali@example.org").await;
    b.press_enter("Votre adresse e-mail").await;
    let text = b.wait_for_text("Vérifiez vos e-mails").await;
    assert!(text.contains("valable 15 minutes"), "{text}");
    b.screenshot("signin-sent").await;

    let link = site.signin_link("karim.benali@example.org").await;
    b.goto(&link).await;
    b.wait_for_text("Terminer la connexion").await;
    b.screenshot("signin-link").await;
    b.click_button("Me connecter").await;
    let feed = b.wait_for_text("Connecté en tant que Karim").await;
    assert_eq!(b.path().await, "/");
    assert!(feed.contains("Alertes"), "{feed}");

    // The link worked once.
    b.goto(&link).await;
    b.click_button("Me connecter").await;
    b.wait_for_text("Lien expiré ou déjà utilisé").await;

    // Signing out ends the session: the feed asks to sign in again.
    b.goto("/").await;
    b.click_button("Se déconnecter").await;
    b.wait_for_text("Vous êtes déconnecté").await;
    b.goto("/").await;
    assert_eq!(b.path().await, "/signin");
    site.close().await;
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_and_no_email() {
    let site = Site::start().await;
    let b = &site.browser;
    b.goto("/signin").await;
    b.fill("Votre adresse e-mail", "nobody@example.org").await;
    b.click_button("Recevoir un lien de connexion").await;
    b.wait_for_text("Si cette adresse est inscrite sur vigie").await;
    assert!(site.stack.outbox().await.emails_to("nobody@example.org").next().is_none());

    // A malformed address is refused in the form, next to the field.
    b.goto("/signin").await;
    b.client()
        .execute("document.getElementById('email').removeAttribute('type')", vec![])
        .await
        .expect("let the server judge the address");
    b.fill("Votre adresse e-mail", "pas-une-adresse").await;
    b.click_button("Recevoir un lien de connexion").await;
    b.wait_for_text("Cette adresse e-mail n'est pas valide").await;
    assert_eq!(b.value("Votre adresse e-mail").await, "pas-une-adresse", "what was typed is kept");
    site.close().await;
}

#[tokio::test]
async fn a_resident_raises_an_alert_that_reaches_the_neighbours_and_shows_in_the_feed() {
    let site = Site::start().await;
    let b = &site.browser;
    let mut relay = site.stack.relay().await;
    site.sign_in("Marie").await;
    b.screenshot("feed-empty").await;

    b.click_link("Lancer une alerte").await;
    b.wait_for_text("De quoi s'agit-il ?").await;
    b.check("Personne ou véhicule suspect").await;
    let message = "Homme qui essaie les poignées des voitures, rue des Lilas, casquette rouge.";
    b.fill("Votre message", message).await;
    b.screenshot("alert-new").await;
    b.click_button("Vérifier avant l'envoi").await;

    let confirm = b.wait_for_text("Vérifiez votre alerte").await;
    assert!(confirm.contains("Le SMS que recevront vos voisins"), "{confirm}");
    assert!(confirm.contains(message), "the SMS preview holds the message: {confirm}");
    assert!(confirm.contains("Les Tilleuls"), "{confirm}");
    b.screenshot("alert-confirm").await;
    b.click_button("Envoyer l'alerte").await;
    b.wait_for_text("Votre alerte est enregistrée").await;
    let report_path = b.path().await;
    assert!(report_path.starts_with("/alerts/"), "{report_path}");

    // The fan-out runs as Lambda would run it on the stream.
    let report = relay.drain().await.expect("the alerts stream is read");
    assert!(report.delivered > 0, "{report:?}");
    let outbox = site.stack.outbox().await;
    for neighbour in ["Karim", "Jeanne"] {
        let number = site.stack.phone(neighbour);
        let sms: Vec<_> = outbox.sms_to(&number).collect();
        assert_eq!(sms.len(), 1, "{neighbour} gets the alert by SMS: {outbox:#?}");
        assert!(sms[0].body.contains("Marie"), "with the sender's first name: {}", sms[0].body);
        assert!(sms[0].body.contains("poignées des voitures"), "{}", sms[0].body);
    }
    for neighbour in ["Karim", "Lucas", "Chloé"] {
        let address = site.stack.email(neighbour);
        let emails: Vec<_> = outbox.emails_to(&address).collect();
        assert_eq!(emails.len(), 1, "{neighbour} gets the alert by email: {outbox:#?}");
        assert!(emails[0].text.as_deref().unwrap_or_default().contains(message), "the full text");
    }
    assert_eq!(outbox.sms_to(&site.stack.phone("Lucas")).count(), 0, "Lucas turned SMS alerts off");
    for other in ["Paul", "Inès", "Gérard"] {
        assert_eq!(outbox.sms_to(&site.stack.phone(other)).count(), 0, "{other} is in another community");
    }

    // The delivery report, once the fan-out is done.
    b.goto(&report_path).await;
    let detail = b.wait_for_text("Envoi terminé le").await;
    assert!(detail.contains("SMS envoyés"), "{detail}");
    assert!(detail.contains("E-mails envoyés"), "{detail}");
    b.screenshot("alert-detail").await;

    b.click_link("Retour aux alertes").await;
    let feed = b.wait_for_text(message).await;
    assert!(feed.contains("Marie"), "{feed}");
    assert!(feed.contains("Personne ou véhicule suspect"), "{feed}");
    b.screenshot("feed").await;

    // Marie closes it: its all clear reaches the same neighbours by the same channels, once.
    b.goto(&report_path).await;
    b.wait_for_text("Comment s'est-elle terminée ?").await;
    b.check("Fausse alerte").await;
    b.fill(
        "Un mot pour vos voisins (facultatif, 200 caractères au plus)",
        "C'était le releveur des compteurs",
    )
    .await;
    b.click_button("Clore l'alerte").await;
    b.wait_for_text("L'alerte est close").await;
    relay.drain().await.expect("the alerts stream is read");
    let outbox = site.stack.outbox().await;
    for neighbour in ["Karim", "Jeanne"] {
        let number = site.stack.phone(neighbour);
        let ends: Vec<_> = outbox.sms_to(&number).filter(|s| s.body.starts_with("Fin d'alerte")).collect();
        assert_eq!(ends.len(), 1, "{neighbour} gets the all clear by SMS: {outbox:#?}");
        assert!(
            ends[0].body.contains("fausse alerte") && ends[0].body.contains("releveur"),
            "{}",
            ends[0].body
        );
    }
    assert_eq!(outbox.sms_to(&site.stack.phone("Lucas")).count(), 0, "Lucas takes no SMS");
    for neighbour in ["Karim", "Lucas", "Chloé"] {
        let address = site.stack.email(neighbour);
        let ends: Vec<_> = outbox.emails_to(&address).filter(|e| e.subject.starts_with("Re: ")).collect();
        assert_eq!(ends.len(), 1, "{neighbour} gets the all clear by email: {outbox:#?}");
    }
    b.goto(&report_path).await;
    let closed = b.wait_for_text("Fin d'alerte transmise à").await;
    assert!(closed.contains("Terminée : Fausse alerte"), "{closed}");
    b.screenshot("alert-closed").await;
    site.close().await;
}

#[tokio::test]
async fn an_incomplete_alert_is_sent_back_with_its_problems() {
    let site = Site::start().await;
    let b = &site.browser;
    site.sign_in("Lucas").await;
    b.goto("/alerts/new").await;
    // A person who bypasses the browser's own checks still gets the server's.
    b.client()
        .execute(
            "document.querySelectorAll('[required]').forEach(e => e.removeAttribute('required'))",
            vec![],
        )
        .await
        .unwrap();
    b.click_button("Vérifier avant l'envoi").await;
    let text = b.wait_for_text("Le formulaire contient des erreurs").await;
    assert!(text.contains("Choisissez une catégorie."), "{text}");
    assert!(text.contains("Écrivez votre message."), "{text}");
    // The summary's links lead to the fields.
    b.click_link("Écrivez votre message.").await;
    assert_eq!(b.url().await.fragment(), Some("text"));
    site.close().await;
}

#[tokio::test]
async fn a_resident_adds_a_number_and_stops_sms_alerts_in_the_settings() {
    let site = Site::start().await;
    let b = &site.browser;
    let mut relay = site.stack.relay().await;
    site.sign_in("Chloé").await;
    b.click_link("Mes réglages").await;
    b.wait_for_text("Recevoir les alertes").await;
    assert_eq!(b.value("Prénom").await, "Chloé");
    assert_eq!(b.value("Numéro de mobile").await, "", "Chloé has no number yet");
    assert!(b.is_checked("Par SMS").await);
    b.screenshot("settings").await;

    // A number that is someone else's: the page answers as for any number (nothing tells whose
    // it is), no code comes, and she keeps her settings as they were.
    b.fill("Numéro de mobile", "06 39 98 00 02").await;
    b.click_button("Enregistrer").await;
    b.wait_for_text("Un code de confirmation a été envoyé par SMS au 06 39 98 00 02").await;
    b.click_button("Ne pas changer de numéro").await;
    b.wait_for_text("Le numéro à confirmer est oublié").await;
    assert_eq!(b.value("Numéro de mobile").await, "");

    // Her own number, in the French way, and no SMS alerts; saved from the keyboard. The number
    // is hers once she types the code it got.
    b.fill("Numéro de mobile", "06 39 98 01 23").await;
    b.uncheck("Par SMS").await;
    b.press_enter("Numéro de mobile").await;
    b.wait_for_text("Un code de confirmation a été envoyé par SMS au 06 39 98 01 23").await;
    b.screenshot("settings-code").await;
    let code = code_texted_to(&site.stack, "+33639980123").await.expect("a code texted");
    b.fill("Code reçu par SMS", &code).await;
    b.click_button("Confirmer ce numéro").await;
    b.wait_for_text("Votre numéro est confirmé").await;

    // As saved, after a reload.
    b.goto("/settings").await;
    let phone = b.value("Numéro de mobile").await;
    assert!(spellings("+33639980123").contains(&phone), "the number is shown as saved: {phone:?}");
    assert!(!b.is_checked("Par SMS").await);
    assert!(b.is_checked("Par e-mail").await);
    assert!(!b.is_checked("Cacher mon numéro aux autres membres").await);

    // The fan-out honours it: Marie texts an alert; Chloé gets the email, not the SMS.
    site.stack.text(&site.stack.phone("Marie"), "Fumée noire derrière le gymnase").await;
    relay.drain().await.unwrap();
    let outbox = site.stack.outbox().await;
    assert_eq!(
        outbox.sms_to("+33639980123").filter(|sms| sms.body.contains("Fumée")).count(),
        0,
        "no SMS alerts: {outbox:#?}"
    );
    assert_eq!(
        outbox.emails_to(&site.stack.email("Chloé")).filter(|e| e.subject.contains("Marie")).count(),
        1
    );
    site.close().await;
}

#[tokio::test]
async fn the_pages_speak_the_browsers_language_or_the_one_chosen() {
    let site = Site::start_with(Options { lang: "en-GB".to_owned(), ..Options::default() }).await;
    let b = &site.browser;
    b.goto("/signin").await;
    b.wait_for_text("Email me a sign-in link").await;
    assert_eq!(b.value("Your email address").await, "");
    b.click_link("Lire en français").await;
    b.wait_for_text("Recevoir un lien de connexion").await;
    // The choice sticks.
    b.goto("/signin").await;
    b.wait_for_text("Votre adresse e-mail").await;
    site.close().await;
}

#[tokio::test]
async fn every_main_page_fits_a_small_phone() {
    let site = Site::start().await;
    let b = &site.browser;
    site.sign_in("Marie").await;
    for path in ["/", "/alerts/new", "/settings", "/members", "/admin", "/admin/members/new"] {
        b.goto(path).await;
        let overflow = b
            .client()
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(overflow, 0, "{path} scrolls sideways on a 412 px wide phone");
    }
    site.close().await;
}

#[tokio::test]
async fn a_resident_hides_her_number_and_neighbours_no_longer_see_it() {
    let site = Site::start().await;
    let b = &site.browser;
    let marie = spellings(&site.stack.phone("Marie"));
    site.sign_in("Marie").await;
    b.click_link("Mes réglages").await;
    b.wait_for_text("Recevoir les alertes").await;
    b.check("Cacher mon numéro aux autres membres").await;
    b.click_button("Enregistrer").await;
    b.wait_for_text("Vos réglages sont enregistrés.").await;
    b.click_button("Se déconnecter").await;

    site.sign_in("Lucas").await;
    b.click_link("Voisins").await;
    let text = b.wait_for_text("Marie").await;
    let html = b.html().await;
    for spelling in &marie {
        assert!(
            !text.contains(spelling) && !html.contains(spelling),
            "Marie hid her number ({spelling}):\n{text}"
        );
    }
    site.close().await;
}

#[tokio::test]
async fn a_hidden_number_is_not_shown_to_a_neighbour() {
    let site = Site::start().await;
    let b = &site.browser;
    site.sign_in("Lucas").await;
    b.click_link("Voisins").await;
    let text = b.wait_for_text("Karim").await;
    let html = b.html().await;
    for spelling in spellings(&site.stack.phone("Karim")) {
        assert!(!text.contains(&spelling), "Karim hid his number ({spelling}):\n{text}");
        assert!(!html.contains(&spelling), "not even in the HTML ({spelling})");
    }
    // A number that is not hidden is shown.
    let marie = spellings(&site.stack.phone("Marie"));
    assert!(marie.iter().any(|s| text.contains(s)), "Marie's number is shown:\n{text}");
    b.screenshot("neighbours").await;
    site.close().await;
}

#[tokio::test]
async fn a_referent_adds_a_member_who_only_uses_sms() {
    let site = Site::start().await;
    let b = &site.browser;
    let mut relay = site.stack.relay().await;
    site.sign_in("Marie").await;
    b.click_link("Membres").await;
    b.wait_for_text("Aucune demande en attente.").await;
    b.click_link("Ajouter un membre").await;
    b.wait_for_text("Une personne sans internet").await;
    b.fill("Prénom", "Denise").await;
    b.fill("Nom", "Lambert").await;
    b.fill("Numéro de mobile", "06 39 98 01 50").await;
    b.screenshot("member-add").await;
    b.click_button("Ajouter").await;
    let admin = b.wait_for_text("Denise Lambert").await;
    assert!(admin.contains("Son numéro a reçu une invitation par SMS"), "{admin}");
    assert!(admin.contains("SMS : invitation envoyée, en attente de sa réponse OUI"), "{admin}");
    assert_eq!(b.path().await, "/admin?done=invited");

    // Denise has no internet: her phone gets the invitation, and nothing else until she says OUI.
    let invitation: Vec<String> =
        site.stack.outbox().await.sms_to("+33639980150").map(|sms| sms.body.clone()).collect();
    assert_eq!(invitation.len(), 1, "{invitation:?}");
    assert!(
        invitation[0].contains("Marie")
            && invitation[0].contains("Les Tilleuls")
            && invitation[0].contains("OUI")
    );
    site.stack.text(&site.stack.phone("Karim"), "Chien perdu vers le lavoir, répond à Filou").await;
    relay.drain().await.unwrap();
    assert_eq!(site.stack.outbox().await.sms_to("+33639980150").count(), 1, "no alert before her OUI");
    site.stack.text("+33639980150", "Oui").await;
    site.stack.text(&site.stack.phone("Karim"), "Le chien est retrouvé, merci à tous").await;
    relay.drain().await.unwrap();
    let outbox = site.stack.outbox().await;
    let texts: Vec<&str> = outbox.sms_to("+33639980150").map(|sms| sms.body.as_str()).collect();
    assert_eq!(texts.len(), 3, "the invitation, the reply to her OUI, the next alert: {texts:?}");
    assert!(texts[2].contains("Le chien est retrouvé"), "{texts:?}");
    b.goto("/admin").await;
    let admin = b.wait_for_text("Denise Lambert").await;
    assert!(!admin.contains("invitation envoyée"), "{admin}");

    // A resident cannot add members.
    site.browser.click_button("Se déconnecter").await;
    site.sign_in("Karim").await;
    assert!(!b.text().await.contains("Membres"));
    site.close().await;
}

#[tokio::test]
async fn a_person_asks_to_join_and_the_referent_approves() {
    let site = Site::start().await;
    let b = &site.browser;
    b.goto("/signin").await;
    b.click_link("Pas encore membre ? Demander à rejoindre une communauté").await;
    b.wait_for_text("Rejoindre une communauté").await;
    // Bellerive is the only town: its communities are offered at once.
    b.check("Les Tilleuls").await;
    b.fill("Prénom", "Yasmine").await;
    b.fill("Nom", "Haddad").await;
    b.fill("Adresse e-mail", "yasmine.haddad@example.org").await;
    b.screenshot("join").await;
    b.click_button("Envoyer ma demande").await;
    b.wait_for_text("Demande envoyée").await;

    site.sign_in("Marie").await;
    b.click_link("Membres").await;
    let admin = b.wait_for_text("Yasmine Haddad").await;
    assert!(admin.contains("yasmine.haddad@example.org"), "{admin}");
    b.screenshot("admin").await;
    b.click_button("Accepter Yasmine Haddad").await;
    b.wait_for_text("La demande est acceptée").await;

    // She signs in with her address, and sees her neighbours.
    b.click_button("Se déconnecter").await;
    b.wait_for_text("Vous êtes déconnecté").await;
    b.fill("Votre adresse e-mail", "yasmine.haddad@example.org").await;
    b.click_button("Recevoir un lien de connexion").await;
    b.wait_for_text("Vérifiez vos e-mails").await;
    let link = site.signin_link("yasmine.haddad@example.org").await;
    b.goto(&link).await;
    b.click_button("Me connecter").await;
    b.wait_for_text("Connecté en tant que Yasmine").await;
    b.click_link("Voisins").await;
    b.wait_for_text("Marie L.").await;
    site.close().await;
}

#[tokio::test]
async fn a_neighbour_flags_an_alert_and_the_referent_withdraws_it_with_a_correction() {
    use vigie::ports::Feed;
    let site = Site::start().await;
    let b = &site.browser;
    let mut relay = site.stack.relay().await;
    site.stack.text(&site.stack.phone("Karim"), "Des Roumains démarchent rue des Lilas").await;
    relay.drain().await.expect("the alerts stream is read");
    let tilleuls = "les-tilleuls".parse().unwrap();
    let alert =
        site.stack.store().community_alerts(&tilleuls, None, 1).await.unwrap().items[0].alert.alert_id;

    site.sign_in("Lucas").await;
    b.goto(&format!("/alerts/{alert}")).await;
    b.wait_for_text("Signaler cette alerte au référent").await;
    b.check("Blessante, ou elle vise des gens pour ce qu'ils sont").await;
    b.click_button("Signaler").await;
    b.wait_for_text("Merci : le référent de votre communauté verra votre signalement.").await;
    b.click_button("Se déconnecter").await;

    site.sign_in("Marie").await;
    b.click_link("Membres").await;
    let admin = b.wait_for_text("Alertes signalées").await;
    assert!(admin.contains("Signalée 1 fois : 1 blessante"), "{admin}");
    b.screenshot("admin-flagged").await;
    b.click_link("Karim : Des Roumains démarchent rue des Lilas").await;
    b.wait_for_text("Retirer l'alerte du fil").await;
    b.fill(
        "Pourquoi ? (son auteur le recevra ; 200 caractères au plus)",
        "Elle désigne des gens par leur origine",
    )
    .await;
    b.fill(
        "Une correction pour ceux qui l'ont reçue (facultatif, une ligne : elle clôt l'alerte)",
        "Alerte retirée : décrivez ce que font les gens, pas leur origine.",
    )
    .await;
    b.click_button("Retirer l'alerte").await;
    let page = b.wait_for_text("La correction part à ceux qui ont reçu l'alerte.").await;
    assert!(page.contains("Retirée du fil par Marie"), "{page}");
    b.screenshot("alert-withdrawn").await;
    relay.drain().await.expect("the alerts stream is read");
    let outbox = site.stack.outbox().await;
    let jeanne = site.stack.phone("Jeanne");
    let corrections: Vec<_> = outbox
        .sms_to(&jeanne)
        .filter(|s| s.body.starts_with("Fin d'alerte") && s.body.contains("pas leur origine"))
        .collect();
    assert_eq!(corrections.len(), 1, "{outbox:#?}");
    b.click_button("Se déconnecter").await;

    // Lucas no longer sees it.
    site.sign_in("Lucas").await;
    let feed = b.text().await;
    assert!(!feed.contains("Roumains"), "{feed}");
    site.close().await;
}

#[tokio::test]
async fn a_resident_asks_for_no_texts_at_night_and_reads_the_privacy_page() {
    use vigie::ports::MemberLookup;
    let site = Site::start().await;
    let b = &site.browser;
    site.sign_in("Marie").await;
    b.click_link("Mes réglages").await;
    b.wait_for_text("Pas de SMS la nuit (de 22 h à 7 h)").await;
    b.check("Pas de SMS la nuit (de 22 h à 7 h)").await;
    b.click_button("Enregistrer").await;
    b.wait_for_text("Vos réglages sont enregistrés.").await;
    assert!(b.is_checked("Pas de SMS la nuit (de 22 h à 7 h)").await);
    let marie = site.stack.member("Marie").id;
    assert!(site.stack.store().member(marie).await.unwrap().unwrap().quiet_hours);
    b.screenshot("settings-night").await;
    b.click_link("Vos données").await;
    let privacy = b.wait_for_text("Responsable du traitement").await;
    assert!(privacy.contains("effacés 90 jours après l'alerte"), "{privacy}");
    b.screenshot("privacy").await;
    site.close().await;
}

/// 23:00 in Paris, the 4th of December 2026 (UTC+1).
const NIGHT_IN_PARIS: i64 = 1_796_421_600_000;

#[tokio::test]
async fn a_resident_sleeps_through_a_lost_cat_but_is_woken_by_a_fire_at_a_fixed_night_clock() {
    use std::sync::Arc;
    let site = Site::start().await;
    let b = &site.browser;
    let mut relay = site.stack.relay_at(Arc::new(|| NIGHT_IN_PARIS)).await;
    assert_eq!(vigie::domain::rfc3339_utc(NIGHT_IN_PARIS), "2026-12-04T22:00:00Z");
    // Jeanne sleeps: she asked for no texts at night (by SMS, she has no address).
    site.stack.text(&site.stack.phone("Jeanne"), "NUIT").await;
    site.sign_in("Marie").await;
    b.click_link("Mes réglages").await;
    b.check("Pas de SMS la nuit (de 22 h à 7 h)").await;
    b.click_button("Enregistrer").await;
    b.wait_for_text("Vos réglages sont enregistrés.").await;

    for (category, message) in [
        ("Animal perdu ou trouvé", "Chat roux perdu vers le lavoir, collier bleu."),
        ("Incendie ou danger", "Fumée épaisse derrière les garages de la rue des Lilas."),
    ] {
        b.click_link("Lancer une alerte").await;
        b.wait_for_text("De quoi s'agit-il ?").await;
        b.check(category).await;
        b.fill("Votre message", message).await;
        b.click_button("Vérifier avant l'envoi").await;
        b.wait_for_text("Vérifiez votre alerte").await;
        b.click_button("Envoyer l'alerte").await;
        b.wait_for_text("Votre alerte est enregistrée").await;
        relay.drain().await.expect("the alerts stream is read");
    }
    let outbox = site.stack.outbox().await;
    let texts = |name: &str, needle: &str| {
        outbox.sms_to(&site.stack.phone(name)).filter(|s| s.body.contains(needle)).count()
    };
    assert_eq!(texts("Jeanne", "Chat roux"), 0, "the lost cat waits for 07:00: {outbox:#?}");
    assert_eq!(texts("Karim", "Chat roux"), 1, "who did not ask is texted at night");
    assert_eq!(texts("Jeanne", "Fumée épaisse"), 1, "a fire wakes her");
    b.goto("/").await;
    let feed = b.wait_for_text("gardé").await;
    assert!(feed.contains("1 SMS gardé pour 7 h (nuit)"), "Jeanne's, for the lost cat: {feed}");
    b.screenshot("feed-night").await;
    site.close().await;
}

#[tokio::test]
async fn a_resident_downloads_their_data_then_deletes_their_account_with_the_emailed_code() {
    let site = Site::start().await;
    let b = &site.browser;
    site.sign_in("Lucas").await;
    // Before he goes: the confirmation warns him, without refusing, of a text that names an
    // origin (nothing is sent: he edits it and leaves).
    b.click_link("Lancer une alerte").await;
    b.wait_for_text("De quoi s'agit-il ?").await;
    b.check("Personne ou véhicule suspect").await;
    b.fill("Votre message", "Deux hommes, sans doute des Roumains, regardent les boîtes aux lettres.").await;
    b.click_button("Vérifier avant l'envoi").await;
    let confirm = b.wait_for_text("Vérifiez votre alerte").await;
    assert!(
        confirm.contains("Votre message parle d'origine, de nationalité ou de religion (« roumain »)"),
        "{confirm}"
    );
    b.screenshot("alert-confirm-warning").await;
    b.click_link("Mes réglages").await;
    b.click_link("Mes données : les télécharger, supprimer mon compte").await;
    let page = b.wait_for_text("Télécharger mes données").await;
    assert!(page.contains("signées « un voisin »"), "{page}");
    b.screenshot("my-data").await;
    b.click_button("Recevoir un code de suppression").await;
    b.wait_for_text("Un code de suppression vous a été envoyé par e-mail").await;
    let address = site.stack.email("Lucas");
    let outbox =
        site.outbox_when(|o| o.emails_to(&address).any(|m| m.subject.contains("Code de suppression"))).await;
    let mail =
        outbox.emails_to(&address).filter(|m| m.subject.contains("Code de suppression")).last().unwrap();
    let code: String = mail
        .text
        .as_deref()
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .unwrap()
        .to_owned();
    b.fill("Code de suppression (6 chiffres)", &code).await;
    b.screenshot("my-data-code").await;
    b.click_button("Supprimer mon compte pour de bon").await;
    let done = b.wait_for_text("Compte supprimé").await;
    assert!(done.contains("vous ne recevrez plus rien"), "{done}");
    use vigie::ports::MemberLookup;
    assert!(site.stack.store().member(site.stack.member("Lucas").id).await.unwrap().is_none());
    // Signed out: the feed asks to sign in, and his address no longer gets a link.
    b.goto("/").await;
    assert_eq!(b.path().await, "/signin");
    site.close().await;
}

#[tokio::test]
async fn the_town_hall_creates_a_community_and_appoints_its_referent() {
    let site = Site::start().await;
    let b = &site.browser;
    site.sign_in("Hélène").await;
    // Her home is the desk: the town's communities, counted.
    let desk = b.wait_for_text("La mairie · Bellerive").await;
    assert_eq!(b.path().await, "/town");
    assert!(
        desk.contains("Les Tilleuls") && desk.contains("Le Moulin") && desk.contains("Marie Lefèvre"),
        "{desk}"
    );
    assert!(!desk.contains("Signaler"), "no alert of anyone's: {desk}");
    b.screenshot("town").await;
    b.fill("Nom de la communauté", "Les Hauts de Bellerive").await;
    b.click_button("Créer").await;
    b.wait_for_text("La communauté est créée.").await;
    assert_eq!(b.path().await, "/town/communities/les-hauts-de-bellerive?done=created");

    // Karim is appointed referent of Les Tilleuls; his hidden number stays hidden.
    b.click_link("Toutes les communautés").await;
    b.click_link("Les Tilleuls").await;
    let page = b.wait_for_text("Karim Benali").await;
    assert!(page.contains("numéro caché"), "{page}");
    for spelling in spellings(&site.stack.phone("Karim")) {
        assert!(!page.contains(&spelling), "Karim's hidden number as {spelling}");
    }
    b.click_button("Nommer référent Karim Benali").await;
    b.wait_for_text("Le membre est désormais référent de la communauté.").await;
    b.screenshot("town-community").await;
    for path in ["/town", "/town/communities/les-tilleuls"] {
        b.goto(path).await;
        let overflow = b
            .client()
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(overflow, 0, "{path} scrolls sideways on a 412 px wide phone");
    }
    b.click_button("Se déconnecter").await;
    site.sign_in("Karim").await;
    b.click_link("Membres").await;
    b.wait_for_text("Ajouter un membre").await;
    site.close().await;
}
