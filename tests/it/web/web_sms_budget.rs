//! What SMS cost, and what happens past a budget (`app::budget`): the confirmation step shows
//! the alert's cost and the month's budget; past a community's monthly budget a resident's
//! alert goes by email and feed only, whatever the door (page, API, SMS), and the sender is told;
//! police and "danger" alerts still go by SMS, counted; nothing passes the service's daily
//! ceiling; the referent sees the months and sets the community's own budget.

use axum::http::{Method, StatusCode};
use vigie::app::budget::{self, SmsBudgets};
use vigie::domain::{CommunityId, SmsWithheld};
use vigie::ports::{AlertLog, Feed, MemberLookup};
use vigie_tests::web_client::WebClient;
use vigie_tests::{DEMO_SEED, Stack};

use super::web_alerts::{alert_id_of, confirm, send};

async fn demo_with(budgets: SmsBudgets) -> Stack {
    let mut stack = Stack::start_with(|c| c.sms_budgets = budgets).await;
    stack.seed(DEMO_SEED).await;
    stack
}

/// How many SMS the outbox holds to `name`'s number.
fn sms_to(stack: &Stack, outbox: &infra::outbox::Outbox, name: &str) -> usize {
    outbox.sms_to(&stack.phone(name)).count()
}

/// The last SMS to `name`.
fn last_sms(stack: &Stack, outbox: &infra::outbox::Outbox, name: &str) -> String {
    outbox.sms_to(&stack.phone(name)).last().map(|s| s.body.clone()).unwrap_or_default()
}

#[tokio::test]
async fn past_its_monthly_budget_a_community_gets_residents_alerts_by_email_only_and_police_ones_by_sms() {
    // Les Tilleuls: an alert of Marie's texts Karim, Jeanne and Sophie (3 parts of 1 SMS part).
    let stack = demo_with(SmsBudgets { monthly_parts: 5, daily_parts: 1000 }).await;
    let mut relay = stack.relay().await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Marie").await;

    let confirmation = confirm(&mut web, "suspicious", "Rôdeur rue des Lilas", &[]).await;
    assert!(
        confirmation
            .body
            .contains("Coût : 3 parts SMS (1 part × 3 voisins). Ce mois-ci : 5 parts restantes sur 5."),
        "{}",
        confirmation.body
    );
    assert!(!confirmation.body.contains("sms-withheld"), "within the budget");
    let first = alert_id_of(&send(&mut web, &confirmation).await);
    relay.drain().await.expect("stream read");
    let outbox = stack.outbox().await;
    for name in ["Karim", "Jeanne", "Sophie"] {
        assert_eq!(sms_to(&stack, &outbox, name), 1, "{name} texted");
    }
    assert_eq!(stack.store().alert(first).await.unwrap().unwrap().sms_parts, 3);

    // The next would take 3 more of the 2 left: it is said before, and done.
    let confirmation = confirm(&mut web, "suspicious", "Le rôdeur est revenu", &[]).await;
    assert!(confirmation.body.contains("Ce mois-ci : 2 parts restantes sur 5."), "{}", confirmation.body);
    assert!(
        confirmation.body.contains("Le budget SMS du mois du quartier est atteint : cette alerte partira par e-mail et sur le site seulement."),
        "{}",
        confirmation.body
    );
    let second = alert_id_of(&send(&mut web, &confirmation).await);
    relay.drain().await.expect("stream read");
    let outbox = stack.outbox().await;
    for name in ["Karim", "Jeanne", "Sophie"] {
        assert_eq!(sms_to(&stack, &outbox, name), 1, "{name} gets no second SMS");
    }
    assert_eq!(outbox.emails_to(&stack.email("Karim")).count(), 2, "the email still goes");
    let told = last_sms(&stack, &outbox, "Marie");
    assert!(
        told.contains("Pas de SMS aux voisins : le budget SMS du mois de votre quartier est atteint"),
        "{told}"
    );
    let stored = stack.store().alert(second).await.unwrap().unwrap();
    assert_eq!((stored.sms_parts, stored.sms_withheld), (0, Some(SmsWithheld::MonthlyBudget)));
    let page = web.get(&format!("/alerts/{second}")).await;
    assert!(
        page.body.contains("Envoyée sans SMS : le budget SMS du mois du quartier était atteint."),
        "{}",
        page.body
    );
    let feed = web.get("/").await;
    assert_eq!(feed.body.matches("Envoyée sans SMS").count(), 1, "only the second: {}", feed.body);

    // The same by the API and by SMS.
    let mut karim = WebClient::new(&stack);
    karim.sign_in(&stack, "Karim").await;
    let body = serde_json::json!({
        "category": "animal", "text": "Chat perdu", "submission_id": ulid::Ulid::new().to_string()
    });
    let raised = karim.api(Method::POST, "/api/alerts", Some(body)).await;
    assert_eq!(raised.status, StatusCode::CREATED, "{}", raised.body);
    assert_eq!(raised.json()["sms_withheld"], "monthly_budget");
    stack.text(&stack.phone("Jeanne"), "Portail ouvert au 3").await;
    relay.drain().await.expect("stream read");
    let outbox = stack.outbox().await;
    for name in ["Marie", "Sophie"] {
        assert!(
            outbox
                .sms_to(&stack.phone(name))
                .all(|s| !s.body.contains("Chat perdu") && !s.body.contains("Portail")),
            "{name} texted nothing of them"
        );
    }
    let told = last_sms(&stack, &outbox, "Jeanne");
    assert!(told.contains("budget SMS du mois"), "the texter is told: {told}");

    // A fire still wakes people, and the police still text: both counted past the budget.
    let before = stack.outbox().await.sms.len();
    let confirmation = confirm(&mut karim, "danger", "Fumée au 12, les pompiers arrivent", &[]).await;
    assert!(!confirmation.body.contains("sms-withheld"), "{}", confirmation.body);
    send(&mut karim, &confirmation).await;
    stack.text(&stack.phone("Sophie"), "Controle routier ce soir avenue Jaures").await;
    relay.drain().await.expect("stream read");
    let outbox = stack.outbox().await;
    let fire = outbox.sms[before..].iter().filter(|s| s.body.contains("Fumée au 12")).count();
    assert_eq!(fire, 3, "Marie, Jeanne, Sophie texted the fire");
    let police = outbox.sms.iter().filter(|s| s.body.contains("Controle routier")).count();
    assert_eq!(police, 6, "the police alert texted both communities (3 + 3)");

    // The referent's page: 3 + 3 (fire) + 3 (police: Marie, Karim, Jeanne) spent of 5.
    let admin = web.get("/admin").await;
    assert!(admin.body.contains("<td>9</td><td>0</td>"), "{}", admin.body);
    let tilleuls = CommunityId::parse("les-tilleuls").unwrap();
    let community = stack.store().community(&tilleuls).await.unwrap().unwrap();
    let month = budget::month_of(&community, vigie::adapters::now_ms());
    assert!(admin.body.contains(&web::i18n::Lang::Fr.month_label(&month)), "{}", admin.body);
}

#[tokio::test]
async fn nothing_passes_the_services_daily_ceiling_not_even_the_police() {
    let stack = demo_with(SmsBudgets { monthly_parts: 1000, daily_parts: 4 }).await;
    let mut relay = stack.relay().await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Marie").await;
    let confirmation = confirm(&mut web, "other", "Réunion du quartier jeudi", &[]).await;
    send(&mut web, &confirmation).await;
    relay.drain().await.expect("stream read");
    assert_eq!(stack.outbox().await.sms.iter().filter(|s| s.body.contains("Réunion")).count(), 3);

    // 3 of 4 parts taken: the police alert to both communities (3 + 3) passes the day.
    stack.text(&stack.phone("Sophie"), "Vol de fils signale, restez vigilants").await;
    relay.drain().await.expect("stream read");
    let outbox = stack.outbox().await;
    assert_eq!(
        outbox.sms.iter().filter(|s| s.body.contains("Vol de fils")).count(),
        0,
        "no SMS past the ceiling"
    );
    let alerts =
        stack.store().community_alerts(&CommunityId::parse("le-moulin").unwrap(), None, 5).await.unwrap();
    assert_eq!(
        alerts.items[0].alert.sms_withheld,
        Some(SmsWithheld::DailyCeiling),
        "the police alert is recorded"
    );
    assert_eq!(outbox.emails_to(&stack.email("Karim")).count(), 2, "by email still");
    assert_eq!(outbox.emails_to(&stack.email("Paul")).count(), 1, "both communities");
    let told = last_sms(&stack, &outbox, "Sophie");
    assert!(told.contains("le plafond SMS du jour du service est atteint"), "{told}");
}

#[tokio::test]
async fn the_referent_sets_the_communitys_own_budget_and_it_counts() {
    let stack = demo_with(SmsBudgets { monthly_parts: 2, daily_parts: 1000 }).await;
    let mut web = WebClient::new(&stack);
    web.sign_in(&stack, "Marie").await;
    let admin = web.get("/admin").await;
    assert!(admin.body.contains("Vide : le budget de la commune, 2 parts."), "{}", admin.body);
    let csrf = admin.csrf();
    for bad in ["beaucoup", "-3", "2000000"] {
        let reply = web.post("/admin/sms-budget", &[("csrf", &csrf), ("sms_budget", bad)]).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(reply.body.contains("Le budget doit être un nombre entier"), "{}", reply.body);
    }
    let reply = web.post("/admin/sms-budget", &[("csrf", &csrf), ("sms_budget", "1 500")]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let tilleuls = CommunityId::parse("les-tilleuls").unwrap();
    assert_eq!(stack.store().community(&tilleuls).await.unwrap().unwrap().sms_budget, Some(1500));
    let confirmation = confirm(&mut web, "other", "Test du budget", &[]).await;
    assert!(
        confirmation.body.contains("Ce mois-ci : 1500 parts restantes sur 1500."),
        "{}",
        confirmation.body
    );
    assert!(!confirmation.body.contains("sms-withheld"));
    // Another community's referent cannot touch it: Paul's form sets Le Moulin's.
    let mut paul = WebClient::new(&stack);
    paul.sign_in(&stack, "Paul").await;
    let csrf = paul.get("/admin").await.csrf();
    paul.post("/admin/sms-budget", &[("csrf", &csrf), ("sms_budget", "7")]).await;
    assert_eq!(stack.store().community(&tilleuls).await.unwrap().unwrap().sms_budget, Some(1500));
    let moulin = CommunityId::parse("le-moulin").unwrap();
    assert_eq!(stack.store().community(&moulin).await.unwrap().unwrap().sms_budget, Some(7));
    // Empty: the default again.
    let csrf = web.get("/admin").await.csrf();
    web.post("/admin/sms-budget", &[("csrf", &csrf), ("sms_budget", "")]).await;
    assert_eq!(stack.store().community(&tilleuls).await.unwrap().unwrap().sms_budget, None);
}
