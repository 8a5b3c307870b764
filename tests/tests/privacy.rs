//! Every log line of a full scenario (texted alerts, keywords, an unknown number, an
//! acknowledgement, a failing delivery, sign-in links and sessions, receipts: a bounce whose
//! diagnostic names the address, a text failing for good) is captured at the most
//! verbose level, and none may contain a full phone number, an email address or a token.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use infra::receipt_event::{self, EmailEvent, SmsStatus};
use vigie::model::{Session, TokenHash};
use vigie::ports::{MemberLookup, Sessions};
use vigie_tests::Stack;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_never_hold_a_number_an_address_or_a_token() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace,hyper=info,h2=info,aws_smithy_runtime=info,aws_config=info,rustls=info")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .json()
        .init();

    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let (marie, karim) = (stack.phone("Marie"), stack.phone("Karim"));
    stack.text(&marie, "Voiture suspecte devant le 12, plaque AB-123-CD, appelez le 06 12 34 56 78").await;
    relay.drain().await.unwrap();
    stack.text(&karim, "merci").await;
    stack.text(&karim, "STOP").await;
    stack.text(&karim, "START").await;
    stack.text("+33639989876", "Bonjour").await;
    stack.text("+33639989876", "Bonjour ?").await;
    let secret = "0123456789abcdef0123456789abcdef0123456789abcdef";
    let store = stack.store();
    store
        .put_signin_link(&TokenHash::of(secret), stack.member("Marie").id, Duration::from_secs(60))
        .await
        .unwrap();
    store.take_signin_link(&TokenHash::of(secret)).await.unwrap();
    let session =
        Session { member_id: stack.member("Marie").id, csrf: secret.to_owned(), expires_at_ms: i64::MAX };
    store.put_session(&TokenHash::of(secret), &session).await.unwrap();
    // Receipts: a bounce whose diagnostic names the address, a text that fails for good.
    let outbox = stack.outbox().await;
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let address = stack.email("Karim");
    let email = outbox.emails_to(&address).last().expect("Karim's alert email").id.clone();
    let mut bounce =
        receipt_event::ses_message(EmailEvent::HardBounce, &email, &address, an_hour_ago, Duration::ZERO);
    bounce["bounce"]["bouncedRecipients"][0]["diagnosticCode"] =
        serde_json::json!(format!("smtp; 550 5.1.1 <{address}>: Recipient address rejected"));
    let topic = "arn:aws:sns:eu-west-3:123456789012:vigie-DeliveryEventsTopic";
    stack.invoke_delivery_events(receipt_event::ses_event(&bounce, topic)).await.unwrap();
    let jeanne = stack.phone("Jeanne");
    let sms = outbox.sms_to(&jeanne).last().expect("Jeanne's alert SMS").message_id.clone();
    let failed = SmsStatus::Failed(format!("Invalid phone number {jeanne}"));
    let log = receipt_event::sms_log(&failed, &sms, &jeanne, an_hour_ago);
    let group = receipt_event::sms_log_group("123456789012", "eu-west-3", &failed);
    stack.invoke_delivery_events(receipt_event::sms_logs_event(&group, &[log])).await.unwrap();
    // What is kept of them is masked too.
    let karim = store.member(stack.member("Karim").id).await.unwrap().unwrap();
    let detail = karim.email_problem.expect("the bounce is noted").detail;
    assert!(!detail.contains(&address) && detail.contains("Recipient address rejected"), "{detail}");
    let jeanne_member = store.member(stack.member("Jeanne").id).await.unwrap().unwrap();
    assert!(!jeanne_member.sms_problem.expect("the failure is noted").detail.contains(&jeanne));

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.lines().count() > 50, "the scenario was logged: {} lines", logs.lines().count());
    let mut secrets: Vec<String> = vec![secret.to_owned(), "+33612345678".into(), "+33639989876".into()];
    for member in &stack.members {
        secrets.extend(member.phone.iter().map(|p| p.to_string()));
        secrets.extend(member.email.iter().map(|e| e.to_string()));
        secrets.push(member.unsubscribe_token.as_str().to_owned());
    }
    for line in logs.lines() {
        for secret in &secrets {
            assert!(!line.contains(secret.as_str()), "a log line leaks {secret}: {line}");
        }
        // Any address not masked (`m***@example.org`), whoever it belongs to.
        for (at, _) in line.match_indices("@example.org") {
            assert!(line[..at].ends_with("***"), "a log line leaks an address: {line}");
        }
        // Any French number in full.
        for (at, _) in line.match_indices("+33") {
            let digits = line[at + 3..].chars().take_while(char::is_ascii_digit).count();
            assert!(digits < 9, "a log line leaks a number: {line}");
        }
    }
}
