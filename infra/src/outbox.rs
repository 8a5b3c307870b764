//! What the emulator "sent": the SMS and emails moto recorded, read from
//! `GET {endpoint}/moto-api/data.json`.
//!
//! moto 5.2 keeps them there, across regions:
//! - `["sns"]["SMS"]`: `[{ "message", "message_id", "phone_number" }]` (SMS attributes such as
//!   the origination number are not recorded);
//! - `["ses"]["RawMessage"]`: `[{ "id", "source", "destinations": [..], "raw_data" }]`, where
//!   `raw_data` is the whole MIME message and `destinations` the recipients: those of the
//!   request's `Destination`, then those of the `To`/`Cc` headers as written there
//!   (`Ann <ann@example.com>`), so the same address may come twice;
//! - `["ses"]["Message"]` (SES "Simple" content): `[{ "id", "source", "subject", "body",
//!   "destinations": {"ToAddresses", "CcAddresses", "BccAddresses"} }]`, `body` being the HTML
//!   part when there is one. moto drops custom headers of Simple emails.
//!
//! Integration tests use [`fetch_outbox`] to assert on what was sent: headers are unfolded,
//! the subject is decoded (RFC 2047), and the text and HTML parts are decoded
//! (quoted-printable, base64, charset), by the `mail-parser` crate.

use std::fmt;

use mail_parser::{MessageParser, PartType};
use serde_json::Value;

/// Everything moto recorded as sent, in sending order (raw emails before simple ones).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outbox {
    pub sms: Vec<SentSms>,
    pub emails: Vec<SentEmail>,
}

/// One SMS published to a phone number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentSms {
    /// The number, E.164.
    pub to: String,
    pub body: String,
    pub message_id: String,
}

/// One email sent through SES.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SentEmail {
    pub id: String,
    /// The envelope sender (`FromEmailAddress`).
    pub from: String,
    /// The recipients' addresses (envelope and headers, as moto records them), each once.
    pub to: Vec<String>,
    /// The subject, RFC 2047 encoded words decoded.
    pub subject: String,
    /// The whole MIME message (raw emails), or the body (simple emails).
    pub raw: String,
    pub list_unsubscribe: Option<String>,
    pub list_unsubscribe_post: Option<String>,
    /// Every header, unfolded, values as written (not decoded), in order. Empty for simple emails.
    pub headers: Vec<(String, String)>,
    /// The first `text/plain` part, decoded.
    pub text: Option<String>,
    /// The first `text/html` part, decoded.
    pub html: Option<String>,
}

impl SentEmail {
    /// The first header named `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

impl Outbox {
    /// The SMS sent to `number`.
    pub fn sms_to<'a>(&'a self, number: &'a str) -> impl Iterator<Item = &'a SentSms> + 'a {
        self.sms.iter().filter(move |s| s.to == number)
    }

    /// The emails sent to `address` (case-insensitive).
    pub fn emails_to<'a>(&'a self, address: &'a str) -> impl Iterator<Item = &'a SentEmail> + 'a {
        self.emails.iter().filter(move |e| e.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
    }
}

/// Why the outbox could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("GET {url} failed: {message}")]
    Http { url: String, message: String },
    #[error("moto's data.json is not as expected: {0}")]
    Layout(String),
}

/// Reads what moto at `endpoint` (`http://127.0.0.1:4566`) has sent.
pub async fn fetch_outbox(endpoint: &str) -> Result<Outbox, OutboxError> {
    let url = format!("{}/moto-api/data.json", endpoint.trim_end_matches('/'));
    let http = |e: reqwest::Error| OutboxError::Http { url: url.clone(), message: e.to_string() };
    let data: Value = reqwest::get(&url)
        .await
        .map_err(http)?
        .error_for_status()
        .map_err(http)?
        .json()
        .await
        .map_err(http)?;
    parse_outbox(&data)
}

/// The outbox in a `data.json` document already fetched.
pub fn parse_outbox(data: &Value) -> Result<Outbox, OutboxError> {
    let list = |service: &str, kind: &str| -> Result<Vec<Value>, OutboxError> {
        match data.get(service).and_then(|s| s.get(kind)) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.clone()),
            Some(other) => {
                Err(OutboxError::Layout(format!("[{service:?}][{kind:?}] is not a list: {other}")))
            }
        }
    };
    let field = |item: &Value, name: &str| -> Result<String, OutboxError> {
        item.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| OutboxError::Layout(format!("no string {name:?} in {item}")))
    };
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };

    let mut outbox = Outbox::default();
    for sms in list("sns", "SMS")? {
        outbox.sms.push(SentSms {
            to: field(&sms, "phone_number")?,
            body: field(&sms, "message")?,
            message_id: field(&sms, "message_id").unwrap_or_default(),
        });
    }
    for raw in list("ses", "RawMessage")? {
        let mut email = parse_mime(&field(&raw, "raw_data")?);
        email.id = field(&raw, "id").unwrap_or_default();
        email.from =
            field(&raw, "source").unwrap_or_else(|_| email.header("From").unwrap_or_default().to_owned());
        // moto lists the `Destination` addresses, then the headers' recipients as written
        // (`Ann <ann@example.com>`): keep the addresses, once each.
        let mut to =
            dedup(strings(raw.get("destinations")).iter().map(String::as_str).flat_map(addresses).collect());
        if to.is_empty() {
            to = ["To", "Cc"].iter().filter_map(|h| email.header(h)).flat_map(addresses).collect();
        }
        email.to = to;
        outbox.emails.push(email);
    }
    for simple in list("ses", "Message")? {
        let destinations = simple.get("destinations");
        let to = ["ToAddresses", "CcAddresses", "BccAddresses"]
            .iter()
            .flat_map(|k| strings(destinations.and_then(|d| d.get(*k))))
            .collect();
        let body = field(&simple, "body").unwrap_or_default();
        let is_html = body.trim_start().starts_with('<');
        outbox.emails.push(SentEmail {
            id: field(&simple, "id").unwrap_or_default(),
            from: field(&simple, "source").unwrap_or_default(),
            to: dedup(to),
            subject: field(&simple, "subject").unwrap_or_default(),
            text: (!is_html).then(|| body.clone()),
            html: is_html.then(|| body.clone()),
            raw: body,
            ..SentEmail::default()
        });
    }
    Ok(outbox)
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&item)) {
            out.push(item);
        }
    }
    out
}

/// The addresses of an address-list header (`"Ann" <a@x>, b@y`).
fn addresses(value: &str) -> Vec<String> {
    value
        .split(',')
        .filter_map(|part| {
            let part = part.trim();
            let addr = match (part.rfind('<'), part.rfind('>')) {
                (Some(l), Some(r)) if l < r => &part[l + 1..r],
                _ => part,
            };
            addr.contains('@').then(|| addr.trim().to_owned())
        })
        .collect()
}

impl fmt::Display for Outbox {
    /// The developer's view: numbers and addresses in full (this is the local emulator).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "SMS ({}):", self.sms.len())?;
        for sms in &self.sms {
            writeln!(f, "  {}  {}", sms.to, sms.body.replace('\n', "\n                 "))?;
            // What `make receipt ID=...` takes.
            writeln!(f, "      message id: {}", sms.message_id)?;
        }
        writeln!(f, "Emails ({}):", self.emails.len())?;
        for email in &self.emails {
            writeln!(f, "  to {}  subject {:?}", email.to.join(", "), email.subject)?;
            writeln!(f, "      message id: {}", email.id)?;
            if let Some(u) = &email.list_unsubscribe {
                writeln!(f, "      List-Unsubscribe: {u}")?;
            }
            if let Some(p) = &email.list_unsubscribe_post {
                writeln!(f, "      List-Unsubscribe-Post: {p}")?;
            }
            // The links of the text (a sign-in link, say), but the unsubscribe one shown above.
            for link in
                email.text.iter().flat_map(|text| text.split_whitespace()).filter(|w| w.contains("://"))
            {
                let link = link.trim_matches(|c: char| matches!(c, '<' | '>' | '(' | ')' | '.' | ','));
                if !email.list_unsubscribe.as_deref().is_some_and(|u| u.contains(link)) {
                    writeln!(f, "      link: {link}")?;
                }
            }
        }
        Ok(())
    }
}

// ------------------------------------------------------------------ MIME

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// A raw MIME message as a [`SentEmail`] (id, from and to are left for the caller), read by
/// `mail-parser`: the subject decoded (RFC 2047), the first `text/plain` and `text/html` parts
/// decoded (transfer encoding and charset), attachments left out.
pub fn parse_mime(raw: &str) -> SentEmail {
    let mut email = SentEmail { raw: raw.to_owned(), ..SentEmail::default() };
    let Some(message) = MessageParser::default().parse(raw.as_bytes()) else {
        return email;
    };
    let bytes = message.raw_message();
    email.headers = message
        .headers()
        .iter()
        .map(|h| {
            // The value as written, unfolded: the line breaks go, the whitespace stays.
            let value = bytes.get(h.offset_start as usize..h.offset_end as usize).unwrap_or_default();
            let value = String::from_utf8_lossy(value).replace("\r\n", "").replace('\n', "");
            (h.name.as_str().to_owned(), value.trim().to_owned())
        })
        .collect();
    email.subject = message.subject().unwrap_or_default().to_owned();
    email.list_unsubscribe = email.header("List-Unsubscribe").map(str::to_owned);
    email.list_unsubscribe_post = email.header("List-Unsubscribe-Post").map(str::to_owned);
    email.text = message.text_bodies().find_map(|part| match &part.body {
        PartType::Text(text) => Some(text.to_string()),
        _ => None,
    });
    email.html = message.html_bodies().find_map(|part| match &part.body {
        PartType::Html(html) => Some(html.to_string()),
        _ => None,
    });
    email
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The subject of a message with this `Subject` header.
    fn subject(value: &str) -> String {
        parse_mime(&format!("Subject: {value}\r\n\r\nbody")).subject
    }

    #[test]
    fn encoded_words_are_decoded() {
        assert_eq!(subject("=?utf-8?B?QWxlcnRlIMOgIExhIFZpbGxl?="), "Alerte à La Ville");
        assert_eq!(subject("=?UTF-8?Q?Alerte_=C3=A0_Lyon?="), "Alerte à Lyon");
        // Adjacent words: the whitespace between them goes (each word holds whole characters,
        // as RFC 2047 section 5 requires and mail-builder writes them).
        assert_eq!(subject("=?utf-8?Q?caf=C3=A9?=\r\n =?utf-8?Q?_ici?="), "café ici");
        assert_eq!(subject("Re: =?iso-8859-1?Q?caf=E9?= noir"), "Re: café noir");
        assert_eq!(subject("plain =? text"), "plain =? text");
        assert_eq!(subject("=?utf-8?B?w6k=?="), "é");
    }

    const RAW: &str = "From: Vigie <alerts@vigie.example.org>\r\nTo: \"Ann\" <ann@example.com>\r\nSubject: =?utf-8?B?QWxlcnRlIMOgIExh?=\r\n =?utf-8?Q?_Ville?=\r\nList-Unsubscribe: <https://vigie.example.org/u?t=1>,\r\n <mailto:u@vigie.example.org>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nRue des Lilas, r=C3=B4deur =\r\nvu.\r\n--b1\r\nContent-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+UnVlPC9wPg==\r\n--b1--\r\n";

    #[test]
    fn raw_emails_are_parsed() {
        let data = json!({
            "sns": {"SMS": [{"message": "Alerte", "message_id": "m1", "phone_number": "+33611111111"}]},
            "ses": {
                "RawMessage": [{"id": "r1", "source": "alerts@vigie.example.org", "destinations": ["ann@example.com", "ann@example.com"], "raw_data": RAW}],
                "Message": [{"id": "s1", "source": "alerts@vigie.example.org", "subject": "Hi", "body": "<p>h</p>",
                             "destinations": {"ToAddresses": ["b@example.com"], "CcAddresses": [], "BccAddresses": []}}],
            },
        });
        let outbox = parse_outbox(&data).unwrap();
        assert_eq!(
            outbox.sms,
            [SentSms { to: "+33611111111".into(), body: "Alerte".into(), message_id: "m1".into() }]
        );
        let email = &outbox.emails[0];
        assert_eq!(email.to, ["ann@example.com"]);
        assert_eq!(email.subject, "Alerte à La Ville");
        assert_eq!(
            email.list_unsubscribe.as_deref(),
            Some("<https://vigie.example.org/u?t=1>, <mailto:u@vigie.example.org>")
        );
        assert_eq!(email.list_unsubscribe_post.as_deref(), Some("List-Unsubscribe=One-Click"));
        assert_eq!(email.header("from"), Some("Vigie <alerts@vigie.example.org>"));
        assert_eq!(email.text.as_deref(), Some("Rue des Lilas, rôdeur vu."));
        assert_eq!(email.html.as_deref(), Some("<p>Rue</p>"));
        assert_eq!(email.raw, RAW);
        let simple = &outbox.emails[1];
        assert_eq!(
            (simple.to.as_slice(), simple.subject.as_str(), simple.html.as_deref()),
            (&["b@example.com".to_owned()][..], "Hi", Some("<p>h</p>"))
        );
        assert_eq!(outbox.emails_to("ANN@example.com").count(), 1);
        assert_eq!(outbox.sms_to("+33611111111").count(), 1);
        assert!(outbox.to_string().contains("+33611111111  Alerte"));
    }

    #[test]
    fn an_empty_emulator_has_an_empty_outbox() {
        assert_eq!(parse_outbox(&json!({})).unwrap(), Outbox::default());
        assert!(parse_outbox(&json!({"sns": {"SMS": {}}})).is_err());
    }

    #[test]
    fn to_falls_back_to_the_headers() {
        let data = json!({"ses": {"RawMessage": [{"id": "r", "source": "a@x.org", "destinations": [], "raw_data": "To: Ann <ann@x.org>, bob@x.org\r\nSubject: s\r\n\r\nbody"}]}});
        let outbox = parse_outbox(&data).unwrap();
        assert_eq!(outbox.emails[0].to, ["ann@x.org", "bob@x.org"]);
        assert_eq!(outbox.emails[0].text.as_deref(), Some("body"));
    }
}
