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
//! (quoted-printable, base64, charset).

use std::fmt;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
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

/// Splits a MIME entity into its unfolded headers and its body.
fn split_entity(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = match (raw.find("\r\n\r\n"), raw.find("\n\n")) {
        (Some(crlf), Some(lf)) if lf < crlf => (&raw[..lf], &raw[lf + 2..]),
        (Some(crlf), _) => (&raw[..crlf], &raw[crlf + 4..]),
        (None, Some(lf)) => (&raw[..lf], &raw[lf + 2..]),
        (None, None) => (raw, ""),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)) {
        if line.starts_with([' ', '\t']) {
            // A folded line: unfolding removes the line break, keeps the whitespace.
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim_start().to_owned()));
        }
    }
    for (_, value) in &mut headers {
        *value = value.trim_end().to_owned();
    }
    (headers, body)
}

/// A raw MIME message as a [`SentEmail`] (id, from and to are left for the caller).
pub fn parse_mime(raw: &str) -> SentEmail {
    let (headers, body) = split_entity(raw);
    let mut email = SentEmail {
        subject: header(&headers, "Subject").map(decode_rfc2047).unwrap_or_default(),
        list_unsubscribe: header(&headers, "List-Unsubscribe").map(str::to_owned),
        list_unsubscribe_post: header(&headers, "List-Unsubscribe-Post").map(str::to_owned),
        raw: raw.to_owned(),
        ..SentEmail::default()
    };
    collect_parts(&headers, body, &mut email, 0);
    email.headers = headers;
    email
}

/// `type/subtype` (lower-cased) and the parameters of a Content-Type value.
fn content_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut parts = value.split(';');
    let mime = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_owned()))
        .collect();
    (mime, params)
}

fn collect_parts(headers: &[(String, String)], body: &str, email: &mut SentEmail, depth: usize) {
    let (mime, params) = content_type(header(headers, "Content-Type").unwrap_or("text/plain"));
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if mime.starts_with("multipart/") {
        if let Some(boundary) = param("boundary")
            && depth < 8
        {
            for part in multipart_parts(body, boundary) {
                let (h, b) = split_entity(&part);
                collect_parts(&h, b, email, depth + 1);
            }
        }
        return;
    }
    if header(headers, "Content-Disposition")
        .is_some_and(|d| d.trim_start().to_ascii_lowercase().starts_with("attachment"))
    {
        return;
    }
    let slot = match mime.as_str() {
        "text/plain" => &mut email.text,
        "text/html" => &mut email.html,
        _ => return,
    };
    if slot.is_none() {
        let bytes = decode_transfer(body, header(headers, "Content-Transfer-Encoding").unwrap_or("7bit"));
        *slot = Some(decode_charset(&bytes, param("charset").unwrap_or("utf-8")));
    }
}

/// The parts of a multipart body (between `--boundary` lines, up to `--boundary--`).
fn multipart_parts(body: &str, boundary: &str) -> Vec<String> {
    let open = format!("--{boundary}");
    let close = format!("--{boundary}--");
    let mut parts = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in body.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)) {
        let trimmed = line.trim_end();
        if trimmed == close {
            parts.extend(current.take().map(|lines| lines.join("\r\n")));
            break;
        } else if trimmed == open {
            parts.extend(current.take().map(|lines| lines.join("\r\n")));
            current = Some(Vec::new());
        } else if let Some(lines) = &mut current {
            lines.push(line);
        }
    }
    parts.extend(current.map(|lines| lines.join("\r\n")));
    parts
}

const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn decode_transfer(body: &str, encoding: &str) -> Vec<u8> {
    match encoding.trim().to_ascii_lowercase().as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            BASE64.decode(compact).unwrap_or_else(|_| body.as_bytes().to_vec())
        }
        "quoted-printable" => decode_quoted_printable(body),
        _ => body.as_bytes().to_vec(),
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn decode_quoted_printable(body: &str) -> Vec<u8> {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n') => i += 3,
            b'=' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' => {
                match (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                    }
                    _ => {
                        out.push(b'=');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn decode_charset(bytes: &[u8], charset: &str) -> String {
    match charset.trim().to_ascii_lowercase().as_str() {
        "iso-8859-1" | "latin1" | "latin-1" | "iso8859-1" => bytes.iter().map(|&b| b as char).collect(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Decodes the RFC 2047 encoded words (`=?utf-8?B?...?=`, `=?utf-8?Q?...?=`) of a header value;
/// whitespace between two adjacent encoded words is dropped, as the RFC says, and their bytes
/// are joined before decoding (a character may straddle two words).
pub fn decode_rfc2047(value: &str) -> String {
    let mut out = String::new();
    // Bytes of the run of adjacent encoded words being decoded, with their charset.
    let mut pending: Option<(String, Vec<u8>)> = None;
    let flush = |pending: &mut Option<(String, Vec<u8>)>, out: &mut String| {
        if let Some((charset, bytes)) = pending.take() {
            out.push_str(&decode_charset(&bytes, &charset));
        }
    };
    let mut rest = value;
    while let Some(start) = rest.find("=?") {
        let before = &rest[..start];
        match encoded_word(&rest[start..]) {
            Some((charset, bytes, len)) => {
                let adjacent = pending.is_some() && before.chars().all(char::is_whitespace);
                if !adjacent {
                    flush(&mut pending, &mut out);
                    out.push_str(before);
                }
                match &mut pending {
                    Some((c, b)) if c.eq_ignore_ascii_case(&charset) => b.extend(bytes),
                    _ => {
                        flush(&mut pending, &mut out);
                        pending = Some((charset, bytes));
                    }
                }
                rest = &rest[start + len..];
            }
            None => {
                flush(&mut pending, &mut out);
                out.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
            }
        }
    }
    flush(&mut pending, &mut out);
    out.push_str(rest);
    out
}

/// Parses the encoded word at the start of `s`: its charset, its decoded bytes, its length.
fn encoded_word(s: &str) -> Option<(String, Vec<u8>, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = &inner[..end];
    if charset.is_empty() || text.contains(char::is_whitespace) {
        return None;
    }
    let charset = charset.split('*').next().unwrap_or(charset).to_owned();
    let bytes = match encoding {
        "B" | "b" => BASE64.decode(text).ok()?,
        "Q" | "q" => {
            let text = text.replace('_', " ");
            decode_quoted_printable(&text)
        }
        _ => return None,
    };
    let len = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    Some((charset, bytes, len))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn encoded_words_are_decoded() {
        assert_eq!(decode_rfc2047("=?utf-8?B?QWxlcnRlIMOgIExhIFZpbGxl?="), "Alerte à La Ville");
        assert_eq!(decode_rfc2047("=?UTF-8?Q?Alerte_=C3=A0_Lyon?="), "Alerte à Lyon");
        // Adjacent words: the whitespace between them goes, a split character is rejoined.
        assert_eq!(decode_rfc2047("=?utf-8?Q?caf=C3?=\r\n =?utf-8?Q?=A9_ici?="), "café ici");
        assert_eq!(decode_rfc2047("Re: =?iso-8859-1?Q?caf=E9?= noir"), "Re: café noir");
        assert_eq!(decode_rfc2047("plain =? text"), "plain =? text");
        assert_eq!(decode_rfc2047("=?utf-8?B?w6k?="), "é");
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
