//! The store's web-facing ports against the emulator: sessions, limits, feed, membership.

use std::time::Duration;

use vigie::domain::{CommunityId, Email, FirstName, LastName, MemberId, PhoneNumber};
use vigie::model::{JoinRequest, Session, TokenHash};
use vigie::ports::{Feed, Limits, MemberLookup, Membership, RegisterError, Sessions};
use vigie_tests::{Handled, Stack};

#[tokio::test]
async fn a_signin_link_works_once_and_not_after_it_expires() {
    let stack = Stack::demo().await;
    let marie = stack.member("Marie").id;
    let store = stack.store();
    let link = TokenHash::of("secret-1");
    store.put_signin_link(&link, marie, Duration::from_secs(900)).await.unwrap();
    assert_eq!(store.take_signin_link(&TokenHash::of("secret-2")).await.unwrap(), None, "unknown");
    assert_eq!(store.signin_link_member(&TokenHash::of("secret-2")).await.unwrap(), None, "unknown");
    // Looking at a link does not use it up.
    assert_eq!(store.signin_link_member(&link).await.unwrap(), Some(marie));
    assert_eq!(store.signin_link_member(&link).await.unwrap(), Some(marie));
    assert_eq!(store.take_signin_link(&link).await.unwrap(), Some(marie));
    assert_eq!(store.take_signin_link(&link).await.unwrap(), None, "single use");
    assert_eq!(store.signin_link_member(&link).await.unwrap(), None, "used");

    let short = TokenHash::of("secret-3");
    store.put_signin_link(&short, marie, Duration::from_millis(200)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.signin_link_member(&short).await.unwrap(), None, "expired");
    assert_eq!(store.take_signin_link(&short).await.unwrap(), None, "expired");
}

#[tokio::test]
async fn sessions_expire_and_end() {
    let stack = Stack::demo().await;
    let store = stack.store();
    let marie = stack.member("Marie").id;
    let now = vigie::adapters::now_ms();
    let cookie = TokenHash::of("cookie");
    let session = Session { member_id: marie, csrf: "c".repeat(32), expires_at_ms: now + 60_000 };
    store.put_session(&cookie, &session).await.unwrap();
    assert_eq!(store.session(&cookie).await.unwrap(), Some(session));
    assert_eq!(store.session(&TokenHash::of("forged")).await.unwrap(), None);
    store.end_session(&cookie).await.unwrap();
    assert_eq!(store.session(&cookie).await.unwrap(), None);

    let old = TokenHash::of("old");
    store
        .put_session(&old, &Session { member_id: marie, csrf: "x".into(), expires_at_ms: now - 1 })
        .await
        .unwrap();
    assert_eq!(store.session(&old).await.unwrap(), None, "expired");
}

#[tokio::test]
async fn a_limit_allows_so_many_per_window() {
    let stack = Stack::start().await;
    let window = Duration::from_secs(3600);
    for _ in 0..3 {
        assert!(stack.store().within_limit("test#a", 3, window).await.unwrap());
    }
    assert!(!stack.store().within_limit("test#a", 3, window).await.unwrap());
    assert!(stack.store().within_limit("test#b", 3, window).await.unwrap(), "per key");
}

#[tokio::test]
async fn the_feed_pages_newest_first_with_reports() {
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let marie = stack.phone("Marie");
    let mut ids = Vec::new();
    for i in 0..5 {
        let Handled::Alerted(alerts) = stack.text(&marie, &format!("Alerte numéro {i}")).await else {
            panic!()
        };
        ids.push(alerts[0]);
    }
    relay.drain().await.unwrap();
    let tilleuls = CommunityId::parse("les-tilleuls").unwrap();
    let first = stack.store().community_alerts(&tilleuls, None, 2).await.unwrap();
    assert_eq!(first.items.iter().map(|r| r.alert.alert_id).collect::<Vec<_>>(), vec![ids[4], ids[3]]);
    let second = stack.store().community_alerts(&tilleuls, first.next, 2).await.unwrap();
    assert_eq!(second.items.iter().map(|r| r.alert.alert_id).collect::<Vec<_>>(), vec![ids[2], ids[1]]);
    let third = stack.store().community_alerts(&tilleuls, second.next, 2).await.unwrap();
    assert_eq!(third.items.len(), 1);
    let report = &third.items[0];
    let counts = report.counts.expect("fanned out");
    assert_eq!((counts.sms_sent, counts.email_sent, counts.recipients), (3, 4, 5));
    assert!(report.fanout_done_at.is_some());
    let moulin = CommunityId::parse("le-moulin").unwrap();
    assert!(
        stack.store().community_alerts(&moulin, None, 10).await.unwrap().items.is_empty(),
        "per community"
    );
    assert_eq!(stack.store().alert_report(ids[0]).await.unwrap().unwrap().alert.alert_id, ids[0]);
}

#[tokio::test]
async fn changing_a_number_moves_its_claim_and_a_taken_number_is_refused() {
    let stack = Stack::demo().await;
    let store = stack.store();
    let karim = stack.member("Karim").clone();
    let mut moved = karim.clone();
    moved.phone = Some(PhoneNumber::parse("06 39 98 01 50").unwrap());
    moved.first_name = FirstName::parse("Karim B.").unwrap();
    store.update_member(&karim, &moved).await.unwrap();
    let old = PhoneNumber::parse("06 39 98 00 02").unwrap();
    assert!(store.member_by_phone(&old).await.unwrap().is_none(), "old number free");
    let found = store.member_by_phone(moved.phone.as_ref().unwrap()).await.unwrap().unwrap();
    assert_eq!(found.first_name.as_str(), "Karim B.");

    // The old number can now be taken by someone else, and Marie's cannot.
    let mut jeanne = stack.member("Jeanne").clone();
    let before = jeanne.clone();
    jeanne.phone = Some(PhoneNumber::parse(&stack.phone("Marie")).unwrap());
    assert!(matches!(store.update_member(&before, &jeanne).await, Err(RegisterError::PhoneTaken)));
    jeanne.phone = Some(old);
    store.update_member(&before, &jeanne).await.unwrap();

    store.remove_member(&moved).await.unwrap();
    assert!(store.member(moved.id).await.unwrap().is_none());
    assert!(store.member_by_phone(moved.phone.as_ref().unwrap()).await.unwrap().is_none());
}

#[tokio::test]
async fn towns_communities_and_join_requests() {
    let stack = Stack::demo().await;
    let store = stack.store();
    assert_eq!(store.towns().await.unwrap(), vec!["Bellerive".to_owned()]);
    let names: Vec<String> =
        store.communities_of_town("bellerive").await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, vec!["Le Moulin", "Les Tilleuls"]);

    let tilleuls = CommunityId::parse("les-tilleuls").unwrap();
    let request = JoinRequest {
        request_id: MemberId::new(),
        community_id: tilleuls.clone(),
        first_name: FirstName::parse("Nadia").unwrap(),
        last_name: LastName::parse("Haddad").unwrap(),
        email: Some(Email::parse("nadia@example.org").unwrap()),
        phone: None,
        created_at: vigie::adapters::now_ms(),
    };
    store.add_join_request(&request).await.unwrap();
    assert_eq!(store.join_requests(&tilleuls).await.unwrap(), vec![request.clone()]);
    let mut relay = stack.relay().await;
    // A join request is not a member: alerts don't reach it.
    stack.text(&stack.phone("Marie"), "Test").await;
    relay.drain().await.unwrap();
    assert_eq!(stack.outbox().await.emails_to("nadia@example.org").count(), 0);
    assert_eq!(store.take_join_request(&tilleuls, request.request_id).await.unwrap(), Some(request.clone()));
    assert_eq!(store.take_join_request(&tilleuls, request.request_id).await.unwrap(), None, "once");
    assert!(store.join_requests(&tilleuls).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_roster_row_carries_the_last_name_and_whether_the_number_is_hidden() {
    let stack = Stack::demo().await;
    let store = stack.store();
    let page =
        vigie::ports::Roster::members_page(store, &"les-tilleuls".parse().unwrap(), None, 50).await.unwrap();
    let karim = page.items.iter().find(|r| r.first_name.as_str() == "Karim").unwrap();
    assert_eq!(karim.last_name.as_ref().map(LastName::as_str), Some("Benali"));
    assert!(karim.hide_phone, "Karim hid his number");
    let marie = page.items.iter().find(|r| r.first_name.as_str() == "Marie").unwrap();
    assert!(!marie.hide_phone);

    // A change of settings reaches the roster copy.
    let before = store.member(stack.member("Marie").id).await.unwrap().unwrap();
    let after = vigie::domain::Member { hide_phone: true, ..before.clone() };
    store.update_member(&before, &after).await.unwrap();
    let page =
        vigie::ports::Roster::members_page(store, &"les-tilleuls".parse().unwrap(), None, 50).await.unwrap();
    assert!(page.items.iter().find(|r| r.member_id == before.id).unwrap().hide_phone);
}
