//! vigie's pure domain: validated value types, SMS maths, inbound keyword
//! classification, the town hall import format and the texts we send.
//!
//! Nothing here performs I/O or knows about AWS.

mod alert;
mod email;
mod error;
mod ids;
mod ip;
mod keyword;
mod member;
pub(crate) use member::confirmed;
mod name;
mod newtype;
mod origination;
mod phone;
mod plural;
pub mod quiet;
mod receipt;
mod redact;
mod seed;
mod sms;
pub mod texts;
mod time_zone;
pub mod unicode;
pub mod wording;

pub use alert::{AlertSource, AlertText, Category, Ending, FlagReason, PoliceCalled, SmsWithheld};
pub use email::Email;
pub use error::DomainError;
pub use ids::{AlertId, CommunityId, MemberId};
pub use ip::SourceIp;
pub use keyword::{
    HELP_KEYWORDS, Inbound, Keyword, Language, OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, classify, fin_note,
    first_keyword, quiet_hours_asked, says_police_called, says_yes,
};
pub use member::{Community, Member, Role, UnsubscribeToken};
pub use name::{FirstName, LastName};
pub use origination::{
    NotForSns, OriginationIdentity, ResourceKind, SNS_ORIGINATION_NUMBER, SNS_SENDER_ID, SenderId,
    SharedNumber, ShortCode, SmsResource,
};
pub use phone::{AllowedCountries, PhoneNumber, RANGE_DIGITS};
pub use receipt::{
    Consequence, DeliveryProblem, ProblemKind, ReceiptStatus, SMS_FAILURES_BEFORE_STOP, clean_reason,
    sms_failure_is_permanent,
};
pub use redact::redact;
pub use seed::{CSV_TEMPLATE, Import, ImportError, ImportErrors, parse_import, parse_import_csv};
pub use sms::{Encoding, SegmentCount, count_segments, fit_segments, gsm7_units, is_gsm7, normalise_gsm7};
pub use texts::{
    empty_reply, help_reply, keyword_first_reply, no_community_reply, rate_limited_reply, repeats_our_text,
    sender_confirmation, sms_withheld_note, start_reply, stop_reply, too_long_reply, unknown_sender_reply,
};
pub use time_zone::{LocalTime, TimeZoneId, rfc3339_utc};
