//! A referent types a number or an address that is already a member's (`docs/consent.md`, "A
//! number or address already registered"), against the emulator: the referent is answered as
//! for anyone, the holder decides, and nothing reaches the holder from a community they did not
//! join.

use axum::http::StatusCode;
use vigie::domain::CommunityId;
use vigie::ports::MemberLookup;
use vigie_tests::web_client::WebClient;
use vigie_tests::{Stack, drain_until_quiet};

async fn signed_in(stack: &Stack, first_name: &str) -> WebClient {
    let mut web = WebClient::new(stack);
    web.sign_in(stack, first_name).await;
    web
}

fn tilleuls() -> CommunityId {
    "les-tilleuls".parse().unwrap()
}

/// The referent's row for `name`, with what differs from person to person (the name, the
/// number as shown, the member's id) taken out: what is left is what the referent learns.
fn row_of(page: &str, name: &str, number: &str) -> String {
    let at = page.find(&format!("<strong>{name}</strong>")).unwrap_or_else(|| panic!("{name}:\n{page}"));
    let start = page[..at].rfind("<li>").expect("a row");
    let end = at + page[at..].find("</li>").expect("a row's end");
    let row = page[start..end].replace(name, "NAME").replace(number, "NUMBER");
    let (mut out, mut rest) = (String::new(), row.as_str());
    while let Some(i) = rest.find("/admin/members/").map(|i| i + "/admin/members/".len()) {
        out.push_str(&rest[..i]);
        out.push_str("ID");
        rest = &rest[(i + 26).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

fn add<'a>(csrf: &'a str, first: &'a str, phone: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("csrf", csrf), ("first_name", first), ("last_name", "Test"), ("phone", phone), ("sms_alerts", "on")]
}

#[tokio::test]
async fn a_registered_number_reads_as_any_invitation_and_its_holder_decides_by_sms() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let mut marie = signed_in(&stack, "Marie").await;
    let csrf = marie.get("/admin/members/new").await.csrf();
    // A free number, and Gérard's: he is in Le Moulin and hides his number.
    let free = marie.post("/admin/members", &add(&csrf, "Denise", "06 39 98 01 50")).await;
    let taken = marie.post("/admin/members", &add(&csrf, "Gege", "06 39 98 00 08")).await;
    assert_eq!((free.status, free.location()), (taken.status, taken.location()));
    assert_eq!(taken.location(), Some("/admin?done=invited"));
    let page = marie.get("/admin").await.body;
    let (denise, gege) =
        (row_of(&page, "Denise Test", "06 39 98 01 50"), row_of(&page, "Gege Test", "06 39 98 00 08"));
    assert_eq!(denise, gege, "the two rows tell the referent the same");
    assert!(gege.contains("/invite") && gege.contains("/remove"), "{gege}");

    // Gérard is asked, by name of the referent and the community; Denise is invited.
    let gerard = stack.member("Gérard").clone();
    let number = stack.phone("Gérard");
    let outbox = stack.outbox().await;
    let asked: Vec<_> = outbox.sms_to(&number).collect();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].body.contains("Marie, référent de Les Tilleuls, propose de vous inscrire aussi"));
    assert_eq!(outbox.sms_to("+33639980150").count(), 1);
    // His number is still his alone, and nothing of Les Tilleuls reaches him before he says so.
    assert_eq!(stack.store().member_by_phone(&number.parse().unwrap()).await.unwrap().unwrap().id, gerard.id);
    stack.text(&stack.phone("Karim"), "Portail ouvert rue des Acacias").await;
    drain_until_quiet(&mut relay).await;
    assert_eq!(stack.outbox().await.sms_to(&number).count(), 1, "no alert of Les Tilleuls");

    // He says OUI: he is in both communities, the row that stood for him is gone.
    let event = stack.sms_event(&number, "Oui", "oui-gerard-1");
    let handled = stack.invoke_inbound(event.clone()).await.unwrap();
    assert_eq!(format!("{handled:?}"), "[JoinedCommunity]");
    let replies: Vec<_> = stack.outbox().await.sms_to(&number).map(|s| s.body.clone()).collect();
    assert_eq!(replies.len(), 2);
    assert!(replies[1].contains("vous recevez aussi les alertes de Les Tilleuls"), "{replies:?}");
    let joined = stack.store().member(gerard.id).await.unwrap().unwrap();
    assert_eq!(joined.communities, ["le-moulin".parse().unwrap(), tilleuls()]);
    // The same message delivered again changes nothing and texts nothing.
    stack.invoke_inbound(event).await.unwrap();
    assert_eq!(stack.outbox().await.sms_to(&number).count(), 2);
    let page = marie.get("/admin").await.body;
    assert!(!page.contains("Gege Test") && page.contains("Gérard Blanc"), "{page}");

    // Now Les Tilleuls' alerts reach him, once, and his own reach both communities.
    stack.text(&stack.phone("Karim"), "Camionnette blanche rue des Acacias").await;
    drain_until_quiet(&mut relay).await;
    let alerts: Vec<_> =
        stack.outbox().await.sms_to(&number).filter(|s| s.body.contains("Camionnette")).cloned().collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");

    // Marie removes him from Les Tilleuls: he stays in Le Moulin, his number his.
    let csrf = marie.get("/admin").await.csrf();
    let removed = marie.post(&format!("/admin/members/{}/remove", gerard.id), &[("csrf", &csrf)]).await;
    assert_eq!(removed.location(), Some("/admin?done=removed"));
    let stays = stack.store().member(gerard.id).await.unwrap().unwrap();
    assert_eq!(stays.communities, ["le-moulin".parse().unwrap()]);
    assert_eq!(stack.store().member_by_phone(&number.parse().unwrap()).await.unwrap().unwrap().id, gerard.id);
}

#[tokio::test]
async fn a_registered_address_is_answered_alike_and_taken_or_declined_on_the_settings_page() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let mut marie = signed_in(&stack, "Marie").await;
    let csrf = marie.get("/admin/members/new").await.csrf();
    let by_email = |first: &'static str, email: &'static str| {
        vec![("first_name", first), ("last_name", "Test"), ("email", email), ("email_alerts", "on")]
    };
    let mut free = by_email("Yann", "yann@example.org");
    free.push(("csrf", &csrf));
    let mut taken = by_email("Nes", "ines.faure@example.org");
    taken.push(("csrf", &csrf));
    let free = marie.post("/admin/members", &free).await;
    let taken = marie.post("/admin/members", &taken).await;
    assert_eq!((free.status, free.location()), (StatusCode::SEE_OTHER, Some("/admin?done=added")));
    assert_eq!((taken.status, taken.location()), (StatusCode::SEE_OTHER, Some("/admin?done=added")));
    let page = marie.get("/admin").await.body;
    let none = "NO-NUMBER";
    assert_eq!(row_of(&page, "Yann Test", none), row_of(&page, "Nes Test", none));

    // Inès gets alerts by SMS: she is asked by SMS, and finds the invitation on her page.
    let ines = stack.member("Inès").clone();
    assert_eq!(stack.outbox().await.sms_to(&stack.phone("Inès")).count(), 1);
    // The row that stands for her is sent nothing, by any channel.
    stack.text(&stack.phone("Karim"), "Fumée derrière le gymnase").await;
    drain_until_quiet(&mut relay).await;
    let outbox = stack.outbox().await;
    assert_eq!(
        outbox.emails_to("ines.faure@example.org").filter(|e| e.subject.starts_with("Alerte")).count(),
        0
    );
    assert_eq!(outbox.emails_to("yann@example.org").filter(|e| e.subject.starts_with("Alerte")).count(), 1);

    let mut web = signed_in(&stack, "Inès").await;
    let settings = web.get("/settings").await;
    assert!(settings.body.contains("Marie, référent de Les Tilleuls, propose de vous inscrire aussi"));
    let csrf = settings.csrf();
    let joined = web.post("/settings/offers/les-tilleuls/join", &[("csrf", &csrf)]).await;
    assert_eq!(joined.location(), Some("/settings?joined=1"));
    let member = stack.store().member(ines.id).await.unwrap().unwrap();
    assert!(member.belongs_to(&tilleuls()), "{:?}", member.communities);
    assert!(!web.get("/settings").await.body.contains("propose de vous inscrire"));
    let again = web.post("/settings/offers/les-tilleuls/join", &[("csrf", &csrf)]).await;
    assert_eq!(again.location(), Some("/settings?offer_gone=1"), "taken once");
    assert!(!marie.get("/admin").await.body.contains("Nes Test"));
    // Her feed has both communities now.
    assert!(web.get("/").await.body.contains("Les Tilleuls"));

    // Declined: nobody is told, the referent's row stays an unanswered invitation.
    let mut paul_side = signed_in(&stack, "Paul").await;
    let csrf = paul_side.get("/admin/members/new").await.csrf();
    let lucas = by_email("Luc", "lucas.petit@example.org");
    let mut lucas: Vec<(&str, &str)> = lucas;
    lucas.push(("csrf", &csrf));
    assert_eq!(paul_side.post("/admin/members", &lucas).await.location(), Some("/admin?done=added"));
    let mut lucas_web = signed_in(&stack, "Lucas").await;
    let settings = lucas_web.get("/settings").await;
    assert!(settings.body.contains("Paul, référent de Le Moulin"), "{}", settings.body);
    // Lucas has SMS alerts off: he was asked by email.
    let asked: Vec<_> = stack.outbox().await.emails_to("lucas.petit@example.org").cloned().collect();
    assert!(asked.iter().any(|e| e.subject == "Invitation à rejoindre Le Moulin sur vigie"), "{asked:?}");
    let declined = lucas_web.post("/settings/offers/le-moulin/decline", &[("csrf", &settings.csrf())]).await;
    assert_eq!(declined.location(), Some("/settings?declined=1"));
    assert!(!lucas_web.get("/settings").await.body.contains("Paul, référent"));
    assert!(paul_side.get("/admin").await.body.contains("Luc Test"));
    let lucas = stack.store().member(stack.member("Lucas").id).await.unwrap().unwrap();
    assert_eq!(lucas.communities, [tilleuls()]);
}

#[tokio::test]
async fn every_add_counts_against_the_day_so_nobody_tries_addresses_in_bulk() {
    let stack = Stack::demo().await;
    let mut marie = signed_in(&stack, "Marie").await;
    let csrf = marie.get("/admin/members/new").await.csrf();
    for i in 0..vigie::app::members::INVITATIONS_PER_COMMUNITY_PER_DAY {
        let email = format!("voisin{i}@example.org");
        let fields = [
            ("csrf", csrf.as_str()),
            ("first_name", "Voisin"),
            ("last_name", "Test"),
            ("email", email.as_str()),
        ];
        assert_eq!(marie.post("/admin/members", &fields).await.location(), Some("/admin?done=added"));
    }
    let fields = [
        ("csrf", csrf.as_str()),
        ("first_name", "Voisin"),
        ("last_name", "Test"),
        ("email", "x@example.org"),
    ];
    let limited = marie.post("/admin/members", &fields).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(stack.store().member_by_email(&"x@example.org".parse().unwrap()).await.unwrap().is_none());
}
